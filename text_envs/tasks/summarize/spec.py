"""Summarize: the spec of extractive summarisation, one sentence pick at a time (see
:mod:`text_envs.tasks.summarize.env`). Its scores and Lead-3 are SummarizeTokens' too."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from ... import cache as cache_module
from ...metrics import ROUGE_TYPES, rouge_scores
from ...records import TaskDataset
from ..spec import PolicySchema, TaskSpec, one_of, positive_int
from .rouge import ROUGE_REWARDS


class SummarizeSpec(TaskSpec):
    """Tables, per document: ``first_segment`` (the cache segment of its first sentence; its
    sentences are that segment and the ones after it, one each), ``num_sentences`` and
    ``pick_limit`` (the picks that end its episode: ``min(max_picks, num_sentences)``).
    ``stop_action`` is STOP's action (``max_sentences``); ``action_names`` are the sentence
    numbers, then ``"STOP"``.

    Args (the task's options, besides :class:`~text_envs.tasks.spec.TaskSpec`'s):
        reward: ``"final"`` or ``"gain"``.
        rouge: the score rewards use: ``"mean"``, ``"rouge1"``, ``"rouge2"`` or ``"rougeL"``.
        max_sentences: sentences a document may have (the action space is one more).
        max_picks: picks after which the episode ends.
    """

    name = "Summarize"
    summary = "pick document sentences one at a time, or STOP"
    records = "summarization"
    env_class = "text_envs.tasks.summarize.env:SummarizeEnv"
    vector_class = "text_envs.tasks.summarize.vector:SummarizeVectorEnv"
    rewards = ("final", "gain")
    choices = {"rouge": ROUGE_REWARDS}
    schemas = {
        "sequence": PolicySchema({"states", "mask", "picked", "num_picked"}, "pointer_stop", item_mask="mask",
                                 item_fields=("picked",), global_fields=("num_picked",)),
        "tokens": PolicySchema({"input_ids", "attention_mask", "picked", "num_picked"}, "pointer_stop",
                               items="input_ids", tokens_layout="rows", item_fields=("picked",),
                               global_fields=("num_picked",)),
    }
    actions_kind = "sentences"
    headline = "rouge1"
    heuristic = "lead-3"

    def __init__(self, data: TaskDataset, encoded: cache_module.EncodedSplit, *, reward: str = "final",
                 rouge: str = "mean", max_sentences: int = 64, max_picks: int = 4, **common) -> None:
        self.reward = one_of("reward", reward, self.rewards)
        self.rouge = one_of("rouge score", rouge, self.choices["rouge"])
        self.max_sentences = positive_int("max_sentences", max_sentences)
        self.max_picks = positive_int("max_picks", max_picks)
        self.stop_action = self.max_sentences
        super().__init__(data, encoded, **common)

    def _build(self) -> None:
        segment_starts = np.asarray(self.encoded.segment_starts)
        self.first_segment = segment_starts[:-1]
        self.num_sentences = np.diff(segment_starts)
        longest = int(np.argmax(self.num_sentences))
        if self.num_sentences[longest] > self.max_sentences:
            raise ValueError(f"record {self.data[longest].id!r} has {self.num_sentences[longest]} sentences, more "
                             f"than max_sentences={self.max_sentences}; pass a larger max_sentences")
        self.pick_limit = np.minimum(self.num_sentences, self.max_picks)
        self.action_names = [*map(str, range(self.max_sentences)), "STOP"]
        sentences, hidden, length = self.max_sentences, self.encoded.hidden_size, self.encoded.max_length
        self.action_space = gym.spaces.Discrete(sentences + 1)
        picked = gym.spaces.Box(0, 1, (sentences,), np.int8)
        num_picked = gym.spaces.Box(0, self.max_picks, (1,), np.int64)
        if self.observation == "compact":
            self.observation_space = self.state_box((sentences * (hidden + 2),))
        elif self.observation == "sequence":
            self.observation_space = gym.spaces.Dict({
                "states": self.state_box((sentences, hidden)), "mask": gym.spaces.Box(0, 1, (sentences,), np.int8),
                "picked": picked, "num_picked": num_picked})
        else:
            self.observation_space = gym.spaces.Dict({
                "input_ids": gym.spaces.Box(0, self.vocab_size - 1, (sentences, length), np.int64),
                "attention_mask": gym.spaces.Box(0, 1, (sentences, length), np.int64),
                "picked": picked, "num_picked": num_picked})

    @classmethod
    def scores(cls, data: TaskDataset, predictions: dict[int, Any]) -> dict[str, float]:
        """Mean ROUGE-1/2/L F-measures of the summaries predicted (lists of sentences, or a
        string) against the references."""
        scores = [rouge_scores([p] if isinstance(p, str) else p, data[i].summary)
                  for i, p in ((i, predictions[i]) for i in sorted(predictions))]
        return {key: float(np.mean([s[key] for s in scores])) for key in ROUGE_TYPES}

    @classmethod
    def heuristic_predictions(cls, train: TaskDataset, data: TaskDataset) -> dict[int, Any]:
        """Lead-3: each document's first three sentences."""
        return {i: list(record.sentences[:3]) for i, record in enumerate(data)}
