"""Column groups and Polars expression helpers shared by the classifier stages."""

from __future__ import annotations

import polars as pl

from classify_reference.compiled import Compiled
from trialtrends.data import modality_rules as R

INTERVENTION_COLUMNS = ("intervention_names", "intervention_other_names", "intervention_descriptions")
TITLE_COLUMNS = ("brief_title", "official_title", "acronym")
SUPPORT_COLUMNS = ("brief_summary", "detailed_description", "arm_groups", "keywords", "intervention_mesh")
PRIMARY_COLUMNS = INTERVENTION_COLUMNS + TITLE_COLUMNS
#: Scanned fields in evidence priority order (interventions first: they say what is given).
SCAN_COLUMNS = PRIMARY_COLUMNS + SUPPORT_COLUMNS
TIER_OF = (
    {c: R.INTERVENTION for c in INTERVENTION_COLUMNS}
    | {c: R.TITLE for c in TITLE_COLUMNS}
    | {c: R.SUPPORT for c in SUPPORT_COLUMNS}
)
#: Lexical masks keep a word through named groups (see modality_rules.MASKS).
MASK_REPLACEMENT = "${k1}${k3}${k4}${k5} ~ ${k2}"
EMPTY_LIST = pl.lit([], dtype=pl.List(pl.String))


def joined(columns: tuple[str, ...], prefix: str = "") -> pl.Expr:
    """Concatenate text columns with the item separator, skipping nulls ("" when all null)."""
    return pl.concat_str([pl.col(prefix + c) for c in columns], separator=" | ", ignore_nulls=True)


def any_of(exprs: list[pl.Expr]) -> pl.Expr:
    """OR of boolean expressions (False for an empty list)."""
    return pl.any_horizontal(exprs) if exprs else pl.lit(False)


def hit(klass: str, column: str) -> str:
    """Name of the boolean column 'rule class hit in text column'."""
    return f"h__{klass}__{column}"


def masked(expr: pl.Expr, patterns: tuple[str, ...]) -> pl.Expr:
    """Apply mask patterns in order (one replace pass each)."""
    for pattern in patterns:
        expr = expr.str.replace_all(pattern, MASK_REPLACEMENT)
    return expr


def any_class(text: pl.Expr, tier: str, comp: Compiled) -> pl.Expr:
    """Any rule class of a tier matches this text."""
    passes = [p for k in R.RULE_CLASSES for p in comp.class_tier.get((k, tier), ())]
    return any_of([text.str.contains(p) for p in passes]).fill_null(False)


def tier_hits(klass: str, columns: tuple[str, ...], comp: Compiled) -> pl.Expr:
    """Any hit of a rule class in the given columns."""
    cols = [hit(klass, c) for c in columns if (klass, TIER_OF[c]) in comp.class_tier]
    return any_of([pl.col(c) for c in cols])


def contains(text: pl.Expr, pattern: str) -> pl.Expr:
    """Null-safe regex test."""
    return text.str.contains(pattern).fill_null(False)
