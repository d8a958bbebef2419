"""Role of each modality row and the trial's cell source.

Role (trial_modalities.role) follows the design guard that decided the trial (rule file GUARDS):
follow_up and combination guards give their outcome, no guard means investigational. Only a
CAR-T can be the standard backbone of a combination; another cell product in such a trial (a DC
vaccine given with standard CAR-T) is investigational.

Cell source (trial_flags.cell_source): in vivo CAR first; then explicit wording in titles and
interventions, then in the summary (autologous vs allogeneic wording, transplant phrases masked);
then the product dictionary (the named products agree on one source); then a listed leukapheresis
(the patient's cells are collected); else 'unclear'.
"""

from __future__ import annotations

import polars as pl

from classify_reference.compiled import Compiled
from classify_reference.exprs import PRIMARY_COLUMNS, contains, joined
from classify_reference.products import product_column
from trialtrends.data import modality_rules as R

UNCLEAR = "unclear"


def role(modality: pl.Expr) -> pl.Expr:
    """Role of one modality row from the trial's guard outcome (`_outcome`)."""
    outcome = pl.col("_outcome")
    return (
        pl.when(outcome == R.FOLLOW_UP)
        .then(pl.lit(R.FOLLOW_UP))
        .when((outcome == R.COMBINATION) & (modality == "CAR-T"))
        .then(pl.lit(R.COMBINATION))
        .otherwise(pl.lit(R.INVESTIGATIONAL))
    )


def _wording(text: pl.Expr, comp: Compiled) -> pl.Expr:
    """'autologous', 'allogeneic' or null (none or both) from explicit wording in a text."""
    clean = text.str.replace_all(comp.rx["cell_source_context"], " ~ ")
    auto = contains(clean, comp.rx["autologous_words"])
    allo = contains(clean, comp.rx["allogeneic_words"])
    return (
        pl.when(auto & ~allo)
        .then(pl.lit("autologous"))
        .when(allo & ~auto)
        .then(pl.lit("allogeneic"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )


def cell_source(frame: pl.DataFrame, comp: Compiled) -> pl.DataFrame:
    """Add `cell_source` to the cell-therapy rows (others get 'unclear' in the flags)."""
    sources = product_column(pl.col("_products"), "cell_source").list.drop_nulls().list.unique()
    from_products = pl.when(sources.list.len() == 1).then(sources.list.first())
    return frame.with_columns(
        pl.when(pl.col("is_in_vivo_car"))
        .then(pl.lit("in_vivo"))
        .otherwise(
            pl.coalesce(
                _wording(joined(PRIMARY_COLUMNS), comp),
                _wording(pl.col("brief_summary").fill_null(""), comp),
                from_products,
                pl.when(contains(pl.col("intervention_names"), comp.rx["leukapheresis_item"])).then(
                    pl.lit("autologous")
                ),
                pl.lit(UNCLEAR),
            )
        )
        .alias("cell_source")
    )
