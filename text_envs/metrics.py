"""Task metrics, computed the way the literature computes them.

* NER: entity-level precision/recall/F1 with ``seqeval`` (conlleval chunk rules): the
  reference that the NER rewards' incremental tracker
  (:mod:`text_envs.tasks.ner.entity_f1`) agrees with on every sentence.
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
from typing import Sequence

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
