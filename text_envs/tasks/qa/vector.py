"""Extractive QA on tensors: :class:`~text_envs.tasks.qa.env.QaEnv`'s state, masks and
observations on the device.

The reward at step 2 is the SQuAD token F1 of the span's text, a string comparison, so it
is computed on the host, for the episodes that end in the step only: their (example,
start, end) come to the host in one copy, each span is cut and scored by the spec, as the
env's are (:meth:`~text_envs.tasks.qa.spec.QaSpec.score_span`), and the F1s go back in one
copy.

As in the env, the parts of the observation that do not change within an episode (the
padded token states or ids, the attention and context masks; ``L`` rows each) are built
once per episode, for the sub-envs that start one, so that a step only copies them. They
follow from the example, so they are a cache of the state (``_derive``), not state. Like
the state, they are replaced out of place (``index_copy``) when episodes start, never
written, so the observations that hold them (and ``start``, a view of the state) never
change after they are returned.
"""

from __future__ import annotations

import torch

from ...vector.base import TorchVectorEnv, padded_gather
from .spec import QaSpec


class QaVectorEnv(TorchVectorEnv):
    spec_class = QaSpec
    state = ("_start", "_end")  # the chosen positions, -1 before they are chosen

    def _setup(self) -> None:
        spec, encoded = self.task_spec, self.task_spec.encoded
        self._token_start = self.tensor(spec.token_starts)
        self._n = self.tensor(spec.lengths)
        self._first, self._last = self.tensor(spec.context_ranges[:, 0]), self.tensor(spec.context_ranges[:, 1])
        if spec.observation == "tokens":
            self._input_ids = self.tensor(encoded.input_ids, torch.int64)
            self._type_ids = self.tensor(encoded.type_ids, torch.int64)
        else:
            self._states = self.tensor(encoded.states)
        self._positions = torch.arange(encoded.max_length, device=self.device)
        self._start = torch.full((self.num_envs,), -1, dtype=torch.int64, device=self.device)
        self._end = self._start
        self._episode = self._episode_parts(torch.zeros_like(self._start))

    def _episode_parts(self, examples: torch.Tensor) -> dict[str, torch.Tensor]:
        """The observation parts that are fixed for an episode on each of ``examples``, padded to ``L``."""
        length, n, base = self.task_spec.encoded.max_length, self._n[examples], self._token_start[examples]
        positions, first, last = self._positions, self._first[examples][:, None], self._last[examples][:, None]
        parts = {"attention_mask": (positions < n[:, None]).long(),
                 "context_mask": ((positions >= first) & (positions <= last)).to(torch.int8)}
        mode = self.task_spec.observation
        if mode == "tokens":
            parts["input_ids"] = padded_gather(self._input_ids, base, n, length)
            parts["token_type_ids"] = padded_gather(self._type_ids, base, n, length)
        elif mode == "sequence":
            parts["states"] = padded_gather(self._states, base, n, length).to(self.dtype)
        else:  # the states, then two columns that each step fills (the mask, the chosen start)
            parts["features"] = torch.zeros(len(examples), length, self._states.shape[1] + 2, dtype=self.dtype,
                                            device=self.device)
            parts["features"][..., :-2] = padded_gather(self._states, base, n, length)
        return parts

    def _begin(self, starting: torch.Tensor) -> None:
        self._start = torch.where(starting, -1, self._start)
        self._end = torch.where(starting, -1, self._end)

    def _derive(self, starting: torch.Tensor) -> None:
        """The fixed observation parts of the sub-envs in ``starting``, for their examples."""
        rows = torch.nonzero(starting)[:, 0]
        if len(rows):
            fresh = self._episode_parts(self.index[rows])
            self._episode = {name: part.index_copy(0, rows, fresh[name]) for name, part in self._episode.items()}

    def _act(self, actions: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        first_step = self._start < 0
        ending = valid & ~first_step
        self._start = torch.where(valid & first_step, actions, self._start)
        self._end = torch.where(ending, actions, self._end)
        reward = torch.zeros(self.num_envs, dtype=torch.float64, device=self.device)
        rows = torch.nonzero(ending)[:, 0]
        if len(rows):
            reward[rows] = self._f1(rows)
        return reward, ~first_step

    def _f1(self, rows: torch.Tensor) -> torch.Tensor:
        """The SQuAD F1 of the chosen spans of the sub-envs ``rows`` (on the host)."""
        examples, starts, ends = torch.stack((self.index[rows], self._start[rows], self._end[rows])).tolist()
        f1 = [self.task_spec.score_span(*span)[1]["f1"] for span in zip(examples, starts, ends)]
        return torch.tensor(f1, dtype=torch.float64, device=self.device)

    def _mask(self) -> torch.Tensor:
        positions, first, last = self._positions, self._first[self.index], self._last[self.index]
        start = self._start[:, None]
        context = (positions >= first[:, None]) & (positions <= last[:, None])
        span_end = torch.minimum(start + self.task_spec.max_answer_tokens, last[:, None] + 1)
        span = (positions >= start) & (positions < span_end)
        return torch.where(start < 0, context, span)

    def _observation(self):
        parts = self._episode
        if self.task_spec.observation == "compact":
            features = parts["features"].clone()
            features[..., -2] = self.action_mask
            features[..., -1] = self._positions == self._start[:, None]  # never true before the start is chosen
            return features
        step = (self._start >= 0).long() + (self._end >= 0).long()
        return {**parts, "start": self._start[:, None], "step": step[:, None]}
