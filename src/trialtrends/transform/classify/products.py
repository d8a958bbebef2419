"""Product-dictionary hits in trial text: which known products a trial names, and where."""

from __future__ import annotations

import polars as pl

from trialtrends.schemas import TrialProducts, polars_schema
from trialtrends.transform.classify.exprs import ENGINE, INTERVENTION_COLUMNS, TITLE_COLUMNS, contains, joined
from trialtrends.transform.products import dictionary, match_products

TRIAL_PRODUCTS_SCHEMA = polars_schema(TrialProducts)


def product_names() -> dict[str, str]:
    """product_id -> canonical name."""
    d = dictionary().products
    return dict(zip(d["product_id"], d["name"], strict=True))


def first_product_of(products: pl.Expr, modality: str) -> pl.Expr:
    """The first product id of a list whose dictionary modality is `modality` (null if none)."""
    d = dictionary().products
    return products.list.eval(
        pl.element().filter(
            pl.element().replace_strict(d["product_id"], d["modality"], default=None) == modality
        )
    ).list.first()


def mentions_any(text: pl.Expr) -> pl.Expr:
    """The text names some product of the dictionary (whole-word match)."""
    return contains(text, dictionary().pattern)


def product_hits(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Add the product-dictionary tests of one reading: `_prod_iv` (masked interventions) and
    `_prod_title` (masked titles) product lists, `_prod_title_lex` (lexically masked titles) and
    `_title_full_product` (the fully masked titles name a product)."""
    # All in one select, side by side: Polars keeps only a few dozen compiled regexes, and the
    # dictionary's is the costliest to compile (~20 ms), so it is compiled once, not per test.
    return frame.with_columns(
        match_products(joined(INTERVENTION_COLUMNS, prefix="m__")).alias("_prod_iv"),
        match_products(joined(TITLE_COLUMNS, prefix="m__")).alias("_prod_title"),
        match_products(pl.col("_title_lex")).alias("_prod_title_lex"),
        mentions_any(pl.col("_title_full")).alias("_title_full_product"),
    )


def product_modalities(products: pl.Expr) -> pl.Expr:
    """The modalities of a list of product ids."""
    d = dictionary().products
    return products.list.eval(
        pl.element().replace_strict(d["product_id"], d["modality"], default=None).drop_nulls()
    )


def product_column(products: pl.Expr, column: str) -> pl.Expr:
    """One dictionary column (a scalar per product) for a list of product ids."""
    d = dictionary().products
    return products.list.eval(pl.element().replace_strict(d["product_id"], d[column], default=None))


def trial_products(cand: pl.DataFrame) -> pl.DataFrame:
    """trial_products rows: every product a classified trial names in interventions or titles."""
    d = dictionary().products
    names = dict(zip(d["product_id"], d["name"], strict=True))
    rows = (
        cand.lazy()
        .filter(pl.col("is_cell_therapy"))
        .select(
            "_row",
            "nct_id",
            pl.col("_prod_iv").alias("interventions"),
            pl.when(pl.col("_title_counts"))
            .then(pl.col("_prod_title"))
            .otherwise(pl.lit([], pl.List(pl.String)))
            .alias("title"),
        )
        .unpivot(index=["_row", "nct_id"], variable_name="_field", value_name="product_id")
        .explode("product_id")
        .drop_nulls("product_id")
        # Stable: a trial's products keep their order of mention (the sort alone left ties to
        # the sort algorithm, which orders them differently as the input's layout changes).
        .sort("_row", pl.col("_field") != "interventions", maintain_order=True)
        .unique(["nct_id", "product_id"], keep="first", maintain_order=True)
    )
    return (
        rows.select(
            "nct_id",
            "product_id",
            pl.format(
                "{}: {}", pl.col("_field"), pl.col("product_id").replace_strict(names, default=None)
            ).alias("evidence"),
        )
        .cast(TRIAL_PRODUCTS_SCHEMA)
        .collect(engine=ENGINE)
    )
