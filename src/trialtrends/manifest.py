"""The run manifest: the contract between the stages of one run, and its only reader and writer.

`<data>/raw/<run_id>/manifest.json` says what a run landed (API pages or a bulk file), how far it
got and how it ended. Landing writes it, processing and publishing add to it, and `runs`, the
`runs` table and the Prefect artifact read it. Every stage goes through `RunManifest`; nothing
reads or writes the JSON by string keys. Keys a newer trialtrends wrote that this one does not
know are kept in `extra` and written back unchanged.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import signal
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trialtrends import __version__
from trialtrends.errors import TrialtrendsError, disk_full

MANIFEST = "manifest.json"
RUNNING, PUBLISHING = "running", "publishing"
SUCCEEDED, FAILED, ABANDONED = "succeeded", "failed", "abandoned"
#: How a run got its studies (runs.mode): a whole-registry download, the studies updated since
#: the last registry run, or the keyword searches.
BASELINE, DELTA, SEARCH = "baseline", "delta", "search"


class ManifestError(TrialtrendsError):
    """A manifest.json that cannot be read (damaged by hand or by a full disk)."""


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def atomic_write(path: Path, data: bytes) -> None:
    """Write a file so a reader sees the old or the new content, never half of it.

    A full disk is one sentence naming the file and the space it needs (not a bare
    "No space left on device"), and leaves no half-written temporary file behind."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise disk_full(path, len(data)) from exc
        raise


def _reason(exc: BaseException) -> str:
    """A failure that carries no message, in words: a signal (Prefect's task engine turns SIGTERM
    into an exception with a `signal` attribute), Ctrl-C, else the exception's name."""
    number = getattr(exc, "signal", None)
    if number is not None:
        return "Terminated." if number == signal.SIGTERM else f"Stopped by signal {int(number)}."
    if isinstance(exc, KeyboardInterrupt):
        return "Interrupted."
    return type(exc).__name__


@dataclass
class RunManifest:
    """What one run landed, how far it got, and how it ended."""

    run_id: str
    kind: str  # api (paged search) or bulk (a downloaded file)
    # running -> publishing (just before the swap) -> succeeded | failed; abandoned when its
    # process died before publishing.
    status: str = RUNNING
    error: str | None = None
    started_at: str = field(default_factory=utc_now)
    finished_at: str | None = None
    trialtrends_version: str = __version__
    mode: str = SEARCH  # baseline, delta or search
    # Studies updated on or after this date (a delta, or a search with --since).
    since: str | None = None
    # Why a registry night fell back to the searches (the download was unavailable).
    fallback: str | None = None
    # Registry mode: the baseline run this run's registry state rests on, the deltas applied on
    # top of it before this run, the registry's study count (/stats/size) and the index's rows.
    baseline_run: str | None = None
    deltas_applied: int | None = None
    registry_total: int | None = None
    index_rows: int | None = None
    # Landed files removed by retention (only of runs no published state needs).
    pruned: bool = False
    # Landing: all raw input is on disk (pages) or pinned by checksum (bulk file).
    landed: bool = False
    files: list[dict[str, Any]] = field(default_factory=list)
    # API runs.
    api_url: str | None = None
    api_version: str | None = None
    data_timestamp: str | None = None
    # Every crawl of the run: restarted when the registry's data generation changed mid-crawl.
    crawls: list[dict[str, Any]] = field(default_factory=list)
    queries: list[dict[str, Any]] = field(default_factory=list)
    pages: int = 0
    rows: int = 0
    unique_studies: int | None = None
    duplicates_seen: int = 0
    requests: int | None = None
    retries: int | None = None
    bytes_received: int | None = None
    # Bulk runs.
    source: str | None = None
    source_kind: str | None = None
    source_bytes: int | None = None
    source_sha256: str | None = None
    entries: int | None = None
    # Processing and publishing.
    scanned: int | None = None
    classifier_version: str | None = None
    gates: list[dict[str, Any]] | None = None
    quality: dict[str, Any] | None = None
    rejected_studies: int | None = None
    trials_loaded: int | None = None
    published: bool = False
    # A rebuild is a run of its own that reprocesses another run's landed data (read from there).
    rebuild_of: str | None = None
    # Set when the published warehouse could not be opened and was moved aside.
    recovered_warehouse: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunManifest:
        known = {f.name for f in fields(cls)} - {"extra"}
        values = {k: v for k, v in data.items() if k in known}
        if values.get("mode") in ("full", "incremental"):  # written before registry mode
            values["mode"] = BASELINE if values.get("kind") == "bulk" else SEARCH
        return cls(**values, extra={k: v for k, v in data.items() if k not in known})

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        extra = data.pop("extra")
        return {**data, **extra}

    @classmethod
    def read(cls, run_dir: Path) -> RunManifest:
        path = run_dir / MANIFEST
        try:
            data = json.loads(path.read_text())
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            return cls.from_dict(data)
        except (OSError, ValueError, TypeError) as exc:
            raise ManifestError(f"{path} is not a readable run manifest ({exc})") from exc

    def write(self, run_dir: Path) -> None:
        body = json.dumps(self.to_dict(), indent=2, ensure_ascii=False).encode()
        atomic_write(run_dir / MANIFEST, body + b"\n")

    # ---- what the stages ask of a manifest ---------------------------------------------------

    @property
    def studies(self) -> int | None:
        """Unique studies pulled (API) or scanned (bulk)."""
        return self.unique_studies if self.unique_studies is not None else self.entries

    def file_of_kind(self, kind: str) -> dict[str, Any] | None:
        return next((f for f in self.files if f.get("kind") == kind), None)

    def failed_gates(self) -> list[str]:
        return [g["name"] for g in self.gates or [] if not g.get("passed")]

    def mark_failed(self, exc: BaseException | str) -> None:
        self.status = FAILED
        self.published = False
        self.finished_at = utc_now()
        self.error = exc if isinstance(exc, str) else (str(exc) or _reason(exc))

    def runs_row(self) -> dict[str, Any]:
        """This run as a row of the warehouse's `runs` table."""
        return {
            **self.to_dict(),
            "started_at": (self.started_at or "").replace("Z", "") or None,
            "finished_at": (self.finished_at or "").replace("Z", "") or None,
            "unique_studies": self.studies,
        }
