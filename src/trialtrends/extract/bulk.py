"""Where study records come from: a landed API run, or a bulk file (zip, folder, JSONL).

Every reader streams: one record in memory at a time, never the whole input. A record that is
not valid JSON is yielded as `Malformed` so normalisation quarantines it; a damaged container (a
truncated zip, a bad CRC) raises `SourceError`, because nothing read from it can be trusted.

For the parallel bulk path a source is cut into `Part`s, bounded by entry count and by
uncompressed bytes, that a worker reads by itself (`read_part`): for a zip, the entries' offsets
from the central directory, which the worker preads and inflates, so the main process never
inflates the registry. `source_facts` gives a file's size, sha256 and entry count.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import threading
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from isal import isal_zlib

from trialtrends.extract.records import Malformed
from trialtrends.extract.zip_index import LOCAL_HEADER, SourceError, ZipIndex, zip_entries

__all__ = ["SourceError", "ZipIndex", "zip_entries"]  # readers of bulk files import them here


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


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """sha256 of a file, read in chunks (bulk zips are gigabytes)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


class Checksum:
    """Size and sha256 of a file, taken by a daemon thread (hashlib releases the GIL)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.value: tuple[int, str] | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="bulk-sha256", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            size = self.path.stat().st_size
            self.value = (size, file_sha256(self.path))
        except BaseException as exc:  # handed to the caller of result()
            self.error = exc

    def result(self) -> tuple[int, str]:
        self.thread.join()
        if self.error is not None:
            raise SourceError(f"cannot read {self.path} for its checksum: {self.error}") from self.error
        assert self.value is not None
        return self.value


# ---- what the manifest pins about a source -------------------------------------------------


@dataclass(frozen=True)
class SourceFacts:
    """What the manifest pins about a bulk source: size and sha256 (files only) and entries."""

    size: int | None
    sha256: str | None
    entries: int


def source_facts(path: Path, block: int = 1 << 20) -> SourceFacts:
    """Size, sha256 and entry count of a bulk source.

    A zip's entries come from its central directory (the file's tail), its sha256 from one read
    of the file (which `pipeline.start_land_bulk` takes while the workers process it). A JSONL
    file's lines (inflated, for .gz) are counted in the same pass as its hash.
    """
    kind = source_kind(path)
    if kind == "dir":
        return SourceFacts(None, None, count_entries(path))
    if kind == "zip":
        return SourceFacts(path.stat().st_size, file_sha256(path, block), zip_entries(path))
    digest = hashlib.sha256()
    size = path.stat().st_size
    entries = 0
    inflate = zlib.decompressobj(zlib.MAX_WBITS | 16) if path.name.lower().endswith(".gz") else None
    if inflate is not None:
        with open(path, "rb") as fh:
            magic = fh.read(2)
        if magic != b"\x1f\x8b":
            what = "it is empty" if not magic else "it has no gzip header"
            raise SourceError(f"{path} is not a gzip file ({what}): give a .jsonl.gz, a .jsonl or a zip")
    pending = b""
    try:
        with open(path, "rb") as fh:
            while data := fh.read(block):
                digest.update(data)
                text = pending + (inflate.decompress(data) if inflate else data)
                *lines, pending = text.split(b"\n")
                entries += sum(1 for line in lines if line.strip())
                # gzip members may follow one another (gzip -c a b > c).
                while inflate is not None and inflate.eof and inflate.unused_data:
                    rest = inflate.unused_data
                    inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
                    text = pending + inflate.decompress(rest)
                    *lines, pending = text.split(b"\n")
                    entries += sum(1 for line in lines if line.strip())
    except zlib.error as exc:
        raise SourceError(f"{path} is truncated or corrupt: {exc}") from exc
    if inflate is not None and not inflate.eof:
        raise SourceError(f"{path} is truncated or corrupt: compressed stream ended early")
    entries += 1 if pending.strip() else 0
    return SourceFacts(size, digest.hexdigest(), entries)


# ---- parts: bounded slices of a source that a worker reads by itself ------------------------

#: A record inflating to more than this is quarantined unread: no real study is near it (the
#: largest registry records are a few MB), and it bounds what one worker holds at once.
MAX_RECORD_BYTES = 64 << 20


@dataclass
class Part:
    """One bounded slice of a bulk source: zip entries by index, files, or JSONL lines."""

    kind: str
    path: Path
    # zip: entry offsets/sizes; the worker reads [span_start, span_end) in one pread.
    offset: list[int] = field(default_factory=list)
    compressed: list[int] = field(default_factory=list)
    size: list[int] = field(default_factory=list)
    crc: list[int] = field(default_factory=list)
    method: list[int] = field(default_factory=list)
    span_end: int = 0
    # dir: file paths; jsonl: the records themselves (a stream has no offsets to hand out).
    files: list[Path] = field(default_factory=list)
    records: list[tuple[str, bytes]] = field(default_factory=list)

    @property
    def entries(self) -> int:
        return len(self.offset) or len(self.files) or len(self.records)


def zip_parts(
    path: Path, index: ZipIndex, max_entries: int, max_bytes: int, max_record: int = MAX_RECORD_BYTES
) -> Iterator[Part]:
    """A zip's entries (from its directory, `index`) cut into parts of at most max_entries
    entries and max_bytes uncompressed bytes; a part copies array slices of the index."""
    sizes = index.size
    first, n = 0, len(index)
    while first < n:
        # Cut where the next entry would overflow the part (an over-cap record costs nothing
        # to hold: it is never inflated).
        last, held = first, 0
        while last < n and last - first < max_entries:
            weight = 0 if sizes[last] > max_record else sizes[last]
            if last > first and held + weight > max_bytes:
                break
            held += weight
            last += 1
        yield Part(
            "zip", path,
            offset=index.offset[first:last].tolist(), compressed=index.compressed[first:last].tolist(),
            size=sizes[first:last].tolist(), crc=index.crc[first:last].tolist(),
            method=index.method[first:last].tolist(),
            span_end=index.offset[last] if last < n else index.directory_start,
        )  # fmt: skip
        first = last


def parts(path: Path, max_entries: int, max_bytes: int, max_record: int = MAX_RECORD_BYTES) -> Iterator[Part]:
    """Cut a bulk source into parts of at most max_entries entries and max_bytes uncompressed
    bytes (a record larger than max_bytes is a part of its own)."""
    kind = source_kind(path)
    part = Part(kind, path)
    held = 0

    def full(next_bytes: int) -> bool:
        return part.entries > 0 and (part.entries >= max_entries or held + next_bytes > max_bytes)

    if kind == "zip":
        yield from zip_parts(path, ZipIndex.read(path), max_entries, max_bytes, max_record)
    elif kind == "dir":
        for file in sorted(path.rglob("*.json")):
            size = file.stat().st_size
            if full(size):
                yield part
                part, held = Part(kind, path), 0
            part.files.append(file)
            held += size
        if part.entries:
            yield part
    else:
        for where, data in bulk_raw(path):
            if full(len(data)):
                yield part
                part, held = Part(kind, path), 0
            part.records.append((where, data))
            held += len(data)
        if part.entries:
            yield part


def read_part(part: Part, max_record: int = MAX_RECORD_BYTES) -> list[tuple[str, bytes | Malformed]]:
    """The raw records of a part as (where, bytes); an over-cap record comes as Malformed."""
    return read_part_deflated(part, max_record)[0]


def read_part_deflated(
    part: Part, max_record: int = MAX_RECORD_BYTES
) -> tuple[list[tuple[str, bytes | Malformed]], list[memoryview | None]]:
    """read_part, plus each zip entry's deflated bytes as read (None where it was not deflated):
    a record kept for later travels as those, ~3.5x smaller than inflated (see `Deflated`)."""
    if part.kind == "dir":
        return [(file.name, file.read_bytes()) for file in part.files], [None] * len(part.files)
    if part.kind != "zip":
        return list(part.records), [None] * len(part.records)
    out: list[tuple[str, bytes | Malformed]] = []
    deflated: list[memoryview | None] = []
    fd = os.open(part.path, os.O_RDONLY)
    try:
        first = part.offset[0]
        span = part.span_end - first
        # One read for the whole part when its entries are contiguous (as zip writers lay
        # them out); a part with gaps (other members in between) reads entry by entry.
        contiguous = all(a < b for a, b in zip(part.offset, part.offset[1:], strict=False)) and 0 < span <= (
            sum(part.compressed) + 70_000 * len(part.offset)
        )
        # A memoryview: entry headers and deflated bytes are read in place, never copied.
        block = memoryview(os.pread(fd, span, first) if contiguous else b"")
        for i, offset in enumerate(part.offset):
            at = offset - first if contiguous else None
            where, data, compressed = _entry(part, i, fd, block, at, max_record)
            out.append((where, data))
            deflated.append(compressed)
    finally:
        os.close(fd)
    return out, deflated


@dataclass(frozen=True)
class Deflated:
    """A zip entry's deflated bytes, already CRC-checked when it was first inflated: how a bulk
    record waits to be parsed (in the main process's pools, in pipes to the workers)."""

    data: bytes
    size: int

    def __len__(self) -> int:
        return len(self.data)

    def inflate(self) -> bytes:
        return isal_zlib.decompressobj(-zlib.MAX_WBITS).decompress(self.data, self.size + 1)


def _entry(
    part: Part, i: int, fd: int, block: memoryview, at: int | None, max_record: int
) -> tuple[str, bytes | Malformed, memoryview | None]:
    """Read, inflate and CRC-check one zip entry (from the part's block, or by pread): where,
    the bytes, and the deflated bytes they came from (None unless deflated)."""
    offset, csize, usize = part.offset[i], part.compressed[i], part.size[i]
    if at is None:
        block, at = memoryview(os.pread(fd, LOCAL_HEADER.size, offset)), 0
        if len(block) == LOCAL_HEADER.size:
            nlen, xlen = LOCAL_HEADER.unpack_from(block, 0)[9:]
            block = memoryview(os.pread(fd, LOCAL_HEADER.size + nlen + xlen + csize, offset))
    if len(block) < at + LOCAL_HEADER.size or block[at : at + 4] != b"PK\x03\x04":
        raise SourceError(f"{part.path} is corrupt: no entry header at offset {offset}")
    nlen, xlen = LOCAL_HEADER.unpack_from(block, at)[9:]
    name_at = at + LOCAL_HEADER.size
    data_at = name_at + nlen + xlen
    where = str(block[name_at : name_at + nlen], "utf-8", "replace")
    compressed = block[data_at : data_at + csize]
    if usize > max_record:
        reason = (f"record {where} is {usize / 1e6:.0f} MB uncompressed, over the "
                  f"{max_record / 1e6:.0f} MB per-record cap; not read")  # fmt: skip
        return where, Malformed(where, reason, ""), None
    if len(compressed) != csize:
        raise SourceError(f"{part.path} is truncated or corrupt at entry {where}")
    try:
        if part.method[i] == zipfile.ZIP_DEFLATED:
            # ISA-L inflates the same raw deflate stream as zlib, ~1.8x faster (the bulk floor);
            # at most usize + 1 bytes, so an entry lying about its size cannot balloon.
            data = isal_zlib.decompressobj(-zlib.MAX_WBITS).decompress(compressed, usize + 1)
        elif part.method[i] == zipfile.ZIP_STORED:
            data = bytes(compressed)
        else:
            raise SourceError(f"{part.path}: entry {where} uses unsupported compression {part.method[i]}")
    except (zlib.error, isal_zlib.error) as exc:
        raise SourceError(f"{part.path} is corrupt at entry {where}: {exc}") from exc
    if len(data) != usize or isal_zlib.crc32(data) != part.crc[i]:
        raise SourceError(f"{part.path} is corrupt at entry {where}: size or CRC mismatch")
    return where, data, compressed if part.method[i] == zipfile.ZIP_DEFLATED else None
