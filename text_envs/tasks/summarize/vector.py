"""Summarize on tensors: the state, masks and observations of
:class:`~text_envs.tasks.summarize.env.SummarizeEnv` on the device, ROUGE on the host.

ROUGE compares strings, so it runs on the host, only where the env computes it: for the
episodes that end in the step (reward ``"final"``) or for each pick (``"gain"``). The
summaries are scored with the env's own functions, so the rewards agree exactly:
:class:`~text_envs.tasks.summarize.rouge.SentenceRouge` (one per sub-env, renewed when the
sub-env moves to another example) and :func:`~text_envs.tasks.summarize.rouge.rouge_reward`.
"""

from __future__ import annotations

import torch

from ...vector.base import TokenRows, TorchVectorEnv, padded_gather
from .rouge import SentenceRouge, rouge_reward
from .spec import SummarizeSpec


class SummarizeVectorEnv(TokenRows, TorchVectorEnv):
    spec_class = SummarizeSpec
    state = ("_picked", "_num_picks", "_stopped")

    def _setup(self) -> None:
        spec = self.task_spec
        self._first = self.tensor(spec.first_segment)
        self._n = self.tensor(spec.num_sentences)
        self._limit = self.tensor(spec.pick_limit)
        if spec.observation == "tokens":
            self._setup_tokens(states=False)
        else:
            self._pooled = self.tensor(spec.encoded.pooled)
        self._sentences = torch.arange(spec.max_sentences, device=self.device)
        n = self.num_envs
        self._picked = torch.zeros(n, spec.max_sentences, dtype=torch.bool, device=self.device)
        self._num_picks = torch.zeros(n, dtype=torch.int64, device=self.device)
        self._stopped = torch.zeros(n, dtype=torch.bool, device=self.device)
        self._rouge: list[tuple[int, SentenceRouge] | None] = [None] * n

    def _begin(self, starting: torch.Tensor) -> None:
        self._picked = torch.where(starting[:, None], False, self._picked)
        self._num_picks = torch.where(starting, 0, self._num_picks)
        self._stopped = torch.where(starting, False, self._stopped)

    def _act(self, actions: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        stop = actions == self.task_spec.stop_action
        pick = valid & ~stop
        before = self._picked
        chosen = self._sentences == actions[:, None]
        self._picked = before | (pick[:, None] & chosen)
        self._num_picks = self._num_picks + pick
        self._stopped = self._stopped | (valid & stop)
        done = stop | (self._num_picks == self._limit[self.index])
        scored = pick if self.task_spec.reward == "gain" else valid & done
        reward = torch.zeros(self.num_envs, dtype=torch.float64, device=self.device)
        rows = torch.nonzero(scored)[:, 0]
        if len(rows):
            reward[rows] = self._rewards(rows, before[rows])
        return reward, done

    def _rewards(self, rows: torch.Tensor, before: torch.Tensor) -> torch.Tensor:
        """The rewards of the sub-envs ``rows``: the summary's score, or (``"gain"``) its change."""
        examples, picked, before = self.index[rows].tolist(), self._picked[rows].cpu(), before.cpu()
        rewards = []
        for row, example, now, then in zip(rows.tolist(), examples, picked, before):
            reward = self._score(row, example, now)
            if self.task_spec.reward == "gain":
                reward -= self._score(row, example, then)
            rewards.append(reward)
        return torch.tensor(rewards, dtype=torch.float64, device=self.device)

    def _score(self, row: int, example: int, picked: torch.Tensor) -> float:
        """The env's score of a summary (picked flags, on the host) of sub-env ``row``'s document."""
        if self._rouge[row] is None or self._rouge[row][0] != example:
            record = self.task_spec.data[example]
            self._rouge[row] = (example, SentenceRouge(record.sentences, record.summary))
        summary = tuple(torch.nonzero(picked)[:, 0].tolist())
        return rouge_reward(self._rouge[row][1](summary), self.task_spec.rouge)

    def _mask(self) -> torch.Tensor:
        n, limit = self._n[self.index], self._limit[self.index]
        open_ = ~self._stopped & (self._num_picks < limit)
        sentences = open_[:, None] & (self._sentences < n[:, None]) & ~self._picked
        return torch.cat((sentences, (self._num_picks > 0)[:, None]), 1)

    def _observation(self):
        mode = self.task_spec.observation
        first, n = self._first[self.index], self._n[self.index]
        picked = self._picked.to(torch.int8)
        num_picked = self._num_picks[:, None]
        present = self._sentences < n[:, None]  # the document's sentences
        if mode == "tokens":
            rows = self._rows(first[:, None] + self._sentences, present)
            return {"input_ids": rows["input_ids"], "attention_mask": rows["attention_mask"], "picked": picked,
                    "num_picked": num_picked}
        states = padded_gather(self._pooled, first, n, self.task_spec.max_sentences).to(self.dtype)
        if mode == "compact":
            flags = torch.stack((self.action_mask[:, :-1], self._picked), 2).to(self.dtype)
            return torch.cat((states, flags), 2).reshape(self.num_envs, -1)
        return {"states": states, "mask": present.to(torch.int8), "picked": picked, "num_picked": num_picked}
