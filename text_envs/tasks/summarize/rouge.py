"""The summarisation tasks' reward scoring: which ROUGE score a reward is, and ROUGE of
summaries made of one document's sentences, computed cheaply enough for a reward per pick
and for a greedy oracle.

Summarize and SummarizeTokens, and their torch vector twins, score with these functions, so
every implementation of a task gives the same rewards.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

from ...metrics import ROUGE_TYPES

#: the values of the ``rouge=`` option: the mean of the ROUGE F-measures, or one of them
ROUGE_REWARDS = ("mean", *ROUGE_TYPES)


def rouge_reward(scores: dict[str, float], rouge: str) -> float:
    """The score a reward uses: the mean of the ROUGE F-measures, or one of them."""
    if rouge == "mean":
        return sum(scores[name] for name in ROUGE_TYPES) / len(ROUGE_TYPES)
    return scores[rouge]


def format_scores(scores: dict[str, float]) -> str:
    """The ROUGE F-measures as renders show them: ``rouge1 0.412  rouge2 0.190  rougeL 0.377``."""
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
