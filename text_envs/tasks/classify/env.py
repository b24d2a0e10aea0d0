"""Text classification in one step: observe a text, answer with its label.

Actions: ``Discrete(len(labels))`` over the dataset's class names (``env.task_spec.labels``, in the
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
"""

from __future__ import annotations

import numpy as np

from ...envs.base import TextEnv
from .spec import ClassifySpec, label_result, verdict


class ClassifyEnv(TextEnv):
    spec_class = ClassifySpec

    def _begin(self, index: int) -> None:
        self._segment = self.task_spec.segments[index]
        self._choice: int | None = None

    def _act(self, action: int) -> tuple[float, bool]:
        self._choice = action
        return float(action == self.task_spec.gold[self.index]), True

    def _observation(self):
        if self.observation_mode == "compact":
            return np.asarray(self.encoded.pooled[self._segment], dtype=self.dtype)
        length = self.encoded.max_length
        ids, attention = self.encoded.padded_tokens([self._segment], (1, length))
        if self.observation_mode == "tokens":
            return {"input_ids": ids[0], "attention_mask": attention[0]}
        span = self.encoded.tokens(self._segment)
        states = np.zeros((length, self.encoded.hidden_size), dtype=self.dtype)
        states[:span.stop - span.start] = self.task_spec.states(span)
        return {"states": states, "attention_mask": attention[0]}

    def _mask(self) -> np.ndarray:
        return np.ones(self.action_space.n, dtype=bool)

    def expert_action(self) -> int:
        """The gold label."""
        return int(self.task_spec.gold[self.index])

    def _result(self):
        return label_result(self.task_spec.labels, self._choice, int(self.task_spec.gold[self.index]))

    def _render_text(self, gold: bool) -> str:
        record, answer, labels = self.record, int(self.task_spec.gold[self.index]), self.task_spec.labels
        reward = 0.0 if self._choice is None else float(self._choice == answer)
        lines = [f"Classify {self.data.split} #{self.index} ({record.id})", "text:   " + record.text,
                 "agent:  " + (verdict(labels, self._choice, answer) if gold else
                               "?" if self._choice is None else labels[self._choice])]
        if gold:
            lines.append("gold:   " + labels[answer])
        return "\n".join([*lines, f"reward: {reward:g}"])
