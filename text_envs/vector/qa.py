"""Extractive QA on tensors: :class:`~text_envs.envs.qa.QaEnv`'s state, masks and observations on the device.

The reward at step 2 is the SQuAD token F1 of the span's text, a string comparison, so it
is computed on the host, for the episodes that end in the step only: their (example,
start, end) come to the host in one copy, each span is cut from the original context by the
cached character offsets (as the env cuts it) and scored by the env's scorer
(:func:`~text_envs.metrics.squad_scores`), and the F1s go back in one copy.

As in the env, the parts of the observation that do not change within an episode (the
padded token states or ids, the attention and context masks; ``L`` rows each) are built
once per episode, for the sub-envs that start one, so that a step only copies them. They
follow from the example, so they are a cache of the state (``_derive``), not state.
"""

from __future__ import annotations

import numpy as np
import torch

from ..envs.qa import QaEnv
from ..metrics import squad_scores
from .base import TorchVectorEnv, padded_gather


class QaVectorEnv(TorchVectorEnv):
    env_class = QaEnv
    state = ("_start", "_end")  # the chosen positions, -1 before they are chosen

    def _setup(self) -> None:
        env, encoded = self.env, self.env.encoded
        self._token_start = self.tensor(env._token_starts)
        self._n = self.tensor(env._lengths)
        self._first, self._last = self.tensor(env._contexts[:, 0]), self.tensor(env._contexts[:, 1])
        if env.observation_mode == "tokens":
            self._input_ids = self.tensor(encoded.input_ids, torch.int64)
            self._type_ids = self.tensor(encoded.type_ids, torch.int64)
        else:
            self._states = self.tensor(encoded.states)
        self._host_starts = np.asarray(env._token_starts)
        self._offsets = encoded.offsets
        self._positions = torch.arange(encoded.max_length, device=self.device)
        self._start = torch.full((self.num_envs,), -1, dtype=torch.int64, device=self.device)
        self._end = self._start
        self._episode = self._episode_parts(torch.zeros_like(self._start))

    def _episode_parts(self, examples: torch.Tensor) -> dict[str, torch.Tensor]:
        """The observation parts that are fixed for an episode on each of ``examples``, padded to ``L``."""
        length, n, base = self.env.encoded.max_length, self._n[examples], self._token_start[examples]
        positions, first, last = self._positions, self._first[examples][:, None], self._last[examples][:, None]
        parts = {"attention_mask": (positions < n[:, None]).long(),
                 "context_mask": ((positions >= first) & (positions <= last)).to(torch.int8)}
        mode = self.env.observation_mode
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
        f1 = []
        for example, start, end in zip(examples, starts, ends):
            base = int(self._host_starts[example])
            record = self.env.data[example]
            text = record.context[self._offsets[base + start, 0]:self._offsets[base + end, 1]]
            f1.append(squad_scores(text, [answer.text for answer in record.answers])["f1"])
        return torch.tensor(f1, dtype=torch.float64, device=self.device)

    def _mask(self) -> torch.Tensor:
        positions, first, last = self._positions, self._first[self.index], self._last[self.index]
        start = self._start[:, None]
        context = (positions >= first[:, None]) & (positions <= last[:, None])
        span_end = torch.minimum(start + self.env.max_answer_tokens, last[:, None] + 1)
        span = (positions >= start) & (positions < span_end)
        return torch.where(start < 0, context, span)

    def _observation(self):
        parts = self._episode
        if self.env.observation_mode == "compact":
            features = parts["features"].clone()
            features[..., -2] = self.action_mask
            features[..., -1] = self._positions == self._start[:, None]  # never true before the start is chosen
            return features
        step = (self._start >= 0).long() + (self._end >= 0).long()
        return {**parts, "start": self._start[:, None], "step": step[:, None]}
