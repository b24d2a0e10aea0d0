"""Where records come from: one entry point, three kinds of source.

``load(task, dataset, split)`` picks the source from ``dataset``:

* ``"embedded"`` (the default): the small dataset shipped inside the package for the task,
  generated deterministically by :mod:`text_envs.data.embedded`; works offline.
* a Hugging Face hub id known to :mod:`text_envs.data.hub` (``conll2003``, ``squad``,
  ``cnn_dailymail``, ``ag_news``, ...), read with ``datasets.load_dataset``.
* a local path (a file or a folder of per-split files), read by :mod:`text_envs.data.local`
  (CoNLL columns, SQuAD JSON, JSONL, CSV, ``label sentence`` lines); a folder written by
  ``datasets``' ``save_to_disk`` is read back with ``datasets.load_from_disk`` instead.
* a ``datasets.Dataset`` or ``DatasetDict`` object, converted as hub tables are
  (:func:`text_envs.data.hub.load_hf_dataset`).

Whatever the source, the result is a validated :class:`~text_envs.records.TaskDataset`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from ..records import TaskDataset, canonical_split, check_task

EMBEDDED = "embedded"


def load(task: str, dataset: Any = EMBEDDED, split: str = "train", **options) -> TaskDataset:
    """Load one split of a dataset for a task as validated records.

    ``dataset`` is ``"embedded"``, a hub id, a local path, or a ``datasets.Dataset`` /
    ``DatasetDict`` (a Dataset is one split, taken for any ``split``). ``options`` go to the
    source: e.g. ``labels=`` to fix a label set, ``columns=`` to map column names,
    ``format=`` to name a local file's format instead of guessing it from its name,
    ``seed=`` for the seeded split of single-file datasets, ``encoding=`` for local files
    that are not UTF-8, ``tag_scheme="iob1"`` for NER data in IOB1. See
    :func:`text_envs.data.local.load_local`, :func:`text_envs.data.hub.load_hub` and
    :func:`text_envs.data.hub.load_hf_dataset`.
    """
    check_task(task)
    split = canonical_split(split)
    if isinstance(dataset, str) and dataset == EMBEDDED:
        if options:
            raise TypeError(f"the embedded datasets take no options, got {sorted(options)}")
        from .embedded import load_embedded
        return load_embedded(task, split)
    if _is_hf_dataset(dataset):
        from .hub import load_hf_dataset
        return load_hf_dataset(task, dataset, split, **options)
    if not isinstance(dataset, (str, os.PathLike)):
        raise TypeError(f"dataset must be {EMBEDDED!r}, a hub id, a local path, or a datasets.Dataset or "
                        f"DatasetDict, not {type(dataset).__name__}")
    path = Path(dataset).expanduser()
    if path.exists():
        from .local import is_saved_dataset, load_local
        if is_saved_dataset(path):
            from .hub import load_saved
            return load_saved(task, path, split, **options)
        return load_local(task, path, split, **options)
    from .hub import HUB_DATASETS, load_hub
    if str(dataset) in HUB_DATASETS:
        return load_hub(task, str(dataset), split, **options)
    raise FileNotFoundError(
        f"dataset {str(dataset)!r} is neither {EMBEDDED!r}, an existing local path, nor a known hub id "
        f"({', '.join(sorted(HUB_DATASETS))})")


def _is_hf_dataset(dataset: Any) -> bool:
    """Whether ``dataset`` is a ``datasets.Dataset`` or ``DatasetDict``. Whoever holds one has
    imported ``datasets``, so this never imports it (it is slow to import)."""
    hf = sys.modules.get("datasets")
    return hf is not None and isinstance(dataset, (hf.Dataset, hf.DatasetDict))
