"""Where records come from: one entry point, three kinds of source.

``load(task, dataset, split)`` picks the source from ``dataset``:

* ``"embedded"`` (the default): the small dataset shipped inside the package for the task,
  generated deterministically by :mod:`text_envs.data.embedded`; works offline.
* a Hugging Face hub id known to :mod:`text_envs.data.hub` (``conll2003``, ``squad``,
  ``cnn_dailymail``, ``ag_news``, ...), read with ``datasets.load_dataset``.
* a local path (a file or a folder of per-split files), read by :mod:`text_envs.data.local`
  (CoNLL columns, SQuAD JSON, JSONL, CSV, ``label sentence`` lines).

Whatever the source, the result is a validated :class:`~text_envs.records.TaskDataset`.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..records import TaskDataset, canonical_split, check_task

EMBEDDED = "embedded"


def load(task: str, dataset: str | os.PathLike = EMBEDDED, split: str = "train", **options) -> TaskDataset:
    """Load one split of a dataset for a task as validated records.

    ``options`` go to the source: e.g. ``labels=`` to fix a label set, ``format=`` to name a
    local file's format instead of guessing it from its name, ``seed=`` for the seeded split
    of single-file datasets, ``encoding=`` for local files that are not UTF-8,
    ``tag_scheme="iob1"`` for local NER files in IOB1. See
    :func:`text_envs.data.local.load_local` and :func:`text_envs.data.hub.load_hub`.
    """
    check_task(task)
    split = canonical_split(split)
    if isinstance(dataset, str) and dataset == EMBEDDED:
        if options:
            raise TypeError(f"the embedded datasets take no options, got {sorted(options)}")
        from .embedded import load_embedded
        return load_embedded(task, split)
    path = Path(os.fspath(dataset)).expanduser()
    if path.exists():
        from .local import load_local
        return load_local(task, path, split, **options)
    from .hub import HUB_DATASETS, load_hub
    if str(dataset) in HUB_DATASETS:
        return load_hub(task, str(dataset), split, **options)
    raise FileNotFoundError(
        f"dataset {str(dataset)!r} is neither {EMBEDDED!r}, an existing local path, nor a known hub id "
        f"({', '.join(sorted(HUB_DATASETS))})")
