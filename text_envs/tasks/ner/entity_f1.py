"""Entity F1 of a sentence tagged left to right, kept up to date in O(1) a word: NER's
entity-F1 rewards.

seqeval (:func:`text_envs.metrics.entity_scores`) is the reference; this module follows its
chunk rules (:func:`chunk_tables` is built from seqeval's own functions) so that
:class:`EntityF1Tracker`'s final F1 equals seqeval's on every sentence
(``tests/test_env_ner.py`` checks it). The torch vector env batches the tracker over many
sentences (:meth:`~text_envs.tasks.ner.vector.NerVectorEnv._track`) and reads the gold
side from :class:`GoldChunks`, which the tracker itself builds.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from typing import Sequence

import numpy as np


@lru_cache(maxsize=32)
def chunk_tables(tags: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, list]:
    """``ends[prev, cur]``/``starts[prev, cur]``: does a chunk end before / start at a word
    tagged ``cur`` after one tagged ``prev`` (index ``len(tags)`` stands for "outside the
    sentence")? Built from seqeval's own rules so the two always agree."""
    from seqeval.metrics.sequence_labeling import end_of_chunk, start_of_chunk

    split = [(t[0], t[2:]) if t != "O" else ("O", "_") for t in tags] + [("O", "_")]
    n = len(split)
    ends = np.zeros((n, n), dtype=bool)
    starts = np.zeros((n, n), dtype=bool)
    for p, (prev_tag, prev_type) in enumerate(split):
        for c, (tag, type_) in enumerate(split):
            ends[p, c] = end_of_chunk(prev_tag, tag, prev_type, type_)
            starts[p, c] = start_of_chunk(prev_tag, tag, prev_type, type_)
    return ends, starts, [t for _, t in split]


class EntityF1Tracker:
    """Entity F1 of a sentence being tagged left to right, updated in O(1) per word.

    ``potential`` is ``2 tp / (predicted + gold)`` over the entities that the tags so far
    have closed; after :meth:`finish` it equals seqeval's F1 of the sentence (1.0 when the
    sentence has no entity and none was predicted). Rewards ``potential`` differences, so
    a dense reward sums to the sentence's final F1.
    """

    def __init__(self, tags: tuple[str, ...], gold: Sequence[int]) -> None:
        self.ends, self.starts, self.types = chunk_tables(tags)
        self.outside = len(tags)
        self.gold = self._chunks(list(gold))
        gold_ends = np.zeros(len(gold) + 1, dtype=np.int64)
        for _, end, _ in self.gold:
            gold_ends[end + 1] += 1
        self.gold_closed = np.cumsum(gold_ends)  # gold entities ending before word i
        self.gold_set = set(self.gold)
        self.reset()

    def _chunks(self, sequence: list[int]) -> list[tuple[int, int, str]]:
        chunks, start, prev = [], None, self.outside
        for i, tag in enumerate([*sequence, self.outside]):
            if start is not None and self.ends[prev, tag]:
                chunks.append((start, i - 1, self.types[prev]))
                start = None
            if self.starts[prev, tag]:
                start = i
            prev = tag
        return chunks

    def reset(self) -> None:
        self.position, self.prev, self.start = 0, self.outside, None
        self.true_positives, self.predicted = 0, 0
        self.potential = 0.0

    def _close(self, upto: int) -> None:
        if self.start is not None:
            self.predicted += 1
            self.true_positives += (self.start, upto, self.types[self.prev]) in self.gold_set
            self.start = None

    def _update_potential(self, gold_closed: int) -> float:
        before = self.potential
        denominator = self.predicted + gold_closed
        self.potential = 2 * self.true_positives / denominator if denominator else 0.0
        return self.potential - before

    def add(self, tag: int) -> float:
        """Tag the next word; returns the change in potential."""
        if self.start is not None and self.ends[self.prev, tag]:
            self._close(self.position - 1)
        if self.starts[self.prev, tag]:
            self.start = self.position
        self.prev = tag
        self.position += 1
        return self._update_potential(int(self.gold_closed[self.position - 1]))

    def finish(self) -> float:
        """Close the sentence; returns the last change, after which ``potential`` is the F1."""
        self._close(self.position - 1)
        self.prev = self.outside
        before = self.potential
        if self.predicted + len(self.gold) == 0:
            self.potential = 1.0
            return self.potential - before
        return self._update_potential(len(self.gold))


@dataclasses.dataclass(frozen=True)
class GoldChunks:
    """The gold side of :class:`EntityF1Tracker` for a whole split, as flat per-word tables
    (word ``w`` of sentence ``e`` is flat word ``offsets[e] + w``), so a batched tracker
    scores a closed chunk by a lookup: gold chunks do not overlap, so at most one starts at
    a word.

    Attributes:
        last: [words] the last word (within its sentence) of the gold chunk starting at
            each word; -1 where none starts.
        type: [words] that chunk's type, as an id of ``tag_type``; -1 where none starts.
        closed: [words] the gold chunks of the sentence that end before each word
            (the tracker's ``gold_closed``).
        count: [sentences] the gold chunks of each sentence.
        tag_type: [tags + 1] the type id of each tag's chunks (the last row: outside).
    """

    last: np.ndarray
    type: np.ndarray
    closed: np.ndarray
    count: np.ndarray
    tag_type: np.ndarray

    @classmethod
    def build(cls, tags: tuple[str, ...], gold: np.ndarray, offsets: np.ndarray) -> GoldChunks:
        """The tables of the flat gold tag ids ``gold``, sentence ``e`` being
        ``gold[offsets[e]:offsets[e + 1]]``, read off each sentence's tracker."""
        types = chunk_tables(tags)[2]
        type_ids = {name: i for i, name in enumerate(dict.fromkeys(types))}
        last = np.full(len(gold), -1, dtype=np.int64)
        kind = np.full(len(gold), -1, dtype=np.int64)
        closed = np.zeros(len(gold), dtype=np.int64)
        count = np.zeros(len(offsets) - 1, dtype=np.int64)
        for sentence, (begin, end) in enumerate(zip(offsets[:-1], offsets[1:])):
            tracker = EntityF1Tracker(tags, gold[begin:end])
            for first, final, name in tracker.gold:
                last[begin + first] = final
                kind[begin + first] = type_ids[name]
            closed[begin:end] = tracker.gold_closed[:end - begin]
            count[sentence] = len(tracker.gold)
        tag_type = np.array([type_ids[name] for name in types], dtype=np.int64)
        return cls(last, kind, closed, count, tag_type)
