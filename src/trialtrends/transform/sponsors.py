"""Canonical sponsor names, parents, home countries and types for registry sponsor strings.

Lead sponsors and collaborators are free text in ClinicalTrials.gov (API-NOTES: "the same
institution appears under many spellings"). Matching is two-step and never fuzzy:

1. ``sponsor_key``: a deterministic key (case, accents, punctuation, spacing, leading "The",
   trailing legal forms, degrees and a trailing parenthesised acronym removed).
2. ``data/sponsor_aliases.csv`` (reviewed): alias -> canonical sponsor, both sides compared by
   key; ``data/sponsors.csv`` (reviewed): one row per canonical sponsor with its home country,
   type and parent. A spelling missing from the alias table stays its own sponsor.

Rules applied in the reviewed data:
- sponsor_type: ``academic`` = universities, medical schools, academies (CAMS, AMMS), degree-
  granting research institutes (Scripps Research), and hospitals or centres that are part of a
  university or officially its affiliate ("Ruijin Hospital, Shanghai Jiao Tong University School
  of Medicine", "X University Hospital", CHU); ``hospital`` = other hospitals, cancer centres,
  health systems, and the research institutes or foundations of hospitals; ``industry`` =
  companies (even when registered as class OTHER); ``government`` = ministries, agencies and
  national institutes such as NCI/NIH (state-owned hospitals stay ``hospital``); ``other`` =
  cooperative groups, networks, charities, independent research institutes and individual
  sponsor-investigators. A person named as sponsor stays that person: the string names the
  legal sponsor, and affiliations change (the note says where the trials run).
- parent: the university of an affiliated hospital, centre or school (Ruijin Hospital ->
  Shanghai Jiao Tong University); the acquirer of a separately branded company (Kite -> Gilead
  Sciences, Juno and Celgene -> Bristol-Myers Squibb, Gracell -> AstraZeneca); empty otherwise.
  Parents are one level deep and are sponsors themselves; an affiliate of an academic parent is
  academic.
- Renamed organisations (Lion Biotechnologies -> Iovance, Cellular Biomedicine Group ->
  AbelZeta, Second Military Medical University -> Naval Medical University) and country or
  functional affiliates of one company brand (Janssen R&D / Janssen-Cilag, AstraZeneca K.K.,
  Novartis Pharmaceuticals, Legend Biotech USA / Nanjing Legend) are aliases of one sponsor.
- country_code: ISO alpha-2 of the organisation's headquarters (group headquarters for merged
  affiliates); for a sponsor-investigator, the country of the institution where the trials run.
  A sponsor whose home cannot be verified is left out (it stays an unknown spelling).
- When it is unclear whether two spellings are one organisation they stay apart, with a note.
- Keys strip accents: registry spellings drop them inconsistently ("Hopitaux"/"Hôpitaux").
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from importlib import resources
from typing import TypeVar

import polars as pl
import polars.selectors as cs

from trialtrends.transform import countries

logger = logging.getLogger(__name__)

SPONSOR_TYPES = ("academic", "hospital", "industry", "government", "other")

# Registry agency class -> sponsor_type for sponsors missing from the reviewed table. Most
# OTHER sponsors are academic, but OTHER also holds hospitals, networks and individuals, so an
# unknown OTHER stays "other" rather than being guessed.
CLASS_TYPES = {
    "INDUSTRY": "industry",
    "NIH": "government",
    "FED": "government",
    "OTHER_GOV": "government",
}

_SPONSORS_FILE = "sponsors.csv"
_ALIASES_FILE = "sponsor_aliases.csv"
_KEY = "__sponsor_key"
_PREFIX = "__known_"

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)

# A trailing "(NCI)" or "(HMS and HSDM)": upper-case acronyms, optionally joined by and/&.
_ACRONYM = r"[A-Z][A-Z0-9.&/-]*[A-Z0-9.]"
_PAREN_ACRONYM = re.compile(rf"\s*\(\s*{_ACRONYM}(?:\s+(?:and|&)?\s*{_ACRONYM})*\s*\)\s*$")
_APOSTROPHES = re.compile(r"['’‘`´]")
_NON_WORD = re.compile(r"[\W_]+")
# Trailing legal forms, longest first, as token tuples after punctuation became spaces and
# single letters were joined ("S.A." -> "sa", "A/S" -> "as").
_LEGAL_FORM_LIST = """
    co ltd, co limited, company limited, company ltd, pte ltd, pty ltd, pvt ltd, private limited,
    gmbh and co kg, gmbh co kg, co kg, ltd, limited, inc, incorporated, llc, llp, gmbh, ag, kg,
    sa, sas, sarl, sl, spa, srl, bv, nv, plc, corp, corporation, kk, ab, oy, oyj, as, asa, aps,
    se, ltda, co, company
