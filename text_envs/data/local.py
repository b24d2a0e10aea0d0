"""Local files -> validated records: CoNLL columns, SQuAD JSON, JSONL/CSV, AG News CSV, SST lines.

``load_local(task, path, split)`` reads a dataset from disk the way the public datasets are
actually distributed, so benchmarks can point at a downloaded copy as it is:

* ``path`` is a folder of per-split files (the split is a part of the file name: ``train``,
  ``valid``/``validation``/``dev``/``val``, ``test``; e.g. ``train.txt``, ``stsa.binary.dev``,
  ``test.csv``) or a single file.
* A folder with files for two or more splits gives those splits; asking for a split it has
  no file for is an error. A single file, or a folder with just one split file (the SQuAD
  dev set, the AG News test set), is the whole dataset and gets a seeded split
  (:mod:`text_envs.data.splits`): stratified by label for classification, by ``category``
  for summarisation tables that have one (BBC News Summary), by article for SQuAD JSON
  (contiguous in file order: first 2/3 of the articles train, next 1/8 validation, the rest
  test, i.e. 32 / 6 / 10 of SQuAD dev's 48), by CoNLL document (``-DOCSTART-``) or QA
  context otherwise; 0.8 / 0.1 / 0.1 unless ``split_fractions`` says otherwise.
* The label set is the same for every split: for NER the full BIO tag set of the entity
  types found in *all* split files; for classification the class names (``classes.txt``,
  the SST names, ``label_names=``) or else the sorted labels of all splits. ``labels=``
  overrides it, and then a label outside it is an error.
* Record ids come from the data when it has them, else ``<file stem>-<line number>``.
* Every format is read as ``encoding`` (default UTF-8; a UTF-8 byte-order mark is dropped).
* NER tags are IOB2 (every entity opens with ``B-X``); ``tag_scheme="iob1"`` reads IOB1
  files (the original CoNLL-2003 scheme) and converts them.

What cannot be read exactly is refused, with an error naming the file and line (or JSON
path) and the fix: bytes that are not ``encoding``, a CoNLL line with another column count
than the file's first token line, IOB1 tags without ``tag_scheme="iob1"``, a CSV row with
more or fewer fields than the header (AG News: than its first row), labels written as
indices in some rows and as names in others (in any of a dataset's files), a duplicate
record id in a file, and in a folder a file whose name almost names a split (``eng.testa``,
``training.txt``) or names two.

Formats (``format=``; guessed from the file name and contents when not given):

========= ===== =====================================================================
format    task  layout
========= ===== =====================================================================
conll     ner   one token a line, whitespace-separated columns (as many on every
                line): token in column ``token_column`` (0), BIO tag in
                ``tag_column`` (-1, the last); blank line between sentences;
                ``-DOCSTART-`` lines start documents
squad     qa    SQuAD JSON: ``{"data": [{"title", "paragraphs": [{"context", "qas":
                [{"id", "question", "answers": [{"text", "answer_start"}]}]}]}]}``;
                every gold answer is kept; SQuAD 2.0 unanswerable questions are skipped
jsonl     any   one JSON object a line, named columns (see :mod:`.columns`)
csv, tsv  any   a header row, then named columns (see :mod:`.columns`)
ag_news   clf   no header: class index (1-based, names in ``classes.txt`` beside the
                file), title, description (any further fields are joined too; every
                row has as many fields as the first)
sst       clf   one ``label text`` a line (SST ``stsa.binary.*``: 0/1 = negative/positive;
                ``stsa.fine.*``: 0-4 from very negative to very positive)
========= ===== =====================================================================

AG News text is ``title + ". " + description`` (only a space when the title already ends
in ``.``, ``!`` or ``?``), so the title reads as its own sentence; ``\\`` in the original
stands for a line break and becomes ``"\\n"``. HTML-entity remnants (`` #39;``) are left as
the publishers wrote them, as in the hub copy.
"""

from __future__ import annotations

