"""Per-trial facts about the intervention list, item by item ("A | B | C" in intervention_names)."""

from __future__ import annotations

import polars as pl

from trialtrends.data import modality_rules as R
from trialtrends.transform.classify.compiled import Compiled
from trialtrends.transform.classify.exprs import any_of, masked
from trialtrends.transform.classify.tiers import join_classes, tier_classes

ITEM_FLAGS = (
    "_all_non_cell",
    "_only_drugs",
    "_investigational_item",
    "_standard_item",
    "_other_item",
    "_assessment_only",
    "_sampling_only",
    "_named_standard_item",
)


def item_texts(frame: pl.LazyFrame, comp: Compiled) -> pl.LazyFrame:
    """One row per (trial, listed intervention): `_row`, `_item`."""
    # Lexical masks only: inside one item, "X before ASCT and CAR-T" still lists the CAR-T.
    names = masked(pl.col("intervention_names"), comp.masks_lexical)
    return frame.select("_row", names.str.split(" | ").alias("_item")).explode("_item").drop_nulls("_item")


def intervention_items(items: pl.LazyFrame, classes: pl.LazyFrame, comp: Compiled) -> pl.LazyFrame:
    """One row per trial with interventions: what kinds of item its list holds.

    `items` is `item_texts`; `classes` the intervention tier table (`tiers.tier_table`) holding
    every item. Each distinct item is judged once (drug names repeat across trials).
    """
    item = pl.col("_item")
    p = comp.rx
    cell = {k: "_c__" + k for k in tier_classes(R.INTERVENTION, comp)}
    facts = join_classes(items.select("_item").unique(), "_item", classes, cell).select(
        "_item",
        any_of([pl.col(c) for c in cell.values()]).alias("_cell"),
        item.str.contains(p["standard_cell_item"]).alias("_standard"),
        item.str.contains(p["named_standard_item"]).alias("_named_standard"),
        item.str.contains(p["non_cell_intervention"]).alias("_non_cell"),
        item.str.contains(p["lymphodepletion"]).alias("_lymphodepletion"),
        item.str.contains(p["assessment_item"]).alias("_assessment"),
        item.str.contains(p["sampling_item"]).alias("_sampling"),
        (item.str.contains(p["item_cell_therapy"]) & ~item.str.contains(p["stem_cell_item"])).alias(
            "_cell_words"
        ),
    )
    items = items.join(facts, on="_item", how="left")
    not_cell = ~pl.col("_cell") & ~pl.col("_cell_words")
    return items.group_by("_row").agg(
        # Every item is plainly not a cell product (drug, test, device, procedure);
        # lymphodepleting chemotherapy does not count: it announces a cell product.
        (pl.col("_non_cell") & ~pl.col("_lymphodepletion") & not_cell).all().alias("_all_non_cell"),
        # Only drugs, procedures and lymphodepletion: the product is named elsewhere, if at all.
        ((pl.col("_non_cell") | pl.col("_lymphodepletion")) & not_cell).all().alias("_only_drugs"),
        (pl.col("_cell") & ~pl.col("_standard")).any().alias("_investigational_item"),
        pl.col("_standard").any().alias("_standard_item"),
        pl.col("_named_standard").any().alias("_named_standard_item"),
        # Something is given besides the product, assessments and lymphodepletion.
        (not_cell & ~pl.col("_assessment") & ~pl.col("_lymphodepletion")).any().alias("_other_item"),
        (pl.col("_assessment") & not_cell).all().alias("_assessment_only"),
        (pl.col("_sampling") & not_cell).all().alias("_sampling_only"),
    )
