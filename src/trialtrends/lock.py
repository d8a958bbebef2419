"""One writer per data folder: an OS-level lock held by every command that lands or publishes.

`flock` on `<data>/.trialtrends.lock`: the kernel releases it when the holding process dies,
kill -9 included, so a crash never leaves a stale lock to clean up by hand. The holder writes
who it is (pid, command, start time) into the file, so a refused run can say who holds it.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from trialtrends.errors import TrialtrendsError
from trialtrends.manifest import utc_now

log = logging.getLogger(__name__)

LOCK_FILE = ".trialtrends.lock"
# How often a waiting run retries the lock.
_POLL_SECONDS = 0.2


class DataDirBusy(TrialtrendsError):
    """Another run holds the data folder."""


def _describe(path: Path) -> str:
    try:
        holder = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        holder = {}
    if not holder:
        return "another trialtrends process"
    what = f"pid {holder.get('pid')}"
    if holder.get("command"):
        what += f" ({holder['command']})"
    if holder.get("since"):
        what += f", since {holder['since']}"
    return what


def try_lock(path: Path) -> int | None:
    """An fd holding an exclusive flock on path, or None when another process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


@contextmanager
def data_dir_lock(data_dir: Path, *, wait: float = 0.0, command: str | None = None) -> Iterator[Path]:
    """Hold the data folder's writer lock for the block; fail at once (or after `wait` seconds)
    with one sentence naming the holder."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / LOCK_FILE
        fd = try_lock(path)
    except (NotADirectoryError, FileExistsError) as exc:
        raise DataDirBusy(f"The data folder {data_dir} cannot be created: a file is in the way.") from exc
    except PermissionError as exc:
        raise DataDirBusy(f"The data folder {data_dir} is not writable ({exc.strerror}).") from exc
    except OSError as exc:
        raise DataDirBusy(f"The data folder {data_dir} cannot be used ({exc.strerror or exc}).") from exc
    deadline = time.monotonic() + max(0.0, wait)
    while fd is None:
        if time.monotonic() >= deadline:
            waited = f" after waiting {wait:g} s" if wait > 0 else ""
            raise DataDirBusy(
                f"Another run is using the data folder {data_dir}{waited}: {_describe(path)} holds its lock; "
                "wait for it to finish (or pass --wait-lock SECONDS)."
            )
        time.sleep(_POLL_SECONDS)
        fd = try_lock(path)
    try:
        holder = {"pid": os.getpid(), "command": command or " ".join(sys.argv[:3]), "since": utc_now()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        log.debug("holding %s", path)
        yield path
    finally:
        # Empty the holder note first: the file stays (removing it would race a waiter).
        os.ftruncate(fd, 0)
        os.close(fd)
