"""Which raw bulk records can be cell therapy, decided on their bytes before any JSON parsing.

A registry zip is ~99% other studies. The classifier only ever finds a modality in a study whose
scanned text (titles, summaries, interventions, arm groups, keywords, intervention MeSH) matches
its prefilter anchors (`modality_rules.PREFILTER_ANCHORS` plus the `names_list` rules), so a
record whose bytes show none of those anchors in those fields is counted and skipped unparsed.
The searches' terms and the product dictionary are added to the same vocabulary, so nothing the
nightly pull would fetch, or a product the dictionary names, is ever skipped.

Why this is safe on raw JSON (the recall test in tests/test_bulk.py checks it on the corpus):
- only the values of the scanned keys are searched (regions below), but every such value is
  inside a region, so what the classifier reads is a subset of what is searched here;
- a region the patterns do not understand (a key whose value is not the expected shape) makes
  the record a candidate instead of being skipped, and so does a record without a readable nctId
  or that is not UTF-8 (parsing then quarantines it as it always did);
- JSON escapes: a decoded newline is `\\n` in the bytes, so `\\s` also accepts `\\n \\t \\r \\f`
  and a word boundary also accepts a preceding escape (`\\nT cells`, `\\u00e9T`).

The patterns run in Polars (Rust `regex`, a lazy DFA): Python's `re` ran the same vocabulary at
2-10 MB/s on these records, far too slow for a 10 GB registry.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable

import polars as pl

from trialtrends.data import modality_rules as R
from trialtrends.extract.searches import QUERIES

log = logging.getLogger(__name__)

#: The product dictionary (optional: the prefilter uses it when the package ships it).
PRODUCTS_FILE = "products.csv"
_PRODUCT_COLUMNS = ("name", "inn", "brand_names", "aliases")

# JSON whitespace between tokens, and inside a string the escapes of decoded whitespace.
_WS = r"[\t\n\r ]*"
_ESCAPED_SPACE = r"(?:[\t\n\f\r ]|\\[nrtf])"
# A word boundary in the decoded text may sit right after an escape in the bytes.
_ESCAPED_BOUNDARY = r"(?:(?-u:\b)|\\[nrtbf]|\\u[0-9A-Fa-f]{4})"
# A JSON string, unrolled ("[^"\\]*" runs between escapes): the DFA's fastest form.
_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'
_STRINGS = rf"\[{_WS}(?:{_STRING}{_WS},?{_WS})*\]"
# A flat object (string, number or string-list values), allowed one level of nesting.
_FLAT = rf'\{{(?:[^{{}}"]|{_STRING}|\{{(?:[^{{}}"]|{_STRING})*\}})*\}}'

#: Where every field the classifier scans lives (study_text.text_row reads these keys), and the
#: shape of the value the region pattern accepts.
_TEXT = _STRING
_ITEMS = rf"\[{_WS}(?:{_FLAT}{_WS},?{_WS})*\]"
_MESH = rf'\{{(?:[^"{{}}]|{_STRING}|{_FLAT})*?(?:"meshes"{_WS}:{_WS}{_ITEMS}|\}})'
REGION_SHAPES: dict[str, str] = {
    "briefTitle": _TEXT,
    "officialTitle": _TEXT,
    "acronym": _TEXT,
    "briefSummary": _TEXT,
    "detailedDescription": _TEXT,
    "keywords": _STRINGS,
    # Arrays of flat objects: intervention name/otherNames/description, arm label/description.
    "interventions": _ITEMS,
    "armGroups": _ITEMS,
    # An object of arrays of flat objects: up to the end of its meshes (the intervention MeSH
    # column is their terms; the ancestors and browse leaves after them are not read), or
    # the whole object when it has no meshes.
    "interventionBrowseModule": _MESH,
}
NCT_ID = rf'"nctId"{_WS}:{_WS}"NCT([0-9]{{8}})"'
NCT_KEY = rf'"nctId"{_WS}:'
# The record's lastUpdatePostDateStruct.date (registry mode's index), as yyyy-MM-dd or yyyy-MM.
LAST_UPDATE = (
    rf'"lastUpdatePostDateStruct"{_WS}:{_WS}\{{[^{{}}]*?"date"{_WS}:{_WS}'
    r'"([0-9]{4}-[0-9]{2}(?:-[0-9]{2})?)"'
)


def _days(column: pl.Expr) -> pl.Expr:
    """A yyyy-MM(-dd) string column as days since 1970-01-01 (a month counts from its first);
    null for a date after next year, which no real update has (it must not win as newest)."""
    text = pl.when(column.str.len_chars() == 7).then(column + "-01").otherwise(column)
    parsed = text.str.to_date("%Y-%m-%d", strict=False)
    return pl.when(parsed.dt.year() <= date.today().year + 1).then(parsed).cast(pl.Int32)


@lru_cache(maxsize=1)
def regions_pattern() -> str:
    """Every region in one pass: keys grouped by the shape of their value.

    The pattern starts with the key names, not with the quote every JSON string starts with,
    so the engine's literal prefilter finds the keys: with the quote first the alternation ran
    5-10x slower than one pass per key; this way one pass is 2x faster than the eight. A longer
    key ending in one of the names also matches, which only widens what is searched. A region
    nested in another (none is, in a study record) is searched as part of the outer one; a key
    whose value is not of the expected shape is matched bare (`key":`), and then the record is
    parsed rather than guessed at.
    """
    shapes: dict[str, list[str]] = {}
    for key, shape in REGION_SHAPES.items():
        shapes.setdefault(shape, []).append(key)
    return "|".join(f'(?:{"|".join(keys)})"{_WS}:{_WS}(?:{shape})?' for shape, keys in shapes.items())


# Regions are joined with NUL, which no pattern can match across.
_JOIN = "\x00"

_META = set("\\.+*?()|[]{}^$#&-~")


def _escape(text: str) -> str:
    return "".join("\\" + c if c in _META else c for c in text)


def _for_bytes(pattern: str) -> str:
    """A classifier pattern (Rust syntax) rewritten for raw JSON text: ASCII classes as the
    classifier compiles them, and escape-aware `\\s` and `\\b` outside character classes."""
    out: list[str] = []
    in_class = False
    opened = 0  # len(out) just after the class's "["
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            pair = pattern[i : i + 2]
            i += 2
            if pair == "\\b" and not in_class:
                out.append(_ESCAPED_BOUNDARY)
            elif pair == "\\s":
                out.append(r"\t\n\f\r " if in_class else _ESCAPED_SPACE)
            elif pair == "\\w":
                out.append("0-9A-Za-z_" if in_class else "[0-9A-Za-z_]")
            elif pair == "\\d":
                out.append("0-9" if in_class else "[0-9]")
            elif pair == "\\W" and not in_class:
                out.append("[^0-9A-Za-z_]")
            else:
                out.append(pair)
            continue
        if c == "[" and not in_class:
            in_class, opened = True, len(out) + 1
        elif c == "]" and in_class and len(out) > opened and out[opened:] != ["^"]:
            in_class = False
        out.append(c)
        i += 1
    return "".join(out)


def _term_pattern(term: str) -> str:
    """A literal name or phrase: hyphens and spaces interchangeable, whole words at the ends."""
    words = [w for w in term.replace("-", " ").split() if w]
    body = "[- ]?".join(_escape(w) for w in words)
    left = _ESCAPED_BOUNDARY if words[0][0].isalnum() else ""
    right = "(?-u:\\b)" if words[-1][-1].isalnum() else ""
    return left + body + right


def search_terms() -> list[str]:
    """Every term of the night's searches (the OR-ed phrases of extract.searches.QUERIES)."""
    terms = []
    for query in QUERIES:
        for part in query.term.split(" OR "):
            part = part.strip().strip('"').strip()
            if part:
                terms.append(part)
    return terms