import codecs
import csv
import json
import os
import re
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TextIO

from ..records import (SPLITS, Answer, ClassificationRecord, QARecord, Record, RecordError, TaggingRecord,
                       TagSequenceError, TaskDataset, canonical_split, check_task, is_bio_tag)
from .columns import RowConverter, check_label_kinds, check_tag_scheme, label_kind, label_name, label_set, to_iob2
from .splits import DEFAULT_FRACTIONS, check_fractions, split_records

__all__ = ["FORMATS", "ag_news_newlines", "guess_format", "is_saved_dataset", "load_local"]

#: Each format and the task it holds (None: any task, by named columns).
FORMATS: dict[str, str | None] = {"conll": "ner", "squad": "qa", "jsonl": None, "csv": None, "tsv": None,
                                  "ag_news": "classification", "sst": "classification"}

#: The seeded split of a single SQuAD file: by article, in file order (see the module docstring).
SQUAD_FRACTIONS = (2 / 3, 1 / 8, 5 / 24)

SST_LABEL_NAMES = {"stsa.binary": ("negative", "positive"),
                   "stsa.fine": ("very negative", "negative", "neutral", "positive", "very positive")}

_DATA_SUFFIXES = {".txt", ".csv", ".tsv", ".json", ".jsonl", ".ndjson", ".conll", ".iob", ".bio"}
_SUFFIX_FORMATS = {".json": "squad", ".jsonl": "jsonl", ".ndjson": "jsonl", ".tsv": "tsv",
                   ".conll": "conll", ".iob": "conll", ".bio": "conll"}
_NOT_DATA = re.compile(r"(readme|license|licence|classes|changelog)\b.*|.*\.(md|py|sh|yaml|yml)$", re.I)
_SPLIT_WORDS = ("train", "valid", "validation", "val", "dev", "test")
# eng.testa, training, dev2: almost a split (but devices, testimonials: other words)
_NEAR_SPLIT = re.compile(r"(train|valid|dev|test)([a-z]|[0-9]+|ing)")


@dataclass(frozen=True)
class _Example:
    """A record plus what the seeded split needs to know about it."""

    record: Record
    where: str                       # its place in the file, for errors: "line 7", "data[0].paragraphs[2].qas[1]"
    group: Hashable | None = None    # examples sharing a group never straddle splits (article, document)
    stratum: Hashable | None = None  # stratify by this instead of the default (summarisation category)
    label_kind: str | None = None    # "index" or "name", where the file could write labels either way


@dataclass(frozen=True)
class _FileData:
    """One file, read and validated: what the cache holds."""

    path: Path
    format: str
    examples: tuple[_Example, ...]
    label_names: tuple[str, ...] | None = None  # class names the file defines, in index order


# What a reader returns: its examples, and the class names the file defines (or None).
_Read = tuple[list[_Example], tuple[str, ...] | None]


@dataclass(frozen=True)
class _Options:
    """Reader options; hashable, as they are part of the read cache's key."""

    columns: tuple[tuple[str, str], ...] = ()
    label_names: tuple[str, ...] | None = None
    token_column: int = 0
    tag_column: int = -1
    codec: str = "utf-8-sig"  # see _codec
    tag_scheme: str = "iob2"


