"""Role of each modality row and the trial's cell source.

Role (trial_modalities.role) follows the design guard that decided the trial (rule file GUARDS):
follow_up and combination guards give their outcome, no guard means investigational. Only a
CAR-T can be the standard backbone of a combination; another cell product in such a trial (a DC
vaccine given with standard CAR-T) is investigational.

Cell source (trial_flags.cell_source, with trial_flags.cell_source_basis): in vivo CAR first
(basis 'product' when the dictionary says in vivo, else 'stated'); then explicit wording in titles
and interventions, then in the summary ('stated'; autologous vs allogeneic wording, transplant
phrases masked); then the product dictionary ('product': the named products agree on one source);
then the rule file's SOURCE_INFERENCES ('inferred'); else 'unclear' with a null basis.
"""

from __future__ import annotations

import polars as pl

from classify_reference.compiled import Compiled
from classify_reference.exprs import PRIMARY_COLUMNS, SCAN_COLUMNS, any_of, contains, joined
from classify_reference.model import MODALITIES
from classify_reference.products import product_column
from trialtrends.data import modality_rules as R

UNCLEAR = "unclear"
#: trial_flags.cell_source_basis values: what decided the source.
STATED, PRODUCT, INFERRED = "stated", "product", "inferred"
CELL_SOURCE_BASES = (STATED, PRODUCT, INFERRED)


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


def _modalities_within(allowed: tuple[str, ...]) -> pl.Expr:
    """The trial carries at least one of `allowed` and no other modality."""
    present = [pl.col("mod__" + m) for m in MODALITIES if m in allowed]
    others = [pl.col("mod__" + m) for m in MODALITIES if m not in allowed]
    return any_of(present) & ~any_of(others)


def _inferred(comp: Compiled) -> pl.Expr:
    """The source SOURCE_INFERENCES give (null when a block or no rule applies)."""
    clean = joined(SCAN_COLUMNS).str.replace_all(comp.rx["cell_source_context"], " ~ ")
    blocked = any_of([contains(clean, comp.rx[name]) for name in R.CELL_SOURCE_BLOCKS])
    out = pl.lit(None, dtype=pl.String)
    for rule in reversed(R.SOURCE_INFERENCES):  # built inside out: the first rule wins
        cue = contains(clean, comp.rx[rule.cue]) if rule.cue else pl.lit(True)
        out = pl.when(_modalities_within(rule.modalities) & cue).then(pl.lit(rule.source)).otherwise(out)
    return pl.when(~blocked).then(out)


def cell_source(frame: pl.DataFrame, comp: Compiled) -> pl.DataFrame:
    """Add `cell_source` and `cell_source_basis` to the cell-therapy rows (others get 'unclear'
    and a null basis in the flags)."""
    sources = product_column(pl.col("_products"), "cell_source").list.drop_nulls().list.unique()
    from_products = pl.when(sources.list.len() == 1).then(sources.list.first())
    in_vivo_product = sources.list.contains("in_vivo")
    stated = pl.coalesce(
        _wording(joined(PRIMARY_COLUMNS), comp), _wording(pl.col("brief_summary").fill_null(""), comp)
    )
    return frame.with_columns(
        _stated=stated, _product=from_products, _inferred=_inferred(comp)
    ).with_columns(
        pl.when(pl.col("is_in_vivo_car"))
        .then(pl.lit("in_vivo"))
        .otherwise(pl.coalesce("_stated", "_product", "_inferred", pl.lit(UNCLEAR)))
        .alias("cell_source"),
        pl.when(pl.col("is_in_vivo_car"))
        .then(pl.when(in_vivo_product).then(pl.lit(PRODUCT)).otherwise(pl.lit(STATED)))
        .when(pl.col("_stated").is_not_null())
        .then(pl.lit(STATED))
        .when(pl.col("_product").is_not_null())
        .then(pl.lit(PRODUCT))
        .when(pl.col("_inferred").is_not_null())
        .then(pl.lit(INFERRED))
        .alias("cell_source_basis"),
    ).drop("_stated", "_product", "_inferred")
