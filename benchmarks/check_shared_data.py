"""Load every benchmark dataset in ../shared/data through text_envs.data.load and check it.

The real datasets are read by the package's local-file loaders, never copied into the
repo (see ../shared/data/README.md). This script is the manual check that each of them
loads, for every split, with the sizes the README states, and that the BBC summaries are
split back into sentences that occur in their articles. It prints one table row per
split and exits with status 1 if any dataset fails to load or any count is off.

    python benchmarks/check_shared_data.py [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from text_envs.data import load
from text_envs.records import SPLITS, TaskDataset

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Expected:
    """What ../shared/data/README.md says about a dataset (None: not stated)."""

    records: tuple[int, int, int] | None = None  # train, validation, test
    total: int | None = None                     # over all splits, when only that is stated
    tokens: tuple[int, int, int] | None = None   # NER tokens per split
    groups: tuple[int, int, int] | None = None   # QA articles per split (the by-article split)


@dataclass(frozen=True)
class Dataset:
    task: str
    path: str
    expected: Expected = field(default_factory=Expected)


# The README's table, row by row.
DATASETS = (
    Dataset("ner", "ner/conll2003",
            Expected(records=(14041, 3250, 3453), tokens=(203621, 51362, 46435))),
    Dataset("qa", "qa/squad-v1.1", Expected(total=10570, groups=(32, 6, 10))),
    Dataset("summarization", "summarization/bbc-news-summary.jsonl", Expected(total=2225)),
    Dataset("classification", "classification/ag_news", Expected(total=7600)),
    Dataset("classification", "classification/sst2", Expected(records=(6920, 872, 1821))),
)


def details(ds: TaskDataset) -> tuple[str, dict[str, int]]:
    """A short description of a split, and the counts the README can be checked against."""
    if ds.task == "ner":
        tokens = sum(len(r.tokens) for r in ds)
        return f"{tokens:,} tokens", {"tokens": tokens}
    if ds.task == "qa":
        articles = len({r.title for r in ds})
        return f"{articles} articles, {len({r.context for r in ds}):,} paragraphs", {"groups": articles}
    if ds.task == "summarization":
        summary = [(s, r) for r in ds for s in r.summary]
        in_text = sum(s in " ".join(r.sentences) for s, r in summary) / len(summary)
        as_sentence = sum(s in r.sentences for s, r in summary) / len(summary)
        return (f"summary sentences in article {in_text:.1%}, equal to an article sentence "
                f"{as_sentence:.1%}"), {}
    counts = {label: 0 for label in ds.labels}
    for record in ds:
        counts[record.label] += 1
    return "per label " + "/".join(str(n) for n in counts.values()), {}


def check(dataset: Dataset, data_dir: Path) -> tuple[list[list[str]], list[str]]:
    """Rows of the table for one dataset, and the problems found."""
    rows, problems, sizes = [], [], []
    measured: dict[str, list[int]] = {}
    for index, split in enumerate(SPLITS):
        start = time.perf_counter()
        try:
            ds = load(dataset.task, data_dir / dataset.path, split)
        except Exception as err:  # report every dataset, not just the first failure
            problems.append(f"{dataset.path} {split}: {type(err).__name__}: {err}")
            rows.append([dataset.task, dataset.path, split, "-", "-", "-", "FAILED"])
            continue
        seconds = time.perf_counter() - start
        text, counts = details(ds)
        for key, value in counts.items():
            measured.setdefault(key, []).append(value)
        sizes.append(len(ds))
        rows.append([dataset.task, dataset.path, split, f"{len(ds):,}", str(len(ds.labels) or "-"),
                     f"{seconds:.2f}", text])
    expected = dataset.expected
    if len(sizes) == len(SPLITS):
        for key, want in (("records", expected.records), ("tokens", expected.tokens), ("groups", expected.groups)):
            got = tuple(sizes) if key == "records" else tuple(measured.get(key, ()))
            if want is not None and got != want:
                problems.append(f"{dataset.path}: {key} per split {got}, README says {want}")
        if expected.total is not None and sum(sizes) != expected.total:
            problems.append(f"{dataset.path}: {sum(sizes)} records in all, README says {expected.total}")
    return rows, problems


def print_table(rows: list[list[str]]) -> None:
    header = ["task", "dataset", "split", "records", "labels", "load s", "details"]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO_ROOT.parent / "shared" / "data",
                        help="folder holding the datasets (default: ../shared/data beside the repo)")
    args = parser.parse_args(argv)
    if not args.data_dir.is_dir():
        print(f"no data folder at {args.data_dir}; pass --data-dir", file=sys.stderr)
        return 2
    rows, problems = [], []
    for dataset in DATASETS:
        dataset_rows, dataset_problems = check(dataset, args.data_dir)
        rows += dataset_rows
        problems += dataset_problems
    print_table(rows)
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    print(f"\n{len(DATASETS)} datasets, {len(rows)} splits: "
          f"{'all as the README says' if not problems else f'{len(problems)} problem(s)'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
