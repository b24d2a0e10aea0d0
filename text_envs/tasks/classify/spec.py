"""Classify: the spec of one-step text classification (see :mod:`text_envs.tasks.classify.env`).

The label helpers at the bottom are shared with ClassifyReading, whose episodes end in the
same label decision.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Sequence

import gymnasium as gym
import numpy as np

from ...metrics import classification_scores
from ...records import TaskDataset
from ..spec import PolicySchema, TaskSpec


class ClassifySpec(TaskSpec):
    """Tables: ``labels`` (the action names, the dataset's classes in its order), ``gold``
    (each example's label index) and ``segments`` (each example's segment in the cache)."""

    name = "Classify"
    summary = "label a text in one step"
    records = "classification"
    env_class = "text_envs.tasks.classify.env:ClassifyEnv"
    vector_class = "text_envs.tasks.classify.vector:ClassifyVectorEnv"
    schemas = {"sequence": PolicySchema({"states", "attention_mask"}, "label"),
               "tokens": PolicySchema({"input_ids", "attention_mask"}, "label", items="input_ids")}
    headline = "accuracy"
    heuristic = "majority label"
    training = {"total_timesteps": 100_000}

    def _build(self) -> None:
        self.labels = list(self.data.labels)
        self.action_names = self.labels
        self.gold = gold_indices(self.data)
        self.segments = np.asarray(self.encoded.segment_starts[:-1])
        hidden, length = self.encoded.hidden_size, self.encoded.max_length
        self.action_space = gym.spaces.Discrete(len(self.labels))
        attention = gym.spaces.Box(0, 1, (length,), np.int64)
        if self.observation == "compact":
            self.observation_space = self.state_box((hidden,))
        elif self.observation == "sequence":
            self.observation_space = gym.spaces.Dict({"states": self.state_box((length, hidden)),
                                                      "attention_mask": attention})
        else:
            self.observation_space = gym.spaces.Dict({
                "input_ids": gym.spaces.Box(0, self.vocab_size - 1, (length,), np.int64), "attention_mask": attention})

    @classmethod
    def scores(cls, data: TaskDataset, predictions: dict[int, Any]) -> dict[str, float]:
        """Accuracy and macro-F1 over the label names predicted (None, for an episode cut before
        its label, is wrong)."""
        return label_scores(data, predictions)

    @classmethod
    def heuristic_predictions(cls, train: TaskDataset, data: TaskDataset) -> dict[int, Any]:
        """The majority label of ``train``, for every record."""
        majority = Counter(record.label for record in train).most_common(1)[0][0]
        return {i: majority for i in range(len(data))}


# -- shared with ClassifyReading ----------------------------------------------------------------

def gold_indices(data: TaskDataset) -> np.ndarray:
    """Each record's gold label as an index into ``data.labels`` (the action of that label)."""
    index = {label: i for i, label in enumerate(data.labels)}
    return np.array([index[record.label] for record in data], dtype=np.int64)


def label_scores(data: TaskDataset, predictions: dict[int, Any]) -> dict[str, float]:
    """Accuracy and macro-F1 of ``predictions`` (record index -> label name)."""
    indices = sorted(predictions)
    return classification_scores([data[i].label for i in indices], [predictions[i] for i in indices], data.labels)


def label_result(labels: Sequence[str], choice: int | None, gold: int) -> tuple[str | None, dict[str, float]]:
    """The prediction (a label name; None when the episode was truncated before any label)
    and its accuracy."""
    prediction = None if choice is None else labels[choice]
    return prediction, {"accuracy": float(choice == gold)}


def verdict(labels: Sequence[str], choice: int | None, gold: int) -> str:
    """The rendered decision: ``"sports ok"``, ``"sports x"``, or ``"?"`` before it is made."""
    if choice is None:
        return "?"
    return f"{labels[choice]} {'ok' if choice == gold else 'x'}"