def load_local(task: str, path: str | os.PathLike, split: str, *, format: str | None = None,
               labels: Sequence[str] | None = None, seed: int = 0,
               split_fractions: Sequence[float] | None = None, columns: Mapping[str, str] | None = None,
               label_names: Sequence[str] | None = None, token_column: int = 0, tag_column: int = -1,
               encoding: str = "utf-8", tag_scheme: str = "iob2", name: str | None = None) -> TaskDataset:
    """Load one split of a local dataset (a folder of split files or one file) as records.

    Args:
        task: ``ner``, ``qa``, ``summarization`` or ``classification``.
        path: a folder of per-split files, or a single file (see the module docstring).
        split: ``train``, ``validation`` or ``test`` (or an alias: valid, val, dev).
        format: one of :data:`FORMATS`; guessed per file when None.
        labels: the label set to use instead of the one found in the data.
        seed: seed of the split of single-file datasets.
        split_fractions: (train, validation, test) shares for single-file datasets.
        columns: ``{role: column}`` for JSONL/CSV files whose column names are not the
            defaults of :data:`text_envs.data.columns.ROLES`.
        label_names: names of integer labels/tags (index i -> ``label_names[i]``); for
            classification they are also the label set.
        token_column, tag_column: CoNLL columns of the token and of the NER tag.
        encoding: the files' text encoding (any Python codec name); with UTF-8 a byte-order
            mark is dropped.
        tag_scheme: how NER tags are written: ``"iob2"`` (entities open with B-X) or
            ``"iob1"`` (I-X opens an entity; converted to IOB2). See :data:`text_envs.data.columns.TAG_SCHEMES`.
        name: the dataset's name in the result; default: the folder or file name.
    """
    task = check_task(task)
    split = canonical_split(split)
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"no such dataset file or folder: {path}")
    if is_saved_dataset(path):
        raise ValueError(f"{path} is a folder written by datasets' save_to_disk, not data files; load it with "
                         f"text_envs.data.load({task!r}, {str(path)!r}, {split!r})")
    if format is not None and format not in FORMATS:
        raise ValueError(f"unknown format {format!r} for {path}; formats are {', '.join(FORMATS)}")
    if check_tag_scheme(tag_scheme) != "iob2" and task != "ner":
        raise ValueError(f"tag_scheme applies to NER data only, not to {task} data")
    options = _Options(tuple(sorted((columns or {}).items())),
                       tuple(label_names) if label_names is not None else None, token_column, tag_column,
                       _codec(encoding), tag_scheme)
    split_files, whole = _dataset_files(path)
    if whole is not None:
        every_file = [_read(whole, task, format, options)]
        source = every_file[0]
        records = _seeded_part(source, split, seed, split_fractions)
    else:
        if split_fractions is not None:
            raise ValueError(f"{path} has its own split files ({_listing(split_files)}); "
                             f"split_fractions applies only to single-file datasets")
        if split not in split_files:
            raise FileNotFoundError(f"{path} has no {split} file (found {_listing(split_files)}; a split is "
                                    f"recognised by a name part train / valid / validation / dev / val / test)")
        every_file = [_read(file, task, format, options) for file in split_files.values()]
        source = _read(split_files[split], task, format, options)
        records = [example.record for example in source.examples]
    _check_label_kinds(every_file)
    if labels is None:
        names = next((data.label_names for data in every_file if data.label_names), None)
        labels = label_set(task, (e.record for data in every_file for e in data.examples), names)
    try:
        return TaskDataset(task, name or _stem(path), split, records, tuple(labels))
    except RecordError as err:
        raise RecordError(f"{source.path}: {err}") from None


def _check_label_kinds(files: Sequence[_FileData]) -> None:
    """Refuse a dataset whose labels are indices in some rows and names in others.

    Read as given, ``1``/``0`` beside ``"positive"``/``"negative"`` would be four classes;
    which index is which name is not in the data. Checked over every split file, since
    the label set is shared.
    """
    check_label_kinds(((example.label_kind, f"{data.path}, {example.where}") for data in files
                       for example in data.examples),
                      "write every label one way: all names, or all indices (named with label_names=[...])")


def _seeded_part(data: _FileData, split: str, seed: int, fractions: Sequence[float] | None) -> list[Record]:
    """One split of a whole-dataset file, by the seeded split (see the module docstring)."""
    squad = data.format == "squad"
    fractions = check_fractions(fractions) if fractions is not None else \
        SQUAD_FRACTIONS if squad else DEFAULT_FRACTIONS
    groups, strata = _split_keys(data.examples)
    records = [e.record for e in data.examples]
    chosen = split_records(records, fractions=fractions, seed=seed, groups=groups, strata=strata,
                           shuffle=not squad)[split]
    return [records[i] for i in chosen]