"""
_LEGAL_FORMS = sorted((tuple(form.split()) for form in _LEGAL_FORM_LIST.split(",")), key=len, reverse=True)
_DEGREES = frozenset({"md", "phd", "mph", "msc", "mbbs", "frcpc", "facp"})
_HONORIFICS = frozenset({"dr", "prof", "professor"})


def _strip_accents(text: str) -> str:
    """Drop combining marks so "Hôpitaux" and "Hopitaux" share a key."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def _join_initials(tokens: list[str]) -> list[str]:
    """Join runs of single letters ("s a" -> "sa", "m d" -> "md") and "ph d" -> "phd"."""
    out: list[str] = []
    run = ""
    for token in tokens:
        if len(token) == 1 and token.isalpha():
            run += token
            continue
        if run:
            out.append(run)
            run = ""
        out.append(token)
    if run:
        out.append(run)
    joined: list[str] = []
    for token in out:
        if token == "d" and joined and joined[-1] == "ph":
            joined[-1] = "phd"
        else:
            joined.append(token)
    return joined


def _strip_suffixes(tokens: list[str]) -> list[str]:
    """Drop trailing legal forms and academic degrees, repeatedly, keeping at least one token."""
    changed = True
    while changed and len(tokens) > 1:
        changed = False
        if tokens[-1] in _DEGREES:
            tokens = tokens[:-1]
            changed = True
            continue
        for form in _LEGAL_FORMS:
            n = len(form)
            if len(tokens) > n and tuple(tokens[-n:]) == form:
                # "Eli Lilly and Company": a company named "X and Company" keeps its word.
                if form in {("company",), ("co",)} and tokens[-n - 1] == "and":
                    continue
                tokens = tokens[:-n]
                changed = True
                break
    return tokens


def sponsor_key(name: str) -> str:
    """Deterministic matching key of a sponsor name; equal keys mean the same spelling."""
    text = unicodedata.normalize("NFKC", name).strip()
    while True:
        shorter = _PAREN_ACRONYM.sub("", text)
        if shorter == text or not shorter.strip():
            break
        text = shorter
    text = _strip_accents(text.casefold())
    text = text.replace("&", " and ")
    text = _APOSTROPHES.sub("", text)
    tokens = _join_initials(_NON_WORD.sub(" ", text).split())
    if len(tokens) > 1 and tokens[0] == "the":
        tokens = tokens[1:]
    while len(tokens) > 1 and tokens[0] in _HONORIFICS:
        tokens = tokens[1:]
    return " ".join(_strip_suffixes(tokens))


def _read(name: str) -> pl.DataFrame:
    """A reviewed data file as all-string columns, '#' lines skipped, empty cells as ''."""
    source = resources.files("trialtrends.data").joinpath(name)
    with source.open("rb") as handle:
        frame = pl.read_csv(handle, comment_prefix="#", infer_schema=False)
    return frame.with_columns(pl.all().fill_null("").str.strip_chars())


@functools.cache
def sponsor_reference() -> pl.DataFrame:
    """The reviewed sponsor table: sponsor, country_code, sponsor_type, parent, note."""
    return _read(_SPONSORS_FILE)


@functools.cache
def sponsor_aliases() -> pl.DataFrame:
    """The reviewed alias table (alias, sponsor, note) plus each canonical name as its own alias."""
    aliases = _read(_ALIASES_FILE).select("alias", "sponsor", "note")
    own = sponsor_reference().select(pl.col("sponsor").alias("alias"), "sponsor", pl.lit("").alias("note"))
    return pl.concat([aliases, own]).unique(subset=["alias", "sponsor"], maintain_order=True)


