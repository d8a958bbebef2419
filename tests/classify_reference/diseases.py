"""Disease areas of cell-therapy trials, from reviewed rules over the trial's own text.

`classify_diseases(text)` maps each trial to the disease entities its population has
(DLBCL, multiple myeloma, glioblastoma, SLE, HIV...), each with an area (haematological
malignancy, solid tumour, autoimmune / immune-mediated, infectious disease, other
non-oncology, unknown), a category and the text that proved it. `trial_disease_summary`
folds that into one disease group per trial for reporting. The rules themselves, with a
reason for each, live in `trialtrends.data.disease_rules`; this module only applies them.

Why rules and not a model: every row must be explainable to an analyst (the `evidence`
column says which field and which words), the categories must stay stable between nightly
runs, and a change of mind about a disease is a reviewed one-line edit.

Input: one row per trial with string columns `nct_id`, `conditions`, `keywords`,
`brief_title`, `official_title` and optionally `condition_mesh` (the study's own
`conditionBrowseModule.meshes` terms, not their ancestors). List fields are joined with
" | "; any value may be null; a missing optional column counts as null.

Policy:

1. Each list field is split at "|" into items; every item is tested on its own, so a window
   such as "gastric ... cancer" never spans two conditions. `IGNORE` phrases (toxicities
   such as CRS/ICANS, product words such as "CAR-T cell therapy", "healthy volunteers",
   "B-cell depletion") are blanked in every item first.
2. Conditions and condition MeSH are read first. Only when they give no entity at all are
   the titles and keywords read (conditions such as "Safety and Efficacy", "CAR" or
   "Neoplasms" then defer to the title).
3. A trial gets every entity it names (basket trials list each tumour). Rows are unique on
   (nct_id, area, category, entity); the evidence kept is the first in field order
   conditions, condition_mesh, brief_title, official_title, keywords.
4. Generic (category-level, `entity` null) rows such as "lymphoma" or "solid tumours" are
   dropped when the trial also has a row in a category they cover (see `Rule.covers`).
5. A trial with no row gets one: area `unknown`, category/entity/evidence null.

Evidence is `<field>: <text>`: the whole item for list fields ("conditions: Diffuse Large
B-Cell Lymphoma"), the matched words for titles.

`trial_disease_summary` disease_group, in this order:

- `basket`: the trial has rows in more than one of the haematological / solid /
  autoimmune areas; or a pan-tumour / tumour-agnostic design; or solid rows in three or
  more distinct solid categories other than "solid tumours (unspecified)" (a
  multi-histology design such as GPC3 CAR-T in HCC + lung + Merkel + liposarcoma; gastric +
  pancreatic, both GI, stays `solid`).
- `haematological`, `solid`, `autoimmune`: the one such area present.
- `other`: only infectious-disease and/or other non-oncology rows.
- `unknown`: nothing matched.

Infection and other rows never change an oncology or autoimmune group ("infections after
CAR-T in myeloma" stays haematological; "GvHD prophylaxis in AML" stays haematological).

Speed: each distinct item is tested once with Polars' Rust regex engine, all rules in one
pass (`bench/bench_diseases.py --speed`, one core: ~100k trials in 1.5 s when conditions
repeat as they do in the registry, 4.6 s with every item made distinct; ~0.08 s fixed cost
per call for compiling the rules).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

from trialtrends.data.disease_rules import (
    AREA_WIDE,
    AUTO,
    HAEM,
    IGNORE,
    INFECT,
    OTHER,
    PAN_TUMOUR,
    RULES,
    SOLID,
    SOLID_UNSPECIFIED,
    UNKNOWN,
    Rule,
)
from trialtrends.transform.study_text import text_frame, text_row

#: Fields in evidence-priority order; the first two are read first (tier 1).
FIELDS: tuple[str, ...] = ("conditions", "condition_mesh", "brief_title", "official_title", "keywords")
PRIMARY_FIELDS = frozenset({"conditions", "condition_mesh"})
#: Fields holding " | "-joined lists (split into items); titles are one item each.
LIST_FIELDS = frozenset({"conditions", "condition_mesh", "keywords"})
REQUIRED_COLUMNS: tuple[str, ...] = ("nct_id", "conditions", "keywords", "brief_title", "official_title")

DISEASE_SCHEMA: dict[str, pl.DataType] = {
    "nct_id": pl.String(),
    "area": pl.String(),
    "category": pl.String(),
    "entity": pl.String(),
    "evidence": pl.String(),
}
SUMMARY_SCHEMA: dict[str, pl.DataType] = {"nct_id": pl.String(), "disease_group": pl.String()}
DISEASE_GROUPS: tuple[str, ...] = ("haematological", "solid", "autoimmune", "basket", "other", "unknown")

_BLANK = " ~ "

# Applied to every pattern before compiling. ASCII word boundaries and classes keep Rust's
# lazy DFA small (Unicode \w and \b multiply its states), which makes compiling ~150 rules
# several times faster. Every rule is written for ASCII words ("Sjögren" has its own class
# `[oöø]`, never a \w), so the ASCII forms match the same text.
_ASCII = (
    ("\\b", "(?-u:\\b)"),
    ("\\w", "[0-9A-Za-z_]"),
    ("\\s", "[\\t\\n\\f\\r ]"),
)


def _ci(pattern: str) -> str:
    """The case-insensitive, ASCII-class form of a rule pattern."""
    for old, new in _ASCII:
        pattern = pattern.replace(old, new)
    return f"(?i){pattern}"


_IGNORE_RE = _ci("|".join(f"(?:{p.pattern})" for p in IGNORE))


def _rule_table(rules: tuple[Rule, ...]) -> pl.DataFrame:
    """The rules as a frame keyed by rule_id, with the categories each generic row yields to."""
    rows = []
    for rid, rule in enumerate(rules):
        generic = rule.entity is None
        if not generic:
            covers: list[str] = []
            area_wide = False
        elif rule.covers == AREA_WIDE:
            covers, area_wide = [], True
        else:
            covers = list(rule.covers or (rule.category,))
            area_wide = False
        rows.append(
            {
                "rule_id": rid,
                "area": rule.area,
                "category": rule.category,
                "entity": rule.entity,
                "generic": generic,
                "area_wide": area_wide,
                "covers": covers,
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "rule_id": pl.UInt32(),
            "area": pl.String(),
            "category": pl.String(),
            "entity": pl.String(),
            "generic": pl.Boolean(),
            "area_wide": pl.Boolean(),
            "covers": pl.List(pl.String()),
        },
    )


_RULE_TABLE = _rule_table(RULES)


def _exact_hit(rule: Rule, text: pl.Expr) -> pl.Expr:
    """True where `text` (ignore-cleaned items) matches the rule after its own mask, unless vetoed."""
    masked = text.str.replace_all(_ci(rule.mask), _BLANK) if rule.mask else text
    hit = masked.str.contains(_ci(rule.pattern))
    if rule.unless:
        hit = hit & ~text.str.contains(_ci(rule.unless))
    return hit


def _items(text: pl.DataFrame, fields: Iterable[str]) -> pl.DataFrame:
    """One row per (trial, field, item): list fields split at '|', titles whole."""
    frames = []
    for rank, field in enumerate(FIELDS):
        if field not in fields:
            continue
        col = pl.col(field).cast(pl.String)
        item = col.str.split("|") if field in LIST_FIELDS else pl.concat_list(col)
        frames.append(
            text.select(
                pl.col("nct_id").cast(pl.String),
                pl.lit(field).alias("field"),
                pl.lit(rank, dtype=pl.UInt8).alias("rank"),
                item.alias("item"),
            )
            .explode("item")
            .with_columns(pl.col("item").str.strip_chars())
            .filter(pl.col("item").is_not_null() & (pl.col("item") != ""))
        )
    if not frames:
        schema = {"nct_id": pl.String(), "field": pl.String(), "rank": pl.UInt8(), "item": pl.String()}
        frames.append(pl.DataFrame(schema=schema))
    items = pl.concat(frames, how="vertical")
    return items.with_row_index("pos").with_columns(
        pl.col("item").str.replace_all(_IGNORE_RE, _BLANK).alias("clean")
    )


def _hits(items: pl.DataFrame) -> pl.DataFrame:
    """(item row, rule_id) for every rule matching an item.

    Speed: each distinct cleaned item is tested once (conditions repeat a lot across trials),
    all raw patterns in one `select`, and the true cells read from the boolean matrix with
    numpy. Masks and vetoes, which cost a string rewrite, are then applied only to the few
    (item, rule) candidates of rules that have them. A mask only removes text and a veto only
    removes hits, so a pair that fails the raw pattern can never pass the exact test.
    """
    if items.height == 0:
        return items.with_columns(pl.lit(None, dtype=pl.UInt32).alias("rule_id")).clear()
    uniq = items.select("clean").unique()
    matrix = uniq.select(
        [pl.col("clean").str.contains(_ci(rule.pattern)).alias(str(rid)) for rid, rule in enumerate(RULES)]
    )
    clean = uniq.get_column("clean")
    pairs = pl.concat(
        [
            clean.filter(column).to_frame().with_columns(pl.lit(rid, dtype=pl.UInt32).alias("rule_id"))
            for rid, column in enumerate(matrix.get_columns())
        ],
        how="vertical",
    )
    refined = []
    for (rid,), sub in pairs.partition_by("rule_id", as_dict=True).items():
        rule = RULES[rid]
        if rule.mask or rule.unless:
            sub = sub.filter(_exact_hit(rule, pl.col("clean")))
        refined.append(sub)
    pairs = pl.concat(refined, how="vertical") if refined else pairs
    return items.join(pairs, on="clean", how="inner")


def _title_evidence(hits: pl.DataFrame) -> pl.DataFrame:
    """Evidence text: the whole item for list fields, the matched words for titles."""
    is_list = pl.col("field").is_in(list(LIST_FIELDS))
    listed = hits.filter(is_list).with_columns(pl.col("item").alias("matched"))
    titles = hits.filter(~is_list)
    parts = [listed]
    for rid in titles.get_column("rule_id").unique().to_list():
        rule = RULES[rid]
        sub = titles.filter(pl.col("rule_id") == rid)
        text = pl.col("clean").str.replace_all(_ci(rule.mask), _BLANK) if rule.mask else pl.col("clean")
        parts.append(
            sub.with_columns(
                text.str.extract(_ci(f"({rule.pattern})"), 1)
                .str.strip_chars()
                .fill_null(pl.col("item"))
                .alias("matched")
            )
        )
    return pl.concat(parts, how="vertical")


def _drop_covered_generics(rows: pl.DataFrame) -> pl.DataFrame:
    """Drop generic rows made redundant by another row of the same trial in a covered category."""
    generic = rows.filter(pl.col("generic"))
    if generic.height == 0:
        return rows
    others = rows.select("nct_id", "row", pl.col("area").alias("o_area"), pl.col("category").alias("o_cat"))
    by_category = (
        generic.filter(~pl.col("area_wide"))
        .select("nct_id", "row", pl.col("covers").alias("o_cat"))
        .explode("o_cat")
        .join(others.rename({"row": "o_row"}), on=["nct_id", "o_cat"])
        .filter(pl.col("row") != pl.col("o_row"))
        .select("row")
    )
    by_area = (
        generic.filter(pl.col("area_wide"))
        .select("nct_id", "row", pl.col("area").alias("o_area"))
        .join(others.rename({"row": "o_row"}).drop("o_cat"), on=["nct_id", "o_area"])
        .filter(pl.col("row") != pl.col("o_row"))
        .select("row")
    )
    drop = pl.concat([by_category, by_area]).unique()
    return rows.join(drop, on="row", how="anti")


def classify_diseases(text: pl.DataFrame) -> pl.DataFrame:
    """One row per trial and disease entity: nct_id, area, category, entity, evidence.

    See the module docstring for the policy. Pure: reads only `text`, returns a new frame.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in text.columns]
    if missing:
        raise ValueError(f"classify_diseases: input lacks column(s) {', '.join(missing)}")
    if "condition_mesh" not in text.columns:
        text = text.with_columns(pl.lit(None, dtype=pl.String).alias("condition_mesh"))
    text = text.select("nct_id", *FIELDS)

    # Tier 1: conditions and their MeSH terms, for every trial.
    primary = _hits(_items(text, PRIMARY_FIELDS))
    # Tier 2: titles and keywords, only for trials whose conditions gave nothing.
    rest = text.join(primary.select("nct_id").unique(), on="nct_id", how="anti")
    secondary = _hits(_items(rest, set(FIELDS) - PRIMARY_FIELDS))
    hits = pl.concat([primary, secondary], how="vertical")

    rows = (
        _title_evidence(hits)
        .join(_RULE_TABLE, on="rule_id", how="left")
        .sort("nct_id", "rank", "pos", "rule_id")
        .unique(["nct_id", "area", "category", "entity"], keep="first", maintain_order=True)
        .with_row_index("row")
    )
    rows = _drop_covered_generics(rows)
    found = rows.select(
        "nct_id",
        "area",
        "category",
        "entity",
        pl.concat_str([pl.col("field"), pl.col("matched")], separator=": ").alias("evidence"),
    )
    unknown = (
        text.select(pl.col("nct_id").cast(pl.String))
        .unique(maintain_order=True)
        .join(found.select("nct_id").unique(), on="nct_id", how="anti")
        .with_columns(
            pl.lit(UNKNOWN).alias("area"),
            pl.lit(None, dtype=pl.String).alias("category"),
            pl.lit(None, dtype=pl.String).alias("entity"),
            pl.lit(None, dtype=pl.String).alias("evidence"),
        )
    )
    return (
        pl.concat([found, unknown], how="vertical").cast(DISEASE_SCHEMA).sort("nct_id", maintain_order=True)
    )