def guess_format(path: Path, encoding: str = "utf-8") -> str:
    """The format of a data file, from its name, else from its first lines (read as ``encoding``)."""
    path = Path(path)
    codec = _codec(encoding)
    name = path.name.lower()
    if name.startswith(tuple(SST_LABEL_NAMES)):
        return "sst"
    suffix = path.suffix.lower()
    if suffix in _SUFFIX_FORMATS:
        return _SUFFIX_FORMATS[suffix]
    if suffix == ".csv":
        with _open_text(path, codec, newline="") as file:
            first = next(csv.reader(file), [])
        return "ag_news" if len(first) >= 2 and first[0].strip().isdigit() else "csv"
    lines = _first_lines(path, 50, codec)
    # CoNLL: a BIO tag last on (nearly) every line, and as many columns on every line; a stray
    # bad tag must still read as CoNLL, so that the error names it instead of the format.
    bio_share = sum(len(f) >= 2 and is_bio_tag(f[-1]) for f in lines) / max(len(lines), 1)
    if bio_share == 1 or (bio_share >= 0.5 and len({len(f) for f in lines}) == 1):
        return "conll"
    if lines and all(len(f) >= 2 and re.fullmatch(r"-?\d+", f[0]) for f in lines):
        return "sst"
    raise ValueError(f"cannot guess the format of {path}: the name says nothing and its first lines are "
                     f"neither CoNLL columns (token ... BIO-tag) nor 'label text' lines; pass format= one of "
                     f"{', '.join(FORMATS)}")


def _first_lines(path: Path, count: int, codec: str) -> list[list[str]]:
    """The whitespace-separated fields of a text file's first non-blank, non-DOCSTART lines."""
    lines: list[list[str]] = []
    with _open_text(path, codec) as file:
        for line in file:
            fields = line.split()
            if fields and fields[0] != "-DOCSTART-":
                lines.append(fields)
                if len(lines) == count:
                    break
    return lines


# --- which files ----------------------------------------------------------------------------


def is_saved_dataset(path: Path) -> bool:
    """Whether ``path`` is a folder written by ``datasets``' ``save_to_disk``: a DatasetDict's
    (``dataset_dict.json``) or a Dataset's (``dataset_info.json`` and ``state.json``).

    Asked before any file format is guessed: ``dataset_dict.json`` would otherwise pass for
    the one data file of the folder, in the SQuAD format."""
    return path.is_dir() and ((path / "dataset_dict.json").is_file()
                              or ((path / "dataset_info.json").is_file() and (path / "state.json").is_file()))


def _dataset_files(path: Path) -> tuple[dict[str, Path], Path | None]:
    """({split: file}, None) for a folder of per-split files, or ({}, file) for one whole file."""
    if path.is_file():
        return {}, path
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")
                   and not _NOT_DATA.fullmatch(p.name))
    by_split: dict[str, list[Path]] = {}
    for file in files:
        splits = _name_splits(file)
        if len(splits) == 1:
            by_split.setdefault(splits.pop(), []).append(file)
    for split, candidates in by_split.items():
        if len(candidates) > 1:
            raise ValueError(f"{path}: more than one {split} file ({', '.join(p.name for p in candidates)}); "
                             f"keep one, or pass the file itself")
    if len(by_split) >= 2:
        return {split: by_split[split][0] for split in SPLITS if split in by_split}, None
    if len(by_split) == 1:
        return {}, next(iter(by_split.values()))[0]
    data_files = [p for p in files if p.suffix.lower() in _DATA_SUFFIXES]
    if len(data_files) == 1:
        return {}, data_files[0]
    raise FileNotFoundError(f"{path}: cannot tell the dataset's files: no file name has a split part "
                            f"(train / valid / dev / test) and there are {len(data_files)} data files "
                            f"({', '.join(p.name for p in data_files) or 'none'}); pass one file instead")


