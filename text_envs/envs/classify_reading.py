"""Text classification by reading: reveal a text chunk by chunk, then commit to a label.

The text is cut into chunks of ``chunk_words`` words; the first chunk is shown at reset.
Each step the agent either reads on or answers, so it learns when it has read enough:
early decisions are cheap but risky, late ones safe but costly.

Actions: ``Discrete(1 + len(labels))``: :data:`READ` (0) reveals the next chunk, action
``1 + i`` answers label ``env.labels[i]`` and ends the episode. When the whole text is
revealed, READ is masked: the decision is forced.

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

import math
import numbers
import warnings

import gymnasium as gym
import numpy as np

from ..cache import chunk_layout, word_chunks
from .base import TextEnv
from .classify import gold_indices, label_result, verdict

READ = 0


class ClassifyReadingEnv(TextEnv):
    task = "classification"

    def __init__(self, dataset="embedded", split="train", *, chunk_words: int = 8, max_chunks: int = 16,
                 reading_cost: float = 0.05, **kwargs) -> None:
        if isinstance(max_chunks, bool) or not isinstance(max_chunks, (int, np.integer)) or max_chunks < 1:
            raise ValueError(f"max_chunks must be a positive integer, got {max_chunks!r}")
        if not isinstance(reading_cost, numbers.Real) or not math.isfinite(reading_cost) or reading_cost < 0:
            raise ValueError(f"reading_cost must be a finite number >= 0, got {reading_cost!r}")
        if "layout" in kwargs:
            raise TypeError("ClassifyReadingEnv chooses its own layout from chunk_words; do not pass layout")
        self.chunk_words = chunk_words
        self.max_chunks = int(max_chunks)
        self.reading_cost = float(reading_cost)
        super().__init__(dataset, split, layout=chunk_layout(chunk_words), **kwargs)

    def _setup(self) -> None:
        self.labels = self.data.labels
        self._gold = gold_indices(self.data)
        self._warn_about_cut_texts()
        hidden, chunks, length = self.encoded.hidden_size, self.max_chunks, self.encoded.max_length
        self.action_space = gym.spaces.Discrete(1 + len(self.labels))
        revealed = gym.spaces.Box(1, chunks, (1,), np.int64)
        if self.observation_mode == "compact":
            self.observation_space = self._state_box((hidden + 2,))
        elif self.observation_mode == "sequence":
            self.observation_space = gym.spaces.Dict({
                "states": self._state_box((chunks, hidden)), "mask": gym.spaces.Box(0, 1, (chunks,), np.int8),
                "num_revealed": revealed})
        else:
            self.observation_space = gym.spaces.Dict({
                "input_ids": gym.spaces.Box(0, self.encoder.vocab_size - 1, (chunks, length), np.int64),
                "attention_mask": gym.spaces.Box(0, 1, (chunks, length), np.int64), "num_revealed": revealed})

    def _warn_about_cut_texts(self) -> None:
        """Say how many texts have unreadable chunks past ``max_chunks`` (see the module doc)."""
        counts = np.diff(np.asarray(self.encoded.segment_starts))
        cut = int((counts > self.max_chunks).sum())
        if cut:
            longest = int(np.argmax(counts))
            warnings.warn(f"{cut} of {len(counts)} texts have more than max_chunks={self.max_chunks} chunks of "
                          f"{self.chunk_words} words (the longest, record {self.data[longest].id!r}, has "
                          f"{counts[longest]}); only their first {self.max_chunks} chunks can be read. Pass a "
                          f"larger max_chunks or chunk_words to read them whole.", stacklevel=5)

    def _begin(self, index: int) -> None:
        segments = self.encoded.segments(index)
        self._chunks = segments[:self.max_chunks]
        self._vectors = np.asarray(self.encoded.pooled[self._chunks.start:self._chunks.stop], dtype=np.float32)
        self._revealed = 1
        self._choice: int | None = None

    def _act(self, action: int) -> tuple[float, bool]:
        if action == READ:
            self._revealed += 1
            return -self.reading_cost, False
        self._choice = action - 1
        return (1.0 if self._choice == self._gold[self.index] else -1.0), True

    def _observation(self):
        revealed, total = self._revealed, len(self._chunks)
        if self.observation_mode == "compact":
            mean = self._vectors[:revealed].mean(axis=0)
            return np.concatenate((mean, [revealed / total, float(revealed < total)])).astype(self.dtype)
        num_revealed = np.array([revealed], dtype=np.int64)
        if self.observation_mode == "sequence":
            states = np.zeros((self.max_chunks, self._vectors.shape[1]), dtype=self.dtype)
            states[:revealed] = self._vectors[:revealed]
            mask = np.zeros(self.max_chunks, dtype=np.int8)
            mask[:revealed] = 1
            return {"states": states, "mask": mask, "num_revealed": num_revealed}
        ids, attention = self.encoded.padded_tokens(self._chunks[:revealed],
                                       (self.max_chunks, self.encoded.max_length))
        return {"input_ids": ids, "attention_mask": attention, "num_revealed": num_revealed}

    def _mask(self) -> np.ndarray:
        mask = np.ones(1 + len(self.labels), dtype=bool)
        mask[READ] = self._revealed < len(self._chunks)
        return mask

    def _describe_invalid(self, action: int) -> str:
        return "READ with the whole text revealed; the agent must choose a label"

    def expert_action(self) -> int:
        """The gold label at once: reading more only costs."""
        return 1 + int(self._gold[self.index])

    def _result(self):
        prediction, metrics = label_result(self.labels, self._choice, int(self._gold[self.index]))
        metrics.update(chunks_read=self._revealed, fraction_read=self._revealed / len(self._chunks))
        return prediction, metrics

    def _render_text(self) -> str:
        record, gold = self.record, int(self._gold[self.index])
        revealed, total = self._revealed, len(self._chunks)
        text = " ".join(word_chunks(record.text, self.chunk_words)[:revealed])
        reward = -self.reading_cost * (revealed - 1)
        if self._choice is not None:
            reward += 1.0 if self._choice == gold else -1.0
        actions = ["READ"] * (revealed - 1) + [verdict(self.labels, self._choice, gold)]
        return "\n".join([f"ClassifyReading {self.data.split} #{self.index} ({record.id}), "
                          f"{revealed}/{total} chunks read",
                          "text:   " + text + (" …" if revealed < total else ""),
                          "agent:  " + ", ".join(actions),
                          "gold:   " + self.labels[gold],
                          f"reward: {reward:g}"])
