"""Extractive summarisation: one document per episode; pick its sentences one at a time, then STOP.

Actions: ``Discrete(max_sentences + 1)``. Action ``i < max_sentences`` picks sentence ``i``;
the last action, ``max_sentences`` (``env.task_spec.stop_action``), is STOP. The mask
allows the document's sentences not picked yet, and STOP once at least one sentence is
picked: an empty summary scores 0, so stopping first is never useful, and masking it means
every episode ends with a summary. The episode ends at STOP, after ``max_picks`` picks, or when
every sentence is picked (then STOP would be the only move left, so it is taken for the
agent). After the end only STOP stays in the mask, so it is never empty.

The summary is the picked sentences in document order. It is scored against the reference
summary by ROUGE F-measure (``rouge-score``, Porter stemming; see
:func:`text_envs.metrics.rouge_scores`). ``rouge=`` chooses the score the reward uses:
``"mean"`` (default; the mean of ROUGE-1, ROUGE-2 and ROUGE-L) or one of ``"rouge1"``,
``"rouge2"``, ``"rougeL"``. Rewards (``reward=``):

* ``"final"`` (sparse, default): 0 until the end, then the summary's score.
* ``"gain"`` (dense): each pick's change of the score (STOP: 0). The changes telescope, so
  the return equals the final reward. ROUGE is not monotone in the summary: a sentence
  that adds more unmatched words than matches has a negative gain.

At the end ``info["metrics"]`` holds ``rouge1``, ``rouge2`` and ``rougeL`` and
``info["prediction"]`` the summary (a list of sentences, in document order).

Observations (float32 unless ``dtype=np.float16``; ``H`` = encoder hidden size, ``S`` =
``max_sentences``, ``T`` = encoder ``max_length``; rows past the document are zero):

* ``"compact"``: ``Box(S * (H + 2))``: per sentence, its pooled (mean) encoder vector,
  1.0 if picking it is valid now, and 1.0 if it is picked, the sentences' rows
  concatenated (``observation.reshape(S, H + 2)`` gives the rows back). A flat vector, as
  the compact form of every env is, for MLP agents; the row layout keeps sentence ``i``'s
  features at a fixed place, next to action ``i``.
* ``"sequence"``: ``Dict(states=Box(S, H), mask=Box(S) int8, picked=Box(S) int8,
  num_picked=Box(1) int64)``: the pooled sentence vectors, which sentences exist, which
  are picked, and how many.
* ``"tokens"``: ``Dict(input_ids=Box(S, T) int64, attention_mask=Box(S, T) int64,
  picked, num_picked)``: every sentence's token ids as the encoder saw them (``[CLS] ...
  [SEP]``, cut at ``T``), for agents that run their own encoder.

A document with more than ``max_sentences`` sentences is an error at construction.

:meth:`SummarizeEnv.expert_action` is the greedy ROUGE oracle: it picks the sentence that
raises the reward's score most and stops when none raises it (or at ``max_picks``).

ROUGE is computed only where a number is needed (once at the end for ``"final"``, once a
pick for ``"gain"``), and never twice for one summary in an episode:
:class:`~text_envs.tasks.summarize.rouge.SentenceRouge` tokenizes each sentence once and
remembers every summary it scored, which is also what makes the oracle (one score per
candidate sentence) affordable.
"""

from __future__ import annotations

import numpy as np

from ...envs.base import TextEnv, read_only
from .rouge import SentenceRouge, format_scores, rouge_reward
from .spec import SummarizeSpec


