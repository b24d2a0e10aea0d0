"""ClassifyReading on tensors: every reward, observation and mask of
:class:`~text_envs.tasks.classify_reading.env.ClassifyReadingEnv` on the device.

The spec's tables (first chunk, readable chunks, gold, and in ``compact`` mode the
per-text running sums of the chunks' pooled vectors) move to the device once; the reward is
the spec's :func:`~text_envs.tasks.classify_reading.spec.reading_reward`, as in the env.
A compact step reads one row of running sums, however many chunks are revealed.
"""

from __future__ import annotations

import numpy as np
import torch

from ...vector.base import TokenRows, TorchVectorEnv, padded_gather, take
from .spec import ClassifyReadingSpec, reading_reward


class ClassifyReadingVectorEnv(TokenRows, TorchVectorEnv):
    spec_class = ClassifyReadingSpec
    state = ("_revealed",)

    def _setup(self) -> None:
        spec = self.task_spec
        self._first = self.tensor(spec.first_segment)
        self._chunks = self.tensor(spec.num_chunks)
        self._gold = self.tensor(spec.gold)
        self._reading_cost = torch.tensor(spec.reading_cost, dtype=torch.float64, device=self.device)
        if spec.observation == "compact":
            # every text's running sums in its segments' rows, so a step reads row first + revealed - 1
            sums = np.zeros((len(spec.encoded.pooled), spec.encoded.hidden_size), dtype=np.float32)
            for index, first in enumerate(spec.first_segment):
                text = spec.running_sums(index)
                sums[first:first + len(text)] = text
            self._sums = self.tensor(sums)
        elif spec.observation == "sequence":
            self._pooled = self.tensor(spec.encoded.pooled)
        else:
            self._setup_tokens(states=False)
        self._revealed = torch.ones(self.num_envs, dtype=torch.int64, device=self.device)

    def _begin(self, starting: torch.Tensor) -> None:
        self._revealed = torch.where(starting, 1, self._revealed)

    def _act(self, actions: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        read = actions == self.task_spec.READ
        self._revealed = self._revealed + (valid & read)
        return reading_reward(actions, self._gold[self.index], self._reading_cost), ~read

    def _mask(self) -> torch.Tensor:
        mask = torch.ones(self.num_envs, self.num_actions, dtype=torch.bool, device=self.device)
        mask[:, self.task_spec.READ] = self._revealed < self._chunks[self.index]
        return mask

    def _observation(self):
        revealed, total, first = self._revealed, self._chunks[self.index], self._first[self.index]
        max_chunks = self.task_spec.max_chunks
        num_revealed = revealed[:, None]
        if self.task_spec.observation == "compact":
            mean = take(self._sums, first + revealed - 1) / revealed[:, None]
            fraction = (revealed.double() / total)[:, None]
            more = (revealed < total).double()[:, None]
            return torch.cat((mean.to(self.dtype), fraction.to(self.dtype), more.to(self.dtype)), 1)
        chunks = torch.arange(max_chunks, device=self.device)
        shown = chunks < revealed[:, None]
        if self.task_spec.observation == "sequence":
            states = padded_gather(self._pooled, first, revealed, max_chunks).float().to(self.dtype)
            return {"states": states, "mask": shown.to(torch.int8), "num_revealed": num_revealed}
        rows = self._rows(first[:, None] + chunks, shown)
        return {"input_ids": rows["input_ids"], "attention_mask": rows["attention_mask"],
                "num_revealed": num_revealed}
