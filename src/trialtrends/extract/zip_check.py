"""Is a downloaded registry zip whole? Its length, central directory, every entry's CRC, and
its entry count against /stats/size's totalStudies.

API-NOTES: a truncated download looks fine until the central directory is read, so the
directory is read first (`ZipIndex`), then every entry is inflated and its size and CRC
compared by the bulk path's own reader (`bulk.read_part`), a bounded part at a time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trialtrends.extract.bulk import Part, read_part, zip_parts
from trialtrends.extract.records import Malformed
from trialtrends.extract.zip_index import SourceError, ZipIndex

log = logging.getLogger(__name__)

#: The entry count may fall this share short of /stats/size's totalStudies. Both are read within
#: minutes of each other and the registry grows by a few hundred studies a day (~0.05%), so 1%
#: only lets timing through, never a download that lost a slice of the registry.
ENTRY_TOLERANCE = 0.01
#: Entries and inflated bytes checked at once (bounds the memory of the CRC pass).
CHECK_PART_ENTRIES = 4_000
CHECK_PART_BYTES = 32 << 20
PROGRESS_EVERY = 0.25  # seconds between "download_check" events


@dataclass(frozen=True)
class ZipCheck:
    """What the check found: study entries, and how many of them had their CRC checked."""

    entries: int
    crc_checked: int


def check_registry_zip(
    path: Path,
    *,
    length: int | None = None,
    expected_studies: int | None = None,
    tolerance: float = ENTRY_TOLERANCE,
    check_crc: bool = True,
    progress: Callable[[str, dict[str, Any]], None] | None = None,
) -> ZipCheck:
    """Check a registry zip; raise SourceError (one clause: why) when it is not whole.

    `length` is the length the server announced. Fewer entries than `expected_studies` less
    `tolerance` is refused; more only warns (the count may lag; the gates decide). Emits
    ("download_check", {"entries", "total"}) as CRCs are checked. Entries over the bulk path's
    per-record cap are not inflated (the bulk path quarantines them unread too).
    """
    size = path.stat().st_size
    if length is not None and size != length:
        raise SourceError(f"{path} is {size:,} bytes where the server announced {length:,}")
    index = ZipIndex.read(path)  # SourceError when the directory is missing or unreadable
    entries = len(index)
    if entries == 0:
        raise SourceError(f"{path} holds no study entries")
    if expected_studies is not None:
        if entries < expected_studies * (1 - tolerance):
            raise SourceError(
                f"{path} holds {entries:,} studies where /stats/size reports {expected_studies:,} "
                f"(more than {tolerance:.0%} short)"
            )
        if entries > expected_studies * (1 + tolerance):
            log.warning("%s holds %d studies, /stats/size said %d", path.name, entries, expected_studies)
    if not check_crc:
        return ZipCheck(entries, 0)
    checked = unchecked = 0
    last = float("-inf")
    for part in _crc_parts(path, index):
        records = read_part(part)  # inflates each entry, checks its size and CRC (SourceError)
        unchecked += sum(isinstance(data, Malformed) for _where, data in records)
        checked += len(records)
        now = time.monotonic()
        if progress is not None and (now - last >= PROGRESS_EVERY or checked == entries):
            last = now
            progress("download_check", {"entries": checked, "total": entries})
    if unchecked:
        log.warning("%s: %d entries over the per-record cap were not CRC-checked", path.name, unchecked)
    return ZipCheck(entries, checked - unchecked)


def _crc_parts(path: Path, index: ZipIndex) -> Iterator[Part]:
    """The zip's entries as bulk `Part`s for `read_part` (`bulk.parts` itself only opens files
    named *.zip, and a download is checked while it is still a .tmp)."""
    return zip_parts(path, index, CHECK_PART_ENTRIES, CHECK_PART_BYTES)
