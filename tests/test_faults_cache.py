"""The encoded cache under faults: a full disk, a read-only folder, builds that died, and
several processes building or repairing one entry at once (SubprocVecEnv workers)."""

import errno
import multiprocessing
import os
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
import xxhash

from text_envs import cache
from text_envs.encoders import Encoder
from text_envs.records import TaggingRecord, TaskDataset, bio_tag_set

WORKERS = 3
ROUNDS = 5


@pytest.fixture(autouse=True)
def fresh_registry():
    cache._LOADED.clear()
    yield
    cache._LOADED.clear()


def _sentences(name="toy"):
    """A small NER split, built the same way here and in the worker processes."""
    words = ["John", "Smith", "visited", "New", "York", "on", "Monday", "."]
    tags = ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O", "O", "O"]
    records = [TaggingRecord(f"s{i}", words[:3 + i % 6], tags[:3 + i % 6]) for i in range(40)]
    return TaskDataset("ner", name, "train", records, bio_tag_set(["PER", "LOC"]))


def _digest(array):
    return xxhash.xxh3_128(np.ascontiguousarray(array).tobytes()).hexdigest()


def _snapshot(folder):
    """Each file of a folder: its size, modification time and checksum."""
    return {path.name: (path.stat().st_size, path.stat().st_mtime_ns, cache._checksum(path))
            for path in sorted(folder.iterdir())}


def _names(folder):
    return sorted(path.name for path in folder.iterdir())


# -- a full disk ---------------------------------------------------------------------------