@functools.cache
def _keyed() -> pl.DataFrame:
    """Join table: sponsor key -> canonical sponsor with parent, country and type."""
    aliases = sponsor_aliases().with_columns(
        pl.col("alias").map_elements(sponsor_key, return_dtype=pl.String).alias(_KEY)
    )
    pairs = aliases.select(_KEY, "sponsor").unique()
    clashes = pairs.filter(pl.col(_KEY).is_duplicated()).sort(_KEY)
    if clashes.height:
        # One key naming two sponsors is a data error in the reviewed CSVs: fail loudly.
        raise ValueError(f"sponsor alias keys map to several sponsors: {clashes.rows()}")
    reference = sponsor_reference()
    names = countries.country_lookup().select("country_code", "country").unique("country_code")
    detail = reference.join(names, on="country_code", how="left").select(
        "sponsor",
        pl.when(pl.col("parent") != "").then("parent").otherwise("sponsor").alias("sponsor_parent"),
        pl.col("country").alias("sponsor_country"),
        pl.col("country_code").alias("sponsor_country_code"),
        "sponsor_type",
    )
    table = pairs.join(detail, on="sponsor", how="inner")
    if table.height != pairs.height:
        missing = pairs.join(detail, on="sponsor", how="anti")["sponsor"].unique().to_list()
        raise ValueError(f"aliases point to sponsors missing from {_SPONSORS_FILE}: {missing}")
    return table.rename({c: _PREFIX + c for c in table.columns if c != _KEY})


@functools.lru_cache(maxsize=1 << 16)
def _cached_key(name: str) -> str:
    """sponsor_key memoised across calls (the same registry names come back every run)."""
    return sponsor_key(name)


def _keys_of_uniques(names: pl.Series) -> pl.Series:
    """sponsor_key for a column, computed once per distinct name (names repeat a lot)."""
    uniques = names.drop_nulls().unique()
    keys = [_cached_key(name) for name in uniques.to_list()]
    return names.replace_strict(uniques, keys, default=None, return_dtype=pl.String)


def _clean(expr: pl.Expr) -> pl.Expr:
    """A raw name as displayed when unknown: original casing, single-spaced, empty -> null."""
    cleaned = expr.str.replace_all(r"\s+", " ").str.strip_chars()
    return pl.when(cleaned.str.len_chars() > 0).then(cleaned)


def _has_column(frame: pl.DataFrame | pl.LazyFrame, name: str) -> bool:
    """Whether the frame has the column, without collecting a LazyFrame."""
    schema = frame.collect_schema() if isinstance(frame, pl.LazyFrame) else frame.schema
    return name in schema


def canonicalize_sponsors(
    frame: Frame, raw_col: str = "sponsor_raw", class_col: str | None = "agency_class"
) -> Frame:
    """Add sponsor, sponsor_parent, sponsor_country(_code), sponsor_type and is_known_sponsor."""
    lazy = frame.lazy()
    if class_col is not None and _has_column(frame, class_col):
        class_type = pl.col(class_col).replace_strict(CLASS_TYPES, default="other", return_dtype=pl.String)
    else:
        class_type = pl.lit("other", dtype=pl.String)
    # Key the distinct names only (sponsor names repeat a lot), then join them back on the raw
    # string: one Python call per distinct name, whatever the frame's size or chunking.
    names = (
        lazy.select(pl.col(raw_col).unique())
        .with_columns(pl.col(raw_col).map_batches(_keys_of_uniques, return_dtype=pl.String).alias(_KEY))
        .join(_keyed().lazy(), on=_KEY, how="left")
        .drop(_KEY)
    )
    known = pl.col(_PREFIX + "sponsor")
    sponsor = pl.coalesce(known, _clean(pl.col(raw_col)))
    result = (
        lazy.join(names, on=raw_col, how="left", maintain_order="left")
        .with_columns(
            sponsor.alias("sponsor"),
            pl.coalesce(pl.col(_PREFIX + "sponsor_parent"), sponsor).alias("sponsor_parent"),
            pl.col(_PREFIX + "sponsor_country").alias("sponsor_country"),
            pl.col(_PREFIX + "sponsor_country_code").alias("sponsor_country_code"),
            pl.coalesce(pl.col(_PREFIX + "sponsor_type"), class_type).alias("sponsor_type"),
            known.is_not_null().alias("is_known_sponsor"),
        )
        .drop(cs.starts_with(_PREFIX))
    )
    return result if isinstance(frame, pl.LazyFrame) else result.collect()


def unknown_spellings(frame: pl.DataFrame | pl.LazyFrame, raw_col: str = "sponsor_raw") -> list[str]:
    """Distinct raw sponsor names, as registered, missing from the alias table (data-quality report)."""
    names = frame.lazy().select(pl.col(raw_col).unique()).collect()
    mapped = canonicalize_sponsors(names, raw_col=raw_col, class_col=None)
    missing = mapped.filter(~pl.col("is_known_sponsor") & pl.col("sponsor").is_not_null())
    values = sorted(missing[raw_col].to_list())
    if values:
        logger.info("%d sponsor spellings not in the alias table", len(values))
    return values
