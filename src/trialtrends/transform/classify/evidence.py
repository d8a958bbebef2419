"""Evidence: for each modality found, the field and the rule that matched, with a quote."""

from __future__ import annotations

import polars as pl

from trialtrends.data import modality_rules as R
from trialtrends.transform.classify.compiled import MODALITY_CLASSES, Compiled
from trialtrends.transform.classify.exprs import ENGINE, SCAN_COLUMNS, TIER_OF, any_of, hit


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
    # One query per step, whatever the number of rules: each (modality, tier) group's rules run
    # on that group's rows only, and each rule's quote on its own rows only (capture extraction
    # is the slow part), as branches of one concatenated query.
    ruled = ruled.lazy()
    groups = ruled.select("modality", "_tier").unique(maintain_order=True).collect(engine=ENGINE).rows()
    named = [
        ruled.filter((pl.col("modality") == modality) & (pl.col("_tier") == tier)).with_columns(
            pl.coalesce(
                pl.when(pl.col("_text").str.contains(pattern)).then(pl.lit(i))
                for i, (_, pattern, _) in enumerate(comp.evidence[modality, tier])
            ).alias("_rule")
        )
        for modality, tier in groups
    ]
    if not named:
        return product
    named_frame = pl.concat(named).collect(engine=ENGINE)
    key = ["modality", "_tier", "_rule"]
    parts = [product.lazy()]
    for modality, tier, rule in named_frame.select(key).unique(maintain_order=True).rows():
        if rule is None:
            name, quote = "unknown", pl.lit("")
        else:
            name, _, quoted = comp.evidence[modality, tier][rule]
            quote = pl.col("_text").str.extract(f"({quoted})", 1).str.strip_chars().fill_null("")
        group = (
            (pl.col("modality") == modality) & (pl.col("_tier") == tier) & pl.col("_rule").eq_missing(rule)
        )
        parts.append(
            named_frame.lazy()
            .filter(group)
            .with_columns(
                # concat_str, not pl.format: Polars 2.1's streaming engine panics on this format.
                pl.concat_str(
                    pl.lit(f'rule {name}: "...'), quote, pl.lit('..." ('), pl.col("_column"), pl.lit(")")
                ).alias("evidence")
            )
            .drop("_rule")
        )
    return pl.concat(parts, how="diagonal_relaxed").collect(engine=ENGINE)
