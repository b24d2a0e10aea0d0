"""Seeded train/validation/test splits for datasets that ship without them.

Several real datasets come as one file (the SQuAD dev set, the AG News test set, BBC News
Summary). Benchmarks need fixed splits, so they are cut here, by one function, with the
same guarantees everywhere (:func:`split_records` adds each task's default keys): every example lands in exactly one split, the result depends
only on the examples' order, their group/stratum keys, the fractions and the seed, and
examples that share a group (a SQuAD article, a CoNLL document) never straddle two splits,
so no context leaks from train into test.

Split sizes are set by rounding the cumulative fractions, ``round(n * (f_train))`` and
``round(n * (f_train + f_validation))``, within each stratum; so 48 SQuAD articles with
fractions (2/3, 1/8, 5/24) give exactly 32 / 6 / 10, and 1,900 AG News rows per class with
(0.8, 0.1, 0.1) give 1,520 / 190 / 190 of each class.
"""

from __future__ import annotations

import math
import random
from collections.abc import Hashable, Sequence

from ..records import SPLITS, ClassificationRecord, QARecord, Record

DEFAULT_FRACTIONS: tuple[float, float, float] = (0.8, 0.1, 0.1)


def check_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    """Validate (train, validation, test) fractions: three numbers >= 0 that sum to 1."""
    values = tuple(float(f) for f in fractions)
    if len(values) != 3 or any(not math.isfinite(f) or f < 0 for f in values) or \
            not math.isclose(sum(values), 1.0, abs_tol=1e-6):
        raise ValueError(f"split fractions must be three numbers >= 0 (train, validation, test) "
                         f"that sum to 1, got {tuple(fractions)}")
    return values  # type: ignore[return-value]


def assign_splits(count: int, *, fractions: Sequence[float] = DEFAULT_FRACTIONS, seed: int = 0,
                  groups: Sequence[Hashable] | None = None, strata: Sequence[Hashable] | None = None,
                  shuffle: bool = True) -> dict[str, list[int]]:
    """Divide example indices ``0..count-1`` into train / validation / test.

    Args:
        count: number of examples.
        fractions: share of each split (train, validation, test), summing to 1.
        seed: seed of the shuffle; the same arguments always give the same split.
        groups: one key per example; examples with the same key go to the same split
            (the unit that is split is then the group, in order of first appearance).
        strata: one key per example; each stratum is split by ``fractions`` on its own, so
            every split has the same mix (a group takes the stratum of its first example).
        shuffle: shuffle the units with ``seed`` before cutting; ``False`` cuts them in
            file order into contiguous blocks (the seed is then unused).

    Returns:
        ``{"train": [...], "validation": [...], "test": [...]}``, each a sorted list of
        indices; together they hold every index exactly once.
    """
    fractions = check_fractions(fractions)
    for name, keys in (("groups", groups), ("strata", strata)):
        if keys is not None and len(keys) != count:
            raise ValueError(f"{name} has {len(keys)} keys for {count} examples")
    unit_of = list(range(count)) if groups is None else _first_seen_ids(groups)
    n_units = max(unit_of, default=-1) + 1
    unit_stratum: list[Hashable] = [None] * n_units
    if strata is not None:
        for index in reversed(range(count)):
            unit_stratum[unit_of[index]] = strata[index]
    by_stratum: dict[Hashable, list[int]] = {}
    for unit in range(n_units):
        by_stratum.setdefault(unit_stratum[unit], []).append(unit)

    rng = random.Random(seed)
    split_of_unit = [""] * n_units
    for stratum in sorted(by_stratum, key=repr):  # a fixed order, so the rng draws are reproducible
        units = by_stratum[stratum]
        if shuffle:
            rng.shuffle(units)
        n = len(units)
        cut_train = _round(n * fractions[0])
        cut_validation = _round(n * (fractions[0] + fractions[1]))
        for position, unit in enumerate(units):
            split_of_unit[unit] = SPLITS[0] if position < cut_train else \
                SPLITS[1] if position < cut_validation else SPLITS[2]

    result: dict[str, list[int]] = {split: [] for split in SPLITS}
    for index in range(count):
        result[split_of_unit[unit_of[index]]].append(index)
    return result


def split_records(records: Sequence[Record], *, fractions: Sequence[float] = DEFAULT_FRACTIONS, seed: int = 0,
                  groups: Sequence[Hashable] | None = None, strata: Sequence[Hashable] | None = None,
                  shuffle: bool = True) -> dict[str, list[int]]:
    """:func:`assign_splits` for records, with the keys each task needs by default.

    Classification records are stratified by label, so every split has the class mix of
    the whole; QA records are grouped by title (else by context), so no text is asked
    about in two splits. Explicit ``groups`` / ``strata`` take precedence.
    """
    if groups is None and records and isinstance(records[0], QARecord):
        groups = [record.title or record.context for record in records]
    if strata is None and records and isinstance(records[0], ClassificationRecord):
        strata = [record.label for record in records]
    return assign_splits(len(records), fractions=fractions, seed=seed, groups=groups, strata=strata,
                         shuffle=shuffle)


def _first_seen_ids(keys: Sequence[Hashable]) -> list[int]:
    ids: dict[Hashable, int] = {}
    return [ids.setdefault(key, len(ids)) for key in keys]


def _round(value: float) -> int:
    """Round half up, with a little slack for float error (48 * 2/3 is 31.999...)."""
    return math.floor(value + 0.5 + 1e-9)

