"""Classify on tensors: every reward, observation and mask of
:class:`~text_envs.tasks.classify.env.ClassifyEnv` on the device.

The env ends every episode at every step, so each step returns the next texts'
observations and ``final_obs`` repeats the ones the labels were given for.
"""

from __future__ import annotations

import torch

from ...vector.base import TokenRows, TorchVectorEnv, take
from .spec import ClassifySpec


class ClassifyVectorEnv(TokenRows, TorchVectorEnv):
    spec_class = ClassifySpec

    def _setup(self) -> None:
        spec = self.task_spec
        self._segment = self.tensor(spec.segments)
        self._gold = self.tensor(spec.gold)
        if spec.observation == "compact":
            self._pooled = self.tensor(spec.encoded.pooled)
        else:
            self._setup_tokens(states=spec.observation == "sequence")

    def _begin(self, starting: torch.Tensor) -> None:
        pass  # the example is the whole state

    def _act(self, actions: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return (actions == self._gold[self.index]).double(), torch.ones_like(valid)

    def _mask(self) -> torch.Tensor:
        return torch.ones(self.num_envs, self.num_actions, dtype=torch.bool, device=self.device)

    def _observation(self):
        segment = self._segment[self.index]
        if self.task_spec.observation == "compact":
            return take(self._pooled, segment).to(self.dtype)
        rows = self._rows(segment)
        if self.task_spec.observation == "tokens":
            return {"input_ids": rows["input_ids"], "attention_mask": rows["attention_mask"]}
        return {"states": rows["states"].to(self.dtype), "attention_mask": rows["attention_mask"]}
