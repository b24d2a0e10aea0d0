"""Encoded-cache build throughput against the raw encoder forward pass, in one run.

The baseline is the encoder alone: the same length-sorted, padded batches the cache
builder uses, already tokenized and already on the device, timed around the forward pass
only. The cache builder is timed end to end from records: tokenization, batching, the
forward pass, float16 copies back to the host, writing the memory-mapped files and their
checksums. Both count real (unpadded) tokens. The ratio builder/raw says how much of the
encoder's speed the cache keeps (target: >= 0.80).

    python benchmarks/cache_throughput.py                       # embedded NER, MiniLM, CPU
    python benchmarks/cache_throughput.py --dataset ../shared/data/ner/conll2003 --device cuda
"""

from __future__ import annotations

import argparse
import gc
import platform
import tempfile
import time

import torch

from text_envs import cache
from text_envs.data import load
from text_envs.encoders import DEFAULT_ENCODER, Encoder


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def raw_forward_seconds(encoder: Encoder, dataset, max_length: int, batch_tokens: int,
                        repeats: int) -> tuple[float, int]:
    """Best-of-``repeats`` time of the forward passes alone over the builder's batches."""
    layout = cache.LAYOUTS[dataset.task]
    inputs, ids, _ = cache.segment_inputs(dataset, layout)
    tokenized = encoder.tokenize(inputs, layout.kind, max_length=max_length, ids=ids)
    pad_id = encoder.tokenizer.pad_token_id or 0
    batches = []
    for chunk in cache.plan_chunks(tokenized.starts, batch_tokens, cache.chunk_tokens(encoder.hidden_size)):
        for segments in chunk.batches:
            input_ids, mask, type_ids, _, _ = cache.padded_batch(tokenized, segments, pad_id)
            batches.append(tuple(torch.from_numpy(a).to(encoder.device) for a in (input_ids, mask, type_ids)))
    encoder.forward(*batches[0])  # warm-up: kernels, allocator
    best = float("inf")
    for _ in range(repeats):
        _sync(encoder.device)
        start = time.perf_counter()
        for batch in batches:
            encoder.forward(*batch)
        _sync(encoder.device)
        best = min(best, time.perf_counter() - start)
    return best, len(tokenized.input_ids)


def tokenize_seconds(encoder: Encoder, dataset, max_length: int, repeats: int) -> float:
    """Best-of-``repeats`` time of the builder's first stage alone, to show where time goes."""
    layout = cache.LAYOUTS[dataset.task]
    inputs, ids, _ = cache.segment_inputs(dataset, layout)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        encoder.tokenize(inputs, layout.kind, max_length=max_length, ids=ids)
        best = min(best, time.perf_counter() - start)
    return best


def build_seconds(encoder: Encoder, dataset, max_length: int, batch_tokens: int, repeats: int,
                  cache_dir: str | None) -> float:
    """Best-of-``repeats`` time of a cold cache build (a fresh folder every time)."""
    best = float("inf")
    for _ in range(repeats):
        target = tempfile.mkdtemp(dir=cache_dir) if cache_dir is not None else None
        _sync(encoder.device)
        start = time.perf_counter()
        encoded = cache.encode(dataset, encoder, cache_dir=target, max_length=max_length,
                               batch_tokens=batch_tokens, progress=False)
        _sync(encoder.device)
        best = min(best, time.perf_counter() - start)
        del encoded
        gc.collect()  # the cache's in-process registry holds splits weakly: none is reused
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="ner")
    parser.add_argument("--dataset", default="embedded")
    parser.add_argument("--split", default="train")
    parser.add_argument("--encoder", default=DEFAULT_ENCODER)
    parser.add_argument("--max-length", type=int, default=None, help="default: the task layout's")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    parser.add_argument("--batch-tokens", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memory", action="store_true", help="build in memory instead of on disk")
    parser.add_argument("--cache-dir", default=None, help="parent folder for the on-disk builds (default: tmp)")
    args = parser.parse_args()

    dataset = load(args.task, args.dataset, args.split)
    encoder = Encoder(args.encoder, device=args.device)
    max_length = args.max_length or min(cache.LAYOUTS[args.task].max_length, encoder.max_length)
    device = encoder.device
    batch_tokens = args.batch_tokens or (65_536 if device.type == "cuda" else 8_192)
    raw, tokens = raw_forward_seconds(encoder, dataset, max_length, batch_tokens, args.repeats)
    tokenize = tokenize_seconds(encoder, dataset, max_length, args.repeats)
    cache_dir = None if args.memory else (args.cache_dir or tempfile.mkdtemp(prefix="text-envs-bench-"))
    built = build_seconds(encoder, dataset, max_length, batch_tokens, args.repeats, cache_dir)

    hardware = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    print(f"dataset {args.task}/{args.dataset}/{dataset.split}: {len(dataset)} records, {tokens} tokens; "
          f"encoder {args.encoder} (max_length {max_length}); device {device} ({hardware}); "
          f"batch_tokens {batch_tokens}; {'memory' if args.memory else 'disk'} cache; "
          f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    print(f"{'what':<34}{'seconds':>10}{'tokens/s':>14}")
    print(f"{'raw encoder forward (baseline)':<34}{raw:>10.3f}{tokens / raw:>14,.0f}")
    print(f"{'cache build, end to end':<34}{built:>10.3f}{tokens / built:>14,.0f}")
    print(f"{'  of which tokenization alone':<34}{tokenize:>10.3f}{tokens / tokenize:>14,.0f}")
    print(f"ratio build/raw: {raw / built:.2f} (target >= 0.80)")


if __name__ == "__main__":
    main()
