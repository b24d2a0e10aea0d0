"""NER on tensors: every reward, observation and mask of :class:`~text_envs.tasks.ner.env.NerEnv` on the device.

The spec's flat per-word tables (:class:`~text_envs.tasks.ner.spec.NerSpec`: gold tags,
first-subword positions, and here each word's state) go to the device once; sentence ``e``
owns flat words ``word_offsets[e]:word_offsets[e+1]``. The entity-F1 rewards are
:class:`~text_envs.tasks.ner.entity_f1.EntityF1Tracker` batched (:meth:`NerVectorEnv._track`):
the tracker's state (open chunk start, previous tag, true positives, predicted chunks,
potential) is one tensor per field, seqeval's chunk rules are its ``ends``/``starts``
tables, and "is this closed chunk a gold one" is a lookup in the spec's
:class:`~text_envs.tasks.ner.entity_f1.GoldChunks`.

The sentence's part of the ``sequence`` and ``tokens`` observations (its word states or
token ids, which do not change during an episode) is gathered when the episode starts
(``_derive``) and handed out as it is at every step, so a step's cost does not grow with
the sentence.
"""

from __future__ import annotations

import torch

from ...vector.base import TokenRows, TorchVectorEnv, padded_gather, take
from .entity_f1 import chunk_tables
from .spec import NerSpec


class NerVectorEnv(TokenRows, TorchVectorEnv):
    spec_class = NerSpec
    state = ("_t", "_prev", "_predicted")  # the word to tag, the previous tag, the tags so far
    #: the batched EntityF1Tracker's fields, state too with an entity-F1 reward
    tracker_state = ("_open", "_true_positives", "_predicted_chunks", "_potential")

    def _setup(self) -> None:
        spec = self.task_spec
        self._n = self.tensor(spec.lengths)
        self._word_start = self.tensor(spec.word_offsets[:-1])
        self._gold = self.tensor(spec.gold)
        self._allowed = self.tensor(spec.allowed)
        self._previous_one_hot = self.tensor(spec.previous_one_hot, self.dtype)
        if spec.word_shape:
            self._shapes = self.tensor(spec.shapes)
            self._shape_one_hot = self.tensor(spec.shape_one_hot, self.dtype)
        if spec.observation == "tokens":
            self._segment = self.tensor(spec.segments)
            self._positions = self.tensor(spec.positions)
            self._setup_tokens(states=False)
        else:  # float16, as cached; the observation dtype on gather
            self._states = self.tensor(spec.word_states(dtype=spec.encoded.states.dtype))
        if spec.reward != "token":
            self._setup_tracker()
        n = self.num_envs
        self._t = torch.zeros(n, dtype=torch.int64, device=self.device)
        self._prev = torch.full((n,), len(spec.tags), dtype=torch.int64, device=self.device)
        self._predicted = torch.full((n, spec.max_words), -1, dtype=torch.int64, device=self.device)
        if spec.observation != "compact":
            self._sentence = self._gather_sentences(self.index)

    def _gather_sentences(self, examples: torch.Tensor) -> dict[str, torch.Tensor]:
        """The sentence part of the observations of ``examples`` (sentence indices)."""
        n, first, max_words = self._n[examples], self._word_start[examples], self.task_spec.max_words
        shapes = {"shapes": padded_gather(self._shapes, first, n, max_words, fill=-1)} if self.task_spec.word_shape else {}
        if self.task_spec.observation == "sequence":
            states = padded_gather(self._states, first, n, max_words).to(self.dtype)
            mask = (torch.arange(max_words, device=self.device) < n[:, None]).to(torch.int8)
            return {"states": states, "mask": mask, **shapes}
        word_starts = padded_gather(self._positions, first, n, max_words, fill=-1)
        return {**self._rows(self._segment[examples]), "word_starts": word_starts, **shapes}

    def _derive(self, starting: torch.Tensor) -> None:
        """Gather the sentence part of the observations of the episodes that start (replaced out
        of place: observations handed out before keep theirs)."""
        if self.task_spec.observation == "compact":
            return
        rows = starting.nonzero().squeeze(1)
        if len(rows):
            new = self._gather_sentences(self.index[rows])
            self._sentence = {key: value.index_copy(0, rows, new[key]) for key, value in self._sentence.items()}

    def state_names(self) -> tuple[str, ...]:
        return (*super().state_names(), *(self.tracker_state if self.task_spec.reward != "token" else ()))

    def _setup_tracker(self) -> None:
        """The spec's gold chunks and seqeval's chunk tables on the device; the tracker's state."""
        spec = self.task_spec
        ends, chunk_starts, _ = chunk_tables(spec.tags)
        chunks = spec.gold_chunks
        self._ends, self._chunk_starts = self.tensor(ends), self.tensor(chunk_starts)
        self._tag_type = self.tensor(chunks.tag_type)
        self._gold_last, self._gold_type = self.tensor(chunks.last), self.tensor(chunks.type)
        self._gold_closed, self._gold_count = self.tensor(chunks.closed), self.tensor(chunks.count)
        zeros = torch.zeros(self.num_envs, dtype=torch.int64, device=self.device)
        self._open, self._true_positives, self._predicted_chunks = zeros - 1, zeros, zeros
        self._potential = zeros.double()

    def _begin(self, starting: torch.Tensor) -> None:
        self._t = torch.where(starting, 0, self._t)
        self._prev = torch.where(starting, len(self.task_spec.tags), self._prev)
        self._predicted = torch.where(starting[:, None], -1, self._predicted)
        if self.task_spec.reward != "token":
            self._open = torch.where(starting, -1, self._open)
            self._true_positives = torch.where(starting, 0, self._true_positives)
            self._predicted_chunks = torch.where(starting, 0, self._predicted_chunks)
            self._potential = torch.where(starting, 0.0, self._potential)

    def _act(self, actions: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t, n = self._t, self._n[self.index]
        done = t + 1 == n
        if self.task_spec.reward == "token":
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
        """:class:`~text_envs.tasks.ner.entity_f1.EntityF1Tracker`'s ``add`` (and ``finish`` where
        the sentence ends), batched over the sub-envs; the reward."""
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
        return delta if self.task_spec.reward == "entity_f1_delta" else torch.where(done, potential, 0.0)

    def _mask(self) -> torch.Tensor:
        return take(self._allowed, self._prev)

    def _observation(self):
        cursor = self._t[:, None]
        if self.task_spec.observation == "compact":
            n = self._n[self.index]
            word = self._word_start[self.index] + torch.minimum(self._t, n - 1)
            progress = (self._t.double() / n)[:, None].to(self.dtype)
            states = take(self._states, word).to(self.dtype)
            shape = (take(self._shape_one_hot, take(self._shapes, word)),) if self.task_spec.word_shape else ()
            return torch.cat((states, take(self._previous_one_hot, self._prev), progress, *shape), 1)
        return {**self._sentence, "tags": self._predicted, "cursor": cursor}
