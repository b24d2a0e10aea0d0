"""The encoded-state cache: each split is encoded once, then every env step is a lookup.

:func:`encode` turns a :class:`~text_envs.records.TaskDataset` into an
:class:`EncodedSplit`: per-token float16 hidden states, mean-pooled vectors, token ids,
character offsets and word alignment, stored flat (ragged sequences indexed by offsets).

How it is built: every record becomes one or more *segments* (see :func:`layout_named`); all
segments are tokenized in one parallel call, sorted by length and cut into batches of
about ``batch_tokens`` tokens so that padding is small, and run through the encoder
(on the GPU when there is one) with the output written straight into the arrays.

Where it is kept: in memory, or (with ``cache_dir``) as memory-mapped ``.npy`` files in a
folder named by a fingerprint of (records, layout, encoder, max length, overflow rule,
cache version). Either way the arrays are read-only: one encoding is shared by every env
over the split, so a write through one env's view must fail rather than change the others'.

On disk, an entry ``<entry>`` is written in a staging folder ``.tmp-<entry>`` beside it and
renamed into place, so a reader never sees half a cache. Its ``manifest.json`` records each
array's shape, dtype, size and checksum; a truncated or corrupted file (a crash before the
page cache reached the disk, a stray edit) fails those checks on load and is rebuilt with a
warning, never read. Encodings are also kept per process, so many envs over one split
(a vector env) share one copy.

Faults and concurrency:

- *One writer per entry.* Reading takes no lock (a renamed-in entry never changes), but
  building or repairing ``<entry>`` happens only while holding an exclusive ``flock`` on
  ``.lock-<entry>``. When N processes start at once (SubprocVecEnv workers), one builds and
  the others wait, then read its entry. A broken entry is renamed aside (atomically, so a
  reader sees all of it or none) and deleted before the rebuild.
- *Stale staging is swept.* ``.tmp-<entry>`` is only written by the holder of
  ``.lock-<entry>``, so before each build every staging folder whose lock can be taken at
  once is a dead build's leftover and is deleted; one whose lock is held is being written.
- *A full disk is an error, not a crash.* The big arrays are not written through a writable
  memory map (a write into a sparse mapped page on a full disk kills the process with
  SIGBUS): their blocks are reserved up front (``posix_fallocate``) and filled with ordinary
  writes, so a full disk fails before the encoder runs, as a :class:`CacheError` naming the
  folder, the bytes needed and the fix. A failed build leaves no staging folder.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import sys
import warnings
import weakref
from contextlib import ExitStack, contextmanager, nullcontext, suppress
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import xxhash

from .checks import positive_int
from .encoders import Encoder, Tokenized
from .files import locked
from .records import TaskDataset

CACHE_VERSION = 1
#: a ``cache_dir`` argument that means :func:`default_cache_dir` (envs and specs take it)
DEFAULT_CACHE_DIR = "default"
MANIFEST = "manifest.json"
CHUNK_BYTES = 512 << 20  # float16 states gathered on the device before one copy to the host


@dataclass(frozen=True)
class Layout:
    """How the records of a task become encoder inputs: the input kind, the segments of
    one record (a record may give several, e.g. one per document sentence) and the default
    tokens per segment (384 for a question with its context, as SQuAD models use)."""

    kind: str
    segments: Callable[[object], Sequence]
    max_length: int


#: the layout of each record kind (the default of :func:`encode`); :func:`layout_named` also
#: knows the chunked layouts that :func:`chunk_layout` names
LAYOUTS: dict[str, Layout] = {
    "ner": Layout("words", lambda r: [r.tokens], 128),
    "qa": Layout("pair", lambda r: [(r.question, r.context)], 384),
    "summarization": Layout("text", lambda r: list(r.sentences), 128),
    "classification": Layout("text", lambda r: [r.text], 128),
}


def word_chunks(text: str, chunk_words: int) -> list[str]:
    """``text`` cut into consecutive pieces of ``chunk_words`` whitespace-separated words
    (the last may be shorter), each joined with single spaces."""
    words = text.split()
    return [" ".join(words[i:i + chunk_words]) for i in range(0, len(words), chunk_words)]


_CHUNKS = "classification-chunks-"


def chunk_layout(chunk_words: int) -> str:
    """The name of the layout that encodes a classification text as ``chunk_words``-word
    chunks, one segment each.

    Each chunk is encoded on its own, so its states never attend to later text: an env that
    reveals a text chunk by chunk shows nothing unread. The size is part of the name
    (``classification-chunks-8``) because the name, not the function, keys the cache: chunks
    of 8 and of 16 words must not share an entry.
    """
    return f"{_CHUNKS}{positive_int('chunk_words', chunk_words)}"


def layout_named(name: str) -> Layout:
    """The layout called ``name``: a key of :data:`LAYOUTS`, or a :func:`chunk_layout` name."""
    if name in LAYOUTS:
        return LAYOUTS[name]
    size = name.removeprefix(_CHUNKS) if isinstance(name, str) else ""
    if size.isdigit() and int(size) > 0 and name == chunk_layout(int(size)):
        return Layout("text", lambda r: word_chunks(r.text, int(size)), 128)
    raise ValueError(f"unknown layout {name!r}; expected one of {', '.join(LAYOUTS)} or a chunk layout "
                     f"({_CHUNKS}N)")


_ARRAYS = ("input_ids", "type_ids", "offsets", "word_ids", "sequence_ids", "token_starts", "truncated",
           "segment_starts", "states", "pooled")


class CacheError(RuntimeError):
    """A cache folder failed its integrity checks, or the cache could not be written there."""


def default_cache_dir() -> Path:
    """``$TEXT_ENVS_CACHE``, else ``$XDG_CACHE_HOME/text-envs``, else ``~/.cache/text-envs``."""
    if os.environ.get("TEXT_ENVS_CACHE"):
        return Path(os.environ["TEXT_ENVS_CACHE"]).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")).expanduser()
    return base / "text-envs"


class EncodedSplit:
    """A split's encoder output: arrays (in memory or memory-mapped) plus the records.

    Record ``r`` owns segments ``segment_starts[r]:segment_starts[r+1]``; segment ``s``
    owns tokens ``token_starts[s]:token_starts[s+1]`` of the flat token arrays
    (``input_ids``, ``states`` [T, H] float16, ``offsets`` [T, 2], ``word_ids``,
    ``sequence_ids``, ``type_ids``); ``pooled`` [S, H] holds one vector per segment and
    ``truncated`` [S] marks segments cut at ``max_length``.
    """

    def __init__(self, dataset: TaskDataset, arrays: dict[str, np.ndarray], *, layout: str,
                 encoder_name: str, max_length: int, fingerprint: str, path: Path | None = None) -> None:
        self.dataset = dataset
        self.arrays = arrays
        self.layout = layout
        self.encoder_name = encoder_name
        self.max_length = max_length
        self.fingerprint = fingerprint
        self.path = path

    def __getattr__(self, name: str) -> np.ndarray:
        arrays = self.__dict__.get("arrays", {})
        if name in arrays:
            return arrays[name]
        raise AttributeError(name)

    def __len__(self) -> int:
        return len(self.dataset)

    def __repr__(self) -> str:
        where = f"memory-mapped from {self.path}" if self.path else "in memory"
        return (f"EncodedSplit({self.dataset!r}, encoder={self.encoder_name!r}, max_length={self.max_length}, "
                f"{self.num_tokens} tokens x {self.hidden_size}, {where})")

    @property
    def hidden_size(self) -> int:
        return int(self.states.shape[1])

    @property
    def num_tokens(self) -> int:
        return int(self.states.shape[0])

    def segments(self, record: int) -> range:
        """Segment indices of record ``record``."""
        return range(int(self.segment_starts[record]), int(self.segment_starts[record + 1]))

    def tokens(self, segment: int) -> slice:
        """The slice of the flat token arrays that belongs to ``segment``."""
        return slice(int(self.token_starts[segment]), int(self.token_starts[segment + 1]))

    def padded_tokens(self, segments: Sequence[int], shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and attention mask (int64, ``shape`` = rows x length) holding one segment
        per row, zero-padded; rows past the segments stay zero. A segment never has more than
        ``max_length`` tokens, so a row of that length always fits it."""
        ids = np.zeros(shape, dtype=np.int64)
        attention = np.zeros(shape, dtype=np.int64)
        for row, segment in enumerate(segments):
            tokens = self.input_ids[self.tokens(segment)]
            ids[row, :len(tokens)] = tokens
            attention[row, :len(tokens)] = 1
        return ids, attention

    @cached_property
    def _first_subword(self) -> np.ndarray:
        """Flat token positions that start a word (word id set, differs from the previous token's)."""
        word_ids = np.asarray(self.word_ids)
        starts = np.zeros(len(word_ids), dtype=bool)
        starts[np.asarray(self.token_starts[:-1])] = True  # a new segment starts a new word run
        changed = np.ones(len(word_ids), dtype=bool)
        changed[1:] = word_ids[1:] != word_ids[:-1]
        return np.flatnonzero((word_ids >= 0) & (changed | starts))

    def word_positions(self, segment: int, num_words: int) -> np.ndarray:
        """For each of the ``num_words`` words of a ``words`` segment, the position (within
        the segment) of its first subword, or -1 for words cut off by truncation."""
        span = self.tokens(segment)
        flat = self._first_subword
        lo, hi = np.searchsorted(flat, [span.start, span.stop])
        positions = np.full(num_words, -1, dtype=np.int64)
        firsts = flat[lo:hi]
        positions[np.asarray(self.word_ids)[firsts]] = firsts - span.start
        return positions


