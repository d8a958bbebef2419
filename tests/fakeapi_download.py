"""The fake API's whole-registry download and size statistics (used by tests/fakeapi.py).

`GET /studies/download?format=json.zip` is not in the OpenAPI document; API-NOTES describes the
real one: `ctg-studies.json.zip`, one JSON file per study at the zip root. The entries here are
pretty-printed (indent 2, UTF-8), deflated, named `NCTxxxxxxxx.json`, and dated with the data
timestamp, so the archive's bytes (and its strong ETag, their hash) change with every new data
generation and never otherwise. Only single byte ranges (`bytes=N-`, `bytes=N-M`) are emulated.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import format_datetime

ZIP_FILENAME = "ctg-studies.json.zip"  # the real download's file name (API-NOTES)
_EPOCH = (1980, 1, 1, 0, 0, 0)  # earliest date a zip entry can hold
_SINGLE_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


class RangeNotEmulated(ValueError):
    """A Range header form the fake does not emulate (suffix or multiple ranges)."""


class RangeNotSatisfiable(ValueError):
    """A byte range that starts at or past the end of the body (HTTP 416)."""


def pretty_json(study: dict) -> bytes:
    """One study as a download entry holds it: pretty-printed UTF-8 JSON."""
    return json.dumps(study, ensure_ascii=False, indent=2).encode()


def _timestamp(data_timestamp: str) -> datetime | None:
    """The dataTimestamp as a UTC datetime (None when it is not ISO 8601)."""
    try:
        return datetime.fromisoformat(data_timestamp).replace(tzinfo=UTC)
    except ValueError:
        return None


def zip_date_time(data_timestamp: str) -> tuple[int, int, int, int, int, int]:
    """Entry date of a download made from this data generation (zip dates start in 1980)."""
    moment = _timestamp(data_timestamp)
    if moment is None or moment.year < 1980:
        return _EPOCH
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)


def http_date(data_timestamp: str) -> str | None:
    """The dataTimestamp as an HTTP date (Last-Modified), or None if it is not a timestamp."""
    moment = _timestamp(data_timestamp)
    return format_datetime(moment, usegmt=True) if moment else None


def build_zip(entries: Iterable[tuple[str, bytes]], date_time: tuple[int, ...]) -> bytes:
    """A deflated zip of (name, bytes) entries, all dated `date_time` (deterministic bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16  # a plain file, as unzip expects
            archive.writestr(info, data)
    return buffer.getvalue()


def strong_etag(body: bytes) -> str:
    """A strong validator: the same bytes always give the same quoted ETag, others another."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def parse_range(value: str, length: int) -> tuple[int, int]:
    """First and last byte (inclusive) a `Range: bytes=N-` or `bytes=N-M` header asks for.

    Raises RangeNotEmulated for other forms (suffix `bytes=-N`, several ranges, other units)
    and RangeNotSatisfiable when N is at or past the end (RFC 9110: 416).
    """
    match = _SINGLE_RANGE.match(value.strip())
    if not match:
        raise RangeNotEmulated(value)
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) else None
    if last is not None and last < first:
        raise RangeNotEmulated(value)  # RFC 9110 calls it invalid; the fake refuses it loudly
    if first >= length:
        raise RangeNotSatisfiable(value)
    return first, length - 1 if last is None else min(last, length - 1)


def size_stats(ids: list[str], compact: Iterable[bytes]) -> dict:
    """`GET /stats/size` (spec schema GzipStats) over gzip-compressed study JSON sizes.

    The spec fixes the keys and types; the percentile keys and size-range labels are the
    fake's choice (the real values are not documented).
    """
    sizes = [len(gzip.compress(data, compresslevel=6, mtime=0)) for data in compact]
    total = len(sizes)
    ordered = sorted(sizes)
    largest = sorted(zip(ids, sizes, strict=True), key=lambda pair: (-pair[1], pair[0]))[:10]
    percentiles = {
        str(p): ordered[min(total - 1, (p * total) // 100)] for p in (5, 25, 50, 75, 90, 95, 99)
    } if total else {}  # fmt: skip
    bounds = [(0, 1024), (1024, 5120), (5120, 10240), (10240, 51200), (51200, None)]
    ranges = []
    for low, high in bounds:
        count = sum(1 for s in sizes if s >= low and (high is None or s < high))
        label = f"{low // 1024}KB+" if high is None else f"{low // 1024}-{high // 1024}KB"
        ranges.append({"sizeRange": label, "studiesCount": count})
    return {
        "averageSizeBytes": sum(sizes) // total if total else 0,
        "largestStudies": [{"id": nct, "sizeBytes": size} for nct, size in largest],
        "percentiles": percentiles,
        "ranges": ranges,
        "totalStudies": total,
    }
