"""Tables with named columns -> task records: the one place that knows column names.

JSONL and CSV files and Hugging Face hub datasets are all rows of named columns, with the
same few naming habits (``tokens``/``ner_tags``, ``context``/``question``/``answers``,
``article``/``highlights``, ``text``/``label``). A :class:`RowConverter` maps each task's
*roles* (what a record needs) to the columns a table has, by the defaults in
:data:`ROLES` or by explicit ``columns={"role": "column"}`` overrides, and turns rows
into validated records. Values are accepted in the shapes these sources use: token lists
or space-separated strings, integer labels with label names (ClassLabel) or label
strings, SQuAD answers as a list of ``{text, answer_start}`` or as the hub's dict of lists
(or JSON text of either, from a CSV cell), documents as sentence lists or as text to split.
NER tags may be IOB1 (``tag_scheme="iob1"``): they are converted to the IOB2 records hold.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from ..records import Answer, ClassificationRecord, QARecord, Record, RecordError, SummarizationRecord, \
    TaggingRecord, bio_tag_set, check_task, entity_type, iob1_to_iob2
from .sentences import split_paragraphs, split_sentences

#: For each task, each role and the column names tried for it, in order.
ROLES: dict[str, dict[str, tuple[str, ...]]] = {
    "ner": {"id": ("id", "idx"), "tokens": ("tokens", "words"), "tags": ("tags", "ner_tags", "labels")},
    "qa": {"id": ("id", "idx"), "title": ("title",), "context": ("context",), "question": ("question",),
           "answers": ("answers",), "answer": ("answer", "answer_text"), "answer_start": ("answer_start",)},
    "summarization": {"id": ("id", "idx"), "title": ("title",), "document": ("article", "document", "text"),
                      "summary": ("summary", "highlights"), "category": ("category",)},
    "classification": {"id": ("id", "idx"), "text": ("text", "sentence", "content", "article", "document"),
                       "label": ("label", "class", "category")},
}
#: Roles a table may lack. QA needs ``answers``, or else ``answer`` + ``answer_start`` (one answer).
OPTIONAL_ROLES = frozenset({"id", "title", "category", "answers", "answer", "answer_start"})
#: How NER tags may be written: ``iob2`` (every entity opens with B-X; what records hold) or
#: ``iob1`` (CoNLL-2003's original scheme: I-X opens an entity, B-X only separates two
#: adjacent entities of the same type), converted to IOB2 on reading.
TAG_SCHEMES = ("iob2", "iob1")


def check_tag_scheme(tag_scheme: str) -> str:
    """``tag_scheme`` if it is one of :data:`TAG_SCHEMES`, else a ValueError naming them."""
    if tag_scheme not in TAG_SCHEMES:
        raise ValueError(f"unknown tag_scheme {tag_scheme!r}; expected one of {', '.join(TAG_SCHEMES)}")
    return tag_scheme


def to_iob2(tags: Sequence[str], tag_scheme: str) -> tuple[str, ...]:
    """Tags as IOB2: IOB1 converted (:func:`~text_envs.records.iob1_to_iob2`); IOB2 as given, for the
    record to check."""
    return iob1_to_iob2(tags) if tag_scheme == "iob1" else tuple(tags)


def label_kind(value: Any) -> str:
    """How a cell writes a label: ``"index"`` (an integer, or its digits in a text cell) or ``"name"``.

    One table must write all its labels one way: read as given, ``1``/``0`` beside
    ``"positive"``/``"negative"`` would be four classes. See :meth:`RowConverter.label_kind`.
    """
    is_index = (isinstance(value, int) and not isinstance(value, bool)) or \
        (isinstance(value, str) and value.strip().isdigit())
    return "index" if is_index else "name"


def check_label_kinds(places: Iterable[tuple[str | None, str]], fix: str) -> None:
    """Refuse labels written as indices in some rows and as names in others (see :func:`label_kind`).

    ``places`` pairs each row's label kind (None: the row has no label) with where the row
    is; the error names the first row of each kind, then ``fix``."""
    first: dict[str, str] = {}
    for kind, where in places:
        if kind is not None:
            first.setdefault(kind, where)
    if len(first) > 1:
        raise RecordError(f"labels are written two ways: as class indices (first at {first['index']}) and as "
                          f"names (first at {first['name']}), so each would be a class of its own; {fix}")


def label_name(value: Any, names: Sequence[str] | None) -> str:
    """The label a cell holds: an index into ``names`` (int or digit string), else the string itself.

    Without ``names`` an integer stays its decimal string ("0", "1"), as there is nothing
    better to call it.
    """
    if isinstance(value, bool) or value is None:
        raise RecordError(f"label {value!r} is neither a label name nor an index")
    if names is not None and (isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit())):
        index = int(value)
        if not 0 <= index < len(names):
            raise RecordError(f"label index {index} is out of range for the {len(names)} label names {list(names)}")
        return names[index]
    if isinstance(value, (int, str)):
        return str(value).strip()
    raise RecordError(f"label {value!r} is neither a label name nor an index")


def label_set(task: str, records: Iterable[Record], label_names: Sequence[str] | None = None) -> tuple[str, ...]:
    """The label set (action vocabulary) of a dataset, the same for all its splits.

    NER: the full BIO tag set (:func:`~text_envs.records.bio_tag_set`) of the entity types
    in ``label_names`` and in the records' tags, so a split that lacks I-MISC still has
    it. Classification: ``label_names`` in their order (it is the label index), else the
    records' labels sorted (numbers numerically). Other tasks have none. Pass the records
    of *every* split, or the names that cover them.
    """
    if task == "ner":
        tags = set(label_names or ()) | {tag for record in records for tag in record.tags}
        return bio_tag_set({kind for tag in tags if (kind := entity_type(tag)) is not None})
    if task == "classification":
        if label_names:
            return tuple(label_names)
        found = {record.label for record in records}
        return tuple(sorted(found, key=lambda label: (0, int(label), "") if label.isdigit() else (1, 0, label)))
    return ()


class RowConverter:
    """Turns rows of one table (a file, a hub split) into records of one task."""

    def __init__(self, task: str, available: Collection[str], *, columns: Mapping[str, str] | None = None,
                 label_names: Sequence[str] | None = None, tag_scheme: str = "iob2", where: str = "table") -> None:
        """Resolve the table's columns for ``task``.

        Args:
            task: the task the records are for.
            available: the table's column names.
            columns: explicit ``{role: column}`` choices; the rest use :data:`ROLES`.
            label_names: names of integer labels/tags (index i -> ``label_names[i]``).
            tag_scheme: how NER tags are written (:data:`TAG_SCHEMES`).
            where: names the table in error messages (a file path, a hub id and split).
        """
        self.task = check_task(task)
        self.label_names = tuple(label_names) if label_names is not None else None
        self.tag_scheme = check_tag_scheme(tag_scheme)
        self.where = where
        self.columns = self._resolve(set(available), dict(columns or {}))

    def _resolve(self, available: set[str], overrides: dict[str, str]) -> dict[str, str]:
        roles = ROLES[self.task]
        unknown = sorted(set(overrides) - set(roles))
        if unknown:
            raise ValueError(f"{self.where}: unknown column role(s) {unknown} for task {self.task!r}; "
                             f"roles are {sorted(roles)}")
        chosen: dict[str, str] = {}
        for role, candidates in roles.items():
            if role in overrides:
                if overrides[role] not in available:
                    raise ValueError(f"{self.where}: no column {overrides[role]!r} (asked for as {role!r}); "
                                     f"columns are {sorted(available)}")
                chosen[role] = overrides[role]
                continue
            found = next((c for c in candidates if c in available and c not in chosen.values()), None)
            if found is not None:
                chosen[role] = found
            elif role not in OPTIONAL_ROLES:
                raise ValueError(f"{self.where}: no {role!r} column for task {self.task!r} (looked for "
                                 f"{', '.join(map(repr, candidates))}; columns are {sorted(available)}); "
                                 f"name it with columns={{{role!r}: ...}}")
        if self.task == "qa" and "answers" not in chosen and not {"answer", "answer_start"} <= set(chosen):
            raise ValueError(f"{self.where}: no 'answers' column (nor 'answer' + 'answer_start'); "
                             f"columns are {sorted(available)}")
        return chosen

    def _get(self, row: Mapping[str, Any], role: str) -> Any:
        """The row's value for a role; None for an optional role the table or this row lacks."""
        column = self.columns.get(role)
        if column is None or (column not in row and role in OPTIONAL_ROLES):
            return None
        if column not in row:
            raise RecordError(f"no {column!r} value")
        return row[column]

    def record(self, row: Mapping[str, Any], default_id: str) -> Record:
        """The record for one row; ``default_id`` is used when the table has no id column."""
        raw_id = self._get(row, "id")
        record_id = default_id if raw_id is None or str(raw_id).strip() == "" else str(raw_id)
        build = getattr(self, f"_{self.task}")
        return build(row, record_id)

    def label_kind(self, row: Mapping[str, Any]) -> str | None:
        """The :func:`label_kind` of the row's label or NER tags (None for tasks without labels).

        Call it on rows that made a record. A row whose tags mix the two kinds is an error;
        the caller compares the kinds of a table's rows.
        """
        if self.task == "classification":
            return label_kind(self._get(row, "label"))
        if self.task != "ner":
            return None
        kinds = {label_kind(tag) for tag in _sequence(self._get(row, "tags"), "tags")}
        if len(kinds) > 1:
            raise RecordError("tags mix integer tag indices and tag names; write every tag one way")
        return kinds.pop() if kinds else None

    def category(self, row: Mapping[str, Any]) -> str | None:
        """The row's category (summarisation), used to stratify seeded splits; None if no column."""
        value = self._get(row, "category")
        return None if value is None else str(value)

    def _ner(self, row: Mapping[str, Any], record_id: str) -> TaggingRecord:
        tags = [label_name(tag, self.label_names) for tag in _sequence(self._get(row, "tags"), "tags")]
        return TaggingRecord(record_id, _sequence(self._get(row, "tokens"), "tokens"), to_iob2(tags, self.tag_scheme))

    def _qa(self, row: Mapping[str, Any], record_id: str) -> QARecord:
        if "answers" in self.columns:
            answers = _answers(self._get(row, "answers"))
        else:
            answers = (Answer(self._get(row, "answer"), _int(self._get(row, "answer_start"))),)
        return QARecord(record_id, question=self._get(row, "question"), context=self._get(row, "context"),
                        answers=answers, title=_optional_text(self._get(row, "title")))

    def _summarization(self, row: Mapping[str, Any], record_id: str) -> SummarizationRecord:
        title = _optional_text(self._get(row, "title"))
        document = self._get(row, "document")
        source = document if isinstance(document, str) else " ".join(map(str, _sequence(document, "document")))
        return SummarizationRecord(record_id, document_sentences(document, title),
                                   summary_sentences(self._get(row, "summary"), source), title=title)

    def _classification(self, row: Mapping[str, Any], record_id: str) -> ClassificationRecord:
        return ClassificationRecord(record_id, self._get(row, "text"),
                                    label_name(self._get(row, "label"), self.label_names))