# -- fingerprints and the in-process registry ---------------------------------------------

_LOADED: "weakref.WeakValueDictionary[str, EncodedSplit]" = weakref.WeakValueDictionary()


def cache_key(dataset: TaskDataset, encoder: Encoder, *, layout: str, max_length: int, on_overflow: str) -> dict:
    return {"version": CACHE_VERSION, "data": dataset.fingerprint, "task": dataset.task, "layout": layout,
            "encoder": encoder.fingerprint, "max_length": max_length, "on_overflow": on_overflow,
            "pooling": "mean", "dtype": "float16"}


def _fingerprint(key: dict) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def _entry_name(dataset: TaskDataset, fingerprint: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", dataset.name)[-40:]
    return f"{dataset.task}-{name}-{dataset.split}-{fingerprint[:20]}"


# -- building -----------------------------------------------------------------------------

def encode(dataset: TaskDataset, encoder: Encoder | str | None = None, *,
           cache_dir: str | os.PathLike | None = None, layout: str | None = None,
           max_length: int | None = None, on_overflow: str = "truncate", batch_tokens: int | None = None,
           progress: bool | None = None, verify: bool = True) -> EncodedSplit:
    """Encode a split once; later calls with the same inputs return the cached result.

    Args:
        dataset: the records to encode.
        encoder: an :class:`Encoder`, or a name/path for one (default all-MiniLM-L6-v2).
        cache_dir: a folder for memory-mapped cache files (see :func:`default_cache_dir`);
            None keeps the encoding in memory only.
        layout: how records become segments: a name :func:`layout_named` knows (default: the
            record kind's).
        max_length: tokens per segment, special tokens included (default: the layout's,
            capped at the encoder's limit).
        on_overflow: ``"truncate"`` or ``"error"`` for inputs over the encoder's max length.
        batch_tokens: padded tokens per forward batch (default 8,192 on CPU, 65,536 on GPU).
        progress: when the split has to be encoded (not when it is cached), say so in one
            line and show a tqdm bar (tokenizing, then tokens encoded with rate and time
            left) on stderr. None (default): only where someone watches (see
            :func:`watched`); True or False: always or never.
        verify: check every cached file's checksum on load (reads the whole file once).

    Raises:
        CacheError: the entry cannot be written in ``cache_dir`` (full disk, no permission),
            or a damaged entry holds files that are not the cache's; the message names the
            folder and the fix.
    """
    if not isinstance(encoder, Encoder):
        encoder = Encoder(encoder) if encoder is not None else Encoder()
    layout = layout or dataset.task
    segments = layout_named(layout)  # a clear error for an unknown name, before anything is encoded
    if max_length is None:
        max_length = min(segments.max_length, encoder.max_length)
    max_length = encoder.check_max_length(max_length)
    key = cache_key(dataset, encoder, layout=layout, max_length=max_length, on_overflow=on_overflow)
    fingerprint = _fingerprint(key)
    folder = Path(cache_dir).expanduser() / _entry_name(dataset, fingerprint) if cache_dir is not None else None
    registry_key = f"{fingerprint}:{folder}"
    loaded = _LOADED.get(registry_key)
    if loaded is not None:
        return loaded

    def build(staging: _Staging | None = None) -> dict:
        shown = watched() if progress is None else progress
        if shown:
            _announce(dataset, encoder, layout, folder)
        return _build(dataset, encoder, layout, max_length, on_overflow, batch_tokens, shown, staging)

    arrays = _frozen(build()) if folder is None else _load_or_build(folder, key, fingerprint, verify, build)
    encoded = EncodedSplit(dataset, arrays, layout=layout, encoder_name=encoder.name, max_length=max_length,
                           fingerprint=fingerprint, path=folder)
    _LOADED[registry_key] = encoded
    return encoded


def watched() -> bool:
    """Whether someone watches stderr: a terminal, or a Jupyter kernel (its stderr is no
    terminal, but tqdm shows a widget there). Where output is captured or logged (pytest, CI,
    ``nohup``), the default is silence; ``progress=True`` asks for the bar anyway."""
    return sys.stderr.isatty() or "ipykernel" in sys.modules


def _announce(dataset: TaskDataset, encoder: Encoder, layout: str, folder: Path | None) -> None:
    """Say, before the progress bar, what is being encoded and that it happens once: the first
    env over a split can take minutes here, and should not look hung."""
    from tqdm.auto import tqdm

    shape = "" if layout == dataset.task else f" as {layout}"
    kept = f"once; cached in {folder.parent}" if folder is not None else "kept in memory only: no cache_dir"
    tqdm.write(f"encoding {len(dataset):,} records of {dataset.name}/{dataset.split}{shape} with {encoder.name} "
               f"({kept})", file=sys.stderr)


def segment_inputs(dataset: TaskDataset, layout: Layout) -> tuple[list, list[str], np.ndarray]:
    """The encoder inputs of every record in order, the record id of each, and where each
    record's segments start (``segment_starts``)."""
    inputs, ids, counts = [], [], []
    for record in dataset:
        parts = layout.segments(record)
        inputs.extend(parts)
        ids.extend([record.id] * len(parts))
        counts.append(len(parts))
    segment_starts = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=segment_starts[1:])
    return inputs, ids, segment_starts


