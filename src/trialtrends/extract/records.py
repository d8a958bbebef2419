"""One raw study record as the API or a bulk file gives it: parse it, read its nctId.

Pure helpers, no I/O: every later stage (landing, bulk reading, normalising) shares them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True)
class Malformed:
    """A record that could not even be parsed; normalisation quarantines it."""

    where: str
    reason: str
    text: str


def parse_record(data: bytes, where: str) -> Any:
    """One record's JSON, or Malformed (quarantined later) when it does not parse."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return Malformed(where, f"invalid JSON in {where}: {exc}", data[:200_000].decode("utf-8", "replace"))


_NCT = re.compile(r"^NCT\d{8}$")


def nct_id_of(study: Any) -> str | None:
    """The record's nctId when it has a well-formed one (NCT + 8 digits), else None."""
    try:
        value = study["protocolSection"]["identificationModule"]["nctId"]
    except (KeyError, TypeError):
        return None
    return value if isinstance(value, str) and _NCT.match(value) else None