def _name_splits(file: Path) -> set[str]:
    """The splits a file name names (``stsa.binary.dev`` -> validation).

    A name that names two splits (``train_test.txt``), or has a part that almost names one
    (``eng.testa``, ``training.txt``: the original CoNLL-2003 files are ``eng.train``,
    ``eng.testa``, ``eng.testb``), is an error rather than a file quietly left out.
    """
    parts = re.split(r"[^a-z0-9]+", file.name.lower())
    near = [part for part in parts if part not in _SPLIT_WORDS and _NEAR_SPLIT.fullmatch(part)]
    if near:
        raise FileNotFoundError(f"{file}: the name part {near[0]!r} is not a split name (train / valid / "
                                f"validation / val / dev / test); rename the file, or pass it itself")
    splits = {canonical_split(part) for part in parts if part in _SPLIT_WORDS}
    if len(splits) > 1:
        raise FileNotFoundError(f"{file}: the name names {len(splits)} splits ({', '.join(sorted(splits))}); "
                                f"rename the file, or pass it itself")
    return splits


def _listing(split_files: Mapping[str, Path]) -> str:
    return ", ".join(f"{split}: {file.name}" for split, file in split_files.items())


def _stem(path: Path) -> str:
    """A file's name without its data suffix (``train.txt`` -> ``train``, ``stsa.binary.dev`` kept)."""
    return path.name[:-len(path.suffix)] if path.suffix.lower() in _DATA_SUFFIXES else path.name


# --- reading --------------------------------------------------------------------------------


def _codec(encoding: str) -> str:
    """The codec a data file is read with: ``encoding``, and for UTF-8 the BOM-dropping ``utf-8-sig``."""
    try:
        name = codecs.lookup(encoding).name
    except (LookupError, TypeError):
        raise ValueError(f"unknown encoding {encoding!r}; pass a Python codec name, e.g. 'utf-8', "
                         f"'latin-1', 'cp1252'") from None
    return "utf-8-sig" if name == "utf-8" else name


@contextmanager
def _open_text(path: Path, codec: str, newline: str | None = None) -> Iterator[TextIO]:
    """A data file as text, the same way for every format.

    With ``utf-8-sig`` a byte-order mark is dropped instead of being glued to the first
    token or column name; bytes that are not ``codec`` end the read with an error that
    names the file, the line and the ``encoding=`` option.
    """
    try:
        with path.open(encoding=codec, newline=newline) as file:
            yield file
    except UnicodeDecodeError as err:
        raise _decode_error(path, codec, err) from None


def _decode_error(path: Path, codec: str, err: UnicodeDecodeError) -> RecordError:
    """Locate a decode error by line: decode the file again a line at a time, up to the bad bytes.

    (A text reader decodes in blocks, so the error it raises knows neither line nor file offset.)
    """
    where = str(path)
    chunks = path.read_bytes().splitlines(keepends=True)
    decoder = codecs.getincrementaldecoder(codec)()
    for number, raw in enumerate(chunks, 1):
        try:
            decoder.decode(raw, final=number == len(chunks))
        except UnicodeDecodeError as found:
            err, where = found, f"{path}, line {number}"
            break
    return RecordError(f"{where}: the bytes {err.object[err.start:err.end]!r} are not {err.encoding} "
                       f"({err.reason}); pass the file's encoding, e.g. encoding='latin-1' or encoding='cp1252'")


def _read(path: Path, task: str, format: str | None, options: _Options) -> _FileData:
    fmt = format or guess_format(path, options.codec)
    wanted = FORMATS[fmt]
    if wanted is not None and wanted != task:
        raise ValueError(f"{path} is in the {fmt} format, which holds {wanted} data, not {task} data")
    # The classes.txt beside a file names its classes (AG News): a new or edited one is a new version too.
    stamp = tuple(_stamp(file) for file in (path, path.with_name("classes.txt")))
    return _read_cached(path.resolve(), stamp, task, fmt, options)


