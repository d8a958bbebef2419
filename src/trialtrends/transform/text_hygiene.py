"""Text hygiene: registry free text made clean and bounded before it enters the tables (pure).

Registry text is typed by thousands of people and passes through many systems, so a record can
carry control characters (a NUL, a bell, a whole ANSI colour sequence), zero-width characters,
lone UTF-16 surrogates or decomposed accents. Each of them either breaks something downstream
(a country that no longer matches, a terminal that obeys an escape, a UTF-8 encoder that raises)
or makes equal strings compare unequal. Every free-text value therefore gets, in this order:

1. lone surrogates replaced with U+FFFD (in Python, before a frame exists: Polars, like any
   UTF-8 encoder, refuses them; a valid surrogate pair is joined into its character);
2. ANSI escape sequences (CSI, OSC; 7-bit and 8-bit forms) removed whole, so `ESC[31mFrance`
   leaves `France`, not `[31mFrance`;
3. line breaks and tabs: kept in long text (summaries, descriptions; CRLF becomes LF), turned
   into a space elsewhere (a title on two lines stays two words);
4. every other C0/C1 control character and DEL removed, and the zero-width characters U+200B,
   U+200C, U+200D, U+2060 and U+FEFF;
5. Unicode NFC, then leading and trailing whitespace stripped; an empty result is null;
6. the length capped by the column's kind (CAPS, below): a capped value ends with "…" so it never
   passes for the whole text; lists (conditions, keywords, other names) are also capped in length.

Steps 2-6 are vectorised Polars expressions. What was cleaned and capped is counted per
`table.column` in a `HygieneCounts` (`Tables.hygiene`), for the run's data-quality summary.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from trialtrends.schemas.registry import MAX_TITLE

ELLIPSIS = "…"


@dataclass(frozen=True)
class Kind:
    """How one kind of free-text column is cleaned and capped."""

    name: str
    cap: int  # characters per value (per item for a list)
    multiline: bool = False  # keep tab and newline (long text only)
    max_items: int | None = None  # items per list (per trial and kind for conditions/keywords)


# The caps sit well above the registry's own entry limits (PRS: brief title 300 characters,
# official title 600, brief summary 5,000, detailed description 32,000, intervention description
# 1,000), so a genuine record is never cut; they exist to bound what a malformed or hostile
# record can put into the warehouse, a terminal or the classifier's regexes.
TITLE = Kind("title", MAX_TITLE)  # the Trials schema's own limit: capping beats quarantining
NAME = Kind("name", 500)  # sponsor, facility, intervention name
SHORT = Kind("short", 200)  # acronym, city, state, zip, country, site status
TERM = Kind("term", 500, max_items=200)  # a condition, keyword or other name; items per list
LONG = Kind("long", 40_000, multiline=True)  # summaries, descriptions, classifier text
CAPS: dict[str, Kind] = {k.name: k for k in (TITLE, NAME, SHORT, TERM, LONG)}

# ESC or the 8-bit CSI (U+009B) starting a CSI sequence; ESC ] or U+009D starting an OSC one
# (ended by BEL, ESC \ or ST; an unterminated one loses only its ESC, not the text after it);
# any other ESC + one character (charset selection and the like).
_ANSI = (
    r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]"
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[\x20-\x7e]?"
)
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
# Controls that are removed outright: C0 except tab/LF/VT/FF/CR, DEL, C1 except NEL.
_CONTROLS = r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f" + _ZERO_WIDTH + "]"
# Line and tab characters (LF, CR, VT, FF, NEL, LINE/PARAGRAPH SEPARATOR and tab).
_BREAKS = r"[\t\n\x0b\x0c\r\x85\u2028\u2029]"


def fix_surrogates(text: str) -> str:
    """`text` with valid surrogate pairs joined and lone surrogates replaced by U+FFFD."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def safe_values(values: Any) -> tuple[list[Any], int]:
    """Python values with every string's surrogates fixed, and how many strings changed.

    Only called when a frame constructor refused the values (rare): the common path pays nothing.
    """
    fixed, changed = [], 0
    for value in values:
        if isinstance(value, str):
            repaired = fix_surrogates(value)
            changed += repaired != value
            value = repaired
        elif isinstance(value, list):
            repaired_list = [fix_surrogates(v) if isinstance(v, str) else v for v in value]
            changed += repaired_list != value
            value = repaired_list
        elif isinstance(value, dict):
            repaired_dict = {k: fix_surrogates(v) if isinstance(v, str) else v for k, v in value.items()}
            changed += repaired_dict != value
            value = repaired_dict
        fixed.append(value)
    return fixed, changed


def clean_expr(expr: pl.Expr, kind: Kind) -> pl.Expr:
    """Steps 2-5 (no cap) as one expression: controls, breaks, zero-width, NFC, strip, empty -> null."""
    text = expr.str.replace_all(_ANSI, "")
    if kind.multiline:
        text = text.str.replace_all(r"\r\n?|[\x0b\x0c\x85\u2028\u2029]", "\n")
    else:
        text = text.str.replace_all(_BREAKS + "+", " ")
    text = text.str.replace_all(_CONTROLS, "").str.normalize("NFC").str.strip_chars()
    return pl.when(text.str.len_chars() > 0).then(text)


