"""NER: the spec of BIO tagging, one step per word (see :mod:`text_envs.tasks.ner.env`)."""

from __future__ import annotations

from collections import Counter, defaultdict
from functools import cached_property
from typing import Any

import gymnasium as gym
import numpy as np

from ...cache import EncodedSplit
from ...metrics import entity_scores
from ...records import TaskDataset, entity_type
from ..spec import PolicySchema, TaskSpec, one_of, positive_int
from .entity_f1 import GoldChunks, chunk_tables


#: word shapes (``word_shape=True``): what an uncased encoder's states do not say about a word
SHAPES = ("lower", "Title", "UPPER", "MiXed", "digit", "symbol")


def word_shape(word: str) -> int:
    """The index in :data:`SHAPES` of ``word``'s shape: any digit makes it ``digit``, no letter
    ``symbol``; else its letters' case: all lower, a capital then lower (a lone capital too),
    all upper, or mixed."""
    letters = [c for c in word if c.isalpha()]
    if any(c.isdigit() for c in word):
        return 4
    if not letters:
        return 5
    if all(c.islower() for c in letters):
        return 0
    if letters[0].isupper() and all(c.islower() for c in letters[1:]):
        return 1
    return 2 if all(c.isupper() for c in letters) else 3


class NerSpec(TaskSpec):
    """Options: ``reward`` (one of ``rewards``, see the env), ``max_words`` (the longest
    sentence the observations hold; a longer one is an error here) and ``word_shape`` (add
    each word's shape, :data:`SHAPES`, to the observations: all-MiniLM-L6-v2 is uncased, so
    its states lose capitalisation, the strongest cue of a name).

    Tables (read-only), with the split's words stored flat: sentence ``e`` owns flat words
    ``word_offsets[e]:word_offsets[e + 1]`` (:meth:`words`).

    * ``tags``: the dataset's BIO tag set, which is the action names (``O`` is 0);
    * ``lengths`` [sentences]: words per sentence;
    * ``word_offsets`` [sentences + 1]: where each sentence's words start in the flat tables;
    * ``segments`` [sentences]: each sentence's segment in the cache (one per sentence);
    * ``gold`` [words]: each word's gold tag id;
    * ``positions`` [words]: the position of each word's first subword in its segment, -1
      where truncation cut the word off (the ``word_starts`` of ``tokens`` observations);
    * ``allowed`` [tags + 1, tags]: ``allowed[prev, tag]``, may ``tag`` follow ``prev`` (IOB2:
      ``I-X`` only after ``B-X`` or ``I-X``); row ``len(tags)`` is the sentence start;
    * ``previous_one_hot`` [tags + 1, tags]: the one-hot of the previous tag in ``compact``
      observations, in the observation dtype; all zero at the sentence start;
    * ``shapes`` [words] (``word_shape=True``; else None): each word's shape, an index of
      :data:`SHAPES`; ``shape_one_hot`` [shapes, shapes] its one-hot in ``compact``
      observations, in the observation dtype;
    * ``gold_chunks``: the gold entities as per-word tables (:class:`GoldChunks`), for the
      batched entity-F1 tracker; built when first read.

    The words' encoder states are not a table here: :meth:`word_states` gathers them from
    the memory-mapped cache, a sentence per episode for the env, all at once for the torch
    vector env, so an env does not hold a copy of the split's states.
    """

    name = "NER"
    summary = "tag each word of a sentence with a BIO tag"
    records = "ner"
    env_class = "text_envs.tasks.ner.env:NerEnv"
    vector_class = "text_envs.tasks.ner.vector:NerVectorEnv"
    rewards = ("token", "entity_f1", "entity_f1_delta")
    schemas = {
        "sequence": PolicySchema({"states", "mask", "tags", "cursor"}, "label", item_mask="mask",
                                 item_fields=("tags",), marker_fields=("cursor",), focus="cursor",
                                 text_fields=("shapes",)),
        "tokens": PolicySchema({"input_ids", "attention_mask", "word_starts", "tags", "cursor"}, "label",
                               items="input_ids", tokens_layout="words", item_fields=("tags",),
                               marker_fields=("cursor",), focus="cursor", text_fields=("shapes",)),
    }
    headline = "entity_f1"
    heuristic = "majority tag"
    #: NER's token reward is immediate (a tag's reward does not depend on later tags), so a
    #: short horizon (gamma 0.5) cuts the variance that later words' rewards add to each
    #: advantage: on the embedded set with MiniLM, PPO reaches validation entity F1 0.807 in
    #: 200k steps with it, 0.585 with gamma 0.99 and gae_lambda 0.95 (`text-envs train NER
    #: --no-baselines [--set gamma=0.99 --set gae_lambda=0.95]`).
    training = {"total_timesteps": 200_000, "gamma": 0.5, "gae_lambda": 0.9}

    def __init__(self, data: TaskDataset, encoded: EncodedSplit, *, reward: str = "token", max_words: int = 128,
                 word_shape: bool = False, **common) -> None:
        self.reward = one_of("reward", reward, self.rewards)
        self.max_words = positive_int("max_words", max_words)
        if not isinstance(word_shape, bool):
            raise ValueError(f"word_shape must be True or False, got {word_shape!r}")
        self.word_shape = word_shape
        super().__init__(data, encoded, **common)

    def _build(self) -> None:
        self.tags = tuple(self.data.labels)
        self.action_names = list(self.tags)
        num_tags, hidden = len(self.tags), self.encoded.hidden_size
        self.lengths = np.array([len(record.tokens) for record in self.data], dtype=np.int64)
        longest = int(np.argmax(self.lengths))
        if self.lengths[longest] > self.max_words:
            raise ValueError(f"record {self.data[longest].id!r} has {self.lengths[longest]} words, more than "
                             f"max_words={self.max_words}; pass a larger max_words")
        self.word_offsets = np.concatenate(([0], np.cumsum(self.lengths)))
        self.segments = np.asarray(self.encoded.segment_starts[:-1])
        chunk_tables(self.tags)  # imports seqeval (about a second) now rather than mid-episode
        tag_index = {tag: i for i, tag in enumerate(self.tags)}
        self.gold = np.array([tag_index[tag] for record in self.data for tag in record.tags], dtype=np.int64)
        self.positions = np.concatenate([self.encoded.word_positions(segment, n)
                                         for segment, n in zip(self.segments, self.lengths)])
        kinds = [entity_type(tag) for tag in self.tags]
        self.allowed = np.ones((num_tags + 1, num_tags), dtype=bool)
        for tag, name in enumerate(self.tags):
            if name.startswith("I-"):
                self.allowed[:, tag] = [p < num_tags and kinds[p] == kinds[tag] for p in range(num_tags + 1)]
        self.previous_one_hot = np.eye(num_tags + 1, num_tags, dtype=self.dtype)
        self.shapes = self.shape_one_hot = None
        if self.word_shape:
            self.shapes = np.array([word_shape(word) for record in self.data for word in record.tokens], dtype=np.int64)
            self.shape_one_hot = np.eye(len(SHAPES), dtype=self.dtype)
        for table in (self.lengths, self.word_offsets, self.gold, self.positions, self.allowed,
                      self.previous_one_hot, self.shapes, self.shape_one_hot):
            if table is not None:
                table.setflags(write=False)  # shared by every env over the split; rows of them are handed out
        self.action_space = gym.spaces.Discrete(num_tags)
        words, length = self.max_words, self.encoded.max_length
        tags = gym.spaces.Box(-1, num_tags - 1, (words,), np.int64)
        cursor = gym.spaces.Box(0, words, (1,), np.int64)
        shapes = {"shapes": gym.spaces.Box(-1, len(SHAPES) - 1, (words,), np.int64)} if self.word_shape else {}
        if self.observation == "compact":
            self.observation_space = self.state_box((hidden + num_tags + 1 + (len(SHAPES) if self.word_shape else 0),))
        elif self.observation == "sequence":
            self.observation_space = gym.spaces.Dict({
                "states": self.state_box((words, hidden)), "mask": gym.spaces.Box(0, 1, (words,), np.int8),
                "tags": tags, "cursor": cursor, **shapes})
        else:
            self.observation_space = gym.spaces.Dict({
                "input_ids": gym.spaces.Box(0, self.vocab_size - 1, (length,), np.int64),
                "attention_mask": gym.spaces.Box(0, 1, (length,), np.int64),
                "word_starts": gym.spaces.Box(-1, length - 1, (words,), np.int64), "tags": tags, "cursor": cursor,
                **shapes})

    def words(self, example: int) -> slice:
        """The flat words of sentence ``example``: its part of ``gold`` and ``positions``."""
        return slice(int(self.word_offsets[example]), int(self.word_offsets[example + 1]))

    def word_states(self, example: int | None = None, dtype: type | None = None) -> np.ndarray:
        """The cached state of each word's first subword, zero for a word truncation cut off:
        sentence ``example``'s words, or every word of the split (flat) when None; a new
        array, of ``dtype`` (default: the observation dtype)."""
        token_starts = np.asarray(self.encoded.token_starts)
        if example is None:
            starts, positions = np.repeat(token_starts[self.segments], self.lengths), self.positions
        else:
            starts, positions = token_starts[self.segments[example]], self.positions[self.words(example)]
        rows = starts + np.maximum(positions, 0)
        states = np.asarray(self.encoded.states[rows], dtype=self.dtype if dtype is None else dtype)
        states[positions < 0] = 0
        return states

    @cached_property
    def gold_chunks(self) -> GoldChunks:
        """The gold entities of the split as flat per-word tables (built on first read: only
        the torch vector env's entity-F1 rewards need them)."""
        return GoldChunks.build(self.tags, self.gold, self.word_offsets)

    @classmethod
    def scores(cls, data: TaskDataset, predictions: dict[int, Any]) -> dict[str, float]:
        """Micro entity precision, recall and F1 (seqeval, IOB2) and token accuracy over the tag
        lists predicted; the words an episode cut short left untagged count as ``O``."""
        indices = sorted(predictions)
        records = [data[i] for i in indices]
        predicted = [[*predictions[i], *["O"] * (len(r.tags) - len(predictions[i]))] for i, r in zip(indices, records)]
        return entity_scores([r.tags for r in records], predicted)

    @classmethod
    def heuristic_predictions(cls, train: TaskDataset, data: TaskDataset) -> dict[int, Any]:
        """Each word's most frequent tag in ``train`` (``O`` for a word never seen there)."""
        counts: dict[str, Counter] = defaultdict(Counter)
        for record in train:
            for word, tag in zip(record.tokens, record.tags):
                counts[word][tag] += 1
        return {i: [counts[w].most_common(1)[0][0] if w in counts else "O" for w in record.tokens]
                for i, record in enumerate(data)}
