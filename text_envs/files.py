"""Writing files so that a crash, a full disk or a second process never leaves them half done.

* :func:`atomic_write`: a whole file or none: a ``.partial-*`` file in the same folder,
  flushed to disk, then renamed over the target (the old file stays until then); a failed
  write removes its partial file. :func:`sweep_partials` removes those a killed writer
  left.
* :func:`locked`: one process at a time, through an exclusive ``flock`` on a lock file.

The encoded cache (:mod:`text_envs.cache`) builds its entries under these locks, and a
training run folder (:mod:`agents.train`) writes every file with :func:`atomic_write` under
its lock.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

try:
    import fcntl
except ImportError:  # not POSIX: nothing is locked (see locked())
    fcntl = None

PARTIAL_PREFIX = ".partial-"


def atomic_write(path: str | os.PathLike, data: bytes | str) -> None:
    """Write ``data`` to ``path`` through a partial file in the same folder and a rename.

    The partial file is flushed to disk before the rename, so even a power loss leaves the
    old file or the whole new one; on any failure (a full disk, no permission) the partial
    file is removed and the error goes up with the target's name."""
    path = Path(path)
    payload = data.encode() if isinstance(data, str) else data
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=PARTIAL_PREFIX, suffix=path.suffix, delete=False)
    try:
        with handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException as err:
        Path(handle.name).unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise OSError(err.errno, f"cannot write {path}: {err.strerror}") from err
        raise


def sweep_partials(folder: str | os.PathLike) -> list[Path]:
    """Remove the partial files a killed writer left in ``folder`` (call it only while no writer runs there)."""
    swept = [path for path in Path(folder).glob(PARTIAL_PREFIX + "*") if path.is_file()]
    for path in swept:
        path.unlink(missing_ok=True)
    return swept


@contextmanager
def locked(path: str | os.PathLike, *, wait: bool = True) -> Iterator[bool]:
    """Hold an exclusive ``flock`` on the file ``path`` (created, and removed on release).
    Yields True; with ``wait=False`` yields False at once, holding nothing, if another
    process (or another open of the file in this one) holds it.

    Why flock rather than a pid in a file: the kernel drops the lock when its holder dies,
    however it dies (kill -9, out of memory), so a lock is never stale and no liveness guess
    is needed; pids are reused and mean nothing across containers or hosts that share a
    folder. Without fcntl (not POSIX) nothing is locked: waiting is assumed to succeed and
    trying fails (so, for one, the cache never sweeps a staging folder there).
    """
    if fcntl is None:
        yield wait
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = _acquire(path, wait)
    if fd is None:
        yield False
        return
    try:
        yield True
    finally:
        _release(fd, path)


def _acquire(path: Path, wait: bool) -> int | None:
    """A descriptor holding the lock on the file now at ``path``, or None if it is held and
    ``wait`` is False. The holder removes the file on release, so a waiter that then gets the
    lock of a removed file sees that ``path`` no longer names it and locks the new one."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)  # read-write: flock over NFS needs it
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        if _names(path, fd):
            return fd
        os.close(fd)


def _release(fd: int, path: Path) -> None:
    """Remove the lock file, then unlock it: a folder at rest holds no lock files."""
    try:
        if _names(path, fd):
            path.unlink()
    finally:
        os.close(fd)


def _names(path: Path, fd: int) -> bool:
    """Whether ``path`` is the file open as ``fd``."""
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)
