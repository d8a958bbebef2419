"""Raw landing: every run's responses exactly as received, with a checksummed manifest.

Layout: `<data>/raw/<run_id>/` holds `manifest.json` plus gzip files of the bodies (pages of each
query, /version, /studies/metadata). Body files are written once (temp file + rename) and made
read-only; only the manifest is rewritten, atomically, as the run moves from `running` to
`succeeded` or `failed`, so a failed or killed run can never pass for a good one.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trialtrends.errors import TrialtrendsError

MANIFEST = "manifest.json"
RUNNING, SUCCEEDED, FAILED = "running", "succeeded", "failed"


class RawDataError(TrialtrendsError):
    """Landed raw data that is missing, unfinished or does not match its manifest."""


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_run_id() -> str:
    """Unique run id that sorts by start time: UTC time to the microsecond plus a random suffix."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ") + "-" + secrets.token_hex(2)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


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
        return cls(path)

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
        _atomic_write(target, data)
        target.chmod(0o444)
        return {
            "file": target.name,
            "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data),
            "body_bytes": len(body),
        }

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        body = json.dumps(manifest, indent=2, sort_keys=False, ensure_ascii=False).encode()
        _atomic_write(self.path / MANIFEST, body + b"\n")

    def manifest(self) -> dict[str, Any]:
        return json.loads((self.path / MANIFEST).read_text())

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
        for entry in self.manifest().get("files", []):
            file = self.path / entry["file"]
            if not file.is_file():
                problems.append(f"{file} is missing")
            elif hashlib.sha256(file.read_bytes()).hexdigest() != entry["sha256"]:
                problems.append(f"{file} does not match its sha256")
        return problems

    def iter_pages(self) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        """(manifest file entry, parsed page) for every landed /studies page, in landing order."""
        for entry in self.manifest().get("files", []):
            if entry.get("kind") == "page":
                yield entry, json.loads(self.read_body(entry))


def list_runs(raw_dir: Path) -> list[RawRun]:
    """Landed runs, oldest first (run ids sort by time)."""
    if not raw_dir.is_dir():
        return []
    return [RawRun(p) for p in sorted(raw_dir.iterdir()) if (p / MANIFEST).is_file()]
