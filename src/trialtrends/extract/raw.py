"""Raw landing: every run's responses exactly as received, with a checksummed manifest.

Layout: `<data>/raw/<run_id>/` holds `manifest.json` plus gzip files of the bodies (pages of each
query, /version, /studies/metadata). Body files are written once (temp file + rename) and made
read-only; only the manifest is rewritten, atomically, as the run moves from `running` to
`succeeded` or `failed`, so a failed or killed run can never pass for a good one.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from trialtrends.errors import TrialtrendsError
from trialtrends.extract.records import dumps_safe, loads_lenient, nct_id_of
from trialtrends.manifest import MANIFEST, RunManifest, atomic_write

#: A small pre-allocated record beside the manifest (see RawRun.record_status).
STATUS_RECORD = ".status"
STATUS_BYTES = 512


class RawDataError(TrialtrendsError):
    """Landed raw data that is missing, unfinished or does not match its manifest."""


def new_run_id() -> str:
    """Unique run id that sorts by start time: UTC time to the microsecond plus a random suffix."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ") + "-" + secrets.token_hex(2)


@dataclass
class RawRun:
    """A run's landing folder; create with `RawRun.create`, open an old one with `RawRun.open`."""

    path: Path

    @property
    def run_id(self) -> str:
        return self.path.name

    @classmethod
    def create(cls, raw_dir: Path, run_id: str) -> RawRun:
        raw_dir.mkdir(parents=True, exist_ok=True)
        path = raw_dir / run_id
        path.mkdir(exist_ok=False)  # never reuse a folder: raw files are never overwritten
        # The status record is allocated now, while there is room, so that a run failing on a
        # full disk can still say so (see record_status).
        (path / STATUS_RECORD).write_bytes(b" " * STATUS_BYTES)
        return cls(path)

    def record_status(self, text: str) -> bool:
        """Overwrite the pre-allocated status record in place (no new disk blocks needed): how a
        run that cannot rewrite its manifest (a full disk) still records that it failed. The
        next run's tidy-up reads it. False when even that fails."""
        data = text.encode("utf-8", "replace")[:STATUS_BYTES].ljust(STATUS_BYTES)
        try:
            fd = os.open(self.path / STATUS_RECORD, os.O_WRONLY)
        except OSError:
            return False
        try:
            os.pwrite(fd, data, 0)
            os.fsync(fd)
            return True
        except OSError:
            return False
        finally:
            os.close(fd)

    def recorded_status(self) -> str:
        """The status record's text ('' when empty or absent)."""
        try:
            return (self.path / STATUS_RECORD).read_bytes().decode("utf-8", "replace").strip()
        except OSError:
            return ""

    @classmethod
    def open(cls, run_dir: Path) -> RawRun:
        if not (run_dir / MANIFEST).is_file():
            raise RawDataError(f"{run_dir} has no {MANIFEST}: it is not a landed run")
        return cls(run_dir)

    def write_body(self, name: str, body: bytes) -> dict[str, Any]:
        """Land one response body gzipped; return its manifest entry (sha256 of the file)."""
        target = self.path / f"{name}.gz"
        if target.exists():
            raise RawDataError(f"{target} already exists; raw files are never overwritten")
        # mtime=0 keeps the gzip bytes a pure function of the body (reproducible checksums).
        data = gzip.compress(body, compresslevel=6, mtime=0)
        atomic_write(target, data)
        target.chmod(0o444)
        return {
            "file": target.name,
            "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data),
            "body_bytes": len(body),
        }

    def write_manifest(self, manifest: RunManifest) -> None:
        manifest.write(self.path)

    def manifest(self) -> RunManifest:
        return RunManifest.read(self.path)

    def read_body(self, entry: dict[str, Any]) -> bytes:
        """A landed body, after checking its file against the manifest's sha256."""
        data = (self.path / entry["file"]).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest != entry["sha256"]:
            raise RawDataError(f"{self.path / entry['file']} does not match its manifest checksum")
        return gzip.decompress(data)

    def verify(self) -> list[str]:
        """Every problem between the manifest and the files on disk (empty when all is well)."""
        problems = []
        for entry in self.manifest().files:
            file = self.path / entry["file"]
            if not file.is_file():
                problems.append(f"{file} is missing")
            elif hashlib.sha256(file.read_bytes()).hexdigest() != entry["sha256"]:
                problems.append(f"{file} does not match its sha256")
        return problems

    def iter_pages(
        self, manifest: RunManifest | None = None
    ) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        """(manifest file entry, parsed page) for every landed /studies page, in landing order
        (from `manifest` when the caller holds it, else read from disk)."""
        for entry in (manifest or self.manifest()).files:
            if entry.get("kind") == "page":
                yield entry, loads_lenient(self.read_body(entry))


