"""The base of every error a user can cause or must hear about in one sentence.

The CLI turns a TrialtrendsError into `Error: <message>` and its `exit_code`, never a
traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import shutil
from pathlib import Path


class TrialtrendsError(RuntimeError):
    """An expected failure; the message is one sentence for the user."""

    exit_code = 1


class DiskFull(TrialtrendsError):
    """A write failed because the disk is full: the sentence names the path, the space needed
    and the space free."""


def disk_full(path: Path, needed: int) -> DiskFull:
    """The one sentence for a full disk: the path, the space the work needs and what is free."""
    try:
        free = shutil.disk_usage(path if path.is_dir() else path.parent).free
    except OSError:
        free = 0
    return DiskFull(
        f"The disk holding {path} is full: about {_mb(needed)} more is needed and {_mb(free)} is free; "
        "free some space (old runs under the data folder's raw/ can go) and run again."
    )


def _mb(n: int) -> str:
    return f"{n / 1e6:,.0f} MB" if n >= 1e6 else f"{max(n, 1) / 1e3:,.0f} kB"


class Terminated(KeyboardInterrupt):
    """SIGTERM (what Prefect, systemd and `kill` send), raised in the main thread so a run ends
    the way Ctrl-C ends it: marked failed, its building files removed, one `Error:` line."""


_terminated = False


def raise_on_sigterm() -> None:
    """Turn SIGTERM into `Terminated` in this process (call once, at an entry point)."""
    import signal

    def handler(signum: int, frame: object) -> None:
        global _terminated
        _terminated = True
        raise Terminated("Terminated.")

    signal.signal(signal.SIGTERM, handler)


def termination_requested() -> bool:
    """Whether SIGTERM arrived: a library that catches the raised `Terminated` (DuckDB turns it
    into "Query interrupted") must not make a terminated run look like another failure."""
    return _terminated
