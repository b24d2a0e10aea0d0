"""What the four generators share: filling templates, and cutting draws into clean splits.

A generator only knows how to draw one *group* of examples (a sentence, a paragraph with
its questions, a document, a text) from a seeded ``random.Random``. :func:`build_splits`
does the rest the same way for every task: it draws groups until each split is full,
rejects any group whose text was drawn before (so no example text is in two splits, nor
twice in one), shuffles each split and gives the records ids like ``ner-train-00012``.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Callable, Generic, Mapping, Sequence, TypeVar

from ...records import Record

R = TypeVar("R", bound=Record)

_SLOT = re.compile(r"\{(\w+)\}")
_MAX_REJECTIONS = 10_000


@dataclass(frozen=True)
class Group(Generic[R]):
    """Examples that share one text (a QA paragraph with several questions; usually one
    example): they always land in the same split. ``key`` is that text.

    ``drafts`` build the records once their ids are known: ``draft(record_id)``.
    """

    key: str
    drafts: Sequence[Callable[[str], R]]


def build_splits(task: str, draw: Callable[[random.Random, int], Group[R]], sizes: Mapping[str, int],
                 seed: int) -> dict[str, tuple[R, ...]]:
    """Draw groups into each split in turn until it holds ``sizes[split]`` records.

    ``draw(rng, position)`` gets the number of records the split already holds, so a
    generator can balance classes by position. A group drawn before (same key) is thrown
    away; a group too big for the room left is cut. Everything depends on ``seed`` only.
    """
    rng = random.Random(seed)
    seen: set[str] = set()
    splits: dict[str, tuple[R, ...]] = {}
    for split, size in sizes.items():
        drafts: list[Callable[[str], R]] = []
        rejections = 0
        while len(drafts) < size:
            group = draw(rng, len(drafts))
            if group.key in seen:
                rejections += 1
                if rejections > _MAX_REJECTIONS:
                    raise RuntimeError(f"the {task} generator keeps repeating itself; it cannot fill "
                                       f"{size} distinct {split} examples")
                continue
            seen.add(group.key)
            drafts.extend(group.drafts[: size - len(drafts)])
        rng.shuffle(drafts)
        splits[split] = tuple(draft(f"{task}-{split}-{i:05d}") for i, draft in enumerate(drafts))
    return splits


class SlotValues(dict[str, str]):
    """Values for the ``{slots}`` of templates, drawn the first time a slot is read.

    A slot's name is a kind from ``kinds`` plus an optional number (``{CITY}``,
    ``{CITY2}``), or a name that ``aliases`` maps to a kind (``{born}`` -> ``OLD_YEAR``).
    One name always gives the same value, so a template can mention a thing twice, and
    different names of one kind get different values, so ``between {CITY} and {CITY2}``
    never names one city twice. Values can also be given up front.
    """

    def __init__(self, rng: random.Random, kinds: Mapping[str, Callable[[random.Random], str]],
                 aliases: Mapping[str, str] | None = None, **given: str) -> None:
        super().__init__(given)
        self._rng = rng
        self._kinds = kinds
        self._aliases = aliases or {}

    def kind(self, slot: str) -> str:
        """The kind of a slot: given by ``aliases`` (``born`` -> ``OLD_YEAR``), else its name
        without trailing digits."""
        return self._aliases.get(slot, slot.rstrip("0123456789"))

    def __missing__(self, slot: str) -> str:
        kind = self.kind(slot)
        if kind not in self._kinds:
            raise KeyError(f"template slot {{{slot}}} has no kind {kind!r}")
        taken = {value for name, value in self.items() if self.kind(name) == kind}
        value = self._kinds[kind](self._rng)
        for _ in range(20):
            if value not in taken:
                break
            value = self._kinds[kind](self._rng)
        self[slot] = value
        return value


def render(template: str, values: Mapping[str, str]) -> tuple[str, dict[str, int]]:
    """Fill ``{slots}`` in ``template``; also return where each slot's value starts.

    The offsets are what lets QA answers carry exact character positions without ever
    searching the text for them (a search would find the wrong year in a distractor).
    """
    parts: list[str] = []
    starts: dict[str, int] = {}
    length = 0
    last = 0
    for match in _SLOT.finditer(template):
        parts.append(template[last:match.start()])
        length += match.start() - last
        value = values[match.group(1)]
        starts.setdefault(match.group(1), length)
        parts.append(value)
        length += len(value)
        last = match.end()
    parts.append(template[last:])
    return "".join(parts), starts


def fill(template: str, values: Mapping[str, str]) -> str:
    """``template`` with its slots filled, first letter capitalised (templates may start lower-case
    so the same clause can follow an opening phrase)."""
    text = render(template, values)[0]
    return text[:1].upper() + text[1:]

