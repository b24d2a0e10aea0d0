"""ClassifyReading: the spec of reading a text chunk by chunk before labelling it (see
:mod:`text_envs.tasks.classify_reading.env`).

The reward rule, :func:`reading_reward`, is here once for both implementations.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import ClassVar

import gymnasium as gym
import numpy as np

from ...cache import EncodedSplit, chunk_layout
from ...records import TaskDataset
from ..classify.spec import ClassifySpec, gold_indices
from ..spec import PolicySchema, TaskSpec, positive_int


class ClassifyReadingSpec(TaskSpec):
    """Tables (read-only), one row per text unless said otherwise:

    * ``labels``: the dataset's classes in its order; action ``1 + i`` answers ``labels[i]``
      and :attr:`READ` (0) reads on, so ``action_names`` is ``["READ", *labels]``;
    * ``gold`` [N]: each text's label index (its right action is ``1 + gold``);
    * ``first_segment`` [N]: the cache segment of its first chunk (its chunks follow it);
    * ``num_chunks`` [N]: the chunks that can be read, the text's own capped at ``max_chunks``;

    and :meth:`running_sums` (``i``), which the compact observation reads: row ``r - 1``
    sums the pooled vectors of text ``i``'s first ``r`` chunks, so its mean of the revealed
    chunks costs one row read however many are revealed. The env computes one text's at
    reset, the torch vector env the whole split's once: no process keeps a split-sized
    table it does not need.

    Args:
        chunk_words: words per chunk (default 8); it picks the cache layout, see :meth:`layout`.
        max_chunks: the most chunks of a text that can be read (default 16): the rows of the
            ``sequence`` and ``tokens`` observations; a longer text's further chunks are never
            shown (a warning counts such texts).
        reading_cost: what each READ costs (default 0.05), a finite number >= 0; the other
            arguments are :class:`~text_envs.tasks.spec.TaskSpec`'s.
    """

    name = "ClassifyReading"
    summary = "read a text chunk by chunk, then label it; reading costs"
    records = "classification"
    env_class = "text_envs.tasks.classify_reading.env:ClassifyReadingEnv"
    vector_class = "text_envs.tasks.classify_reading.vector:ClassifyReadingVectorEnv"
    schemas = {
        "sequence": PolicySchema({"states", "mask", "num_revealed"}, "label", item_mask="mask",
                                 global_fields=("num_revealed",)),
        "tokens": PolicySchema({"input_ids", "attention_mask", "num_revealed"}, "label", items="input_ids",
                               tokens_layout="rows", global_fields=("num_revealed",)),
    }
    headline = "accuracy"
    heuristic = "majority label"
    scores = ClassifySpec.scores
    heuristic_predictions = ClassifySpec.heuristic_predictions
    #: the action that reveals the next chunk; the labels' actions follow it
    READ: ClassVar[int] = 0

    @classmethod
    def layout(cls, chunk_words: int = 8, **_) -> str:
        """Each chunk of ``chunk_words`` words encoded on its own (see :func:`text_envs.cache.chunk_layout`)."""
        return chunk_layout(chunk_words)

    def __init__(self, data: TaskDataset, encoded: EncodedSplit, *, chunk_words: int = 8,
                 max_chunks: int = 16, reading_cost: float = 0.05, **common) -> None:
        self.chunk_words = positive_int("chunk_words", chunk_words)
        self.max_chunks = positive_int("max_chunks", max_chunks)
        if not isinstance(reading_cost, numbers.Real) or not math.isfinite(reading_cost) or reading_cost < 0:
            raise ValueError(f"reading_cost must be a finite number >= 0, got {reading_cost!r}")
        self.reading_cost = float(reading_cost)
        super().__init__(data, encoded, **common)

    def _build(self) -> None:
        self.labels = list(self.data.labels)
        self.action_names = ["READ", *self.labels]
        self.gold = gold_indices(self.data)
        segment_starts = np.asarray(self.encoded.segment_starts)
        counts = np.diff(segment_starts)
        self._warn_about_cut_texts(counts)
        self.first_segment = segment_starts[:-1]
        self.num_chunks = np.minimum(counts, self.max_chunks)
        for table in (self.gold, self.first_segment, self.num_chunks):
            table.setflags(write=False)  # shared by every env over the split
        hidden, chunks, length = self.encoded.hidden_size, self.max_chunks, self.encoded.max_length
        self.action_space = gym.spaces.Discrete(1 + len(self.labels))
        revealed = gym.spaces.Box(1, chunks, (1,), np.int64)
        if self.observation == "compact":
            self.observation_space = self.state_box((hidden + 2,))
        elif self.observation == "sequence":
            self.observation_space = gym.spaces.Dict({
                "states": self.state_box((chunks, hidden)), "mask": gym.spaces.Box(0, 1, (chunks,), np.int8),
                "num_revealed": revealed})
        else:
            self.observation_space = gym.spaces.Dict({
                "input_ids": gym.spaces.Box(0, self.vocab_size - 1, (chunks, length), np.int64),
                "attention_mask": gym.spaces.Box(0, 1, (chunks, length), np.int64), "num_revealed": revealed})

    def _warn_about_cut_texts(self, counts: np.ndarray) -> None:
        """Say how many texts have unreadable chunks past ``max_chunks``."""
        cut = int((counts > self.max_chunks).sum())
        if cut:
            longest = int(np.argmax(counts))
            warnings.warn(f"{cut} of {len(counts)} texts have more than max_chunks={self.max_chunks} chunks of "
                          f"{self.chunk_words} words (the longest, record {self.data[longest].id!r}, has "
                          f"{counts[longest]}); only their first {self.max_chunks} chunks can be read. Pass a "
                          f"larger max_chunks or chunk_words to read them whole.",
                          stacklevel=7)  # the caller of the env's constructor

    def running_sums(self, index: int) -> np.ndarray:
        """[num_chunks[index], H] float32: row ``r - 1`` is the sum of the pooled vectors of
        text ``index``'s first ``r`` chunks, summed in float64 (exact to float32)."""
        first = int(self.first_segment[index])
        pooled = self.encoded.pooled[first:first + int(self.num_chunks[index])]
        return np.cumsum(pooled, axis=0, dtype=np.float64).astype(np.float32)


def reading_reward(action, gold, reading_cost):
    """The reward of ``action`` in a text whose gold label index is ``gold``: READ costs
    ``reading_cost``; a label gives +1 if it is the gold one, -1 if not.

    The Gymnasium env calls it with ints, the torch vector env with a batch of tensors, so
    it is written in arithmetic that both accept. For a batch, pass ``reading_cost`` as a
    float64 0-d tensor: the rewards are then float64, as the env's Python floats are.
    """
    read, label = action == ClassifyReadingSpec.READ, action != ClassifyReadingSpec.READ
    return read * -reading_cost + label * (2 * (action - 1 == gold) - 1)
