"""Plain record types for the four tasks, and the split container that holds them.

Every data source (embedded, Hugging Face hub, local files) produces these records, so the
encoder, the cache and the environments never see a source-specific format. Records check
themselves on construction: a malformed example fails where it is read, with the record's
id in the message, instead of deep inside an encoder or an environment step.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Iterator, Sequence, Union

TASKS = ("ner", "qa", "summarization", "classification")
SPLITS = ("train", "validation", "test")
_SPLIT_ALIASES = {"train": "train", "validation": "validation", "valid": "validation",
                  "val": "validation", "dev": "validation", "test": "test"}


class RecordError(ValueError):
    """A dataset example is malformed; the message names the example and the problem."""


class TagSequenceError(RecordError):
    """A tag sequence breaks IOB2: an ``I-X`` opens an entity (as IOB1 data does).

    ``token`` is the index of that tag, so a loader can name the line it came from and
    say how to read IOB1 data.
    """

    def __init__(self, message: str, token: int) -> None:
        super().__init__(message)
        self.token = token

    def __reduce__(self):  # picklable (e.g. out of a worker process) with its token
        return type(self), (str(self), self.token)


def canonical_split(split: str) -> str:
    """Map a split name or a common alias (valid, dev, val) to train/validation/test."""
    try:
        return _SPLIT_ALIASES[split.lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)} "
                         f"(aliases: valid, val, dev)") from None


def check_task(task: str) -> str:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    return task


def _text(record_id: str, what: str, value: object) -> str:
    if not isinstance(value, str):
        raise RecordError(f"record {record_id!r}: {what} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise RecordError(f"record {record_id!r}: {what} is empty")
    return value


def _texts(record_id: str, what: str, values: Sequence[str]) -> tuple[str, ...]:
    if isinstance(values, str):
        raise RecordError(f"record {record_id!r}: {what} must be a sequence of strings, not one string")
    values = tuple(values)
    if not values:
        raise RecordError(f"record {record_id!r}: {what} is empty")
    for i, value in enumerate(values):
        _text(record_id, f"{what}[{i}]", value)
    return values


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)


def entity_type(tag: str) -> str | None:
    """The entity type of a BIO tag (``"B-PER"`` -> ``"PER"``), None for ``"O"``.

    Raises RecordError for anything that is not O, B-TYPE or I-TYPE.
    """
    if tag == "O":
        return None
    if is_bio_tag(tag):
        return tag[2:]
    raise RecordError(f"tag {tag!r} is not a BIO tag (expected O, B-TYPE or I-TYPE)")


def is_bio_tag(tag: object) -> bool:
    """Whether ``tag`` is O, B-TYPE or I-TYPE (see :func:`entity_type`)."""
    return tag == "O" or (isinstance(tag, str) and len(tag) > 2 and tag[1] == "-" and tag[0] in "BI")


def iob2_violation(tags: Sequence[str]) -> int | None:
    """The index of the first ``I-X`` that opens an entity, or None if ``tags`` are valid IOB2.

    IOB2 (what records hold, and what the NER env's action mask enforces) opens every
    entity with ``B-X``; an ``I-X`` may only follow ``B-X`` or ``I-X``. IOB1 (CoNLL-2003's
    original scheme) opens entities with ``I-X``, so IOB1 data fails here at its first entity.
    """
    return next(_entity_opening_i_tags(tags), None)


def iob1_to_iob2(tags: Sequence[str]) -> tuple[str, ...]:
    """IOB1 tags as IOB2: every ``I-X`` that opens an entity becomes ``B-X``; nothing else changes.

    In IOB1 ``B-X`` only separates two adjacent X entities and already opens the second, so
    it stays; valid IOB2 tags come back unchanged.
    """
    converted = list(tags)
    for index in _entity_opening_i_tags(tags):
        converted[index] = "B-" + tags[index][2:]
    return tuple(converted)


def _entity_opening_i_tags(tags: Sequence[str]) -> Iterator[int]:
    """Indices of the ``I-X`` tags that follow neither ``B-X`` nor ``I-X`` (non-BIO tags are skipped:
    :func:`entity_type` names those)."""
    previous = None
    for index, tag in enumerate(tags):
        kind = tag[2:] if is_bio_tag(tag) and tag != "O" else None
        if kind is not None and tag[0] == "I" and kind != previous:
            yield index
        previous = kind


def bio_tag_set(entity_types: Sequence[str]) -> tuple[str, ...]:
    """The full BIO tag set for some entity types, in canonical order: O, B-X, I-X, ...

    The order depends only on the set of types, so a split that happens to lack I-MISC
    still gets the same action indices as the split that has it.
    """
    tags = ["O"]
    for kind in sorted(set(entity_types)):
        tags += [f"B-{kind}", f"I-{kind}"]
    return tuple(tags)


@dataclass(frozen=True)
class TaggingRecord:
    """A sentence split into words, one BIO tag per word (IOB2: entities start with B-)."""

    id: str
    tokens: tuple[str, ...]
    tags: tuple[str, ...]

    def __post_init__(self) -> None:
        _set(self, "tokens", _texts(self.id, "tokens", self.tokens))
        for i, token in enumerate(self.tokens):
            if any(ch.isspace() for ch in token):
                raise RecordError(f"record {self.id!r}: token {i} ({token!r}) contains whitespace")
        tags = tuple(self.tags) if not isinstance(self.tags, str) else (self.tags,)
        if len(tags) != len(self.tokens):
            raise RecordError(f"record {self.id!r}: {len(tags)} tags for {len(self.tokens)} tokens; "
                              f"tags must be aligned one per token")
        for i, tag in enumerate(tags):
            try:
                entity_type(tag)
            except RecordError as err:
                raise RecordError(f"record {self.id!r}: token {i} ({self.tokens[i]!r}): {err}") from None
        opening = iob2_violation(tags)
        if opening is not None:
            after = f"after {tags[opening - 1]!r}" if opening else "at the sentence start"
            raise TagSequenceError(
                f"record {self.id!r}: token {opening} ({self.tokens[opening]!r}): tag {tags[opening]!r} {after} "
                f"opens an entity, which IOB2 tags do with B-{tags[opening][2:]} (an I- tag opening an entity is "
                f"IOB1, the original CoNLL-2003 scheme)", opening)
        _set(self, "tags", tags)

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


@dataclass(frozen=True)
class Answer:
    """An answer span: its text and the character offset where it starts in the context."""

    text: str
    start: int

    @property
    def end(self) -> int:
        """Exclusive character end offset."""
        return self.start + len(self.text)


@dataclass(frozen=True)
class QARecord:
    """A question about a context, with one or more gold answer spans inside the context."""

    id: str
    question: str
    context: str
    answers: tuple[Answer, ...]
    title: str = ""

    def __post_init__(self) -> None:
        _text(self.id, "question", self.question)
        _text(self.id, "context", self.context)
        answers = tuple(a if isinstance(a, Answer) else Answer(**a) for a in self.answers)
        if not answers:
            raise RecordError(f"record {self.id!r}: no answers (unanswerable questions are not supported)")
        for i, answer in enumerate(answers):
            _text(self.id, f"answers[{i}].text", answer.text)
            if not isinstance(answer.start, int) or isinstance(answer.start, bool):
                raise RecordError(f"record {self.id!r}: answers[{i}] start {answer.start!r} is not an integer "
                                  f"character offset")
            if not 0 <= answer.start <= len(self.context) - len(answer.text):
                raise RecordError(f"record {self.id!r}: answers[{i}] starts at {answer.start!r}, outside the "
                                  f"context of {len(self.context)} characters")
            found = self.context[answer.start:answer.end]
            if found != answer.text:
                raise RecordError(f"record {self.id!r}: answers[{i}] offset {answer.start} does not match the "
                                  f"context: expected {answer.text!r}, context has {found!r} there")
        _set(self, "answers", answers)


@dataclass(frozen=True)
class SummarizationRecord:
    """A document as a list of sentences, with its reference summary as a list of sentences."""

    id: str
    sentences: tuple[str, ...]
    summary: tuple[str, ...]
    title: str = ""

    def __post_init__(self) -> None:
        _set(self, "sentences", _texts(self.id, "sentences", self.sentences))
        _set(self, "summary", _texts(self.id, "summary", self.summary))


@dataclass(frozen=True)
class ClassificationRecord:
    """A text with one class label (the label's name, not its index)."""

    id: str
    text: str
    label: str

    def __post_init__(self) -> None:
        _text(self.id, "text", self.text)
        _text(self.id, "label", self.label)


Record = Union[TaggingRecord, QARecord, SummarizationRecord, ClassificationRecord]
RECORD_TYPES = {"ner": TaggingRecord, "qa": QARecord, "summarization": SummarizationRecord,
                "classification": ClassificationRecord}


@dataclass(frozen=True, eq=False)
class TaskDataset:
    """One split of one dataset for one task: validated records plus the label set.

    ``labels`` is the action vocabulary of label-valued tasks: the full BIO tag set for NER
    (see :func:`bio_tag_set`), the class names for classification, empty for QA and
    summarisation. Every record is checked against it, and ids must be unique.
    """

    task: str
    name: str
    split: str
    records: tuple[Record, ...]
    labels: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        check_task(self.task)
        _set(self, "split", canonical_split(self.split))
        _set(self, "records", tuple(self.records))
        _set(self, "labels", tuple(self.labels))
        if not self.records:
            raise RecordError(f"dataset {self.name!r} split {self.split!r} has no records")
        kind = RECORD_TYPES[self.task]
        seen: set[str] = set()
        for record in self.records:
            if not isinstance(record, kind):
                raise RecordError(f"dataset {self.name!r}: task {self.task!r} needs {kind.__name__} records, "
                                  f"got {type(record).__name__}")
            if record.id in seen:
                raise RecordError(f"dataset {self.name!r} split {self.split!r}: duplicate record id {record.id!r}")
            seen.add(record.id)
        self._check_labels()

    def _check_labels(self) -> None:
        if self.task in ("ner", "classification"):
            if len(set(self.labels)) != len(self.labels) or not self.labels:
                raise RecordError(f"dataset {self.name!r}: label set must be non-empty and without repeats, "
                                  f"got {list(self.labels)}")
            known = set(self.labels)
            for record in self.records:
                values = record.tags if self.task == "ner" else (record.label,)
                for value in values:
                    if value not in known:
                        raise RecordError(f"record {record.id!r}: unknown label {value!r}; "
                                          f"the label set is {list(self.labels)}")
        elif self.labels:
            raise RecordError(f"dataset {self.name!r}: task {self.task!r} takes no label set")

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def __getitem__(self, index: int) -> Record:
        return self.records[index]

    @cached_property
    def fingerprint(self) -> str:
        """A SHA-256 of the task, labels and every record's content (not of the name or split).

        Two loads of the same data give the same fingerprint, whatever source they came
        from; any change to any record changes it. The encoded cache is keyed by it.
        """
        digest = hashlib.sha256()
        digest.update(json.dumps([self.task, list(self.labels)]).encode())
        for record in self.records:
            digest.update(json.dumps(asdict(record), ensure_ascii=False, sort_keys=True).encode())
            digest.update(b"\n")
        return digest.hexdigest()

    def __repr__(self) -> str:
        labels = f", {len(self.labels)} labels" if self.labels else ""
        return f"TaskDataset({self.task}, {self.name!r}, {self.split}, {len(self)} records{labels})"
