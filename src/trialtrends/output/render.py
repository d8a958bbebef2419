"""Plain-text rendering of result rows: aligned table, markdown, CSV, JSON (stdlib only)."""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from trialtrends.words import plural  # noqa: F401 - the report's modules import it from here


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1 else f"{value:,.1f}"
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value)
    return str(value)


def iso_duration(value: timedelta) -> str:
    """A timedelta (DuckDB returns INTERVAL as one) as an ISO 8601 duration: P1DT2H3M4.5S."""
    sign = "-" if value < timedelta(0) else ""
    value = abs(value)
    days, seconds, micros = value.days, value.seconds, value.microseconds
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    time_part = ""
    if hours:
        time_part += f"{hours}H"
    if minutes:
        time_part += f"{minutes}M"
    if secs or micros:
        time_part += f"{secs}.{micros:06d}".rstrip("0").rstrip(".") + "S"
    if not days and not time_part:
        return "PT0S"
    return f"{sign}P" + (f"{days}D" if days else "") + (f"T{time_part}" if time_part else "")


def jsonable(value: Any) -> Any:
    """A query result value as plain JSON data.

    NaN and ±Infinity become null (JSON has no such numbers), blobs base64 text, intervals ISO
    8601 durations, dates, times and timestamps ISO 8601 text, Decimals numbers (integral ones
    as integers), UUIDs text; lists, structs and maps recursively.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return iso_duration(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {k if isinstance(k, str) else json.dumps(jsonable(k)): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return str(value)


def json_default(value: Any) -> Any:
    """`default=` for json.dumps (values json cannot encode itself; see `jsonable`)."""
    return jsonable(value)


def json_text(value: Any) -> str:
    """Strictly valid JSON text of `value` (never NaN or Infinity), indented, with a newline."""
    return json.dumps(jsonable(value), indent=2, allow_nan=False, ensure_ascii=False) + "\n"


# Counts, shares and "n (x%)" cells are right-aligned; blank cells don't decide.
_NUMERIC_TEXT = re.compile(r"^-?[\d.,]+%?( \([\d.]+%\))?$")


def _numeric(value: Any) -> bool:
    if value is None or value == "":
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float | Decimal):
        return True
    return isinstance(value, str) and bool(_NUMERIC_TEXT.match(value))


# A numeric cell in parts: integer part, decimals, '%', then an optional " (share%)" in the same
# two parts. "1,234.5" -> ("1,234", ".5", "", None, None); "12 (4.5%)" -> ("12", "", "", "4", ".5").
_NUMBER_PARTS = re.compile(r"^(-?[\d,]*)(\.\d+)?(%?)(?: \((\d+)(\.\d+)?%\))?$")


def _decimal_aligned(cells: list[str]) -> list[str]:
    """A numeric column's cells padded so integer parts end, and decimal points sit, in one
    place; a " (x.y%)" share is aligned the same way after its count. Same width for every cell."""
    parts = [_NUMBER_PARTS.match(c) for c in cells]
    if not all(parts):  # not one of the shapes above: plain right alignment
        width = max(map(len, cells), default=0)
        return [c.rjust(width) for c in cells]
    groups = [m.groups() for m in parts if m]  # type: ignore[union-attr]
    widths = [max((len(g[i] or "") for g in groups), default=0) for i in range(5)]
    shared = any(g[3] is not None for g in groups)
    out = []
    for (whole, frac, pct, s_whole, s_frac), cell in zip(groups, cells, strict=True):
        if not cell:
            out.append("")
            continue
        text = (whole or "").rjust(widths[0]) + (frac or "").ljust(widths[1]) + (pct or "").ljust(widths[2])
        if shared:
            # The padding goes before the "(" so it reads "3  (1.5%)", not "3 ( 1.5%)".
            opening = ("(" + s_whole).rjust(widths[3] + 1) if s_whole else ""
            share = f" {opening}{(s_frac or '').ljust(widths[4])}%)" if s_whole else ""
            text += share.ljust(widths[3] + widths[4] + 4)
        out.append(text)
    width = max(map(len, out), default=0)
    return [c.ljust(width) for c in out]


def text_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], markdown: bool = False) -> str:
    """Aligned columns: numbers right-aligned on their decimal point; GitHub markdown when asked."""
    cells = [[_cell(v) for v in row] for row in rows]
    numeric = [bool(rows) and all(_numeric(row[i]) for row in rows) for i in range(len(columns))]
    for i, num in enumerate(numeric):
        if num:
            for row, aligned in zip(cells, _decimal_aligned([r[i] for r in cells]), strict=True):
                row[i] = aligned
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)]
        return ("| " + " | ".join(parts) + " |") if markdown else "  ".join(parts).rstrip()

    rule = (
        "|"
        + "|".join(
            ("-" * (w + 1) + ":") if num else ("-" * (w + 2)) for w, num in zip(widths, numeric, strict=True)
        )
        + "|"
        if markdown
        else "  ".join("-" * w for w in widths)
    )
    return "\n".join([line(columns), rule, *(line(r) for r in cells)]) + "\n"


def csv_text(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            ["" if v is None else (";".join(map(str, v)) if isinstance(v, list) else v) for v in row]
        )
    return buffer.getvalue()


def _unique_keys(columns: Sequence[str]) -> list[str]:
    """Column names as object keys; a repeated name (`select 1 as a, 2 as a`) gets _2, _3..."""
    keys: list[str] = []
    for name in columns:
        key, n = name, 1
        while key in keys:
            n += 1
            key = f"{name}_{n}"
        keys.append(key)
    return keys


def render_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str) -> str:
    """Rows in the requested format: table, markdown, csv or json (a list of objects)."""
    if fmt == "csv":
        return csv_text(columns, rows)
    if fmt == "json":
        keys = _unique_keys(columns)
        return json_text([dict(zip(keys, row, strict=True)) for row in rows])
    return text_table(columns, rows, markdown=fmt == "markdown")
