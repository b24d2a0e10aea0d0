"""SummarizeTokens on tensors: the state, masks and observations of
:class:`~text_envs.tasks.summarize_tokens.env.SummarizeTokensEnv` on the device, ROUGE on the host.

ROUGE compares strings, so it runs on the host, for the episodes that end in the step: the
written ids are decoded with the spec's tokenizer and scored with
:func:`~text_envs.metrics.rouge_scores` and
:func:`~text_envs.tasks.summarize.rouge.rouge_reward`, as the env scores them.

The masks are vocabulary-sized bool tensors: each sub-env's copy vocabulary is scattered
from its example's source ids (the spec's flat ``source_ids``) when it starts an episode.
The compact observation's token states are the spec's
:meth:`~text_envs.tasks.summarize_tokens.spec.SummarizeTokensSpec.token_states` of the whole
split, found by their sorted (example, token id) keys (one ``searchsorted`` for the batch).
"""

from __future__ import annotations

import numpy as np
import torch

from ...metrics import rouge_scores
from ...vector.base import TorchVectorEnv, padded_gather, take
from ..summarize.rouge import rouge_reward
from .spec import SummarizeTokensSpec


class SummarizeTokensVectorEnv(TorchVectorEnv):
    spec_class = SummarizeTokensSpec
    # the ids written and how many; the last written token's state and the sum of them (compact)
    state = ("_generated", "_length", "_last", "_sum")

    def _setup(self) -> None:
        spec = self.task_spec
        self._vocab = spec.vocab_size
        self._source_start = self.tensor(spec.source_starts[:-1])
        self._source_count = self.tensor(np.diff(spec.source_starts))
        self._source_ids = self.tensor(spec.source_ids)
        if spec.observation == "compact":
            keys, states = spec.token_states(0, spec.num_examples)
            self._documents = self.tensor(np.stack([spec.document_vector(i) for i in range(spec.num_examples)]))
            self._keys, self._token_states = self.tensor(keys), self.tensor(states)
        elif spec.observation == "sequence":
            self._source_states = self.tensor(spec.encoded.states[spec.source_rows])
        n, hidden = self.num_envs, spec.encoded.hidden_size
        self._generated = torch.full((n, spec.max_summary_tokens), -1, dtype=torch.int64, device=self.device)
        self._length = torch.zeros(n, dtype=torch.int64, device=self.device)
        self._copy = torch.zeros(n, self._vocab, dtype=torch.bool, device=self.device)
        self._last = torch.zeros(n, hidden, dtype=torch.float32, device=self.device)
        self._sum = self._last

    def _begin(self, starting: torch.Tensor) -> None:
        self._generated = torch.where(starting[:, None], -1, self._generated)
        self._length = torch.where(starting, 0, self._length)
        if self.task_spec.observation == "compact":
            self._last = torch.where(starting[:, None], 0.0, self._last)
            self._sum = torch.where(starting[:, None], 0.0, self._sum)

    def _derive(self, starting: torch.Tensor) -> None:
        """The copy vocabularies of the sub-envs in ``starting``, for their examples (a bool
        [rows, V] scatter of those rows' source ids only)."""
        rows = torch.nonzero(starting)[:, 0]
        if len(rows):
            examples = self.index[rows]
            counts = self._source_count[examples]
            ids = padded_gather(self._source_ids, self._source_start[examples], counts, int(counts.max()),
                                fill=self._vocab)
            copy = torch.zeros(len(rows), self._vocab + 1, dtype=torch.bool, device=self.device)
            copy.scatter_(1, ids, True)
            self._copy = self._copy.index_copy(0, rows, copy[:, :-1])

    def _act(self, actions: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        spec = self.task_spec
        eos = actions == spec.eos_id
        write = valid & ~eos
        position = self._length.clamp(max=spec.max_summary_tokens - 1)
        written = self._generated.scatter(1, position[:, None], actions[:, None])
        self._generated = torch.where(write[:, None], written, self._generated)
        self._length = self._length + write
        if spec.observation == "compact":
            key = torch.searchsorted(self._keys, self.index * self._vocab + actions).clamp(max=len(self._keys) - 1)
            state = take(self._token_states, key)
            self._last = torch.where(write[:, None], state, self._last)
            self._sum = torch.where(write[:, None], self._sum + state, self._sum)
        done = eos | (self._length == spec.max_summary_tokens)
        reward = torch.zeros(self.num_envs, dtype=torch.float64, device=self.device)
        rows = torch.nonzero(valid & done)[:, 0]
        if len(rows):
            reward[rows] = self._rouge(rows)
        return reward, done

    def _rouge(self, rows: torch.Tensor) -> torch.Tensor:
        """The ROUGE rewards of the summaries the sub-envs ``rows`` wrote (on the host)."""
        spec = self.task_spec
        examples, lengths, generated = self.index[rows].tolist(), self._length[rows].tolist(), self._generated[rows]
        rewards = []
        for example, length, ids in zip(examples, lengths, generated.tolist()):
            text = spec.encoder.tokenizer.decode(ids[:length], skip_special_tokens=True)
            rewards.append(rouge_reward(rouge_scores([text], spec.data[example].summary), spec.rouge))
        return torch.tensor(rewards, dtype=torch.float64, device=self.device)

    def _mask(self) -> torch.Tensor:
        mask = self._copy.clone()
        mask[:, self.task_spec.eos_id] = self._length > 0
        return mask

    def _observation(self):
        spec = self.task_spec
        if spec.observation == "compact":
            length = self._length[:, None]
            mean = torch.where(length > 0, self._sum / length.clamp(min=1), 0.0)
            used = (self._length.double() / spec.max_summary_tokens).float()[:, None]
            parts = (take(self._documents, self.index), self._last, mean, used)
            return torch.cat(parts, 1).to(self.dtype)
        width = spec.max_source_tokens
        count = self._source_count[self.index].clamp(max=width)
        start = self._source_start[self.index]
        source_mask = (torch.arange(width, device=self.device) < count[:, None]).to(torch.int8)
        state = {"source_mask": source_mask, "generated": self._generated, "length": self._length[:, None]}
        if spec.observation == "sequence":
            return {"states": padded_gather(self._source_states, start, count, width).to(self.dtype), **state}
        return {"source_ids": padded_gather(self._source_ids, start, count, width, fill=spec.pad_id), **state}