def _stamp(path: Path) -> tuple[int, int] | None:
    """A file's version for the read cache: (mtime, size), None if there is no such file."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size


@lru_cache(maxsize=16)
def _read_cached(path: Path, stamp: tuple, task: str, fmt: str, options: _Options) -> _FileData:
    """Read and validate a file once per (file version, task, format, options).

    Loading one split reads every split file (for the shared label set); the cache makes
    loading train, validation and test one after the other read each file once.
    """
    examples, label_names = _READERS[fmt](path, task, options)
    if not examples:
        raise RecordError(f"{path}: no examples in the file")
    _check_unique_ids(path, examples)
    return _FileData(path, fmt, tuple(examples), label_names)


def _check_unique_ids(path: Path, examples: Sequence[_Example]) -> None:
    """Ids name records (and key results); two records of a file with one id is an error naming both."""
    first: dict[str, str] = {}
    for example in examples:
        if example.record.id in first:
            raise RecordError(f"{path}, {example.where}: record id {example.record.id!r} again (first at "
                              f"{first[example.record.id]}); ids must be unique")
        first[example.record.id] = example.where


def _error(path: Path, where: str, err: Exception | str) -> RecordError:
    """An error about one example, located by file and line (or JSON path)."""
    hint = f"; if {path.name} is IOB1, pass tag_scheme='iob1' to convert it" \
        if isinstance(err, TagSequenceError) else ""
    return RecordError(f"{path}, {where}: {err}{hint}")


def _read_conll(path: Path, task: str, options: _Options) -> _Read:
    examples: list[_Example] = []
    tokens: list[str] = []
    tags: list[str] = []
    lines: list[int] = []
    document = 0
    width: tuple[int, int] | None = None  # (column count, line) of the file's first token line
    stem = _stem(path)

    def flush() -> None:
        if tokens:
            try:
                record = TaggingRecord(f"{stem}-{lines[0]}", tuple(tokens), to_iob2(tags, options.tag_scheme))
            except RecordError as err:
                line = lines[err.token] if isinstance(err, TagSequenceError) else lines[0]
                raise _error(path, f"line {line}", err) from None
            examples.append(_Example(record, f"line {lines[0]}", group=document))
            tokens.clear()
            tags.clear()
            lines.clear()

    with _open_text(path, options.codec) as file:
        for number, line in enumerate(file, 1):
            fields = line.split()
            if not fields:
                flush()
            elif fields[0] == "-DOCSTART-":
                flush()
                document += 1
            else:
                if width is None:
                    width = (len(fields), number)
                    _check_conll_columns(path, number, fields, options)
                elif len(fields) != width[0]:
                    raise _error(path, f"line {number}", f"{len(fields)} column(s) {fields}, expected {width[0]} "
                                 f"as on line {width[1]}; every token line of a CoNLL file has the same columns")
                tokens.append(fields[options.token_column])
                tags.append(fields[options.tag_column])
                lines.append(number)
    flush()
    if document == 0:  # no -DOCSTART- lines: no documents to keep together
        examples = [_Example(e.record, e.where) for e in examples]
    return examples, None


def _check_conll_columns(path: Path, number: int, fields: Sequence[str], options: _Options) -> None:
    """The first token line must have a token and a tag column (every later one has as many columns)."""
    if len(fields) < 2 or not all(-len(fields) <= column < len(fields)
                                  for column in (options.token_column, options.tag_column)):
        raise _error(path, f"line {number}", f"{len(fields)} column(s) {fields}; expected a token (column "
                     f"{options.token_column}) and a tag (column {options.tag_column})")


def _read_squad(path: Path, task: str, options: _Options) -> _Read:
    with _open_text(path, options.codec) as file:
        try:
            content = json.load(file)
        except json.JSONDecodeError as err:
            raise _error(path, f"line {err.lineno}", f"not valid JSON: {err.msg} (column {err.colno})") from None
    if not isinstance(content, dict) or not isinstance(content.get("data"), list):
        raise RecordError(f"{path}: not SQuAD-format JSON (expected an object with a 'data' list of articles)")
    examples: list[_Example] = []
    for a, article in enumerate(content["data"]):
        where = f"data[{a}]"
        try:
            for p, paragraph in enumerate(article["paragraphs"]):
                where = f"data[{a}].paragraphs[{p}]"
                context = paragraph["context"]
                for q, qa in enumerate(paragraph["qas"]):
                    where = f"data[{a}].paragraphs[{p}].qas[{q}]"
                    if qa.get("is_impossible"):
                        continue  # SQuAD 2.0 unanswerable questions: the QA env always has an answer
                    answers = tuple(Answer(answer["text"], answer["answer_start"]) for answer in qa["answers"])
                    record_id = str(qa.get("id") or f"{_stem(path)}-{a}-{p}-{q}")
                    record = QARecord(record_id, qa["question"], context, answers, title=article.get("title", ""))
                    examples.append(_Example(record, where, group=a))
        except KeyError as err:
            raise _error(path, where, f"missing field {err}") from None
        except RecordError as err:
            raise _error(path, where, err) from None
        except (TypeError, AttributeError) as err:  # a list where an object belongs, or the like
            raise _error(path, where, f"not in the SQuAD layout ({type(err).__name__}: {err})") from None
    return examples, None


def _read_jsonl(path: Path, task: str, options: _Options) -> _Read:
    rows: list[tuple[int, dict]] = []
    with _open_text(path, options.codec) as file:
        for number, line in enumerate(file, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise _error(path, f"line {number}", f"not valid JSON: {err.msg} (character {err.pos + 1})") from None
            if not isinstance(row, dict):
                raise _error(path, f"line {number}", "expected a JSON object with named columns")
            rows.append((number, row))
    if not rows:
        return [], options.label_names
    # The columns are those of all rows together: an optional column (title, id) that only
    # later rows have is read, not dropped because the first row lacks it.
    converter = _converter(path, task, list(dict.fromkeys(key for _, row in rows for key in row)), options)
    return [_convert(path, converter, row, number) for number, row in rows], options.label_names


def _read_csv(path: Path, task: str, options: _Options, delimiter: str = ",") -> _Read:
    rows = _csv_rows(path, options, delimiter)
    header = next(rows, None)
    if header is None:
        raise RecordError(f"{path}: empty file (a {'CSV' if delimiter == ',' else 'TSV'} file starts with a "
                          f"header row of column names)")
    columns = header[1]
    doubled = sorted({column for column in columns if columns.count(column) > 1})
    if doubled:
        raise _error(path, f"line {header[0]}", f"column(s) {doubled} named twice in the header")
    converter = _converter(path, task, columns, options)
    return [_convert(path, converter, dict(zip(columns, fields)), number) for number, fields in rows], \
        options.label_names


def _csv_rows(path: Path, options: _Options, delimiter: str = ",") -> Iterator[tuple[int, list[str]]]:
    """(line, fields) of each non-blank row of a CSV file, each with as many fields as the first.

    A row with more or fewer fields (an unquoted delimiter inside a field, a dropped one)
    would shift or lose columns, so it is an error; so is anything the csv module cannot
    parse. A row spanning lines (a quoted line break) is numbered by its last line.
    """
    with _open_text(path, options.codec, newline="") as file:
        reader = csv.reader(file, delimiter=delimiter)
        width: tuple[int, int] | None = None  # (field count, line) of the first row
        try:
            for fields in reader:
                if not fields:
                    continue
                if width is None:
                    width = (len(fields), reader.line_num)
                elif len(fields) != width[0]:
                    raise _error(path, f"line {reader.line_num}", f"{len(fields)} field(s), expected {width[0]} as on "
                                 f"line {width[1]}; is a {delimiter!r} inside a field not quoted, or a field missing?")
                yield reader.line_num, fields
        except csv.Error as err:
            raise _error(path, f"line {reader.line_num}", f"not readable as CSV: {err}") from None


def _converter(path: Path, task: str, columns: Sequence[str], options: _Options) -> RowConverter:
    return RowConverter(task, list(columns), columns=dict(options.columns), label_names=options.label_names,
                        tag_scheme=options.tag_scheme, where=str(path))


def _convert(path: Path, converter: RowConverter, row: Mapping, number: int) -> _Example:
    try:
        return _Example(converter.record(row, f"{_stem(path)}-{number}"), f"line {number}",
                        stratum=converter.category(row), label_kind=converter.label_kind(row))
    except (RecordError, TypeError) as err:
        raise _error(path, f"line {number}", err) from None


def _read_ag_news(path: Path, task: str, options: _Options) -> _Read:
    names = options.label_names or _classes_beside(path, options.codec)
    examples: list[_Example] = []
    for number, row in _csv_rows(path, options):
        try:
            if len(row) < 2 or not row[0].strip().isdigit() or int(row[0]) < 1:
                raise RecordError(f"expected a class index (1, 2, ...) and text fields, got {row[:3]}")
            label = label_name(int(row[0]) - 1, names) if names else row[0].strip()
            record = ClassificationRecord(f"{_stem(path)}-{number}", _join_ag_news(row[1:]), label)
        except RecordError as err:
            raise _error(path, f"line {number}", err) from None
        examples.append(_Example(record, f"line {number}"))
    return examples, names


def ag_news_newlines(text: str) -> str:
    """AG News (and its hub copy) writes each line break as a backslash; restore them."""
    return text.replace("\\", "\n")


def _join_ag_news(fields: Sequence[str]) -> str:
    """AG News-style text fields (title, description, ...) as one text; see the module docstring."""
    parts = [ag_news_newlines(field).strip() for field in fields]
    text = ""
    for part in filter(None, parts):
        text = part if not text else f"{text} {part}" if text.endswith((".", "!", "?")) else f"{text}. {part}"
    return text


def _classes_beside(path: Path, codec: str) -> tuple[str, ...] | None:
    """Class names from the ``classes.txt`` next to a file (one a line, class 1 first), if any."""
    classes = path.with_name("classes.txt")
    if not classes.is_file():
        return None
    with _open_text(classes, codec) as file:
        return tuple(line.strip() for line in file if line.strip())


def _read_sst(path: Path, task: str, options: _Options) -> _Read:
    names = options.label_names or next(
        (n for prefix, n in SST_LABEL_NAMES.items() if path.name.lower().startswith(prefix)), None)
    examples: list[_Example] = []
    with _open_text(path, options.codec) as file:
        for number, line in enumerate(file, 1):
            if not line.strip():
                continue
            label, text = (line.split(None, 1) + [""])[:2]
            try:
                record = ClassificationRecord(f"{_stem(path)}-{number}", text.strip(), label_name(label, names))
            except RecordError as err:
                raise _error(path, f"line {number}", err) from None
            examples.append(_Example(record, f"line {number}", label_kind=label_kind(label)))
    return examples, names


_READERS: dict[str, Callable[[Path, str, _Options], _Read]] = {
    "conll": _read_conll, "squad": _read_squad, "jsonl": _read_jsonl, "csv": _read_csv,
    "tsv": lambda path, task, options: _read_csv(path, task, options, delimiter="\t"),
    "ag_news": _read_ag_news, "sst": _read_sst,
}


# --- split keys ------------------------------------------------------------------


def _split_keys(examples: Sequence[_Example]) -> tuple[list | None, list | None]:
    """The (groups, strata) a file's reader set, or None each to use the task's defaults."""
    groups = [e.group for e in examples]
    strata = [e.stratum for e in examples]
    return (None if all(g is None for g in groups) else groups,
            None if all(s is None for s in strata) else strata)
