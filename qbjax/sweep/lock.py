"""One run at a time per output directory: an exclusive, non-blocking ``filelock`` on ``DIR/.qbjax.lock``.

The lock is taken before the run reads or writes anything in ``DIR`` and held until it returns (the
operating system drops it if the process dies, so a killed run never leaves ``DIR`` locked).  The
holder writes its pid, host and start time next to the lock (``DIR/.qbjax.lock.holder``), so that a
second run is refused at once with a message saying who holds the directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from pathlib import Path

from . import store

__all__ = ["HOLDER", "LOCK", "DirectoryLocked", "holder", "locked", "vacant"]

LOCK = ".qbjax.lock"
HOLDER = ".qbjax.lock.holder"


class DirectoryLocked(store.DatasetError):
    """Another run holds the output directory's lock."""


def vacant(out) -> bool:
    """True if ``DIR`` is missing or holds nothing but the lock's files and an empty ``data`` folder
    (what a refused or failed run leaves)."""
    out = Path(out)
    if not out.exists():
        return True
    return all(p.name in (LOCK, HOLDER) or (p.name == store.DATA_DIR and p.is_dir() and not any(p.iterdir()))
               for p in out.iterdir())


def holder(out) -> str:
    """Who holds ``DIR``'s lock, as recorded next to it ("an unknown process" if nothing is recorded)."""
    try:
        info = json.loads((Path(out) / HOLDER).read_text())
        return f"pid {info['pid']} on host {info['host']} (qbjax {info['command']}, since {info['started']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "an unknown process (no holder recorded)"


@contextlib.contextmanager
def locked(out, command: str = "sweep"):
    """Hold ``DIR``'s lock for the ``with`` block (``DIR`` is created).

    Raises :class:`DirectoryLocked` (a ``ValueError``) naming the lock file and its holder if another
    run holds it, :class:`qbjax.sweep.store.StorageError` if ``DIR`` cannot be created or written.
    """
    import filelock

    out = Path(out)
    path = out / LOCK
    try:
        out.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(str(path), timeout=0)
        lock.acquire()
    except filelock.Timeout:
        raise DirectoryLocked(f"output directory {out} is in use by another run: its lock {path} is held by "
                              f"{holder(out)}; wait for that run to finish or choose another --out") from None
    except OSError as err:
        raise store.unwritable(out, err) from err
    try:
        store.write_json_atomic(out / HOLDER, {"pid": os.getpid(), "host": socket.gethostname(),
                                               "command": command, "started": store.now()})
        yield path
    finally:
        (out / HOLDER).unlink(missing_ok=True)
        lock.release()