def document_sentences(document: str | Sequence[str], title: str = "") -> tuple[str, ...]:
    """A document's sentences: a list is taken as already split; text is split by paragraph.

    Some BBC News versions repeat the title as the article's first paragraph; when that
    paragraph equals ``title`` it is dropped, so the title is not a selectable sentence.
    """
    if not isinstance(document, str):
        return _sequence(document, "document")
    paragraphs = split_paragraphs(document)
    if title and paragraphs and paragraphs[0] == title.strip():
        paragraphs = paragraphs[1:]
    return tuple(s for paragraph in paragraphs for s in split_sentences(paragraph))


def summary_sentences(summary: str | Sequence[str], source: str | None = None) -> tuple[str, ...]:
    """A reference summary's sentences.

    A list is taken as already split. Text is split line by line (CNN/DailyMail highlights
    are one sentence a line), and within a line also where sentences were glued together
    with no space (BBC News Summary), with ``source`` (the document) deciding on which
    side of a glued quote a sentence ends.
    """
    if not isinstance(summary, str):
        return _sequence(summary, "summary")
    return tuple(s for line in summary.splitlines()
                 for s in split_sentences(line, run_together=True, source=source))


def _sequence(value: Any, what: str) -> tuple:
    """A list cell as a tuple; a string cell as its whitespace-separated items.

    Anything else (a number, an object) is an error: ``tuple()`` of a dict would quietly
    give its keys.
    """
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, (list, tuple)):
        return tuple(value)
    raise RecordError(f"{what} {value!r} must be a list or a space-separated string, got {type(value).__name__}")