class SummarizeEnv(TextEnv):
    """Pick a document's sentences one at a time, then STOP (see the module docstring; the
    options are :class:`~text_envs.tasks.summarize.spec.SummarizeSpec`'s)."""

    spec_class = SummarizeSpec

    def _begin(self, index: int) -> None:
        spec, record = self.task_spec, self.data[index]
        self._n = int(spec.num_sentences[index])
        self._limit = int(spec.pick_limit[index])
        first = int(spec.first_segment[index])
        self._segments = range(first, first + self._n)
        self._picks: list[int] = []  # in the order picked
        self._picked = np.zeros(spec.max_sentences, dtype=np.int8)
        self._stopped = False
        self._rouge = SentenceRouge(record.sentences, record.summary)
        if self.observation_mode == "tokens":
            shape = (spec.max_sentences, self.encoded.max_length)
            self._input_ids, self._attention = (read_only(array) for array in
                                                self.encoded.padded_tokens(self._segments, shape))
        else:
            states = np.zeros((spec.max_sentences, self.encoded.hidden_size), dtype=self.dtype)
            states[:self._n] = self.encoded.pooled[first:first + self._n]
            self._sentence_states = read_only(states)

    # -- summary and scores ------------------------------------------------------------------

    def _summary(self, picks=None) -> tuple[int, ...]:
        """Sentence indices of the summary (the picks, or the given ones) in document order."""
        return tuple(sorted(self._picks if picks is None else picks))

    def _score(self, summary: tuple[int, ...]) -> float:
        return rouge_reward(self._rouge(summary), self.task_spec.rouge)

    # -- hooks -------------------------------------------------------------------------------

    def _act(self, action: int) -> tuple[float, bool]:
        reward = self.task_spec.reward
        if action == self.task_spec.stop_action:
            self._stopped = True
            return (self._score(self._summary()) if reward == "final" else 0.0), True
        before = self._summary()
        self._picks.append(action)
        self._picked[action] = 1
        done = len(self._picks) == self._limit
        if reward == "gain":
            return self._score(self._summary()) - self._score(before), done
        return (self._score(self._summary()) if done else 0.0), done

    def _sentence_mask(self) -> np.ndarray:
        """Which sentences may be picked now."""
        valid = np.zeros(self.task_spec.max_sentences, dtype=bool)
        if not self._stopped and len(self._picks) < self._limit:
            valid[:self._n] = self._picked[:self._n] == 0
        return valid

    def _mask(self) -> np.ndarray:
        return np.append(self._sentence_mask(), len(self._picks) > 0)

    def why_invalid(self, action: int) -> str:
        if action == self.task_spec.stop_action:
            return "STOP needs at least one picked sentence"
        if action >= self._n:
            return f"the document has only {self._n} sentences"
        if self._picked[action]:
            return f"sentence {action} is already picked"
        return "the episode is over"

    def _observation(self):
        num_picked = np.array([len(self._picks)], dtype=np.int64)
        if self.observation_mode == "compact":
            flags = np.stack((self._sentence_mask(), self._picked), axis=1).astype(self.dtype)
            return np.concatenate((self._sentence_states, flags), axis=1).reshape(-1)
        if self.observation_mode == "sequence":
            mask = np.zeros(self.task_spec.max_sentences, dtype=np.int8)
            mask[:self._n] = 1
            return {"states": self._sentence_states, "mask": mask, "picked": self._picked.copy(),
                    "num_picked": num_picked}
        return {"input_ids": self._input_ids, "attention_mask": self._attention, "picked": self._picked.copy(),
                "num_picked": num_picked}

    def expert_action(self) -> int:
        """The greedy ROUGE oracle: the sentence whose pick raises the reward's score most
        (the first such sentence on ties), or STOP when no sentence raises it. Before the
        first pick STOP is masked, so it picks the best sentence even if every score is 0."""
        stop = self.task_spec.stop_action
        candidates = np.flatnonzero(self._sentence_mask())
        if len(candidates) == 0:
            return stop
        current = self._score(self._summary())
        gains = [self._score(self._summary([*self._picks, int(i)])) - current for i in candidates]
        best = int(np.argmax(gains))
        if self._picks and gains[best] <= 0:
            return stop
        return int(candidates[best])

    def _result(self):
        summary = self._summary()
        return [self.record.sentences[i] for i in summary], dict(self._rouge(summary))

    def _render_text(self, gold: bool) -> str:
        record = self.record
        order = {sentence: k + 1 for k, sentence in enumerate(self._picks)}
        state = "finished" if self._done else "running"
        lines = [f"Summarize {self.data.split} #{self.index} ({record.id}): {len(self._picks)}/{self._limit} "
                 f"picks, {state}   (* = picked, (k) = k-th pick)"]
        for i, sentence in enumerate(record.sentences):
            mark = f"* ({order[i]})" if i in order else "     "
            lines.append(f"{mark} {i:>2} {sentence}")
        if gold:
            lines.append("reference: " + " ".join(record.summary))
        if self._done:
            lines.append("ROUGE F: " + format_scores(self._rouge(self._summary())))
        return "\n".join(lines)