def stale_temp_files(raw_dir: Path) -> list[Path]:
    """Half-written files (`.*.tmp`) a killed run left in the raw folders."""
    if not raw_dir.is_dir():
        return []
    return sorted(p for p in raw_dir.glob("*/.*.tmp") if p.is_file())


def list_runs(raw_dir: Path) -> list[RawRun]:
    """Landed runs, oldest first (run ids sort by time)."""
    if not raw_dir.is_dir():
        return []
    return [RawRun(p) for p in sorted(raw_dir.iterdir()) if (p / MANIFEST).is_file()]


@dataclass
class StudySelection:
    """The studies of a landed API run, one copy per nctId, and the conflicts found choosing.

    A study can come back more than once in one pull (in two queries, or repeated across pages
    while the index moves). Identical copies are simply duplicates. Copies that differ are a
    conflict: the one with the newer lastUpdatePostDate is kept (the later one on a tie, as it
    was served last), and the conflict is recorded for the data-quality summary.
    """

    run: RawRun
    chosen: dict[str, tuple[int, int]]  # nct_id -> (page index, position) of the kept copy
    conflicts: list[dict[str, Any]]
    manifest: RunManifest | None = None

    def records(self) -> Iterator[Any]:
        """The chosen copies (and records without a usable nctId), in landing order."""
        for page_index, (_entry, page) in enumerate(self.run.iter_pages(self.manifest)):
            for position, study in enumerate(page.get("studies") or []):
                nct_id = nct_id_of(study)
                if nct_id is None or self.chosen.get(nct_id) == (page_index, position):
                    yield study


def _last_update(study: Any) -> str:
    """The copy's lastUpdatePostDate when it is a real date (yyyy-MM-dd or yyyy-MM), else "":
    a copy whose date is malformed ("9999-99-99", a number) never passes for the newest."""
    try:
        value = study["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"]
    except (KeyError, TypeError, IndexError):
        return ""
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        return ""
    try:
        when = date.fromisoformat(value if len(value) == 10 else value + "-01")
    except ValueError:
        return ""
    # A date after next year is no update that happened ("9999-12-31" would win every time).
    return value if when.year <= datetime.now(UTC).year + 1 else ""


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}(?:-[0-9]{2})?")


def select_studies(run: RawRun, manifest: RunManifest | None = None) -> StudySelection:
    """Choose one copy of every study of a landed API run (a first pass over its pages);
    `manifest` is the run's, when the caller holds it in memory."""
    manifest = manifest or run.manifest()
    best: dict[str, tuple[str, int, int]] = {}
    digests: dict[str, set[str]] = {}
    for page_index, (_entry, page) in enumerate(run.iter_pages(manifest)):
        for position, study in enumerate(page.get("studies") or []):
            nct_id = nct_id_of(study)
            if nct_id is None:
                continue
            digests.setdefault(nct_id, set()).add(
                hashlib.sha256(dumps_safe(study, sort_keys=True).encode()).hexdigest()
            )
            candidate = (_last_update(study), page_index, position)
            if nct_id not in best or candidate[0] >= best[nct_id][0]:
                best[nct_id] = candidate
    conflicts = [
        {"nct_id": nct_id, "versions": len(seen), "kept_last_update": best[nct_id][0] or None}
        for nct_id, seen in sorted(digests.items())
        if len(seen) > 1
    ]
    return StudySelection(run, {k: (v[1], v[2]) for k, v in best.items()}, conflicts, manifest)
