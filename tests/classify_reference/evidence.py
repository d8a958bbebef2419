"""Evidence: for each modality found, the field and the rule that matched, with a quote."""

from __future__ import annotations

import polars as pl

from classify_reference.compiled import MODALITY_CLASSES, Compiled
from classify_reference.exprs import SCAN_COLUMNS, TIER_OF, any_of, hit
from trialtrends.data import modality_rules as R


def evidence_choice(frame: pl.DataFrame, comp: Compiled) -> pl.DataFrame:
    """Add evcol__<M>: the first field (priority order) where modality M matched."""
    exprs = []
    for m, classes in MODALITY_CLASSES.items():
        col_name: pl.Expr = pl.lit(None, dtype=pl.String)
        # Built backwards so the first column in priority order wins.
        for col in reversed(SCAN_COLUMNS):
            hits = [pl.col(hit(k, col)) for k in classes if (k, TIER_OF[col]) in comp.class_tier]
            if not hits:
                continue
            tier_used = pl.col("_use_support")
            if TIER_OF[col] != R.SUPPORT:
                tier_used = ~tier_used
            col_name = pl.when(any_of(hits) & tier_used).then(pl.lit(col)).otherwise(col_name)
        exprs.append(col_name.alias("evcol__" + m))
    return frame.with_columns(exprs)


def quote_evidence(long: pl.DataFrame, comp: Compiled) -> pl.DataFrame:
    """Name the first rule (rule order) matching the chosen field and quote a window around it.

    Rows without a rule field (`_column` null) name the product of the dictionary that gave the
    modality (`_product`).
    """
    ruled = long.filter(pl.col("_column").is_not_null())
    product = long.filter(pl.col("_column").is_null()).with_columns(
        pl.format("product: {}", pl.col("_product").fill_null("unknown")).alias("evidence")
    )
    named = []
    for (modality, tier), group in ruled.group_by(["modality", "_tier"], maintain_order=True):
        rules = comp.evidence[modality, tier]
        rule_index = pl.coalesce(
            pl.when(pl.col("_text").str.contains(pattern)).then(pl.lit(i))
            for i, (_, pattern, _) in enumerate(rules)
        )
        named.append(group.with_columns(rule_index.alias("_rule")))
    parts = [product]
    # Capture extraction is the slow part: run it once per rule, on that rule's rows only.
    for (modality, tier, rule), group in (
        pl.concat(named).group_by(["modality", "_tier", "_rule"], maintain_order=True) if named else []
    ):
        if rule is None:
            name, quote = "unknown", pl.lit("")
        else:
            name, _, quoted = comp.evidence[modality, tier][rule]
            quote = pl.col("_text").str.extract(f"({quoted})", 1).str.strip_chars().fill_null("")
        parts.append(
            group.with_columns(
                pl.format('rule {}: "...{}..." ({})', pl.lit(name), quote, pl.col("_column")).alias(
                    "evidence"
                )
            ).drop("_rule")
        )
    return pl.concat(parts, how="diagonal_relaxed")
