"""A zip's central directory as compact arrays: where each study entry is, how big, its CRC.

API-NOTES: a truncated download looks fine until the central directory is read; so a file
without a readable end record, or whose directory does not parse, is not a zip we can trust.
"""

from __future__ import annotations

import struct
import zipfile
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trialtrends.errors import TrialtrendsError


class SourceError(TrialtrendsError):
    """An input that cannot be read as a whole (missing, truncated, corrupt)."""


def zip_entries(path: Path) -> int:
    """How many study entries a zip holds, from its central directory (the file's tail) alone."""
    return len(ZipIndex.read(path))


_EOCD = struct.Struct("<IHHHHIIH")
_EOCD64_LOCATOR = struct.Struct("<IIQI")
_EOCD64 = struct.Struct("<IQHHIIQQQQ")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")
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
