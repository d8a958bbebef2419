"""Where study records come from: a landed API run, or a bulk file (zip, folder, JSONL).

Every reader streams: one record in memory at a time, never the whole input. A record that is
not valid JSON is yielded as `Malformed` so normalisation quarantines it; a damaged container (a
truncated zip, a bad CRC) raises `SourceError`, because nothing read from it can be trusted.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from trialtrends.errors import TrialtrendsError
from trialtrends.extract.records import nct_id_of, parse_record


class SourceError(TrialtrendsError):
    """An input that cannot be read as a whole (missing, truncated, corrupt)."""


# ---- bulk sources ---------------------------------------------------------------------------


def source_kind(path: Path) -> str:
    """zip, dir or jsonl, from what the path is."""
    if path.is_dir():
        return "dir"
    name = path.name.lower()
    if name.endswith(".zip"):
        return "zip"
    if name.endswith((".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")):
        return "jsonl"
    raise SourceError(f"{path} is not a .zip, a folder of study JSON files, or a .jsonl(.gz) file")


def open_zip(path: Path) -> zipfile.ZipFile:
    """Open a study zip, turning a truncated or non-zip file into one clear error.

    API-NOTES: a truncated download looks fine until the central directory is read, which is
    what ZipFile() does first; each entry's CRC is then checked as it is streamed.
    """
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise SourceError(f"{path} is not a readable zip (truncated or corrupt): {exc}") from exc
    except OSError as exc:
        raise SourceError(f"cannot open {path}: {exc}") from exc


def _zip_entries(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    return [i for i in archive.infolist() if not i.is_dir() and i.filename.lower().endswith(".json")]


def count_entries(path: Path) -> int:
    """How many study records a bulk source holds (cheap for zip and dir; a scan for JSONL)."""
    kind = source_kind(path)
    if kind == "zip":
        with open_zip(path) as archive:
            return len(_zip_entries(archive))
    if kind == "dir":
        return sum(1 for _ in path.rglob("*.json"))
    try:
        with _open_lines(path) as lines:
            return sum(1 for line in lines if line.strip())
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise SourceError(f"{path} is truncated or corrupt: {exc}") from exc


def _open_lines(path: Path) -> io.BufferedReader:
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")  # type: ignore[return-value]


def bulk_raw(path: Path) -> Iterator[tuple[str, bytes]]:
    """Stream the raw records of a bulk source as (where, JSON bytes), unparsed."""
    kind = source_kind(path)
    if kind == "zip":
        with open_zip(path) as archive:
            for info in _zip_entries(archive):
                try:
                    data = archive.read(info)
                except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                    raise SourceError(f"{path} is corrupt at entry {info.filename}: {exc}") from exc
                yield info.filename, data
    elif kind == "dir":
        for file in sorted(path.rglob("*.json")):
            yield file.name, file.read_bytes()
    else:
        try:
            with _open_lines(path) as lines:
                for number, line in enumerate(lines, start=1):
                    if line.strip():
                        yield f"{path.name} line {number}", line
        except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
            raise SourceError(f"{path} is truncated or corrupt: {exc}") from exc


def bulk_studies(path: Path) -> Iterator[Any]:
    """Stream the parsed records (or Malformed) of a bulk source, one at a time."""
    for where, data in bulk_raw(path):
        yield parse_record(data, where)


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """sha256 of a file, read in chunks (bulk zips are gigabytes)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def payloads_for(studies: Iterator[Any], wanted: set[str]) -> dict[str, str]:
    """Raw JSON of the wanted nctIds, by re-reading a source (only for quarantined studies)."""
    found: dict[str, str] = {}
    for study in studies:
        nct_id = nct_id_of(study)
        if nct_id in wanted and nct_id not in found:
            found[nct_id] = orjson.dumps(study).decode()
            if len(found) == len(wanted):
                break
    return found
