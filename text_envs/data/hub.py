"""Hugging Face ``datasets`` tables -> validated records: hub ids, in-memory datasets, saved folders.

:data:`HUB_DATASETS` names the standard datasets for each task: where they live on the
hub, what their columns are called, and how their hub splits map to train / validation /
test. Rows go through the same :class:`~text_envs.data.columns.RowConverter` as local JSONL
and CSV files, so both are read by the same code (the hub's own copies may still differ
from the original files: hub AG News joins title and description with a space, the
local loader with ". "; hub SST-2 trains on phrases, stsa.binary on sentences); ``ClassLabel``
features turn integer tags and labels into their names (a fallback list covers copies
whose columns are plain integers).

Some hub datasets lack a split the benchmarks need: ag_news has no validation split,
squad no test split (its validation split is the usual test set), and sst2's test labels
are hidden (its validation split is used as test). Then the hub split that two of our
splits share is divided by a seeded carve (:func:`~text_envs.data.splits.split_records`:
stratified by label, grouped by article), ``validation_share`` of it to the second.

A ``datasets.Dataset`` or ``DatasetDict`` the user already holds (built in code, loaded
with their own ``load_dataset`` call, or a ``save_to_disk`` folder read back with
``datasets.load_from_disk``) takes the same row conversion (:func:`table_records`) through
:func:`load_hf_dataset`: ``columns=`` maps its columns, ``ClassLabel`` features name its
labels.

Nothing here can reach the hub on a machine without network; the tests build datasets with
the hub schemas (ClassLabel included) on disk and stand in for ``datasets.load_dataset``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..records import SPLITS, Record, RecordError, TaskDataset, canonical_split, check_task
from .columns import RowConverter, check_label_kinds, label_set
from .local import ag_news_newlines
from .splits import split_records

__all__ = ["HUB_DATASETS", "HubDataset", "HubUnavailableError", "load_hf_dataset", "load_hub", "load_saved",
           "table_records"]

CONLL2003_TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")


class HubUnavailableError(ConnectionError):
    """``datasets`` could not fetch a hub dataset (typically: no network, nothing cached)."""


@dataclass(frozen=True)
class HubDataset:
    """A hub dataset: its task, ``load_dataset`` arguments and how to adapt its rows."""

    task: str
    path: str
    config: str | None = None
    revision: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)     # {role: column} beyond the defaults
    label_names: tuple[str, ...] | None = None                    # when the label column is no ClassLabel
    splits: Mapping[str, str] = field(default_factory=lambda: {s: s for s in SPLITS})  # ours -> hub's
    validation_share: float = 0.1                                  # of a hub split two of ours share
    fix_row: Callable[[dict[str, Any]], dict[str, Any]] | None = None  # source quirks, before conversion

    def load_args(self, hub_split: str) -> dict[str, Any]:
        """Keyword arguments for ``datasets.load_dataset``."""
        args: dict[str, Any] = {"path": self.path, "name": self.config, "split": hub_split}
        if self.revision:
            args["revision"] = self.revision
        return args


def _ag_news_row(row: dict[str, Any]) -> dict[str, Any]:
    """Line breaks as in the local AG News loader."""
    return {**row, "text": ag_news_newlines(row["text"])}


_CONLL2003 = HubDataset(
    # The canonical "conll2003" repo is a loading script, which datasets >= 4 no longer runs;
    # this copy holds the same data as plain files (tokens, pos/chunk/ner_tags).
    "ner", "lhoestq/conll2003", label_names=CONLL2003_TAGS)
_SQUAD = HubDataset(
    "qa", "rajpurkar/squad",
    splits={"train": "train", "validation": "train", "test": "validation"})
_CNN_DAILYMAIL = HubDataset("summarization", "abisee/cnn_dailymail", config="3.0.0")
_AG_NEWS = HubDataset(
    "classification", "fancyzhx/ag_news", label_names=("World", "Sports", "Business", "Sci/Tech"),
    splits={"train": "train", "validation": "train", "test": "test"}, validation_share=0.05, fix_row=_ag_news_row)
_SST2 = HubDataset(
    # GLUE-style SST-2: train is 67k phrases; the test labels are hidden, so the 872
    # labelled validation sentences are our test split.
    "classification", "stanfordnlp/sst2", columns={"id": "idx", "text": "sentence"},
    label_names=("negative", "positive"),
    splits={"train": "train", "validation": "train", "test": "validation"})

#: Known hub datasets by short name and by full repo id.
HUB_DATASETS: dict[str, HubDataset] = {
    "conll2003": _CONLL2003, "squad": _SQUAD, "cnn_dailymail": _CNN_DAILYMAIL, "ag_news": _AG_NEWS,
    "sst2": _SST2,
}
HUB_DATASETS.update({spec.path: spec for spec in list(HUB_DATASETS.values())})


def load_hub(task: str, name: str, split: str, *, labels: Sequence[str] | None = None, seed: int = 0,
             validation_share: float | None = None) -> TaskDataset:
    """Load one split of a known hub dataset as validated records.

    Args:
        task: must be the dataset's task (see :data:`HUB_DATASETS`).
        name: a key of :data:`HUB_DATASETS` (short name or repo id).
        split: ``train``, ``validation`` or ``test`` (or an alias).
        labels: the label set to use instead of the dataset's.
        seed: seed of the carve when two of our splits share one hub split.
        validation_share: overrides the dataset's share for that carve.

    Raises:
        HubUnavailableError: ``datasets`` could not fetch the data (offline, not cached).
    """
    check_task(task)
    split = canonical_split(split)
    if name not in HUB_DATASETS:
        raise ValueError(f"unknown hub dataset {name!r}; known: {', '.join(sorted(HUB_DATASETS))}")
    spec = HUB_DATASETS[name]
    if spec.task != task:
        raise ValueError(f"hub dataset {name!r} is a {spec.task} dataset, not a {task} one")
    hub_split = spec.splits[split]
    table = _fetch(name, spec, hub_split, task, split)
    records, names = table_records(task, table, hub_split, where=f"hub dataset {name!r} split {hub_split!r}",
                                   columns=spec.columns, label_names=spec.label_names, fix_row=spec.fix_row)

    sharing = [s for s in SPLITS if spec.splits.get(s) == hub_split]
    if len(sharing) == 2:  # e.g. our train and validation both come from the hub's train
        share = spec.validation_share if validation_share is None else validation_share
        parts = split_records(records, fractions=(1 - share, share, 0.0), seed=seed)
        records = [records[i] for i in parts["train" if split == sharing[0] else "validation"]]
    if labels is None:
        labels = label_set(task, records, names)
    return TaskDataset(task, name, split, records, tuple(labels))


def table_records(task: str, table: Any, id_prefix: str, *, where: str, columns: Mapping[str, str] | None = None,
                  label_names: Sequence[str] | None = None, tag_scheme: str = "iob2",
                  fix_row: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
                  ) -> tuple[list[Record], tuple[str, ...] | None]:
    """The records of one ``datasets.Dataset`` (a hub split or the user's own table), and the
    label names used to read its integer labels.

    The one row conversion of ``datasets`` tables: :class:`~text_envs.data.columns.RowConverter`
    with ``columns=`` overrides; a ``ClassLabel`` label or tag feature names the integers,
    else ``label_names`` does. Rows without an id column get ``<id_prefix>-<row>``. A row
    that fails its checks is a :class:`RecordError` naming ``where`` and the row; labels
    written as indices in some rows and names in others (a string column holding ``"1"``
    and ``"positive"``) too, as they would read as different classes.
    """
    converter = RowConverter(task, table.column_names, columns=columns, tag_scheme=tag_scheme, where=where)
    label_column = converter.columns.get("tags" if task == "ner" else "label")
    names = _class_label_names(table.features, label_column) or (tuple(label_names) if label_names else None)
    converter.label_names = names
    records, kinds = [], []
    for index, row in enumerate(table):
        row = fix_row(row) if fix_row else row
        try:
            records.append(converter.record(row, f"{id_prefix}-{index}"))
            kinds.append((converter.label_kind(row), f"{where}, row {index}"))
        except (RecordError, TypeError) as err:
            raise RecordError(f"{where}, row {index}: {err}") from None
    check_label_kinds(kinds, "write every label one way, or cast the column to a datasets.ClassLabel")
    return records, names


def load_hf_dataset(task: str, data: Any, split: str, *, columns: Mapping[str, str] | None = None,
                    labels: Sequence[str] | None = None, tag_scheme: str = "iob2",
                    name: str | None = None) -> TaskDataset:
    """One split of a ``datasets.Dataset`` or ``DatasetDict`` the caller holds, as validated records.

    A ``Dataset`` is one split: it is taken for whichever ``split`` is asked and recorded
    under that name. A ``DatasetDict`` gives its entry named ``split`` or an alias of it
    (``validation``: ``valid``, ``dev``, ``val``); entries with other names are ignored.
    Integer labels are named by their ``ClassLabel`` feature (cast a plain integer column
    with ``data.cast_column("label", datasets.ClassLabel(names=[...]))``); without one,
    the label set is the labels found, in every split of a ``DatasetDict`` (so each split
    gets the same actions; ``labels=`` fixes it instead, and skips reading the others).

    Args:
        task: the task the records are for.
        data: a ``datasets.Dataset`` or ``datasets.DatasetDict``.
        split: ``train``, ``validation`` or ``test`` (or an alias).
        columns: ``{role: column}`` for columns not named as :data:`~text_envs.data.columns.ROLES`
            expects.
        labels: the label set to use instead of the one found.
        tag_scheme: how NER tags are written (``"iob2"`` or ``"iob1"``, converted).
        name: the dataset's name in the result (it names cache entries); default the
            dataset's ``info.dataset_name``, else ``"in-memory"``.
    """
    check_task(task)
    split = canonical_split(split)
    tables = _tables_by_split(data, split)
    name = name or _display_name(tables[split])
    kind = type(data).__name__

    def read(table_split: str) -> tuple[list[Record], tuple[str, ...] | None]:
        where = f"{kind} {name!r}" + (f" split {table_split!r}" if kind == "DatasetDict" else "")
        return table_records(task, tables[table_split], table_split, where=where, columns=columns,
                             tag_scheme=tag_scheme)

    records, names = read(split)
    if labels is None:
        every = records
        if names is None and task in ("ner", "classification"):  # found in the data: in all of it
            every = [r for s in tables for r in (records if s == split else read(s)[0])]
        labels = label_set(task, every, names)
    return TaskDataset(task, name, split, records, tuple(labels))


def _tables_by_split(data: Any, split: str) -> dict[str, Any]:
    """``{split: Dataset}``: a Dataset as ``split``; a DatasetDict's entries by canonical split
    name. An error names what it has when ``split`` is not among them, or when two entries
    name one split (``validation`` and ``dev``)."""
    from datasets import Dataset, DatasetDict

    if isinstance(data, Dataset):
        return {split: data}
    if not isinstance(data, DatasetDict):
        raise TypeError(f"expected a datasets.Dataset or DatasetDict, got {type(data).__name__}")
    tables: dict[str, Any] = {}
    keys: dict[str, str] = {}
    for key, table in data.items():
        try:
            canonical = canonical_split(key)
        except ValueError:
            continue  # e.g. IMDB's "unsupervised": not a split an env reads
        if canonical in keys:
            raise ValueError(f"the DatasetDict has two {canonical} splits, {keys[canonical]!r} and {key!r}; "
                             f"keep one")
        tables[canonical], keys[canonical] = table, key
    if split not in tables:
        raise ValueError(f"the DatasetDict has no {split} split: its splits are {', '.join(map(repr, data)) or 'none'} "
                         f"(split names: train, validation or valid / val / dev, test)")
    return tables


def _display_name(table: Any) -> str:
    """What to call a dataset the caller passed as an object: its own name if it has one."""
    return table.info.dataset_name or table.info.builder_name or "in-memory"


def load_saved(task: str, path: str | os.PathLike, split: str, *, name: str | None = None, **options) -> TaskDataset:
    """A ``save_to_disk`` folder (see :func:`text_envs.data.local.is_saved_dataset`): read back
    with ``datasets.load_from_disk`` and loaded as :func:`load_hf_dataset` (same ``options``),
    named after the folder."""
    import datasets

    path = Path(path).expanduser()
    return load_hf_dataset(task, datasets.load_from_disk(str(path)), split, name=name or path.resolve().name,
                           **options)


def _fetch(name: str, spec: HubDataset, hub_split: str, task: str, split: str) -> Any:
    """``datasets.load_dataset`` for one hub split, with an error that says what to do offline."""
    import datasets  # imported here: only hub loads need it, and tests stand in for load_dataset

    args = spec.load_args(hub_split)
    try:
        return datasets.load_dataset(**args)
    except Exception as err:  # network, auth, missing-cache and hub errors all come out differently
        shown = ", ".join(f"{k}={v!r}" for k, v in args.items() if v is not None)
        raise HubUnavailableError(
            f"could not load the hub dataset {name!r} (datasets.load_dataset({shown})): "
            f"{type(err).__name__}: {err}. The Hugging Face hub cannot be reached offline and the dataset is "
            f"not in the local datasets cache; fetch it once while online, or load a local copy instead, e.g. "
            f"text_envs.data.load({task!r}, 'path/to/{name.split('/')[-1]}', {split!r})") from err


def _class_label_names(features: Any, column: str | None) -> tuple[str, ...] | None:
    """The names of a ClassLabel column, or of a list-of-ClassLabel column (NER tags)."""
    from datasets import ClassLabel

    feature = features.get(column) if column is not None and features is not None else None
    while feature is not None and not isinstance(feature, ClassLabel):
        feature = getattr(feature, "feature", None)  # Sequence / List wrap the per-token feature
    return tuple(feature.names) if feature is not None else None
