"""Summarisation on tensors: the state, masks and observations of
:class:`~text_envs.envs.summarize.SummarizeEnv` and
:class:`~text_envs.envs.summarize_tokens.SummarizeTokensEnv` on the device, ROUGE on the host.

ROUGE compares strings, so it runs on the host, only where the env computes it: for the
episodes that end in the step (reward ``"final"``, and SummarizeTokens), or for each pick
(``"gain"``). The summaries are scored with the env's own functions, so the rewards agree
exactly: :class:`~text_envs.envs.summarize.SentenceRouge` (one per sub-env, renewed when
the sub-env moves to another example) and
:func:`~text_envs.envs.summarize.rouge_reward`; SummarizeTokens decodes the written ids
with the env's tokenizer and scores them with :func:`~text_envs.metrics.rouge_scores`.

SummarizeTokens' masks are vocabulary-sized bool tensors: each sub-env's copy vocabulary
is rebuilt when it starts an episode, from the sorted (example, token id) keys of the
split's source tokens. The same keys find a written token's mean source state for the
compact observation (one ``searchsorted`` for the batch).
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

from ..envs.summarize import SentenceRouge, SummarizeEnv, rouge_reward
from ..envs.summarize_tokens import SummarizeTokensEnv
from ..metrics import rouge_scores
from .base import TorchVectorEnv, padded_gather, take


class SummarizeVectorEnv(TorchVectorEnv):
    env_class = SummarizeEnv
    state = ("_picked", "_num_picks", "_stopped")

    def _setup(self) -> None:
        env, encoded = self.env, self.env.encoded
        segment_starts = np.asarray(encoded.segment_starts)
        self._first = self.tensor(segment_starts[:-1])
        self._n = self.tensor(np.diff(segment_starts))
        self._limit = torch.clamp(self._n, max=env.max_picks)
        if env.observation_mode == "tokens":
            token_starts = np.asarray(encoded.token_starts)
            self._token_start = self.tensor(token_starts[:-1])
            self._token_count = self.tensor(np.diff(token_starts))
            self._input_ids = self.tensor(encoded.input_ids, torch.int64)
        else:
            self._pooled = self.tensor(encoded.pooled)
        self._sentences = torch.arange(env.max_sentences, device=self.device)
        n = self.num_envs
        self._picked = torch.zeros(n, env.max_sentences, dtype=torch.bool, device=self.device)
        self._num_picks = torch.zeros(n, dtype=torch.int64, device=self.device)
        self._stopped = torch.zeros(n, dtype=torch.bool, device=self.device)
        self._rouge: list[tuple[int, SentenceRouge] | None] = [None] * n

    def _begin(self, starting: torch.Tensor) -> None:
        self._picked = torch.where(starting[:, None], False, self._picked)
        self._num_picks = torch.where(starting, 0, self._num_picks)
        self._stopped = torch.where(starting, False, self._stopped)

    def _act(self, actions: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        stop = actions == self.env.stop_action
        pick = valid & ~stop
        before = self._picked
        chosen = self._sentences == actions[:, None]
        self._picked = before | (pick[:, None] & chosen)
        self._num_picks = self._num_picks + pick
        self._stopped = self._stopped | (valid & stop)
        done = stop | (self._num_picks == self._limit[self.index])
        scored = pick if self.env.reward_kind == "gain" else valid & done
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
            if self.env.reward_kind == "gain":
                reward -= self._score(row, example, then)
            rewards.append(reward)
        return torch.tensor(rewards, dtype=torch.float64, device=self.device)

    def _score(self, row: int, example: int, picked: torch.Tensor) -> float:
        """The env's ``_score`` of a summary (picked flags, on the host) of sub-env ``row``'s document."""
        if self._rouge[row] is None or self._rouge[row][0] != example:
            record = self.env.data[example]
            self._rouge[row] = (example, SentenceRouge(record.sentences, record.summary))
        summary = tuple(torch.nonzero(picked)[:, 0].tolist())
        return rouge_reward(self._rouge[row][1](summary), self.env.rouge)

    def _mask(self) -> torch.Tensor:
        n, limit = self._n[self.index], self._limit[self.index]
        open_ = ~self._stopped & (self._num_picks < limit)
        sentences = open_[:, None] & (self._sentences < n[:, None]) & ~self._picked
        return torch.cat((sentences, (self._num_picks > 0)[:, None]), 1)

    def _observation(self):
        mode, sentences = self.env.observation_mode, self.env.max_sentences
        first, n = self._first[self.index], self._n[self.index]
        picked = self._picked.to(torch.int8)
        num_picked = self._num_picks[:, None]
        if mode == "tokens":
            length = self.env.encoded.max_length
            segments = (first[:, None] + self._sentences).clamp(max=len(self._token_count) - 1)
            counts = torch.where(self._sentences < n[:, None], self._token_count[segments], 0)
            input_ids = padded_gather(self._input_ids, self._token_start[segments], counts, length)
            attention = (torch.arange(length, device=self.device) < counts[..., None]).long()
            return {"input_ids": input_ids, "attention_mask": attention, "picked": picked, "num_picked": num_picked}
        states = padded_gather(self._pooled, first, n, sentences).to(self.dtype)
        if mode == "compact":
            flags = torch.stack((self.action_mask[:, :-1], self._picked), 2).to(self.dtype)
            return torch.cat((states, flags), 2).reshape(self.num_envs, -1)
        mask = (self._sentences < n[:, None]).to(torch.int8)
        return {"states": states, "mask": mask, "picked": picked, "num_picked": num_picked}


class SummarizeTokensVectorEnv(TorchVectorEnv):
    env_class = SummarizeTokensEnv
    # the ids written and how many; the last written token's state and the sum of them (compact)
    state = ("_generated", "_length", "_last", "_sum")

    def _setup(self) -> None:
        env, encoded = self.env, self.env.encoded
        vocab = env.encoder.vocab_size
        segment_starts, token_starts = np.asarray(encoded.segment_starts), np.asarray(encoded.token_starts)
        ids = np.asarray(encoded.input_ids, dtype=np.int64)
        rows = np.flatnonzero(~np.isin(ids, env._special_ids))  # flat rows of every source token, in order
        bounds = np.searchsorted(rows, token_starts[segment_starts])
        example = np.repeat(np.arange(len(env.data)), np.diff(bounds))
        keys, inverse = np.unique(example * vocab + ids[rows], return_inverse=True)
        key_bounds = np.searchsorted(keys, np.arange(len(env.data) + 1) * vocab)
        self._vocab = vocab
        self._keys, self._key_start = self.tensor(keys), self.tensor(key_bounds[:-1])
        self._key_count = self.tensor(np.diff(key_bounds))
        self._source_start, self._source_count = self.tensor(bounds[:-1]), self.tensor(np.diff(bounds))
        mode = env.observation_mode
        if mode == "compact":
            pooled = np.asarray(encoded.pooled, dtype=np.float32)
            documents = np.stack([pooled[a:b].mean(0) for a, b in itertools.pairwise(segment_starts)])
            sums = np.zeros((len(keys), encoded.hidden_size), dtype=np.float32)
            np.add.at(sums, inverse, np.asarray(encoded.states[rows], dtype=np.float32))
            self._documents = self.tensor(documents)
            self._token_states = self.tensor(sums / np.bincount(inverse)[:, None])
        elif mode == "sequence":
            self._source_states = self.tensor(encoded.states[rows])
        else:
            self._source_ids = self.tensor(ids[rows])
        n, hidden = self.num_envs, encoded.hidden_size
        self._generated = torch.full((n, env.max_summary_tokens), -1, dtype=torch.int64, device=self.device)
        self._length = torch.zeros(n, dtype=torch.int64, device=self.device)
        self._copy = torch.zeros(n, vocab, dtype=torch.bool, device=self.device)
        self._last = torch.zeros(n, hidden, dtype=torch.float32, device=self.device)
        self._sum = self._last

    def _begin(self, starting: torch.Tensor) -> None:
        self._generated = torch.where(starting[:, None], -1, self._generated)
        self._length = torch.where(starting, 0, self._length)
        if self.env.observation_mode == "compact":
            self._last = torch.where(starting[:, None], 0.0, self._last)
            self._sum = torch.where(starting[:, None], 0.0, self._sum)

    def _derive(self, starting: torch.Tensor) -> None:
        """The copy vocabularies of the sub-envs in ``starting``, for their examples (a bool
        [rows, V] scatter of those rows only)."""
        rows = torch.nonzero(starting)[:, 0]
        if len(rows):
            examples = self.index[rows]
            width = int(self._key_count[examples].max())
            keys = padded_gather(self._keys, self._key_start[examples], self._key_count[examples], width, fill=-1)
            ids = torch.where(keys >= 0, keys - examples[:, None] * self._vocab, self._vocab)
            copy = torch.zeros(len(rows), self._vocab + 1, dtype=torch.bool, device=self.device)
            copy.scatter_(1, ids, True)
            self._copy = self._copy.index_copy(0, rows, copy[:, :-1])

    def _act(self, actions: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        env = self.env
        eos = actions == env.eos_id
        write = valid & ~eos
        position = self._length.clamp(max=env.max_summary_tokens - 1)
        written = self._generated.scatter(1, position[:, None], actions[:, None])
        self._generated = torch.where(write[:, None], written, self._generated)
        self._length = self._length + write
        if env.observation_mode == "compact":
            key = torch.searchsorted(self._keys, self.index * self._vocab + actions).clamp(max=len(self._keys) - 1)
            state = take(self._token_states, key)
            self._last = torch.where(write[:, None], state, self._last)
            self._sum = torch.where(write[:, None], self._sum + state, self._sum)
        done = eos | (self._length == env.max_summary_tokens)
        reward = torch.zeros(self.num_envs, dtype=torch.float64, device=self.device)
        rows = torch.nonzero(valid & done)[:, 0]
        if len(rows):
            reward[rows] = self._rouge(rows)
        return reward, done

    def _rouge(self, rows: torch.Tensor) -> torch.Tensor:
        """The ROUGE rewards of the summaries the sub-envs ``rows`` wrote (on the host)."""
        env = self.env
        examples, lengths, generated = self.index[rows].tolist(), self._length[rows].tolist(), self._generated[rows]
        rewards = []
        for example, length, ids in zip(examples, lengths, generated.tolist()):
            text = env.encoder.tokenizer.decode(ids[:length], skip_special_tokens=True)
            rewards.append(rouge_reward(rouge_scores([text], env.data[example].summary), env.rouge))
        return torch.tensor(rewards, dtype=torch.float64, device=self.device)

    def _mask(self) -> torch.Tensor:
        mask = self._copy.clone()
        mask[:, self.env.eos_id] = self._length > 0
        return mask

    def _observation(self):
        env = self.env
        if env.observation_mode == "compact":
            length = self._length[:, None]
            mean = torch.where(length > 0, self._sum / length.clamp(min=1), 0.0)
            used = (self._length.double() / env.max_summary_tokens).float()[:, None]
            parts = (take(self._documents, self.index), self._last, mean, used)
            return torch.cat(parts, 1).to(self.dtype)
        count = self._source_count[self.index].clamp(max=env.max_source_tokens)
        start, width = self._source_start[self.index], env.max_source_tokens
        source_mask = (torch.arange(width, device=self.device) < count[:, None]).to(torch.int8)
        state = {"source_mask": source_mask, "generated": self._generated, "length": self._length[:, None]}
        if env.observation_mode == "sequence":
            return {"states": padded_gather(self._source_states, start, count, width).to(self.dtype), **state}
        return {"source_ids": padded_gather(self._source_ids, start, count, width, fill=env._pad_id), **state}