def trial_disease_summary(diseases: pl.DataFrame) -> pl.DataFrame:
    """One row per trial: nct_id, disease_group (rule in the module docstring)."""
    area = pl.col("area")
    per_trial = diseases.group_by("nct_id", maintain_order=True).agg(
        (area == HAEM).any().alias("haem"),
        (area == SOLID).any().alias("solid"),
        (area == AUTO).any().alias("auto"),
        area.is_in([INFECT, OTHER]).any().alias("other"),
        (pl.col("entity") == PAN_TUMOUR).fill_null(False).any().alias("pan"),
        pl.col("category")
        .filter((area == SOLID) & (pl.col("category") != SOLID_UNSPECIFIED))
        .n_unique()
        .alias("solid_categories"),
    )
    n_main = pl.col("haem").cast(pl.Int8) + pl.col("solid").cast(pl.Int8) + pl.col("auto").cast(pl.Int8)
    group = (
        pl.when((n_main > 1) | pl.col("pan") | (pl.col("solid_categories") >= 3))
        .then(pl.lit("basket"))
        .when(pl.col("haem"))
        .then(pl.lit("haematological"))
        .when(pl.col("solid"))
        .then(pl.lit("solid"))
        .when(pl.col("auto"))
        .then(pl.lit("autoimmune"))
        .when(pl.col("other"))
        .then(pl.lit("other"))
        .otherwise(pl.lit("unknown"))
    )
    return per_trial.select("nct_id", group.alias("disease_group")).cast(SUMMARY_SCHEMA)


# --------------------------------------------------------------------------------------------
# Building the input from ClinicalTrials.gov API v2 studies (for benchmarks and callers that
# hold raw studies rather than the normalized text frame).
# --------------------------------------------------------------------------------------------
def disease_text_frame(studies: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """The frame `classify_diseases` takes, from API v2 studies: the same text rows the modality
    classifier reads (study_text), so a record is walked one way only."""
    return text_frame(text_row(dict(s)) for s in studies).select(*REQUIRED_COLUMNS, "condition_mesh")
