"""The ``text-envs`` command line.

``text-envs encode`` loads datasets, encodes them into the cache (a no-op when they are
cached already) and prints a summary table: the quickest way to see that data, encoder and
cache work on a machine.
"""

from __future__ import annotations

import argparse
import sys
import time

from .records import SPLITS, TASKS


def _encode(args: argparse.Namespace) -> int:
    from . import cache
    from .data import load
    from .encoders import Encoder

    encoder = Encoder(args.encoder, device=args.device)
    cache_dir = None if args.memory else (args.cache_dir or cache.default_cache_dir())
    rows = []
    for task in args.tasks:
        for split in args.splits:
            dataset = load(task, args.dataset, split)
            start = time.perf_counter()
            encoded = cache.encode(dataset, encoder, cache_dir=cache_dir, max_length=args.max_length,
                                   progress=not args.quiet)
            seconds = time.perf_counter() - start
            rows.append((task, dataset.name, dataset.split, len(dataset), len(encoded.pooled), encoded.max_length,
                         encoded.num_tokens,
                         int(encoded.truncated.sum()), len(dataset.labels) or "-", f"{seconds:.1f}"))
    header = ("task", "dataset", "split", "records", "segments", "max_length", "tokens", "truncated", "labels", "seconds")
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  ".join(str(value).rjust(width) for value, width in zip(row, widths)))
    print(f"encoder {encoder.name} (hidden size {encoder.hidden_size}, {encoder.device}); "
          f"cache: {cache_dir or 'in memory'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="text-envs", description="NLP tasks as Gymnasium environments.")
    commands = parser.add_subparsers(dest="command", required=True)
    encode = commands.add_parser("encode", help="encode datasets into the cache and print a summary",
                                 description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    encode.add_argument("tasks", nargs="*", default=list(TASKS), metavar="TASK",
                        help=f"tasks to encode (default: all of {', '.join(TASKS)})")
    encode.add_argument("--dataset", default="embedded", help="'embedded', a hub id or a local path")
    encode.add_argument("--split", dest="splits", action="append", choices=SPLITS,
                        help="split to encode (repeatable; default: all three)")
    encode.add_argument("--encoder", default="all-MiniLM-L6-v2", help="encoder name or local model folder")
    encode.add_argument("--max-length", type=int, default=None,
                        help="tokens per segment (default: per task, 384 for QA, 128 otherwise)")
    encode.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    encode.add_argument("--cache-dir", default=None, help="cache folder (default: $TEXT_ENVS_CACHE or "
                                                          "~/.cache/text-envs)")
    encode.add_argument("--memory", action="store_true", help="keep the encoding in memory, write nothing")
    encode.add_argument("--quiet", action="store_true", help="no progress bars")
    encode.set_defaults(run=_encode)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "splits", None) is None and args.command == "encode":
        args.splits = list(SPLITS)
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError) as err:  # bad input: say what, not a traceback
        print(f"text-envs {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
