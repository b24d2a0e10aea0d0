"""NER on tensors: every reward, observation and mask of :class:`~text_envs.envs.ner.NerEnv` on the device.

Words are stored flat (example ``e`` owns words ``word_starts[e]:word_starts[e+1]``): each
word's first-subword state (zero where truncation cut the word), gold tag, and position in
its encoding. The entity-F1 rewards are :class:`~text_envs.metrics.EntityF1Tracker`
batched: the tracker's state (open chunk start, previous tag, true positives, predicted
chunks, potential) is one tensor per field, seqeval's chunk rules are its ``ends``/``starts``
tables, and "is this closed chunk a gold one" is a lookup in per-word tables of the gold
chunk starting at that word (gold chunks do not overlap, so at most one starts at a word):
its last word and its type.
"""

from __future__ import annotations

import numpy as np
import torch

from ..envs.ner import NerEnv
from ..metrics import EntityF1Tracker, chunk_tables
from .base import TorchVectorEnv, padded_gather, take


class NerVectorEnv(TorchVectorEnv):
    env_class = NerEnv
    state = ("_t", "_prev", "_predicted")  # the word to tag, the previous tag, the tags so far
    #: the batched EntityF1Tracker's fields, state too with an entity-F1 reward
    tracker_state = ("_open", "_true_positives", "_predicted_chunks", "_potential")

    def _setup(self) -> None:
        env, encoded = self.env, self.env.encoded
        lengths = np.array([len(record.tokens) for record in env.data], dtype=np.int64)
        starts = np.concatenate(([0], np.cumsum(lengths)))
        segments = np.asarray(encoded.segment_starts[:-1])  # the words layout: one segment per sentence
        positions = np.concatenate([encoded.word_positions(s, n) for s, n in zip(segments, lengths)])
        self._n = self.tensor(lengths)
        self._word_start = self.tensor(starts[:-1])
        self._gold = self.tensor(np.concatenate(env._gold))
        self._allowed = self.tensor(env._allowed)
        self._previous_one_hot = self.tensor(env._previous_one_hot, self.dtype)
        self._max_words = env.max_words
        if env.observation_mode == "tokens":
            token_starts = np.asarray(encoded.token_starts)
            self._positions = self.tensor(positions)
            self._token_start = self.tensor(token_starts[segments])
            self._token_count = self.tensor(token_starts[segments + 1] - token_starts[segments])
            self._input_ids = self.tensor(encoded.input_ids, torch.int64)
        else:
            rows = np.repeat(np.asarray(encoded.token_starts)[segments], lengths) + np.maximum(positions, 0)
            states = np.array(encoded.states[rows])
            states[positions < 0] = 0
            self._states = self.tensor(states)  # float16, as cached; the observation dtype on gather
        if env.reward_kind != "token":
            self._setup_tracker(starts)
        n = self.num_envs
        self._t = torch.zeros(n, dtype=torch.int64, device=self.device)
        self._prev = torch.full((n,), len(env.tags), dtype=torch.int64, device=self.device)
        self._predicted = torch.full((n, env.max_words), -1, dtype=torch.int64, device=self.device)

    def state_names(self) -> tuple[str, ...]:
        return (*super().state_names(), *(self.tracker_state if self.env.reward_kind != "token" else ()))

    def _setup_tracker(self, starts: np.ndarray) -> None:
        """Per-word gold tables and seqeval's chunk tables (see the module docstring)."""
        env = self.env
        ends, chunk_starts, types = chunk_tables(env.tags)
        type_ids = {name: i for i, name in enumerate(dict.fromkeys(types))}
        gold_last = np.full(starts[-1], -1, dtype=np.int64)
        gold_type = np.full(starts[-1], -1, dtype=np.int64)
        gold_closed = np.zeros(starts[-1], dtype=np.int64)
        gold_count = np.zeros(len(env.data), dtype=np.int64)
        for example, gold in enumerate(env._gold):
            tracker = EntityF1Tracker(env.tags, gold)
            base = starts[example]
            for first, last, kind in tracker.gold:
                gold_last[base + first] = last
                gold_type[base + first] = type_ids[kind]
            gold_closed[base:starts[example + 1]] = tracker.gold_closed[:len(gold)]
            gold_count[example] = len(tracker.gold)
        self._ends, self._chunk_starts = self.tensor(ends), self.tensor(chunk_starts)
        self._tag_type = self.tensor([type_ids[name] for name in types])
        self._gold_last, self._gold_type = self.tensor(gold_last), self.tensor(gold_type)
        self._gold_closed, self._gold_count = self.tensor(gold_closed), self.tensor(gold_count)
        zeros = torch.zeros(self.num_envs, dtype=torch.int64, device=self.device)
        self._open, self._true_positives, self._predicted_chunks = zeros - 1, zeros, zeros
        self._potential = zeros.double()

    def _begin(self, starting: torch.Tensor) -> None:
        self._t = torch.where(starting, 0, self._t)
        self._prev = torch.where(starting, len(self.env.tags), self._prev)
        self._predicted = torch.where(starting[:, None], -1, self._predicted)
        if self.env.reward_kind != "token":
            self._open = torch.where(starting, -1, self._open)
            self._true_positives = torch.where(starting, 0, self._true_positives)
            self._predicted_chunks = torch.where(starting, 0, self._predicted_chunks)
            self._potential = torch.where(starting, 0.0, self._potential)

    def _act(self, actions: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t, n = self._t, self._n[self.index]
        done = t + 1 == n
        if self.env.reward_kind == "token":
            reward = (actions == self._gold[self._word_start[self.index] + t]).double()
        else:
            reward = self._track(actions, valid, done)
        written = self._predicted.scatter(1, t[:, None], actions[:, None])
        self._predicted = torch.where(valid[:, None], written, self._predicted)
        self._prev = torch.where(valid, actions, self._prev)
        self._t = t + valid
        return reward, done

    def _is_gold(self, first: torch.Tensor, last: torch.Tensor, tag: torch.Tensor) -> torch.Tensor:
        """Is the chunk ``first..last`` of the type of ``tag`` a gold chunk of the sentence?"""
        word = self._word_start[self.index] + first.clamp(min=0)
        return (self._gold_last[word] == last) & (self._gold_type[word] == self._tag_type[tag])

    def _track(self, actions: torch.Tensor, valid: torch.Tensor, done: torch.Tensor) -> torch.Tensor:
        """``EntityF1Tracker.add`` (and ``finish`` where the sentence ends), batched; the reward."""
        t, prev, open_ = self._t, self._prev, self._open
        closing = (open_ >= 0) & self._ends[prev, actions]
        true_positives = self._true_positives + (closing & self._is_gold(open_, t - 1, prev))
        predicted = self._predicted_chunks + closing
        open_ = torch.where(closing, -1, open_)
        open_ = torch.where(self._chunk_starts[prev, actions], t, open_)
        closed = predicted + self._gold_closed[self._word_start[self.index] + t]
        potential = torch.where(closed > 0, (2 * true_positives).double() / closed.clamp(min=1), 0.0)
        delta = potential - self._potential
        # finish: close the open chunk at the last word, score against every gold chunk
        closing = done & (open_ >= 0)
        true_positives = true_positives + (closing & self._is_gold(open_, t, actions))
        predicted = predicted + closing
        total = predicted + self._gold_count[self.index]
        final = torch.where(total > 0, (2 * true_positives).double() / total.clamp(min=1), 1.0)
        delta = torch.where(done, delta + (final - potential), delta)
        potential = torch.where(done, final, potential)
        self._open = torch.where(valid, open_, self._open)
        self._true_positives = torch.where(valid, true_positives, self._true_positives)
        self._predicted_chunks = torch.where(valid, predicted, self._predicted_chunks)
        self._potential = torch.where(valid, potential, self._potential)
        return delta if self.env.reward_kind == "entity_f1_delta" else torch.where(done, potential, 0.0)

    def _mask(self) -> torch.Tensor:
        return take(self._allowed, self._prev)

    def _observation(self):
        n = self._n[self.index]
        mode = self.env.observation_mode
        cursor = self._t[:, None]
        if mode == "compact":
            word = self._word_start[self.index] + torch.minimum(self._t, n - 1)
            progress = (self._t.double() / n)[:, None].to(self.dtype)
            return torch.cat((take(self._states, word).to(self.dtype), take(self._previous_one_hot, self._prev), progress), 1)
        if mode == "sequence":
            states = padded_gather(self._states, self._word_start[self.index], n, self._max_words).to(self.dtype)
            mask = (torch.arange(self._max_words, device=self.device) < n[:, None]).to(torch.int8)
            return {"states": states, "mask": mask, "tags": self._predicted, "cursor": cursor}
        length = self.env.encoded.max_length
        segment = self.index
        input_ids = padded_gather(self._input_ids, self._token_start[segment], self._token_count[segment], length)
        attention = (torch.arange(length, device=self.device) < self._token_count[segment][:, None]).long()
        word_starts = padded_gather(self._positions, self._word_start[self.index], n, self._max_words, fill=-1)
        return {"input_ids": input_ids, "attention_mask": attention, "word_starts": word_starts,
                "tags": self._predicted, "cursor": cursor}
