"""Text classification by reading: reveal a text chunk by chunk, then commit to a label.

The text is cut into chunks of ``chunk_words`` words; the first chunk is shown at reset.
Each step the agent either reads on or answers, so it learns when it has read enough:
early decisions are cheap but risky, late ones safe but costly.

Actions: ``Discrete(1 + len(labels))``: ``READ`` (0) reveals the next chunk, action
``1 + i`` answers label ``env.task_spec.labels[i]`` and ends the episode (the names are
``env.task_spec.action_names``, ``["READ", *labels]``). When the whole text is revealed,
READ is masked: the decision is forced.

Rewards: ``-reading_cost`` for each READ, then +1 for the gold label or -1 for another;
so the return of a decision after ``k`` READs is ``±1 - k * reading_cost``. At the end
``info["metrics"]`` holds ``accuracy`` (1/0), ``chunks_read`` (chunks seen when deciding,
the free first one included) and ``fraction_read`` (``chunks_read`` over the text's
readable chunks).

Observations (float32 unless ``dtype=np.float16``; ``H`` = encoder hidden size, ``C`` =
``max_chunks``, ``T`` = encoder ``max_length`` per chunk):

* ``"compact"``: ``Box(H + 2)``: the mean of the revealed chunks' pooled vectors, the
  fraction of the chunks revealed, and 1.0 while more text remains (else 0.0).
* ``"sequence"``: ``Dict(states=Box(C, H), mask=Box(C) int8, num_revealed=Box(1) int64)``:
  the pooled vector of each revealed chunk (zero for the others) and which are revealed.
* ``"tokens"``: ``Dict(input_ids=Box(C, T), attention_mask=Box(C, T), num_revealed=Box(1))``,
  int64: the revealed chunks' token ids, one chunk per row (zero elsewhere).

Every chunk is encoded on its own (layout ``classification-chunks-<chunk_words>``, see
:func:`text_envs.cache.chunk_layout`), so no observation depends on unread text. A text
with more than ``max_chunks`` chunks is cut: only its first ``max_chunks`` chunks can be
read (a warning at construction counts such texts), as the one-step env only sees a text's
first ``max_length`` tokens.
"""

from __future__ import annotations

import numpy as np

from ...cache import word_chunks
from ...envs.base import TextEnv
from ..classify.spec import label_result, verdict
from .spec import ClassifyReadingSpec, reading_reward


class ClassifyReadingEnv(TextEnv):
    spec_class = ClassifyReadingSpec

    def _begin(self, index: int) -> None:
        spec = self.task_spec
        self._first, self._total = int(spec.first_segment[index]), int(spec.num_chunks[index])
        if spec.observation == "compact":
            self._sums = spec.running_sums(index)
        if spec.observation == "sequence":  # the episode's chunk vectors, converted once, not every step
            self._vectors = np.asarray(self.encoded.pooled[self._first:self._first + self._total], dtype=spec.dtype)
        self._revealed = 1
        self._choice: int | None = None

    def _act(self, action: int) -> tuple[float, bool]:
        spec = self.task_spec
        if action == spec.READ:
            self._revealed += 1
        else:
            self._choice = action - 1
        return reading_reward(action, int(spec.gold[self.index]), spec.reading_cost), action != spec.READ

    def _observation(self):
        spec, revealed, total = self.task_spec, self._revealed, self._total
        if spec.observation == "compact":
            mean = self._sums[revealed - 1] / revealed
            return np.concatenate((mean, [revealed / total, float(revealed < total)])).astype(spec.dtype)
        num_revealed = np.array([revealed], dtype=np.int64)
        if spec.observation == "sequence":
            states = np.zeros((spec.max_chunks, self._vectors.shape[1]), dtype=spec.dtype)
            states[:revealed] = self._vectors[:revealed]
            mask = np.zeros(spec.max_chunks, dtype=np.int8)
            mask[:revealed] = 1
            return {"states": states, "mask": mask, "num_revealed": num_revealed}
        shown = range(self._first, self._first + revealed)
        ids, attention = self.encoded.padded_tokens(shown, (spec.max_chunks, self.encoded.max_length))
        return {"input_ids": ids, "attention_mask": attention, "num_revealed": num_revealed}

    def _mask(self) -> np.ndarray:
        mask = np.ones(self.action_space.n, dtype=bool)
        mask[self.task_spec.READ] = self._revealed < self._total
        return mask

    def why_invalid(self, action: int) -> str:
        """Only READ is ever masked: once the whole text is revealed."""
        return "READ with the whole text revealed; the agent must choose a label"

    def expert_action(self) -> int:
        """The gold label at once: reading more only costs."""
        return 1 + int(self.task_spec.gold[self.index])

    def _result(self):
        prediction, metrics = label_result(self.task_spec.labels, self._choice, int(self.task_spec.gold[self.index]))
        metrics.update(chunks_read=self._revealed, fraction_read=self._revealed / self._total)
        return prediction, metrics

    def _render_text(self, gold: bool) -> str:
        spec, record, answer = self.task_spec, self.record, int(self.task_spec.gold[self.index])
        revealed, total, labels = self._revealed, self._total, spec.labels
        text = " ".join(word_chunks(record.text, spec.chunk_words)[:revealed])
        reward = (revealed - 1) * reading_reward(spec.READ, answer, spec.reading_cost)
        if self._choice is not None:
            reward += reading_reward(1 + self._choice, answer, spec.reading_cost)
        decision = (verdict(labels, self._choice, answer) if gold else
                    "?" if self._choice is None else labels[self._choice])
        lines = [f"ClassifyReading {self.data.split} #{self.index} ({record.id}), {revealed}/{total} chunks read",
                 "text:   " + text + (" …" if revealed < total else ""),
                 "agent:  " + ", ".join(["READ"] * (revealed - 1) + [decision])]
        if gold:
            lines.append("gold:   " + labels[answer])
        return "\n".join([*lines, f"reward: {reward:g}"])
