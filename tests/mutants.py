"""Malformed study records for the poison and fuzz tests (issue 20): how to write them as bytes
the way a hostile or broken registry would send them, serve them from the suite's fake API,
land them as a bulk file, and read back what a run published.

Some malformations cannot be Python values that `json.dumps` writes (a value nested 2,000 deep
hits the encoder's recursion limit; invalid UTF-8 is not a str at all), so a record carries a
marker string (`deep(2000)`, `BAD_UTF8`) that `encode` swaps for the raw bytes afterwards.
"""

from __future__ import annotations

import copy
import gzip
import json
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import fakeapi
from fakeapi import FakeCtgov

from trialtrends.extract.records import canonical_nct_id

_MARK = "@@trialtrends-fuzz:"
BAD_UTF8 = f"{_MARK}bad-utf8@@"
_RAW = {BAD_UTF8.encode(): b'"CAR-T \xff\xfe\xc3( cells"'}


def deep(levels: int) -> str:
    """A marker that `encode` replaces by a list nested `levels` deep (written as raw bytes)."""
    marker = f"{_MARK}deep-{levels}@@"
    _RAW[marker.encode()] = b"[" * levels + b"1" + b"]" * levels
    return marker


def encode(record: Any) -> bytes:
    """The record as one line of compact JSON bytes, markers replaced by their raw bytes.

    Text stays UTF-8 as the API sends it; a record holding a lone surrogate is written with
    `\\ud800` escapes (the only way valid JSON can carry one).
    """
    try:
        data = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:
        data = json.dumps(record, ensure_ascii=True, separators=(",", ":")).encode()
    if _MARK.encode() in data:
        for marker, raw in _RAW.items():
            data = data.replace(b'"' + marker + b'"', raw)
    return data


def nct(record: dict) -> str:
    return record["protocolSection"]["identificationModule"]["nctId"]


def with_id(record: dict, value: Any) -> dict:
    """A copy of `record` whose nctId is `value` (anything, not only a string)."""
    out = copy.deepcopy(record)
    out["protocolSection"]["identificationModule"]["nctId"] = value
    return out


def set_path(record: dict, path: Sequence[str | int], value: Any) -> dict:
    """A copy of `record` with the value at `path` replaced (keys and list positions)."""
    out = copy.deepcopy(record)
    node: Any = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def delete_path(record: dict, path: Sequence[str | int]) -> dict:
    out = copy.deepcopy(record)
    node: Any = out
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return out


# ---- serving and landing ------------------------------------------------------------------------


class _Served(fakeapi._Dataset):
    """A fake API generation whose studies are served as given bytes.

    The fake indexes, searches and pages a *carrier* dict (the unmutated record, so a mutant is
    returned exactly when its real record would be) but sends the mutant's bytes: the fake cannot
    itself encode a lone surrogate, invalid UTF-8 or a value nested 2,000 deep. It fills the
    fake's per-study encoding cache, so no method of the fake is replaced.
    """

    def __init__(self, served: Sequence[tuple[dict, bytes]], data_timestamp: str) -> None:
        super().__init__([carrier for carrier, _ in served], 0, data_timestamp)
        body = {id(carrier): data for carrier, data in served}
        self._encoded = [body[id(study)] for study in self.studies]


def serving(served: Sequence[tuple[dict, bytes]]) -> FakeCtgov:
    """A (not yet started) fake API serving (carrier, bytes) pairs; a carrier must be a distinct
    dict object per entry (copy it to serve two bodies under one record)."""
    fake = FakeCtgov()
    fake._data = _Served(served, fake.data_timestamp)
    return fake


def write_jsonl_gz(path: Path, bodies: Iterable[bytes]) -> Path:
    with gzip.open(path, "wb") as fh:
        for body in bodies:
            fh.write(body + b"\n")
    return path


def write_zip(path: Path, bodies: Iterable[bytes]) -> Path:
    """A registry-like zip: one entry per record (unique names: twins share an nctId)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for i, body in enumerate(bodies):
            archive.writestr(f"studies/{i:05d}.json", body)
    return path


# ---- what a run published -----------------------------------------------------------------------

# A study's published content: its rows in these tables, without run-specific columns.
CONTENT_TABLES = ("trials", "trial_sponsors", "trial_sites", "trial_conditions", "trial_interventions",
                  "trial_flags")  # fmt: skip


class Published:
    """The published warehouse's studies, read once: content per nctId, and the quarantine."""

    def __init__(self, warehouse: Path) -> None:
        self.content: dict[str, list[tuple]] = {}
        with duckdb.connect(str(warehouse), read_only=True) as con:
            for table in CONTENT_TABLES:
                columns = [
                    name
                    for (name,) in con.execute(
                        "select column_name from information_schema.columns where table_name = ? "
                        "order by ordinal_position",
                        [table],
                    ).fetchall()
                    if "run" not in name
                ]
                select = ", ".join(f'"{c}"' for c in columns)
                for row in con.execute(f"select {select} from {table} order by all").fetchall():
                    self.content.setdefault(row[columns.index("nct_id")], []).append((table, *map(repr, row)))
            self.titles: dict[str, str] = dict(
                con.execute("select nct_id, brief_title from trials").fetchall()
            )
            self.trials = set(self.titles)
            self.rejected: list[tuple[str | None, str, str]] = con.execute(
                "select nct_id, reason, payload from rejected_studies"
            ).fetchall()

    def quarantined(self, nct_id: str) -> list[str]:
        """The reasons `nct_id` was quarantined with (empty when it was not)."""
        return [reason for rid, reason, _payload in self.rejected if rid == nct_id]

    def fate(self, nct_id: str) -> str:
        if nct_id in self.trials:
            return "published"
        return "quarantined" if self.quarantined(nct_id) else "absent"


def is_canonical(record: Any) -> bool:
    try:
        return canonical_nct_id(record["protocolSection"]["identificationModule"]["nctId"]) is not None
    except (KeyError, TypeError, IndexError):
        return False
