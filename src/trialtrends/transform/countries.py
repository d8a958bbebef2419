"""Map ClinicalTrials.gov country strings to ISO 3166-1 alpha-2 codes and one display name.

The registry stores a country *name* per site, and its spellings changed over time ("Korea,
Republic of" -> "South Korea", "Turkey" -> "Turkey (Türkiye)", "Czech Republic" -> "Czechia"; see
API-NOTES "Country strings"). Sources, in order:

- pycountry: name, official_name and common_name of every current ISO 3166-1 country.
- ``data/country_aliases.csv`` (reviewed): the registry's own and historical spellings, and the one
  display name per code (short names analysts expect: "South Korea", "Russia", "Turkey", ...).

Decisions:
- Withdrawn entities the registry still uses ("Former Serbia and Montenegro", "Former Yugoslavia",
  "Netherlands Antilles") keep their ISO 3166-3 alpha-2 codes CS, YU and AN. pycountry's
  historic_countries are NOT loaded wholesale: their alpha-2 codes collide with current ones (BY,
  GE, SK) and CS means both Czechoslovakia and Serbia and Montenegro.
- Kosovo gets the user-assigned XK; a trial without any location gets XX / "Not provided".
- Hong Kong, Macao and Taiwan stay separate from China, as in the registry.
- Matching ignores control and zero-width characters and ANSI escapes (text_hygiene: a
  "Germany\u200b" is Germany), case, accents, repeated whitespace and apostrophe style. Mojibake
  (UTF-8 read as Latin-1/cp1252, e.g. "TÃ¼rkiye") is matched by also keying the mojibake form of every known
  spelling, which equals repairing the raw string with a latin-1 -> utf-8 round trip whenever that
  repair yields a known name, but keeps the frame path a plain join.
"""

from __future__ import annotations

import functools
import logging
from importlib import resources
from typing import TypeVar

import polars as pl
import pycountry

from trialtrends.transform.text_hygiene import SHORT, clean_expr, fix_surrogates

logger = logging.getLogger(__name__)

NOT_PROVIDED_CODE = "XX"
NOT_PROVIDED_NAME = "Not provided"

_ALIAS_FILE = "country_aliases.csv"
_KEY = "__country_key"
_CODE = "__country_code"
_NAME = "__country_name"
# Encodings a UTF-8 string is commonly mis-decoded with before it reaches us.
_MOJIBAKE_ENCODINGS = ("latin-1", "cp1252")

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)


def _key_expr(expr: pl.Expr) -> pl.Expr:
    """Matching key for a country string: clean (no control or zero-width characters),
    accent-free, lowercase, single-spaced."""
    return (
        clean_expr(expr, SHORT)
        .str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.replace_all(r"[’‘`´]", "'")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
        .str.to_lowercase()
    )


def _clean(expr: pl.Expr) -> pl.Expr:
    """The raw string as shown when unmapped: clean, stripped, single-spaced, empty -> null."""
    cleaned = clean_expr(expr, SHORT).str.replace_all(r"\s+", " ").str.strip_chars()
    return pl.when(cleaned.str.len_chars() > 0).then(cleaned)


def _read_aliases() -> pl.DataFrame:
    """The reviewed alias file (country_raw, country_code, kind, note), all strings."""
    source = resources.files("trialtrends.data").joinpath(_ALIAS_FILE)
    with source.open("rb") as handle:
        return pl.read_csv(handle, comment_prefix="#", infer_schema=False)


@functools.cache
def _canonical_names() -> dict[str, str]:
    """One display name per code: the CSV's canonical rows over pycountry's common name."""
    names = {c.alpha_2: getattr(c, "common_name", None) or c.name for c in pycountry.countries}
    canonical = _read_aliases().filter(pl.col("kind") == "canonical")
    names.update(zip(canonical["country_code"], canonical["country_raw"], strict=True))
    return names


@functools.cache
def country_lookup() -> pl.DataFrame:
    """Every known country spelling with its ISO alpha-2 code and canonical name."""
    rows: list[tuple[str, str]] = []
    for country in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            value = getattr(country, attr, None)
            if value:
                rows.append((value, country.alpha_2))
    aliases = _read_aliases()
    rows.extend(zip(aliases["country_raw"], aliases["country_code"], strict=True))
    names = _canonical_names()
    return (
        pl.DataFrame(rows, schema={"country_raw": pl.String, "country_code": pl.String}, orient="row")
        .unique(maintain_order=True)
        .with_columns(country=pl.col("country_code").replace_strict(names, return_dtype=pl.String))
    )


