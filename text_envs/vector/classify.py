"""Classification on tensors: :class:`~text_envs.envs.classify.ClassifyEnv` (one step) and
:class:`~text_envs.envs.classify_reading.ClassifyReadingEnv` (read chunks, then answer), all on the device.

The one-step env ends every episode at every step, so each step returns the next texts'
observations and ``final_obs`` repeats the ones the labels were given for. The reading
env's compact observation is the mean of the revealed chunks' pooled vectors, read from
per-text running sums of those vectors (float64 on the host, float32 on the device), so a
step costs the same however many chunks are revealed.
"""

from __future__ import annotations

import numpy as np
import torch

from ..envs.classify import ClassifyEnv
from ..envs.classify_reading import READ, ClassifyReadingEnv
from .base import TorchVectorEnv, padded_gather, take


class _TokenRows:
    """Segments' token ids (and states) read as padded rows from the cache's flat arrays."""

    def _setup_tokens(self, states: bool) -> None:
        encoded = self.env.encoded
        token_starts = np.asarray(encoded.token_starts)
        self._token_start = self.tensor(token_starts[:-1])
        self._token_count = self.tensor(np.diff(token_starts))
        self._input_ids = self.tensor(encoded.input_ids, torch.int64)
        if states:
            self._token_states = self.tensor(encoded.states)

    def _rows(self, segments: torch.Tensor, present: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Token ids, attention mask and (if kept) states of ``segments`` (any shape), padded to
        ``max_length``; all zero where ``present`` is False."""
        length = self.env.encoded.max_length
        segments = segments.clamp(max=len(self._token_count) - 1)  # rows past the split are not present
        counts = self._token_count[segments]
        if present is not None:
            counts = torch.where(present, counts, 0)
        rows = {"input_ids": padded_gather(self._input_ids, self._token_start[segments], counts, length),
                "attention_mask": (torch.arange(length, device=self.device) < counts[..., None]).long()}
        if hasattr(self, "_token_states"):
            rows["states"] = padded_gather(self._token_states, self._token_start[segments], counts, length)
        return rows


class ClassifyVectorEnv(_TokenRows, TorchVectorEnv):
    env_class = ClassifyEnv

    def _setup(self) -> None:
        encoded = self.env.encoded
        self._segment = self.tensor(np.asarray(encoded.segment_starts[:-1]))
        self._gold = self.tensor(self.env._gold)
        if self.env.observation_mode == "compact":
            self._pooled = self.tensor(encoded.pooled)
        else:
            self._setup_tokens(states=self.env.observation_mode == "sequence")

    def _begin(self, starting: torch.Tensor) -> None:
        pass  # the example is the whole state

    def _act(self, actions: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return (actions == self._gold[self.index]).double(), torch.ones_like(valid)

    def _mask(self) -> torch.Tensor:
        return torch.ones(self.num_envs, self.num_actions, dtype=torch.bool, device=self.device)

    def _observation(self):
        segment = self._segment[self.index]
        if self.env.observation_mode == "compact":
            return take(self._pooled, segment).to(self.dtype)
        rows = self._rows(segment)
        if self.env.observation_mode == "tokens":
            return {"input_ids": rows["input_ids"], "attention_mask": rows["attention_mask"]}
        return {"states": rows["states"].to(self.dtype), "attention_mask": rows["attention_mask"]}


class ClassifyReadingVectorEnv(_TokenRows, TorchVectorEnv):
    env_class = ClassifyReadingEnv
    state = ("_revealed",)

    def _setup(self) -> None:
        env, encoded = self.env, self.env.encoded
        segment_starts = np.asarray(encoded.segment_starts)
        self._first = self.tensor(segment_starts[:-1])
        self._chunks = self.tensor(np.minimum(np.diff(segment_starts), env.max_chunks))
        self._gold = self.tensor(env._gold)
        mode = env.observation_mode
        if mode == "compact":
            pooled = np.asarray(encoded.pooled, dtype=np.float32).astype(np.float64)
            sums = np.cumsum(pooled, axis=0)
            # running sums per text: the cumulative sum minus what precedes the text's first chunk
            before = np.concatenate((np.zeros((1, pooled.shape[1])), sums))[segment_starts[:-1]]
            text_of_chunk = np.repeat(np.arange(len(env.data)), np.diff(segment_starts))
            self._sums = self.tensor(sums - before[text_of_chunk], torch.float32)
        elif mode == "sequence":
            self._pooled = self.tensor(encoded.pooled)
        else:
            self._setup_tokens(states=False)
        self._revealed = torch.ones(self.num_envs, dtype=torch.int64, device=self.device)

    def _begin(self, starting: torch.Tensor) -> None:
        self._revealed = torch.where(starting, 1, self._revealed)

    def _act(self, actions: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        read = actions == READ
        self._revealed = self._revealed + (valid & read)
        correct = actions - 1 == self._gold[self.index]
        reward = torch.where(read, -self.env.reading_cost, torch.where(correct, 1.0, -1.0).double())
        return reward, ~read

    def _mask(self) -> torch.Tensor:
        mask = torch.ones(self.num_envs, self.num_actions, dtype=torch.bool, device=self.device)
        mask[:, READ] = self._revealed < self._chunks[self.index]
        return mask

    def _observation(self):
        revealed, total, first = self._revealed, self._chunks[self.index], self._first[self.index]
        max_chunks = self.env.max_chunks
        num_revealed = revealed[:, None]
        if self.env.observation_mode == "compact":
            mean = take(self._sums, first + revealed - 1) / revealed[:, None]
            fraction = (revealed.double() / total)[:, None]
            more = (revealed < total).double()[:, None]
            return torch.cat((mean.to(self.dtype), fraction.to(self.dtype), more.to(self.dtype)), 1)
        chunks = torch.arange(max_chunks, device=self.device)
        shown = chunks < revealed[:, None]
        if self.env.observation_mode == "sequence":
            states = padded_gather(self._pooled, first, revealed, max_chunks).float().to(self.dtype)
            return {"states": states, "mask": shown.to(torch.int8), "num_revealed": num_revealed}
        rows = self._rows(first[:, None] + chunks, shown)
        return {"input_ids": rows["input_ids"], "attention_mask": rows["attention_mask"],
                "num_revealed": num_revealed}
