"""Registry mode's index rows, gathered while a run judges its studies (`registry_studies`).

One row per study the run brings, cell therapy or not: its nctId, last update date, the sha256
of its record as landed, the classifier's verdict. A baseline brings every study of the
registry (600k rows: kept as arrays, not Python objects, until the frame is built at the end).
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterable
from datetime import date

import polars as pl

from trialtrends.schemas import RegistryStudies, polars_schema

_EPOCH = date(1970, 1, 1)


def digest(data: bytes) -> bytes:
    """The index's record checksum (sha256 of the record's JSON bytes as landed)."""
    return hashlib.sha256(data).digest()


def days(value: str | None) -> int:
    """A yyyy-MM-dd (or yyyy-MM) date as days since 1970-01-01; -1 when absent or unreadable."""
    if not isinstance(value, str):
        return -1
    try:
        parsed = date.fromisoformat(value if len(value) != 7 else value + "-01")
    except ValueError:
        return -1
    # A date after next year is no update that happened ("9999-12-31" must not win as newest).
    return (parsed - _EPOCH).days if parsed.year <= date.today().year + 1 else -1


class IndexRows:
    """Index rows being gathered: NCT numbers, dates and digests as flat arrays."""

    def __init__(self) -> None:
        self.numbers = array("q")
        self.updated = array("i")
        self.digests = bytearray()
        self.cell: set[int] = set()
        #: Rows named by parsing, not by the bytes: they may repeat a study named elsewhere.
        self.parsed_rows = 0

    def __len__(self) -> int:
        return len(self.numbers)

    def add(self, number: int, updated: int, checksum: bytes, parsed: bool = False) -> None:
        self.numbers.append(number)
        self.updated.append(updated)
        self.digests += checksum
        self.parsed_rows += parsed

    def digest_at(self, at: int) -> bytes:
        return bytes(self.digests[32 * at : 32 * at + 32])

    def replace(self, at: int, updated: int, checksum: bytes) -> None:
        """Another copy of the study at `at` wins (a conflicting copy with a newer update)."""
        self.updated[at] = updated
        self.digests[32 * at : 32 * at + 32] = checksum

    def mark_cell_therapy(self, nct_ids: Iterable[str]) -> None:
        self.cell.update(int(n[3:]) for n in nct_ids)

    def frame(self, run_id: str, classifier_version: str) -> pl.DataFrame:
        """The rows as a `registry_studies` frame."""
        numbers = pl.Series("n", self.numbers, dtype=pl.Int64)
        checksums = [bytes(self.digests[i : i + 32]).hex() for i in range(0, len(self.digests), 32)]
        frame = pl.DataFrame(
            {
                "n": numbers,
                "last_update_posted_date": pl.Series(self.updated, dtype=pl.Int32),
                "record_sha256": pl.Series(checksums, dtype=pl.String),
            }
        ).select(
            (pl.lit("NCT") + pl.col("n").cast(pl.String).str.zfill(8)).alias("nct_id"),
            pl.when(pl.col("last_update_posted_date") >= 0)
            .then(pl.col("last_update_posted_date"))
            .cast(pl.Date)
            .alias("last_update_posted_date"),
            "record_sha256",
            pl.col("n").is_in(pl.Series(list(self.cell), dtype=pl.Int64).implode()).alias("is_cell_therapy"),
            pl.lit(classifier_version).alias("classifier_version"),
            pl.lit(run_id).alias("run_id"),
        )
        if self.parsed_rows:
            # A study named by parsing may also be named by the bytes of another copy: one row
            # per study, the newer copy's (the later one on a tie), as everywhere else.
            frame = (
                frame.with_row_index("_at")
                .sort(["nct_id", pl.col("last_update_posted_date").fill_null(pl.date(1, 1, 1)), "_at"])
                .unique("nct_id", keep="last", maintain_order=True)
                .drop("_at")
            )
        return frame.select(list(polars_schema(RegistryStudies)))
