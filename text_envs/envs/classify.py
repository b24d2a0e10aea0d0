"""Text classification in one step: observe a text, answer with its label.

Actions: ``Discrete(len(labels))`` over the dataset's class names (``env.labels``, in the
dataset's order). Every label is always valid (the mask is all True), so no action of the
space is ever masked.

Reward: 1.0 for the gold label, 0.0 otherwise, and the episode ends; the return is the
accuracy, which ``info["metrics"]["accuracy"]`` repeats (``info["prediction"]`` is the
chosen label's name).

Observations (float32 unless ``dtype=np.float16``; ``H`` = encoder hidden size, ``L`` =
encoder ``max_length``):

* ``"compact"``: ``Box(H)``: the text's mean-pooled encoder vector (the input of a linear
  probe or an MLP agent).
* ``"sequence"``: ``Dict(states=Box(L, H), attention_mask=Box(L) int64)``: every token's
  state, zero-padded, and which positions hold a token.
* ``"tokens"``: ``Dict(input_ids=Box(L), attention_mask=Box(L))``, int64: the encoder's
  token ids (special tokens included), for agents that run their own encoder.

Texts longer than ``max_length`` tokens are encoded truncated (see ``encoded.truncated``),
as every classifier over this encoder would see them.

The helpers at the bottom are shared with :mod:`text_envs.envs.classify_reading`, whose
episodes end in the same label decision.
"""

from __future__ import annotations

from typing import Sequence

import gymnasium as gym
import numpy as np

from ..records import TaskDataset
from .base import TextEnv


class ClassifyEnv(TextEnv):
    task = "classification"

    def _setup(self) -> None:
        self.labels = self.data.labels
        self._gold = gold_indices(self.data)
        hidden, length = self.encoded.hidden_size, self.encoded.max_length
        self.action_space = gym.spaces.Discrete(len(self.labels))
        attention = gym.spaces.Box(0, 1, (length,), np.int64)
        if self.observation_mode == "compact":
            self.observation_space = self._state_box((hidden,))
        elif self.observation_mode == "sequence":
            self.observation_space = gym.spaces.Dict({"states": self._state_box((length, hidden)),
                                                      "attention_mask": attention})
        else:
            self.observation_space = gym.spaces.Dict({
                "input_ids": gym.spaces.Box(0, self.encoder.vocab_size - 1, (length,), np.int64),
                "attention_mask": attention})

    def _begin(self, index: int) -> None:
        self._segment = self.encoded.segments(index)[0]
        self._choice: int | None = None

    def _act(self, action: int) -> tuple[float, bool]:
        self._choice = action
        return float(action == self._gold[self.index]), True

    def _observation(self):
        if self.observation_mode == "compact":
            return np.asarray(self.encoded.pooled[self._segment], dtype=self.dtype)
        length = self.encoded.max_length
        ids, attention = self.encoded.padded_tokens([self._segment], (1, length))
        if self.observation_mode == "tokens":
            return {"input_ids": ids[0], "attention_mask": attention[0]}
        span = self.encoded.tokens(self._segment)
        states = np.zeros((length, self.encoded.hidden_size), dtype=self.dtype)
        states[:span.stop - span.start] = self._states(span)
        return {"states": states, "attention_mask": attention[0]}

    def _mask(self) -> np.ndarray:
        return np.ones(len(self.labels), dtype=bool)

    def expert_action(self) -> int:
        """The gold label."""
        return int(self._gold[self.index])

    def _result(self):
        return label_result(self.labels, self._choice, int(self._gold[self.index]))

    def _render_text(self) -> str:
        record, gold = self.record, int(self._gold[self.index])
        reward = 0.0 if self._choice is None else float(self._choice == gold)
        return "\n".join([f"Classify {self.data.split} #{self.index} ({record.id})",
                          "text:   " + record.text,
                          "agent:  " + verdict(self.labels, self._choice, gold),
                          "gold:   " + self.labels[gold],
                          f"reward: {reward:g}"])


# -- shared with the reading env --------------------------------------------------------------

def gold_indices(data: TaskDataset) -> np.ndarray:
    """Each record's gold label as an index into ``data.labels`` (the action of that label)."""
    index = {label: i for i, label in enumerate(data.labels)}
    return np.array([index[record.label] for record in data], dtype=np.int64)


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
