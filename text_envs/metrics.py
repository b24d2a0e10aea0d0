"""Task metrics, computed the way the literature computes them.

* NER: entity-level precision/recall/F1 with ``seqeval`` (conlleval chunk rules), plus an
  O(1)-per-step incremental tracker (:class:`EntityF1Tracker`) for dense rewards that
  agrees exactly with ``seqeval`` on every sentence.
* QA: SQuAD v1.1 exact match and token F1, max over the gold answers, after the official
  normalisation (lower case, no punctuation, no articles, single spaces).
* Summarisation: ROUGE-1/2/L F-measure with ``rouge-score`` (Porter stemming on).
* Classification: accuracy and macro-F1.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from functools import lru_cache
from typing import Any, Sequence

import numpy as np

# -- NER ------------------------------------------------------------------------------------


def entity_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict[str, float]:
    """Micro entity precision/recall/F1 over sentences (``seqeval``, default mode), and token accuracy."""
    from seqeval.metrics import f1_score, precision_score, recall_score

    correct = sum(g == p for gs, ps in zip(gold, predicted) for g, p in zip(gs, ps))
    total = sum(len(gs) for gs in gold)
    gold, predicted = [list(s) for s in gold], [list(s) for s in predicted]
    return {"entity_precision": float(precision_score(gold, predicted, zero_division=0)),
            "entity_recall": float(recall_score(gold, predicted, zero_division=0)),
            "entity_f1": float(f1_score(gold, predicted, zero_division=0)),
            "token_accuracy": correct / max(total, 1)}


@lru_cache(maxsize=32)
def chunk_tables(tags: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, list]:
    """``ends[prev, cur]``/``starts[prev, cur]``: does a chunk end before / start at a word
    tagged ``cur`` after one tagged ``prev`` (index ``len(tags)`` stands for "outside the
    sentence")? Built from seqeval's own rules so the two always agree."""
    from seqeval.metrics.sequence_labeling import end_of_chunk, start_of_chunk

    split = [(t[0], t[2:]) if t != "O" else ("O", "_") for t in tags] + [("O", "_")]
    n = len(split)
    ends = np.zeros((n, n), dtype=bool)
    starts = np.zeros((n, n), dtype=bool)
    for p, (prev_tag, prev_type) in enumerate(split):
        for c, (tag, type_) in enumerate(split):
            ends[p, c] = end_of_chunk(prev_tag, tag, prev_type, type_)
            starts[p, c] = start_of_chunk(prev_tag, tag, prev_type, type_)
    return ends, starts, [t for _, t in split]


class EntityF1Tracker:
    """Entity F1 of a sentence being tagged left to right, updated in O(1) per word.

    ``potential`` is ``2 tp / (predicted + gold)`` over the entities that the tags so far
    have closed; after :meth:`finish` it equals seqeval's F1 of the sentence (1.0 when the
    sentence has no entity and none was predicted). Rewards ``potential`` differences, so
    a dense reward sums to the sentence's final F1.
    """

    def __init__(self, tags: tuple[str, ...], gold: Sequence[int]) -> None:
        self.ends, self.starts, self.types = chunk_tables(tags)
        self.outside = len(tags)
        self.gold = self._chunks(list(gold))
        gold_ends = np.zeros(len(gold) + 1, dtype=np.int64)
        for _, end, _ in self.gold:
            gold_ends[end + 1] += 1
        self.gold_closed = np.cumsum(gold_ends)  # gold entities ending before word i
        self.gold_set = set(self.gold)
        self.reset()

    def _chunks(self, sequence: list[int]) -> list[tuple[int, int, str]]:
        chunks, start, prev = [], None, self.outside
        for i, tag in enumerate([*sequence, self.outside]):
            if start is not None and self.ends[prev, tag]:
                chunks.append((start, i - 1, self.types[prev]))
                start = None
            if self.starts[prev, tag]:
                start = i
            prev = tag
        return chunks

    def reset(self) -> None:
        self.position, self.prev, self.start = 0, self.outside, None
        self.true_positives, self.predicted = 0, 0
        self.potential = 0.0

    def _close(self, upto: int) -> None:
        if self.start is not None:
            self.predicted += 1
            self.true_positives += (self.start, upto, self.types[self.prev]) in self.gold_set
            self.start = None

    def _update_potential(self, gold_closed: int) -> float:
        before = self.potential
        denominator = self.predicted + gold_closed
        self.potential = 2 * self.true_positives / denominator if denominator else 0.0
        return self.potential - before

    def add(self, tag: int) -> float:
        """Tag the next word; returns the change in potential."""
        if self.start is not None and self.ends[self.prev, tag]:
            self._close(self.position - 1)
        if self.starts[self.prev, tag]:
            self.start = self.position
        self.prev = tag
        self.position += 1
        return self._update_potential(int(self.gold_closed[self.position - 1]))

    def finish(self) -> float:
        """Close the sentence; returns the last change, after which ``potential`` is the F1."""
        self._close(self.position - 1)
        self.prev = self.outside
        before = self.potential
        if self.predicted + len(self.gold) == 0:
            self.potential = 1.0
            return self.potential - before
        return self._update_potential(len(self.gold))


# -- QA -------------------------------------------------------------------------------------

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD v1.1 answer normalisation: lower case, drop punctuation and articles, squeeze spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _token_f1(prediction: str, gold: str) -> float:
    predicted, reference = normalize_answer(prediction).split(), normalize_answer(gold).split()
    common = sum((Counter(predicted) & Counter(reference)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(reference)
    return 2 * precision * recall / (precision + recall)


def squad_scores(prediction: str, answers: Sequence[str]) -> dict[str, float]:
    """Exact match and token F1 of one prediction, each the max over the gold answers."""
    return {"exact_match": max(float(normalize_answer(prediction) == normalize_answer(a)) for a in answers),
            "f1": max(_token_f1(prediction, a) for a in answers)}


# -- summarisation ----------------------------------------------------------------------------

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


@lru_cache(maxsize=1)
def _rouge_scorer():
    from rouge_score import rouge_scorer
    return rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)


def rouge_scores(summary: Sequence[str], reference: Sequence[str]) -> dict[str, float]:
    """ROUGE-1/2/L F-measures of a summary (list of sentences) against the reference."""
    if not summary:
        return {name: 0.0 for name in ROUGE_TYPES}
    scores = _rouge_scorer().score(" ".join(reference), " ".join(summary))
    return {name: float(scores[name].fmeasure) for name in ROUGE_TYPES}


# -- classification ---------------------------------------------------------------------------


def classification_scores(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> dict[str, float]:
    """Accuracy and macro-F1 (the unweighted mean over ``labels`` of per-class F1)."""
    gold_array, predicted_array = np.asarray(gold), np.asarray(predicted)
    f1s = []
    for label in labels:
        tp = np.sum((predicted_array == label) & (gold_array == label))
        denominator = np.sum(predicted_array == label) + np.sum(gold_array == label)
        f1s.append(2 * tp / denominator if denominator else 0.0)
    return {"accuracy": float(np.mean(gold_array == predicted_array)) if len(gold_array) else 0.0,
            "macro_f1": float(np.mean(f1s))}


# -- a whole split ----------------------------------------------------------------------------


def corpus_scores(dataset, predictions: dict[int, Any]) -> dict[str, float]:
    """The task's standard metrics over a split, from each example's prediction.

    ``predictions`` maps record index to what the env put in ``info["prediction"]``: tag
    lists (NER: micro entity P/R/F1 with seqeval, and token accuracy), answer strings (QA:
    mean SQuAD EM and F1), lists of summary sentences or a summary string (mean ROUGE F),
    label names (accuracy and macro-F1).

    An episode cut short is scored as far as it got: the words it left untagged count as
    "O" (seqeval needs one tag per word), and the empty answer, the summary so far and no
    label (None, wrong) score as they are.
    """
    indices = sorted(predictions)
    records = [dataset[i] for i in indices]
    predicted = [predictions[i] for i in indices]
    if dataset.task == "ner":
        return entity_scores([r.tags for r in records],
                             [[*tags, *["O"] * (len(r.tags) - len(tags))] for r, tags in zip(records, predicted)])
    if dataset.task == "qa":
        scores = [squad_scores(p, [a.text for a in r.answers]) for r, p in zip(records, predicted)]
        return {key: float(np.mean([s[key] for s in scores])) for key in ("exact_match", "f1")}
    if dataset.task == "summarization":
        scores = [rouge_scores([p] if isinstance(p, str) else p, r.summary) for r, p in zip(records, predicted)]
        return {key: float(np.mean([s[key] for s in scores])) for key in ROUGE_TYPES}
    return classification_scores([r.label for r in records], predicted, dataset.labels)
