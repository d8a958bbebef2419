"""Per-trial facts about the intervention list, item by item ("A | B | C" in intervention_names)."""

from __future__ import annotations

import polars as pl

from classify_reference.compiled import Compiled
from classify_reference.exprs import any_class, masked
from trialtrends.data import modality_rules as R

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


def intervention_items(frame: pl.DataFrame, comp: Compiled) -> pl.DataFrame:
    """One row per trial with interventions: what kinds of item its list holds."""
    # Lexical masks only: inside one item, "X before ASCT and CAR-T" still lists the CAR-T.
    names = masked(pl.col("intervention_names"), comp.masks_lexical)
    item = pl.col("_item")
    p = comp.rx
    items = (
        frame.select("_row", names.str.split(" | ").alias("_item"))
        .explode("_item")
        .drop_nulls("_item")
        .with_columns(
            any_class(item, R.INTERVENTION, comp).alias("_cell"),
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
    )
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
