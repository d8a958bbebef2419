"""Targets: canonical antigen names of a cell-therapy trial (naming convention: data/targets.py)."""

from __future__ import annotations

import polars as pl

from trialtrends.transform.classify.compiled import Compiled
from trialtrends.transform.classify.exprs import EMPTY_LIST, PRIMARY_COLUMNS, joined
from trialtrends.transform.products import dictionary


def targets(frame: pl.LazyFrame, comp: Compiled) -> pl.LazyFrame:
    """Add `targets` (sorted, unique): antigens named in the text, plus the named products' ones."""
    strong = joined(PRIMARY_COLUMNS, prefix="m__")
    # The summary (masked where it was scanned) only when titles and interventions name none:
    # it also names targets of earlier products and of the disease.
    support = pl.concat_str(
        [pl.coalesce(pl.col("m__" + c), pl.col(c)) for c in ("brief_summary", "detailed_description")],
        separator=" | ",
        ignore_nulls=True,
    )
    cell = frame.filter(pl.col("is_cell_therapy"))
    found = (
        cell.select(
            "_row",
            pl.when(strong.str.contains(comp.target_mention))
            .then(strong)
            .otherwise(support)
            .str.extract_all(comp.target_mention)
            .alias("_mention"),
        )
        .explode("_mention")
        .drop_nulls("_mention")
    )
    # One regex pass over the text; each distinct mention ("Claudin 18.2", "CART19", "CD19/22")
    # is then mapped to every antigen it names, so the per-antigen patterns only run on a few
    # distinct strings. A mention followed by "negative", "refractory"... is context.
    canon = (
        found.select(pl.col("_mention").unique())
        .with_columns(
            pl.when(~pl.col("_mention").str.contains(comp.target_context))
            .then(
                pl.concat_list(
                    pl.when(pl.col("_mention").str.contains(p)).then(pl.lit(name)) for name, p in comp.targets
                ).list.drop_nulls()
            )
            .alias("_target")
        )
        .explode("_target")
    )
    from_text = found.join(canon, on="_mention", how="left").select("_row", "_target")
    # Products named by the trial bring their dictionary targets (already canonical).
    from_products = (
        cell.select("_row", pl.col("_products").alias("product_id"))
        .explode("product_id")
        .join(dictionary().products.lazy().select("product_id", "targets"), on="product_id", how="inner")
        .select("_row", pl.col("targets").alias("_target"))
        .explode("_target")
    )
    result = (
        pl.concat([from_text, from_products])
        .drop_nulls("_target")
        .group_by("_row")
        .agg(pl.col("_target").unique().sort().alias("targets"))
    )
    return frame.join(result, on="_row", how="left").with_columns(pl.col("targets").fill_null(EMPTY_LIST))