@dataclass(frozen=True)
class Chunk:
    """Segments ``lo:hi`` (contiguous, so their tokens are one contiguous block of the
    output) and their batches: segment indices sorted longest first, each batch at most
    ``batch_tokens`` padded tokens."""

    lo: int
    hi: int
    batches: list


def chunk_tokens(hidden: int) -> int:
    return max(1, CHUNK_BYTES // (2 * hidden))


def plan_chunks(token_starts: np.ndarray, batch_tokens: int, chunk_tokens: int) -> list[Chunk]:
    """Cut a split into chunks of about ``chunk_tokens`` tokens and each chunk into
    length-sorted batches. Sorting inside a chunk keeps padding small; keeping chunks
    contiguous lets each one be copied to the output in one block instead of row by row."""
    lengths = np.diff(token_starts)
    chunks, lo = [], 0
    while lo < len(lengths):
        hi = int(np.searchsorted(token_starts, token_starts[lo] + chunk_tokens, side="right")) - 1
        hi = min(max(hi, lo + 1), len(lengths))
        order = lo + np.argsort(-lengths[lo:hi], kind="stable")
        batches, start = [], 0
        while start < len(order):
            size = max(1, batch_tokens // max(int(lengths[order[start]]), 1))
            batches.append(order[start:start + size])
            start += size
        chunks.append(Chunk(lo, hi, batches))
        lo = hi
    return chunks


def padded_batch(tokenized: Tokenized, segments: np.ndarray, pad_id: int):
    """Right-padded ``input_ids``, ``attention_mask`` and ``token_type_ids`` ([B, L] int64
    numpy arrays) for some segments of a tokenized split, plus, for each unpadded entry in
    row-major order, its index in the flattened [B * L] batch and its flat token position."""
    starts = tokenized.starts[segments]
    lengths = tokenized.starts[segments + 1] - starts
    columns = np.arange(int(lengths.max()))
    mask = columns[None, :] < lengths[:, None]
    positions = starts[:, None] + columns[None, :]
    index = np.minimum(positions, len(tokenized.input_ids) - 1)
    input_ids = np.where(mask, tokenized.input_ids[index], pad_id).astype(np.int64)
    type_ids = np.where(mask, tokenized.type_ids[index], 0).astype(np.int64)
    return input_ids, mask.astype(np.int64), type_ids, np.flatnonzero(mask), positions[mask]


def _build(dataset, encoder, layout_name, max_length, on_overflow, batch_tokens, progress, staging=None) -> dict:
    """Encode a split: the arrays in memory, or (with ``staging``) the small ones in memory and
    the float16 states and pooled vectors as files being written in the staging folder."""
    import torch
    from tqdm.auto import tqdm

    layout = layout_named(layout_name)
    inputs, ids, segment_starts = segment_inputs(dataset, layout)
    # one bar for the whole build: tokenizing is one parallel call (no steps to count), then
    # the bar counts the tokens encoded, with their rate and the time left
    where = f"{dataset.name}/{dataset.split}"
    bar = tqdm(total=None, unit="tok", desc=f"tokenizing {where}", disable=not progress, leave=False,
               file=sys.stderr)
    tokenized = encoder.tokenize(inputs, layout.kind, max_length=max_length, ids=ids, on_overflow=on_overflow)
    device = encoder.device
    if batch_tokens is None:
        batch_tokens = 65_536 if device.type == "cuda" else 8_192
    num_tokens, hidden = len(tokenized.input_ids), encoder.hidden_size
    starts = tokenized.starts
    small = {"input_ids": tokenized.input_ids, "type_ids": tokenized.type_ids, "offsets": tokenized.offsets,
             "word_ids": tokenized.word_ids, "sequence_ids": tokenized.sequence_ids,
             "token_starts": starts, "truncated": tokenized.truncated, "segment_starts": segment_starts}
    shapes = {"states": (num_tokens, hidden), "pooled": (len(tokenized), hidden)}
    if staging is None:
        big = {name: np.empty(shape, dtype=np.float16) for name, shape in shapes.items()}
    else:
        big = staging.allocate(small, shapes)
    states, pooled = big["states"], big["pooled"]

    pad_id = encoder.tokenizer.pad_token_id or 0
    bar.set_description(f"encoding {where}", refresh=False)
    bar.reset(total=num_tokens)
    chunks = plan_chunks(starts, batch_tokens, chunk_tokens(hidden))
    # page-locked host memory makes the device-to-host copy a fast DMA
    host = torch.empty((max(int(starts[c.hi] - starts[c.lo]) for c in chunks), hidden), dtype=torch.float16,
                       pin_memory=device.type == "cuda")
    for chunk in chunks:
        first = int(starts[chunk.lo])
        # the chunk's output is gathered on the device, then copied to the host in one block
        chunk_states = torch.empty((int(starts[chunk.hi]) - first, hidden), dtype=torch.float16, device=device)
        chunk_pooled = torch.empty((chunk.hi - chunk.lo, hidden), dtype=torch.float16, device=device)
        for segments in chunk.batches:
            *batch, valid, rows = padded_batch(tokenized, segments, pad_id)
            input_ids, mask, type_ids, valid, rows, segments = (
                torch.from_numpy(a).to(device, non_blocking=True)
                for a in (*batch, valid, rows - first, segments - chunk.lo))
            out_states, out_pooled = encoder.forward(input_ids, mask, type_ids)
            flat = out_states.reshape(-1, hidden).index_select(0, valid)
            chunk_states.index_copy_(0, rows, flat.to(torch.float16))
            chunk_pooled.index_copy_(0, segments, out_pooled.to(torch.float16))
            bar.update(len(valid))
        block = host[:len(chunk_states)]
        block.copy_(chunk_states)
        states[first:int(starts[chunk.hi])] = block.numpy()
        pooled[chunk.lo:chunk.hi] = chunk_pooled.cpu().numpy()
    bar.close()
    return {**small, **big}


def _frozen(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``arrays`` made read-only. An encoding is shared by every env over the split (see
    ``_LOADED``), so a write through a view one env handed out must raise, not change what
    the others see; entries on disk are mapped read-only already."""
    for array in arrays.values():
        array.flags.writeable = False
    return arrays


# -- the entry on disk: locking, repair, staging ------------------------------------------

STAGING_PREFIX, LOCK_PREFIX = ".tmp-", ".lock-"
_FILES = frozenset((*(f"{name}.npy" for name in _ARRAYS), MANIFEST))
_CANNOT_PREALLOCATE = {errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}
_NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_NOT_ALLOWED = {errno.EACCES, errno.EPERM, errno.EROFS}


def _load_or_build(folder: Path, key: dict, fingerprint: str, verify: bool, build) -> dict[str, np.ndarray]:
    """The entry at ``folder``, read if it is sound, else built (or repaired) by one process.

    Reading takes no lock: an entry renamed into place never changes. Building and repairing
    happen under the entry's lock, and the entry is looked at again once the lock is held: when
    N processes start at once, the first builds and the others wait, then read its entry (so
    exactly one warns and rebuilds a broken one)."""
    try:
        return _read(folder, fingerprint, verify=verify)
    except CacheError:
        pass  # missing or damaged: decided under the lock, after any build we had to wait for
    with _locked(_lock_path(folder.parent, folder.name)):
        damaged = folder.exists()
        if damaged:
            try:
                return _read(folder, fingerprint, verify=verify)
            except CacheError as err:
                warnings.warn(f"encoded cache at {folder} is unusable ({err}); rebuilding it", stacklevel=3)
        _sweep(folder.parent, held=folder.name)
        if damaged:
            _discard(folder)
        with _Staging(folder) as staging:
            arrays = build(staging)
            return staging.commit(arrays, key, fingerprint)


def _lock_path(cache_dir: Path, entry: str) -> Path:
    return cache_dir / f"{LOCK_PREFIX}{entry}"


def _staging_path(folder: Path) -> Path:
    return folder.parent / f"{STAGING_PREFIX}{folder.name}"


@contextmanager
def _locked(path: Path, *, wait: bool = True):
    """:func:`text_envs.files.locked`, where failing to make the lock file is a
    :class:`CacheError` naming the cache folder."""
    with ExitStack() as stack:
        with _writing(path.parent):
            held = stack.enter_context(locked(path, wait=wait))
        yield held


def _sweep(cache_dir: Path, *, held: str) -> None:
    """Delete staging folders left by builds that died (killed, out of memory, power cut), so
    that a leftover cannot keep a full disk full. ``.tmp-<entry>`` is only written by the
    holder of ``.lock-<entry>``, so one whose lock is free is garbage and one whose lock is
    held is being written and stays; ``held`` names the entry whose lock the caller holds.
    Best effort: a leftover that cannot be removed costs space, not correctness."""
    for staging in cache_dir.iterdir():
        if not staging.name.startswith(STAGING_PREFIX):
            continue
        entry = staging.name[len(STAGING_PREFIX):]
        lock = nullcontext(True) if entry == held else _locked(_lock_path(cache_dir, entry), wait=False)
        with suppress(CacheError), lock as free:
            if free:
                shutil.rmtree(staging, ignore_errors=True)


def _discard(folder: Path) -> None:
    """Delete a broken entry, after renaming it to its staging name: the rename is atomic, so a
    reader without the lock sees the whole broken entry (and rejects it) or nothing, never a
    half-deleted one, and a crash mid-delete leaves a staging folder that the next sweep takes.
    Only an entry holding nothing but the cache's files is deleted."""
    trash = _staging_path(folder)
    with _writing(folder.parent):
        foreign = sorted(path.name for path in folder.iterdir() if path.name not in _FILES)
        if foreign:
            raise CacheError(f"cannot rebuild the encoded cache at {folder}: it holds files that are not the "
                             f"cache's ({', '.join(foreign)}); move them out of the folder or delete it")
        os.rename(folder, trash)
        shutil.rmtree(trash)


@contextmanager
def _writing(cache_dir: Path, needed: int | None = None):
    """Turn a failed file operation in ``cache_dir`` into a one-line :class:`CacheError` that
    names the folder and the fix (``needed``: the bytes the entry takes, for a full disk)."""
    try:
        yield
    except OSError as err:
        elsewhere = "point cache_dir (or $TEXT_ENVS_CACHE) at another folder"
        if err.errno in _NO_SPACE:
            needs = "" if needed is None else f" (needs {needed / 2**20:,.1f} MiB)"
            message = f"no space left in {cache_dir} for the encoded cache{needs}: free some space there or {elsewhere}"
        else:
            fix = "make it writable or " if err.errno in _NOT_ALLOWED else ""
            message = (f"cannot write the encoded cache in {cache_dir} ({err.strerror or err}): {fix}{elsewhere}, "
                       f"or pass cache_dir=None to keep it in memory")
        raise CacheError(message) from err


class _Staging:
    """A new entry being written in ``.tmp-<entry>`` beside its final place (the caller holds
    the entry's lock throughout). :meth:`commit` renames it into place; leaving the ``with``
    block any other way deletes it, so a failed build leaves nothing half-written."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = _staging_path(folder)
        self.needed: int | None = None
        self.files: list[_ArrayFile] = []

    def __enter__(self) -> "_Staging":
        with self.writing():
            self.path.mkdir()
        return self

    def __exit__(self, *exc) -> None:
        for file in self.files:
            with suppress(OSError):  # after a failed write, flushing again fails again: the error is on its way
                file.close()
        shutil.rmtree(self.path, ignore_errors=True)  # after a commit nothing is left there

    def writing(self):
        return _writing(self.folder.parent, self.needed)

    def allocate(self, small: dict[str, np.ndarray], shapes: dict[str, tuple[int, int]]) -> dict[str, "_ArrayFile"]:
        """Write the small arrays and reserve the big float16 ones, so that all the space the
        entry takes is claimed before the encoder runs and a full disk fails now."""
        self.needed = (sum(array.nbytes for array in small.values())
                       + sum(rows * cols * 2 for rows, cols in shapes.values()))
        with self.writing():
            for name, array in small.items():
                np.save(self.path / f"{name}.npy", array)
            for name, shape in shapes.items():
                self.files.append(_ArrayFile(self.path / f"{name}.npy", shape, self.writing))
        return dict(zip(shapes, self.files))

    def commit(self, arrays: dict, key: dict, fingerprint: str) -> dict[str, np.ndarray]:
        """Close the files, write the manifest and rename the folder into place; returns the
        entry, memory-mapped read-only."""
        with self.writing():
            for file in self.files:
                file.close()
            _write_manifest(self.path, arrays, key, fingerprint)
            try:
                os.rename(self.path, self.folder)
            except OSError:  # a writer that takes no lock (no fcntl) finished the same entry first: use theirs
                if not self.folder.exists():
                    raise
        return _read(self.folder, fingerprint, verify=False)


class _ArrayFile:
    """A float16 ``.npy`` file whose blocks are reserved when it is created and which is then
    filled with ordinary writes (``file[rows] = values``, rows a slice).

    Why not a writable memory map: writing to a mapped page that the disk has no block for
    raises SIGBUS, which kills the process without a message; an ordinary write raises ENOSPC,
    which ``writing`` turns into a :class:`CacheError`."""

    def __init__(self, path: Path, shape: tuple[int, int], writing) -> None:
        self.shape, self.dtype, self.writing = shape, np.dtype(np.float16), writing
        self.row_bytes = shape[1] * self.dtype.itemsize
        self.handle = open(path, "wb")
        try:
            np.lib.format.write_array_header_1_0(self.handle, {
                "descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": shape})
            self.start = self.handle.tell()
            _reserve(self.handle, self.start + shape[0] * self.row_bytes)
        except BaseException:
            self.handle.close()
            raise

    def __setitem__(self, rows: slice, values: np.ndarray) -> None:
        with self.writing():
            self.handle.seek(self.start + rows.start * self.row_bytes)
            self.handle.write(np.ascontiguousarray(values, dtype=self.dtype))

    def close(self) -> None:
        self.handle.close()


def _reserve(handle, size: int) -> None:
    """Give the file ``size`` bytes with their blocks allocated now (``posix_fallocate``), so
    that a full disk fails here. Where the call is missing (not POSIX) or the filesystem cannot
    do it, the file is only extended: its blocks are then taken by the writes, which fail with
    a plain ENOSPC."""
    handle.flush()
    try:
        os.posix_fallocate(handle.fileno(), 0, size)
        return
    except AttributeError:
        pass
    except OSError as err:
        if err.errno not in _CANNOT_PREALLOCATE:
            raise
    handle.truncate(size)


# -- files --------------------------------------------------------------------------------

def _checksum(path: Path) -> str:
    """XXH3-128 of a file: detects truncation and corruption at memory speed (not a
    security hash: the cache guards against accidents, not adversaries)."""
    digest = xxhash.xxh3_128()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 24), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_manifest(staging: Path, arrays: dict, key: dict, fingerprint: str) -> None:
    """``manifest.json``: each array file's shape, dtype, size and checksum, as written."""
    entries = {}
    for name in _ARRAYS:
        array, path = arrays[name], staging / f"{name}.npy"
        entries[name] = {"shape": list(array.shape), "dtype": str(array.dtype), "bytes": path.stat().st_size,
                         "xxh3_128": _checksum(path)}
    manifest = {"fingerprint": fingerprint, "key": key, "arrays": entries}
    with open(staging / MANIFEST, "w") as handle:
        json.dump(manifest, handle, indent=1)


def _read(folder: Path, fingerprint: str, *, verify: bool) -> dict[str, np.ndarray]:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        entries = manifest["arrays"]
        if manifest["fingerprint"] != fingerprint or set(entries) != set(_ARRAYS):
            raise CacheError("manifest does not describe this encoding")
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise CacheError(f"missing or unreadable {MANIFEST}: {err}") from None
    return {name: _read_array(folder / f"{name}.npy", entries[name], verify=verify) for name in _ARRAYS}


def _read_array(path: Path, entry: dict, *, verify: bool) -> np.ndarray:
    """One array file checked against its manifest entry, memory-mapped read-only. A file that
    vanishes while it is read (another process moving the broken entry aside) is damage too."""
    try:
        if path.stat().st_size != entry["bytes"]:
            raise CacheError(f"{path.name} has the wrong size (truncated?)")
        if verify and _checksum(path) != entry["xxh3_128"]:
            raise CacheError(f"{path.name} does not match its checksum (corrupted)")
        array = np.load(path, mmap_mode="r")
    except OSError as err:
        raise CacheError(f"{path.name} is missing or unreadable ({err.strerror or err})") from None
    except ValueError as err:
        raise CacheError(f"{path.name} is not a valid .npy file: {err}") from None
    if list(array.shape) != entry["shape"] or str(array.dtype) != entry["dtype"]:
        raise CacheError(f"{path.name} has shape {array.shape} {array.dtype}, expected {entry['shape']} "
                         f"{entry['dtype']}")
    return array