def test_a_full_disk_is_a_clear_error_before_encoding_and_leaves_nothing(tiny, tmp_path, monkeypatch):
    good = cache.encode(_sentences("kept"), tiny, cache_dir=tmp_path, progress=False)
    before = _snapshot(good.path)
    cache._LOADED.clear()

    def no_space(fd, offset, length):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def no_encoder(*args):
        raise AssertionError("the encoder ran although the space could not be reserved")

    monkeypatch.setattr(os, "posix_fallocate", no_space)
    monkeypatch.setattr(Encoder, "forward", no_encoder)
    with pytest.raises(cache.CacheError) as raised:
        cache.encode(_sentences("new"), tiny, cache_dir=tmp_path, progress=False)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"no space left in {tmp_path} ")
    assert "needs " in message and " MiB" in message and "cache_dir" in message and "free some space" in message
    assert _names(tmp_path) == [good.path.name]  # no staging folder, no lock file
    assert _snapshot(good.path) == before
    monkeypatch.undo()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = cache.encode(_sentences("kept"), tiny, cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(again.states, good.states)


@pytest.mark.parametrize("unsupported", ["missing", "EOPNOTSUPP"])
def test_without_preallocation_the_build_writes_the_same_entry(unsupported, tiny, tmp_path, monkeypatch):
    reference = cache.encode(_sentences(), tiny, progress=False)
    if unsupported == "missing":
        monkeypatch.delattr(os, "posix_fallocate")
    else:
        def cannot(fd, offset, length):
            raise OSError(errno.EOPNOTSUPP, os.strerror(errno.EOPNOTSUPP))
        monkeypatch.setattr(os, "posix_fallocate", cannot)
    on_disk = cache.encode(_sentences(), tiny, cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(on_disk.states, reference.states)
    np.testing.assert_array_equal(on_disk.pooled, reference.pooled)
    cache._read(on_disk.path, on_disk.fingerprint, verify=True)


def test_shared_arrays_are_read_only(tiny, tmp_path):
    for cache_dir in (None, tmp_path):
        encoded = cache.encode(_sentences(), tiny, cache_dir=cache_dir, progress=False)
        for name, array in encoded.arrays.items():
            assert not array.flags.writeable, name
            with pytest.raises(ValueError, match="read-only"):
                array[:1] = 0


# -- permissions ---------------------------------------------------------------------------

@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes to read-only folders")
def test_a_read_only_cache_dir_is_a_clear_error_and_its_entries_still_read(tiny, tmp_path):
    folder = tmp_path / "cache"
    kept = cache.encode(_sentences("kept"), tiny, cache_dir=folder, progress=False)
    cache._LOADED.clear()
    folder.chmod(0o500)
    try:
        assert cache.encode(_sentences("kept"), tiny, cache_dir=folder, progress=False).path == kept.path
        with pytest.raises(cache.CacheError, match=f"cannot write the encoded cache in {re.escape(str(folder))} "
                                                   ".*: make it writable"):
            cache.encode(_sentences("new"), tiny, cache_dir=folder, progress=False)
    finally:
        folder.chmod(0o700)
    assert _names(folder) == [kept.path.name]


@pytest.mark.parametrize("code", [errno.EACCES, errno.EROFS])
def test_an_unwritable_cache_dir_is_a_clear_error_and_its_entries_still_read(code, tiny, tmp_path, monkeypatch):
    """As above, for any user: every file the cache would create there is refused."""
    kept = cache.encode(_sentences("kept"), tiny, cache_dir=tmp_path, progress=False)
    cache._LOADED.clear()
    real_open = os.open

    def refuse(path, flags, *args, **kwargs):
        if str(path).startswith(str(tmp_path)) and flags & os.O_CREAT:
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    assert cache.encode(_sentences("kept"), tiny, cache_dir=tmp_path, progress=False).path == kept.path
    with pytest.raises(cache.CacheError) as raised:
        cache.encode(_sentences("new"), tiny, cache_dir=tmp_path, progress=False)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"cannot write the encoded cache in {tmp_path} ({os.strerror(code)}): make it writable")
    assert "cache_dir" in message
    assert _names(tmp_path) == [kept.path.name]


# -- staging folders left by builds that died ----------------------------------------------

def _hold_lock(path):
    """Another process holding an flock on ``path`` until its stdin closes (or it is killed)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys\n"
                               "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
                               "fcntl.flock(fd, fcntl.LOCK_EX)\n"
                               "print('locked', flush=True)\n"
                               "sys.stdin.read()\n", str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "locked\n"
    return holder


def _staging(cache_dir, name):
    folder = cache_dir / f"{cache.STAGING_PREFIX}{name}"
    folder.mkdir()
    (folder / "states.npy").write_bytes(b"half written")
    return folder


@pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")
def test_staging_left_by_dead_builds_is_swept_and_a_live_one_is_kept(tiny, tmp_path):
    killed = _hold_lock(tmp_path / f"{cache.LOCK_PREFIX}killed")
    _staging(tmp_path, "killed")
    killed.kill()
    killed.wait()
    _staging(tmp_path, "abc123xy")  # an older version's staging name, with no lock
    live = _hold_lock(tmp_path / f"{cache.LOCK_PREFIX}live")
    try:
        _staging(tmp_path, "live")
        first = cache.encode(_sentences("first"), tiny, cache_dir=tmp_path, progress=False)
        assert _names(tmp_path) == sorted([first.path.name, ".lock-live", ".tmp-live"])
        assert (tmp_path / ".tmp-live" / "states.npy").read_bytes() == b"half written"
    finally:
        live.stdin.close()
        live.wait()
    second = cache.encode(_sentences("second"), tiny, cache_dir=tmp_path, progress=False)
    assert _names(tmp_path) == sorted([first.path.name, second.path.name])


# -- several processes on one entry --------------------------------------------------------

def _worker(encoder, barrier, tasks, results):
    """Encode ``_sentences()`` into each cache folder sent, all workers starting together;
    report the states' digest, the builds (tokenizer runs) and the warnings."""
    import torch
    torch.set_num_threads(1)  # one thread per worker, as DataLoader's forked workers do
    builds = []
    tokenize = encoder.tokenize

    def counted(*args, **kwargs):
        builds.append(1)
        return tokenize(*args, **kwargs)

    encoder.tokenize = counted
    for cache_dir in iter(tasks.get, None):
        cache._LOADED.clear()
        builds.clear()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                barrier.wait(timeout=120)
                encoded = cache.encode(_sentences(), encoder, cache_dir=cache_dir, progress=False)
                outcome = {"states": _digest(encoded.states), "pooled": _digest(encoded.pooled)}
            except Exception as err:  # reported to the test, which fails on it
                outcome = {"error": f"{type(err).__name__}: {err}"}
        results.put({**outcome, "builds": len(builds), "warnings": [str(w.message) for w in caught]})


@pytest.fixture(scope="module")
def workers(tiny):
    """Start ``WORKERS`` processes once; ``run(cache_dir)`` has them all encode the same split
    into ``cache_dir`` at the same moment and returns what each reported. They are forked
    after the tiny encoder is loaded here, so none spends seconds importing and building it
    (each is a separate process with its own file descriptors and locks all the same)."""
    cache.encode(_sentences(), tiny, progress=False)
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(WORKERS), context.Queue()
    queues = [context.Queue() for _ in range(WORKERS)]
    processes = [context.Process(target=_worker, args=(tiny, barrier, queue, results), daemon=True)
                 for queue in queues]
    for process in processes:
        process.start()
    try:
        def run(cache_dir):
            for queue in queues:
                queue.put(str(cache_dir))
            return [results.get(timeout=120) for _ in processes]

        yield run
    finally:
        for queue in queues:
            queue.put(None)
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()


def _check_round(outcomes, reference, folder, rebuild_warnings):
    assert [o.get("error") for o in outcomes] == [None] * WORKERS
    assert {(o["states"], o["pooled"]) for o in outcomes} == {reference}
    assert sum(o["builds"] for o in outcomes) == 1
    messages = [m for o in outcomes for m in o["warnings"]]
    assert len(messages) == rebuild_warnings and all("rebuilding" in m for m in messages), messages
    assert _names(folder.parent) == [folder.name]  # no staging folder, no lock file, no broken copy


def _reference(tiny):
    encoded = cache.encode(_sentences(), tiny, progress=False)
    return _digest(encoded.states), _digest(encoded.pooled)


@pytest.mark.skipif(sys.platform == "win32", reason="flock and fork are POSIX")
def test_concurrent_builds_of_a_new_entry_build_it_once(workers, tiny, tmp_path):
    reference = _reference(tiny)
    for round in range(ROUNDS):
        cache_dir = tmp_path / f"round-{round}"
        outcomes = workers(cache_dir)
        (folder,) = cache_dir.iterdir()
        _check_round(outcomes, reference, folder, rebuild_warnings=0)


@pytest.mark.skipif(sys.platform == "win32", reason="flock and fork are POSIX")
def test_concurrent_repairs_of_a_damaged_entry_rebuild_it_once(workers, tiny, tmp_path):
    reference = _reference(tiny)
    encoded = cache.encode(_sentences(), tiny, cache_dir=tmp_path, progress=False)
    for _ in range(ROUNDS):
        states = encoded.path / "states.npy"
        with open(states, "r+b") as handle:
            handle.truncate(states.stat().st_size - 10)
        outcomes = workers(tmp_path)
        _check_round(outcomes, reference, encoded.path, rebuild_warnings=1)
        cache._read(encoded.path, encoded.fingerprint, verify=True)
