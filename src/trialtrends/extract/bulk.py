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
import struct
import zipfile
import zlib
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from isal import isal_zlib

from trialtrends.errors import TrialtrendsError
from trialtrends.extract.records import Malformed


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


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """sha256 of a file, read in chunks (bulk zips are gigabytes)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


# ---- one pass for the manifest -------------------------------------------------------------


def zip_entries(path: Path) -> int:
    """How many study entries a zip holds, from its central directory (the file's tail) alone."""
    return len(ZipIndex.read(path))


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


# ---- zip central directory -----------------------------------------------------------------

_EOCD = struct.Struct("<IHHHHIIH")
_EOCD64_LOCATOR = struct.Struct("<IIQI")
_EOCD64 = struct.Struct("<IQHHIIQQQQ")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_LOCAL = struct.Struct("<IHHHHHIIIHH")
_MAX32 = 0xFFFFFFFF


def _directory_span(path: Path) -> tuple[int, int, int]:
    """(start, end, entries) of a zip's central directory, from its end records.

    API-NOTES: a truncated download looks fine until the central directory is read; a file
    without a readable end record is not a zip we can trust.
    """
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            fh.seek(max(size - (1 << 16) - _EOCD.size, 0))
            tail = fh.read()
            at = tail.rfind(b"PK\x05\x06")
            if at < 0 or len(tail) - at < _EOCD.size:
                raise SourceError(f"{path} is not a readable zip (truncated or corrupt): no end record")
            _sig, _disk, _cd_disk, _n_disk, entries, cd_size, cd_start, _comment = _EOCD.unpack_from(tail, at)
            if _MAX32 in (cd_size, cd_start) or entries == 0xFFFF:
                locator = tail[at - _EOCD64_LOCATOR.size : at]
                if len(locator) != _EOCD64_LOCATOR.size or locator[:4] != b"PK\x06\x07":
                    raise SourceError(
                        f"{path} is not a readable zip (truncated or corrupt): no zip64 locator"
                    )
                fh.seek(_EOCD64_LOCATOR.unpack(locator)[2])
                record = fh.read(_EOCD64.size)
                if len(record) != _EOCD64.size or record[:4] != b"PK\x06\x06":
                    raise SourceError(
                        f"{path} is not a readable zip (truncated or corrupt): bad zip64 record"
                    )
                fields = _EOCD64.unpack(record)
                entries, cd_size, cd_start = fields[7], fields[8], fields[9]
    except OSError as exc:
        raise SourceError(f"cannot open {path}: {exc}") from exc
    if cd_start + cd_size > size:
        raise SourceError(f"{path} is not a readable zip (truncated or corrupt): directory past the end")
    return cd_start, cd_start + cd_size, entries


@dataclass
class ZipIndex:
    """The study entries of a zip, in directory order, as compact arrays (~40 bytes an entry,
    so a 600k-entry registry zip costs ~25 MB where ZipInfo objects cost several hundred)."""

    offset: array = field(default_factory=lambda: array("q"))
    compressed: array = field(default_factory=lambda: array("q"))
    size: array = field(default_factory=lambda: array("q"))
    crc: array = field(default_factory=lambda: array("L"))
    method: array = field(default_factory=lambda: array("B"))
    directory_start: int = 0

    def __len__(self) -> int:
        return len(self.offset)

    @classmethod
    def read(cls, path: Path) -> ZipIndex:
        """The index of a zip, parsed once per file version per process (landing reads it for
        the entry count, processing for the parts)."""
        key = _file_key(path)
        if key not in _LAST_INDEX:
            start, end, entries = _directory_span(path)
            with open(path, "rb") as fh:
                fh.seek(start)
                data = fh.read(end - start)
            _remember(key, cls.parse(path, data, entries, start))
        return _LAST_INDEX[key]

    @classmethod
    def parse(cls, path: Path, data: bytes, entries: int, start: int = 0) -> ZipIndex:
        """The index of a central directory: at once when its records are all alike in shape
        (a registry zip: every name "NCTxxxxxxxx.json"), else record by record."""
        return cls._uniform(data, entries, start) or cls._walk(path, data, entries, start)

    @classmethod
    def _uniform(cls, data: bytes, entries: int, start: int) -> ZipIndex | None:
        """A directory of same-length records, read as one array (600k entries in ~50 ms where
        the walk takes ~1 s); None when any record differs in length, signature, name suffix,
        flags or compression, or needs zip64 sizes, so `_walk` decides those."""
        if entries == 0 or len(data) < _CENTRAL.size:
            return None
        nlen, xlen, clen = struct.unpack_from("<HHH", data, 28)
        stride = _CENTRAL.size + nlen + xlen + clen
        if nlen < 5 or len(data) < stride * entries:
            return None
        rows = np.frombuffer(data, np.uint8, stride * entries).reshape(entries, stride)

        def field(at: int, dtype: str) -> np.ndarray:
            width = np.dtype(dtype).itemsize
            return np.ascontiguousarray(rows[:, at : at + width]).view(dtype).ravel()

        name_end = _CENTRAL.size + nlen
        suffix = rows[:, name_end - 5 : name_end] | 0x20  # ASCII lower case: ".JSON" is ".json"
        usize, csize, offset = field(24, "<u4"), field(20, "<u4"), field(42, "<u4")
        method = field(10, "<u2")
        if not (
            (field(0, "<u4") == 0x02014B50).all()
            and (rows[:, 28:34] == rows[0, 28:34]).all()  # name, extra, comment lengths
            and (suffix == np.frombuffer(b".json", np.uint8)).all()
            and not (field(8, "<u2") & 1).any()  # no encrypted entry
            and ((method == zipfile.ZIP_DEFLATED) | (method == zipfile.ZIP_STORED)).all()
            and not ((usize == _MAX32) | (csize == _MAX32) | (offset == _MAX32)).any()
        ):
            return None
        index = cls(directory_start=start)
        for target, values in ((index.offset, offset), (index.compressed, csize), (index.size, usize),
                               (index.crc, field(16, "<u4")), (index.method, method)):  # fmt: skip
            target.frombytes(values.astype(target.typecode).tobytes())  # C types, as array's
        return index

    @classmethod
    def _walk(cls, path: Path, data: bytes, entries: int, start: int) -> ZipIndex:
        index = cls(directory_start=start)
        offsets, compressed, sizes, crcs, methods = [], [], [], [], []
        unpack, header, at = _CENTRAL.unpack_from, _CENTRAL.size, 0
        for _ in range(entries):
            if at + header > len(data) or data[at : at + 4] != b"PK\x01\x02":
                raise SourceError(f"{path} is not a readable zip (truncated or corrupt): bad directory")
            (_sig, _made, _need, flags, method, _t, _d, crc, csize, usize,
             nlen, xlen, clen, _disk, _ia, _ea, offset) = unpack(data, at)  # fmt: skip
            name_end = at + 46 + nlen
            entry_at, at = at, name_end + xlen + clen
            # Folders end in "/", other members are not studies: only *.json entries count.
            if nlen < 5 or data[name_end - 5 : name_end].lower() != b".json":
                continue
            if _MAX32 in (csize, usize, offset):
                usize, csize, offset = _zip64_sizes(data[name_end : name_end + xlen], usize, csize, offset)
            if flags & 1:
                name = data[entry_at + 46 : name_end].decode("utf-8", "replace")
                raise SourceError(f"{path}: entry {name} is encrypted")
            offsets.append(offset)
            compressed.append(csize)
            sizes.append(usize)
            crcs.append(crc)
            methods.append(method)
        index.offset.extend(offsets)
        index.compressed.extend(compressed)
        index.size.extend(sizes)
        index.crc.extend(crcs)
        index.method.extend(methods)
        return index


#: The last zip index read, by the identity of the file version it belongs to (ZipIndex.read).
_LAST_INDEX: dict[tuple[object, ...], ZipIndex] = {}


def _file_key(path: Path) -> tuple[object, ...]:
    stat = path.stat()
    return str(path.resolve()), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns


def _remember(key: tuple[object, ...], index: ZipIndex) -> None:
    _LAST_INDEX.clear()
    _LAST_INDEX[key] = index


def _zip64_sizes(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    """Sizes and offset from a zip64 extra field (present in order for each 0xFFFFFFFF)."""
    at = 0
    while at + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, at)
        if tag == 1:
            values = list(struct.unpack_from(f"<{length // 8}Q", extra, at + 4))
            if usize == _MAX32 and values:
                usize = values.pop(0)
            if csize == _MAX32 and values:
                csize = values.pop(0)
            if offset == _MAX32 and values:
                offset = values.pop(0)
            break
        at += 4 + length
    return usize, csize, offset


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


def parts(path: Path, max_entries: int, max_bytes: int, max_record: int = MAX_RECORD_BYTES) -> Iterator[Part]:
    """Cut a bulk source into parts of at most max_entries entries and max_bytes uncompressed
    bytes (a record larger than max_bytes is a part of its own)."""
    kind = source_kind(path)
    part = Part(kind, path)
    held = 0

    def full(next_bytes: int) -> bool:
        return part.entries > 0 and (part.entries >= max_entries or held + next_bytes > max_bytes)

    if kind == "zip":
        index = ZipIndex.read(path)
        sizes = index.size
        first, n = 0, len(index)
        while first < n:
            # Cut where the next entry would overflow the part (an over-cap record costs
            # nothing to hold: it is never inflated); the part then copies array slices.
            last, held = first, 0
            while last < n and last - first < max_entries:
                weight = 0 if sizes[last] > max_record else sizes[last]
                if last > first and held + weight > max_bytes:
                    break
                held += weight
                last += 1
            yield Part(
                kind, path,
                offset=index.offset[first:last].tolist(), compressed=index.compressed[first:last].tolist(),
                size=sizes[first:last].tolist(), crc=index.crc[first:last].tolist(),
                method=index.method[first:last].tolist(),
                span_end=index.offset[last] if last < n else index.directory_start,
            )  # fmt: skip
            first = last
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
        block, at = memoryview(os.pread(fd, _LOCAL.size, offset)), 0
        if len(block) == _LOCAL.size:
            nlen, xlen = _LOCAL.unpack_from(block, 0)[9:]
            block = memoryview(os.pread(fd, _LOCAL.size + nlen + xlen + csize, offset))
    if len(block) < at + _LOCAL.size or block[at : at + 4] != b"PK\x03\x04":
        raise SourceError(f"{part.path} is corrupt: no entry header at offset {offset}")
    nlen, xlen = _LOCAL.unpack_from(block, at)[9:]
    name_at = at + _LOCAL.size
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
