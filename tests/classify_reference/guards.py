"""Design guards: the rule file's GUARDS evaluated generically over named trial features.

A guard is data (`modality_rules.GUARDS`): a name, an outcome (follow_up, combination, no_row)
and a conjunction of feature names ("!" negates). Features are boolean columns `_<name>`: the
regex FEATURES are computed here, the structural ones by the engine. The first guard that holds
(rule-file order) sets `_outcome` and `_guard`; no guard leaves both null (investigational).
"""

from __future__ import annotations

import polars as pl

from classify_reference.compiled import Compiled
from classify_reference.exprs import TITLE_COLUMNS, contains, joined
from trialtrends.data import modality_rules as R


def feature_texts(comp: Compiled) -> dict[str, pl.Expr]:
    """The texts a regex Feature can be tested on (its `on`)."""
    return {
        "title": joined(TITLE_COLUMNS),
        "title_masked": joined(TITLE_COLUMNS, prefix="m__"),
        # Titles without "patients with ...": the combination words then join agents only.
        "title_design": joined(TITLE_COLUMNS).str.replace_all(comp.rx["patients_with"], " ~ "),
        "summary": pl.col("brief_summary"),
    }


def regex_features(comp: Compiled) -> list[pl.Expr]:
    """One boolean column per rule-file Feature."""
    texts = feature_texts(comp)
    return [contains(texts[f.on], comp.rx[f.pattern.name]).alias("_" + f.name) for f in R.FEATURES]


def _condition(term: str) -> pl.Expr:
    negate = term.startswith("!")
    col = pl.col("_" + term.lstrip("!"))
    return ~col if negate else col


def guard_outcome(guards: tuple[R.Guard, ...] = R.GUARDS) -> tuple[pl.Expr, pl.Expr]:
    """(`_outcome`, `_guard`) expressions: the first guard whose conditions all hold."""
    outcome: pl.Expr = pl.lit(None, dtype=pl.String)
    name: pl.Expr = pl.lit(None, dtype=pl.String)
    # Built backwards so the first guard in rule-file order wins.
    for guard in reversed(guards):
        holds = pl.all_horizontal([_condition(t) for t in guard.when])
        outcome = pl.when(holds).then(pl.lit(guard.outcome)).otherwise(outcome)
        name = pl.when(holds).then(pl.lit(guard.name)).otherwise(name)
    return outcome.alias("_outcome"), name.alias("_guard")


def features_used(guards: tuple[R.Guard, ...] = R.GUARDS) -> set[str]:
    """Every feature name the guards refer to (for the integrity test)."""
    return {t.lstrip("!") for g in guards for t in g.when}