def _mojibake(text: str) -> set[str]:
    """Forms the string takes when its UTF-8 bytes are decoded as Latin-1 or cp1252."""
    forms = set()
    for encoding in _MOJIBAKE_ENCODINGS:
        try:
            forms.add(text.encode("utf-8").decode(encoding))
        except UnicodeDecodeError:  # cp1252 leaves a few bytes undefined
            continue
    forms.discard(text)
    return forms


@functools.cache
def _keyed() -> pl.DataFrame:
    """Join table: matching key -> code and canonical name, one row per key."""
    lookup = country_lookup()
    variants = [(form, code, name) for raw, code, name in lookup.iter_rows() for form in _mojibake(raw)]
    table = pl.concat([lookup, pl.DataFrame(variants, schema=lookup.schema, orient="row")]).select(
        _key_expr(pl.col("country_raw")).alias(_KEY), "country_code", "country"
    )
    table = table.unique(maintain_order=True)
    clashes = table.filter(pl.col(_KEY).is_duplicated())
    if clashes.height:
        # A spelling that means two countries is a data error in the reviewed CSV: fail loudly.
        raise ValueError(f"country spellings map to several codes: {clashes.rows()}")
    return table.rename({"country_code": _CODE, "country": _NAME})


def map_countries(frame: Frame, raw_col: str = "country_raw") -> Frame:
    """Add country_code (null when unmapped) and country (canonical name, else the raw string)."""
    lazy = frame.lazy()
    # Normalise the distinct strings only (a few hundred at most), then join back on the raw
    # string: the per-row cost is one hash join whatever the frame's size.
    names = (
        lazy.select(pl.col(raw_col).unique())
        .with_columns(_key_expr(pl.col(raw_col)).alias(_KEY))
        .join(_keyed().lazy(), on=_KEY, how="left")
        .drop(_KEY)
    )
    result = (
        lazy.join(names, on=raw_col, how="left", maintain_order="left")
        .with_columns(
            pl.col(_CODE).alias("country_code"),
            pl.coalesce(pl.col(_NAME), _clean(pl.col(raw_col))).alias("country"),
        )
        .drop(_CODE, _NAME)
    )
    return result if isinstance(frame, pl.LazyFrame) else result.collect()


@functools.cache
def _key_dict() -> dict[str, tuple[str, str]]:
    """Key -> (code, name) for single lookups."""
    return {key: (code, name) for key, code, name in _keyed().iter_rows()}


def _key_of(text: str) -> str:
    """The matching key of one string (the same expression the frame path uses)."""
    return pl.select(_key_expr(pl.lit(text, dtype=pl.String))).item()


def map_country(raw: str) -> tuple[str | None, str]:
    """(ISO code or None, canonical name or the stripped raw string) for one country string."""
    table = _key_dict()
    raw = fix_surrogates(raw)
    candidates = [raw]
    for encoding in _MOJIBAKE_ENCODINGS:
        try:  # generic mojibake repair: undo a latin-1/cp1252 decode of UTF-8 bytes
            candidates.append(raw.encode(encoding).decode("utf-8"))
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
    for candidate in candidates:
        hit = table.get(_key_of(candidate))
        if hit is not None:
            return hit
    return None, pl.select(_clean(pl.lit(raw, dtype=pl.String))).item() or ""


def unmapped(frame: pl.DataFrame | pl.LazyFrame, raw_col: str = "country_raw") -> list[str]:
    """Distinct non-empty raw country strings, as registered, with no ISO mapping (data quality)."""
    names = frame.lazy().select(pl.col(raw_col).unique()).collect()
    missing = map_countries(names, raw_col=raw_col).filter(
        pl.col("country_code").is_null() & pl.col("country").is_not_null()
    )
    values = sorted(missing[raw_col].to_list())
    if values:
        logger.warning("%d unmapped country strings: %s", len(values), values)
    return values