def product_names(source: Traversable | None = None) -> list[str]:
    """Names, INNs, brand names and aliases of the product dictionary, when it is shipped."""
    source = source or resources.files("trialtrends.data").joinpath(PRODUCTS_FILE)
    if not source.is_file():
        return []
    names: list[str] = []
    with source.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            for column in _PRODUCT_COLUMNS:
                names.extend(v.strip() for v in (row.get(column) or "").split("|") if v.strip())
    return names


def classifier_anchors() -> list[str]:
    """The classifier's own prefilter: its anchors and the product-name rules, verbatim."""
    return [R.PREFILTER_ANCHORS.pattern, *(r.pattern for r in R.RULES if r.names_list)]


@dataclass(frozen=True)
class Vocabulary:
    """The recall vocabulary as case-insensitive patterns over the scanned regions: the
    classifier's anchors, and the literal names and phrases (searches, product dictionary)."""

    classifier: str
    terms: str
    literals: tuple[str, ...]

    @property
    def pattern(self) -> str:
        """Both as one pattern (what `scan` matches, in two passes for speed)."""
        return f"(?:{self.classifier})|(?:{self.terms})" if self.terms else self.classifier


def _union(parts: list[str]) -> str:
    return "(?i)" + "|".join(f"(?:{p})" for p in parts)


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The recall vocabulary, built once per process from its three sources."""
    literals = tuple(sorted({t for t in (*search_terms(), *product_names()) if any(c.isalnum() for c in t)}))
    return Vocabulary(
        classifier=_union([_for_bytes(p) for p in classifier_anchors()]),
        terms=_union([_term_pattern(t) for t in literals]) if literals else "",
        literals=literals,
    )


@dataclass(frozen=True)
class Scan:
    """Per record: whether it must be parsed, its nctId number (None when not readable) and
    its lastUpdatePostDate as days since 1970-01-01 (None when not readable), for the index."""

    candidate: list[bool]
    nct_number: list[int | None]
    updated: list[int | None] | None = None


def _utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


def scan(raw: list[bytes], prefilter: bool = True, updated: bool = False) -> Scan:
    """Decide, on the bytes of a batch of records, which need parsing (without parsing any);
    with `updated`, read each one's last update date too (registry mode's index)."""
    if not raw:
        return Scan([], [], [] if updated else None)
    try:
        text = pl.Series("raw", raw, dtype=pl.Binary).cast(pl.String)
    except pl.exceptions.ComputeError:
        # Not UTF-8 somewhere (rare): those records are read as empty, hence parsed.
        text = pl.Series("raw", [r if _utf8(r) else b"" for r in raw], dtype=pl.Binary).cast(pl.String)
    frame = pl.DataFrame({"raw": text})
    # The bytes name a study only when they hold exactly one nctId key: a record showing another
    # study's id before its own (an extra key, a repeated key) is parsed instead, so that its
    # bytes can never make the genuine study look like a repeat (the parsed id decides).
    single = pl.col("raw").str.count_matches(NCT_KEY) == 1
    nct = pl.when(single).then(pl.col("raw").str.extract(NCT_ID, 1).cast(pl.Int64, strict=False))
    dates = None
    if updated:
        dates = frame.select(_days(pl.col("raw").str.extract(LAST_UPDATE, 1)))[:, 0].to_list()
    if not prefilter:
        out = frame.select(nct.alias("nct"), pl.lit(True).alias("candidate"))
        return Scan(out["candidate"].to_list(), out["nct"].to_list(), dates)
    regions = pl.col("raw").str.extract_all(regions_pattern()).list.join(_JOIN)
    found = frame.select(nct.alias("nct"), regions.alias("regions"))
    joined = pl.col("regions")
    vocab = vocabulary()
    out = found.select(
        "nct",
        (
            pl.col("nct").is_null()
            | joined.str.contains(f":{_WS}(?:{_JOIN}|$)")
            # Two passes: their union in one pattern made the DFA several times slower.
            | joined.str.contains(vocab.classifier)
            | (joined.str.contains(vocab.terms) if vocab.terms else pl.lit(False))
        )
        .fill_null(True)
        .alias("candidate"),
    )
    return Scan(out["candidate"].to_list(), out["nct"].to_list(), dates)
