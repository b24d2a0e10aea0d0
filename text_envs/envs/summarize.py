"""Extractive summarisation: one document per episode; pick its sentences one at a time, then STOP.

Actions: ``Discrete(max_sentences + 1)``. Action ``i < max_sentences`` picks sentence ``i``;
the last action, ``max_sentences`` (``env.stop_action``), is STOP. The mask allows the
document's sentences not picked yet, and STOP once at least one sentence is picked: an
empty summary scores 0, so stopping first is never useful, and masking it means every
episode ends with a summary. The episode ends at STOP, after ``max_picks`` picks, or when
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
pick for ``"gain"``), and never twice for one summary in an episode: :class:`SentenceRouge`
tokenizes each sentence once and remembers every summary it scored, which is also what
makes the oracle (one score per candidate sentence) affordable.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import gymnasium as gym
import numpy as np

from ..metrics import ROUGE_TYPES
from .base import TextEnv, read_only

REWARDS = ("final", "gain")
ROUGE_REWARDS = ("mean", *ROUGE_TYPES)


def check_positive(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_rouge(rouge: str) -> str:
    if rouge not in ROUGE_REWARDS:
        raise ValueError(f"unknown rouge score {rouge!r}; expected one of {ROUGE_REWARDS}")
    return rouge


def rouge_reward(scores: dict[str, float], rouge: str) -> float:
    """The score a reward uses: the mean of the ROUGE F-measures, or one of them."""
    if rouge == "mean":
        return sum(scores[name] for name in ROUGE_TYPES) / len(ROUGE_TYPES)
    return scores[rouge]


def format_scores(scores: dict[str, float]) -> str:
    return "  ".join(f"{name} {scores[name]:.3f}" for name in ROUGE_TYPES)


@lru_cache(maxsize=1)
def _rouge_tokenizer():
    from rouge_score.tokenizers import DefaultTokenizer
    return DefaultTokenizer(use_stemmer=True)


class _Pretokenized:
    """A rouge-score tokenizer for text that is already ROUGE tokens joined by spaces."""

    def tokenize(self, text: str) -> list[str]:
        return text.split()


@lru_cache(maxsize=1)
def _pretokenized_scorer():
    from rouge_score.rouge_scorer import RougeScorer
    return RougeScorer(list(ROUGE_TYPES), tokenizer=_Pretokenized())


class SentenceRouge:
    """ROUGE F-measures of summaries made of one document's sentences, equal to
    :func:`~text_envs.metrics.rouge_scores` of the same sentences, but much cheaper when many
    summaries of one document are scored.

    Tokenizing (lower case, alphanumeric runs, Porter stemming) is most of a ROUGE call's
    cost, and the tokens of sentences joined by spaces are the concatenation of each
    sentence's tokens. So each sentence and the reference are tokenized once, when first
    needed, and a summary's tokens are assembled from them and scored by a rouge-score
    scorer whose tokenizer only splits on spaces (ROUGE tokens are ``[a-z0-9]+``, so
    joining and splitting round-trips). Scores are remembered per summary.
    """

    def __init__(self, sentences: Sequence[str], reference: Sequence[str]) -> None:
        self._sentences = sentences
        self._reference = " ".join(reference)
        self._reference_tokens: str | None = None
        self._tokens: list[str | None] = [None] * len(sentences)
        self._scores: dict[tuple[int, ...], dict[str, float]] = {}

    def _sentence_tokens(self, i: int) -> str:
        if self._tokens[i] is None:
            self._tokens[i] = " ".join(_rouge_tokenizer().tokenize(self._sentences[i]))
        return self._tokens[i]

    def __call__(self, summary: tuple[int, ...]) -> dict[str, float]:
        """The scores of the summary made of these sentence indices (in document order)."""
        if summary not in self._scores:
            self._scores[summary] = self._score(summary)
        return self._scores[summary]

    def _score(self, summary: tuple[int, ...]) -> dict[str, float]:
        if not summary:
            return {name: 0.0 for name in ROUGE_TYPES}
        if self._reference_tokens is None:
            self._reference_tokens = " ".join(_rouge_tokenizer().tokenize(self._reference))
        prediction = " ".join(self._sentence_tokens(i) for i in summary)
        scores = _pretokenized_scorer().score(self._reference_tokens, prediction)
        return {name: float(scores[name].fmeasure) for name in ROUGE_TYPES}


class SummarizeEnv(TextEnv):
    """Pick a document's sentences one at a time, then STOP (see the module docstring).

    Args (besides :class:`~text_envs.envs.base.TextEnv`'s):
        reward: ``"final"`` or ``"gain"``.
        rouge: the score rewards use: ``"mean"``, ``"rouge1"``, ``"rouge2"`` or ``"rougeL"``.
        max_sentences: sentences a document may have (the action space is one more).
        max_picks: picks after which the episode ends.
    """

    task = "summarization"

    def __init__(self, dataset="embedded", split="train", *, reward: str = "final", rouge: str = "mean",
                 max_sentences: int = 64, max_picks: int = 4, **kwargs) -> None:
        if reward not in REWARDS:
            raise ValueError(f"unknown reward {reward!r}; expected one of {REWARDS}")
        self.reward_kind = reward
        self.rouge = check_rouge(rouge)
        self.max_sentences = check_positive("max_sentences", max_sentences)
        self.max_picks = check_positive("max_picks", max_picks)
        self.stop_action = self.max_sentences
        super().__init__(dataset, split, **kwargs)

    def _setup(self) -> None:
        longest = max(self.data, key=lambda r: len(r.sentences))
        if len(longest.sentences) > self.max_sentences:
            raise ValueError(f"record {longest.id!r} has {len(longest.sentences)} sentences, more than "
                             f"max_sentences={self.max_sentences}; pass a larger max_sentences")
        sentences, hidden, length = self.max_sentences, self.encoded.hidden_size, self.encoded.max_length
        self.action_space = gym.spaces.Discrete(sentences + 1)
        picked = gym.spaces.Box(0, 1, (sentences,), np.int8)
        num_picked = gym.spaces.Box(0, self.max_picks, (1,), np.int64)
        if self.observation_mode == "compact":
            self.observation_space = self._state_box((sentences * (hidden + 2),))
        elif self.observation_mode == "sequence":
            self.observation_space = gym.spaces.Dict({
                "states": self._state_box((sentences, hidden)), "mask": gym.spaces.Box(0, 1, (sentences,), np.int8),
                "picked": picked, "num_picked": num_picked})
        else:
            self.observation_space = gym.spaces.Dict({
                "input_ids": gym.spaces.Box(0, self.encoder.vocab_size - 1, (sentences, length), np.int64),
                "attention_mask": gym.spaces.Box(0, 1, (sentences, length), np.int64),
                "picked": picked, "num_picked": num_picked})

    def _begin(self, index: int) -> None:
        record = self.data[index]
        self._n = len(record.sentences)
        self._limit = min(self.max_picks, self._n)
        self._segments = self.encoded.segments(index)
        self._picks: list[int] = []  # in the order picked
        self._picked = np.zeros(self.max_sentences, dtype=np.int8)
        self._stopped = False
        self._rouge = SentenceRouge(record.sentences, record.summary)
        if self.observation_mode == "tokens":
            self._input_ids, self._attention = (read_only(array) for array in self._padded_token_ids())
        else:
            states = np.zeros((self.max_sentences, self.encoded.hidden_size), dtype=self.dtype)
            states[:self._n] = self.encoded.pooled[self._segments.start:self._segments.stop]
            self._sentence_states = read_only(states)

    def _padded_token_ids(self) -> tuple[np.ndarray, np.ndarray]:
        """Each sentence's token ids as rows of a ``[S, T]`` matrix, and the attention mask."""
        return self.encoded.padded_tokens(self._segments, (self.max_sentences, self.encoded.max_length))

    # -- summary and scores ------------------------------------------------------------------

    def _summary(self, picks=None) -> tuple[int, ...]:
        """Sentence indices of the summary (the picks, or the given ones) in document order."""
        return tuple(sorted(self._picks if picks is None else picks))

    def _score(self, summary: tuple[int, ...]) -> float:
        return rouge_reward(self._rouge(summary), self.rouge)

    # -- hooks -------------------------------------------------------------------------------

    def _act(self, action: int) -> tuple[float, bool]:
        if action == self.stop_action:
            self._stopped = True
            return (self._score(self._summary()) if self.reward_kind == "final" else 0.0), True
        before = self._summary()
        self._picks.append(action)
        self._picked[action] = 1
        done = len(self._picks) == self._limit
        if self.reward_kind == "gain":
            return self._score(self._summary()) - self._score(before), done
        return (self._score(self._summary()) if done else 0.0), done

    def _sentence_mask(self) -> np.ndarray:
        """Which sentences may be picked now."""
        valid = np.zeros(self.max_sentences, dtype=bool)
        if not self._stopped and len(self._picks) < self._limit:
            valid[:self._n] = self._picked[:self._n] == 0
        return valid

    def _mask(self) -> np.ndarray:
        return np.append(self._sentence_mask(), len(self._picks) > 0)

    def _describe_invalid(self, action: int) -> str:
        if action == self.stop_action:
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
            mask = np.zeros(self.max_sentences, dtype=np.int8)
            mask[:self._n] = 1
            return {"states": self._sentence_states, "mask": mask, "picked": self._picked.copy(),
                    "num_picked": num_picked}
        return {"input_ids": self._input_ids, "attention_mask": self._attention, "picked": self._picked.copy(),
                "num_picked": num_picked}

    def expert_action(self) -> int:
        """The greedy ROUGE oracle: the sentence whose pick raises the reward's score most
        (the first such sentence on ties), or STOP when no sentence raises it. Before the
        first pick STOP is masked, so it picks the best sentence even if every score is 0."""
        candidates = np.flatnonzero(self._sentence_mask())
        if len(candidates) == 0:
            return self.stop_action
        current = self._score(self._summary())
        gains = [self._score(self._summary([*self._picks, int(i)])) - current for i in candidates]
        best = int(np.argmax(gains))
        if self._picks and gains[best] <= 0:
            return self.stop_action
        return int(candidates[best])

    def _result(self):
        summary = self._summary()
        return [self.record.sentences[i] for i in summary], dict(self._rouge(summary))

    def _render_text(self) -> str:
        record = self.record
        order = {sentence: k + 1 for k, sentence in enumerate(self._picks)}
        state = "finished" if self._done else "running"
        lines = [f"Summarize {self.data.split} #{self.index} ({record.id}): {len(self._picks)}/{self._limit} "
                 f"picks, {state}   (* = picked, (k) = k-th pick)"]
        for i, sentence in enumerate(record.sentences):
            mark = f"* ({order[i]})" if i in order else "     "
            lines.append(f"{mark} {i:>2} {sentence}")
        lines.append("reference: " + " ".join(record.summary))
        if self._done:
            lines.append("ROUGE F: " + format_scores(self._rouge(self._summary())))
        return "\n".join(lines)