def _optional_text(value: Any) -> str:
    return "" if value is None else str(value)


def _int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise RecordError(f"answer start {value!r} is not an integer")


def _answers(value: Any) -> tuple[Answer, ...]:
    """SQuAD answers from a list of {text, answer_start} or a dict of lists (or JSON of either)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as err:
            raise RecordError(f"answers {value!r} are not JSON: {err}") from None
    if isinstance(value, Mapping):
        texts, starts = value.get("text"), value.get("answer_start", value.get("start"))
        if not isinstance(texts, Sequence) or not isinstance(starts, Sequence) or isinstance(texts, str) \
                or isinstance(starts, str) or len(texts) != len(starts):
            raise RecordError(f"answers {value!r} must hold equal-length 'text' and 'answer_start' lists")
        return tuple(Answer(text, _int(start)) for text, start in zip(texts, starts))
    if isinstance(value, Sequence):
        answers = []
        for item in value:
            if not isinstance(item, Mapping) or "text" not in item:
                raise RecordError(f"answer {item!r} must be an object with 'text' and 'answer_start'")
            answers.append(Answer(item["text"], _int(item.get("answer_start", item.get("start")))))
        return tuple(answers)
    raise RecordError(f"answers {value!r} must be a list of {{text, answer_start}} or a dict of lists")