# Only a value with a character outside printable ASCII (tab and newline allowed in long text)
# can need steps 2-4; the rest, nearly all registry text, needs only the strip. Finding the few
# suspects is one fast scan; the regex passes and NFC then run on those rows alone (measured:
# bench/bench_normalize.py was 2-4x slower with every pass over every summary).
_SUSPECT = r"[^\x20-\x7e]"
_SUSPECT_LONG = r"[^\x20-\x7e\t\n]"


def _strip_to_null(expr: pl.Expr) -> pl.Expr:
    text = expr.str.strip_chars()
    return pl.when(text.str.len_chars() > 0).then(text)


def clean_series(series: pl.Series, kind: Kind) -> pl.Series:
    """`clean_expr` over a string column, run on the suspect values only (same result)."""
    rows = series.str.contains(_SUSPECT_LONG if kind.multiline else _SUSPECT).arg_true()
    if rows.len():
        fixed = pl.select(clean_expr(pl.lit(series.gather(rows)), kind)).to_series()
        series = series.clone().scatter(rows, fixed)
    return pl.select(_strip_to_null(pl.lit(series))).to_series().alias(series.name)


def cap_expr(expr: pl.Expr, cap: int) -> pl.Expr:
    """At most `cap` characters; a cut value ends with an ellipsis."""
    return pl.when(expr.str.len_chars() > cap).then(expr.str.slice(0, cap - 1) + ELLIPSIS).otherwise(expr)


@dataclass
class HygieneCounts:
    """Values changed by cleaning and values (or list items) cut by the caps, per table.column.

    A value counts once per step that changed it: surrogate repair (rare) and steps 2-5.
    """

    cleaned: Counter[str] = field(default_factory=Counter)
    capped: Counter[str] = field(default_factory=Counter)

    def __add__(self, other: HygieneCounts) -> HygieneCounts:
        return HygieneCounts(self.cleaned + other.cleaned, self.capped + other.capped)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the counts (non-zero, sorted) and the caps they were cut to."""
        return {
            "cleaned": dict(sorted((k, v) for k, v in self.cleaned.items() if v)),
            "capped": dict(sorted((k, v) for k, v in self.capped.items() if v)),
            "caps": {k.name: {"chars": k.cap, "items": k.max_items} for k in CAPS.values()},
        }


_TMP = "__hygiene_"


def clean_frame(
    frame: pl.DataFrame, table: str, columns: dict[str, Kind], counts: HygieneCounts
) -> pl.DataFrame:
    """`frame` with each listed string (or list-of-string) column cleaned and capped; counts added.

    A value counts as cleaned when steps 2-5 changed it, as capped when it was cut; a list counts
    each item cut and each item dropped beyond the list cap.
    """
    present = {c: k for c, k in columns.items() if c in frame.columns}
    if not present or frame.height == 0:
        return frame
    staged, tallies, finals = [], [], []
    for col, kind in present.items():
        tmp = f"{_TMP}{col}"
        if isinstance(frame.schema[col], pl.List):
            clean = pl.col(col).list.eval(clean_expr(pl.element(), kind)).list.drop_nulls()
            staged.append(clean.alias(tmp))
            changed = pl.col(col).list.len() != pl.col(tmp).list.len()
            changed = changed | (pl.col(col).list.join("\x00") != pl.col(tmp).list.join("\x00"))
            long = pl.col(tmp).list.eval(pl.element().str.len_chars() > kind.cap).list.sum()
            # list.len() is unsigned: subtract in Int64, or a short list wraps around.
            over = (pl.col(tmp).list.len().cast(pl.Int64) - (kind.max_items or 1 << 62)).clip(lower_bound=0)
            tallies += [changed.sum().alias(f"cleaned:{col}"), (long + over).sum().alias(f"capped:{col}")]
            capped = pl.col(tmp).list.eval(cap_expr(pl.element(), kind.cap))
            if kind.max_items:
                capped = capped.list.head(kind.max_items)
            finals.append(capped.alias(col))
        else:
            staged.append(clean_series(frame[col], kind).alias(tmp))
            changed = pl.col(col).ne_missing(pl.col(tmp))
            tallies += [
                changed.sum().alias(f"cleaned:{col}"),
                (pl.col(tmp).str.len_chars() > kind.cap).sum().alias(f"capped:{col}"),
            ]
            finals.append(cap_expr(pl.col(tmp), kind.cap).alias(col))
    staged_frame = frame.with_columns(staged)
    for name, value in staged_frame.select(tallies).row(0, named=True).items():
        what, col = name.split(":", 1)
        getattr(counts, what)[f"{table}.{col}"] += int(value or 0)
    return staged_frame.with_columns(finals).drop([f"{_TMP}{c}" for c in present])


def cap_items(
    frame: pl.DataFrame, table: str, column: str, group: list[str], kind: Kind, counts: HygieneCounts
) -> pl.DataFrame:
    """At most `kind.max_items` rows per group (a trial's conditions, say), in their order."""
    if kind.max_items is None or frame.height == 0:
        return frame
    keep = pl.int_range(pl.len()).over(group) < kind.max_items
    dropped = frame.height - frame.select(keep.sum()).item()
    counts.capped[f"{table}.{column}"] += dropped
    return frame.filter(keep) if dropped else frame
