"""Plain-text rendering of result rows: aligned table, markdown, CSV, JSON (stdlib only).

Whatever a query returns is shown, never obeyed: `printable` makes control characters visible
before text reaches a terminal (every text renderer and the log handler use it), and CSV cells
that a spreadsheet would run as a formula are neutralised the way OWASP recommends.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from trialtrends.words import plural  # noqa: F401 - the report's modules import it from here

# What a terminal would obey instead of print: C0 controls (ESC starts colour, cursor and title
# sequences), DEL, C1 controls (U+009B is an 8-bit CSI), the bidi overrides and isolates (they
# reorder the text after them) and lone surrogates (an encoder raises on them).
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_UNPRINTABLE_IN_LINE = re.compile("[\t\n]|" + _UNPRINTABLE.pattern)


_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, one_line: bool = False) -> str:
    """`text` with every control character shown as an escape (`\\x1b`, `\\u202e`), so a
    terminal prints it instead of obeying it; tabs and newlines stay unless `one_line`."""
    return (_UNPRINTABLE_IN_LINE if one_line else _UNPRINTABLE).sub(_escape, text)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1 else f"{value:,.1f}"
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value)
    return printable(str(value), one_line=True)


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


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def json_text(value: Any, indent: int | None = 2) -> str:
    """Strictly valid JSON text of `value` (never NaN or Infinity), indented, with a newline.

    json escapes C0 controls itself; DEL, C1, bidi controls and lone surrogates get \\u escapes
    too, so the text is safe on a terminal and still the same JSON.
    """
    text = json.dumps(jsonable(value), indent=indent, allow_nan=False, ensure_ascii=False)
    return _UNPRINTABLE.sub(_json_escape, text) + "\n"


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
    columns = [printable(c, one_line=True) for c in columns]
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


# OWASP "CSV Injection": a cell starting with = + - @ (or tab / carriage return, which some
# spreadsheets skip before looking) is run as a formula (=HYPERLINK(...) leaks data on a click).
_FORMULA_START = frozenset("=+-@\t\r")
_NUMBER = re.compile(r"^[+-]?(\d[\d,]*\.?\d*|\.\d+)([eE][+-]?\d+)?%?$")


def neutralise_formula(text: str) -> str:
    """A spreadsheet cell's text that cannot run as a formula: a leading single quote when it
    starts like one (OWASP), except a signed number such as `-5` or `+1.5e3`, left as it is."""
    if text and text[0] in _FORMULA_START and not _NUMBER.match(text):
        return "'" + text
    return text


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list):
        value = ";".join(map(str, value))
    if isinstance(value, str):
        return neutralise_formula(printable(value))
    return value


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, header: bool = True) -> str:
    """CSV rows (with a header line unless told not to); cells neutralised for spreadsheets."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow([_csv_cell(c) for c in columns])
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
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


def write_rows(
    columns: Sequence[str],
    batches: Iterable[Sequence[Sequence[Any]]],
    fmt: str,
    write: Callable[[str], object],
    max_rows: int | None = None,
) -> int:
    """Write rows batch by batch in the requested format; return how many were not shown.

    csv and json are written as the batches come (memory stays flat whatever the row count); a
    table needs every shown row for its column widths, so it keeps at most `max_rows` and only
    counts the rest.
    """
    if fmt == "csv":
        write(csv_text(columns, []))
        for batch in batches:
            write(csv_text(columns, batch, header=False))
        return 0
    if fmt == "json":
        keys = _unique_keys(columns)
        first = True
        for batch in batches:
            for row in batch:
                # Each object as json_text indents it inside a list: two more spaces per line.
                text = json_text(dict(zip(keys, row, strict=True))).rstrip("\n").replace("\n", "\n  ")
                write(("[\n  " if first else ",\n  ") + text)
                first = False
        write("[]\n" if first else "\n]\n")
        return 0
    shown: list[Sequence[Any]] = []
    hidden = 0
    for batch in batches:
        room = len(batch) if max_rows is None else max(max_rows - len(shown), 0)
        shown.extend(batch[:room])
        hidden += len(batch) - min(room, len(batch))
    write(text_table(columns, shown, markdown=fmt == "markdown"))
    return hidden


def render_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str) -> str:
    """Rows in the requested format: table, markdown, csv or json (a list of objects)."""
    if fmt == "csv":
        return csv_text(columns, rows)
    if fmt == "json":
        keys = _unique_keys(columns)
        return json_text([dict(zip(keys, row, strict=True)) for row in rows])
    return text_table(columns, rows, markdown=fmt == "markdown")
