"""Rule classes judged per tier as set operations: each tier's regex passes run once over the
distinct texts it judges (columns, title variants, list items), and the texts get their class
booleans back by joins.

Why: the same text is often judged several times (a title lexically and fully masked, a drug
listed by many trials), and Polars keeps only a few dozen compiled regexes, so a pass written
once per column was compiled again for each column.
"""

from __future__ import annotations

import polars as pl

from trialtrends.data import modality_rules as R
from trialtrends.transform.classify.compiled import Compiled
from trialtrends.transform.classify.exprs import (
    ENGINE,
    INTERVENTION_COLUMNS,
    TIER_OF,
    TITLE_COLUMNS,
    any_of,
    hit,
    masked,
)


def mask(frame: pl.LazyFrame, columns: tuple[str, ...], comp: Compiled) -> pl.LazyFrame:
    """Add masked copies m__<col>; exposure studies keep products named as context."""
    full = comp.masks_lexical + comp.masks_background
    return frame.with_columns(
        pl.when(pl.col("_exposure"))
        .then(masked(pl.col(c), comp.masks_lexical))
        .otherwise(masked(pl.col(c), full))
        .alias("m__" + c)
        for c in columns
    )


def tier_table(texts: list[pl.LazyFrame], tier: str, comp: Compiled) -> pl.LazyFrame:
    """The rule classes of one tier over a set of texts: one row per distinct text (`_text`),
    one boolean `c__<class>` per class that has rules in the tier.

    Every regex pass of the tier runs once, over the distinct texts of every column and variant
    that the tier judges (instead of once per column, which also compiled each pass again for
    each column: Polars keeps only a few dozen compiled regexes).
    """
    distinct = pl.concat([t.select(pl.col("_text")) for t in texts]).drop_nulls().unique()
    return distinct.with_columns(
        any_of([pl.col("_text").str.contains(p) for p in comp.class_tier[k, tier]]).alias("c__" + k)
        for k in R.RULE_CLASSES
        if (k, tier) in comp.class_tier
    )


def tier_classes(tier: str, comp: Compiled) -> list[str]:
    """The rule classes with rules in a tier (the `c__` columns of its `tier_table`)."""
    return [k for k in R.RULE_CLASSES if (k, tier) in comp.class_tier]


def join_classes(frame: pl.LazyFrame, on: str, table: pl.LazyFrame, names: dict[str, str]) -> pl.LazyFrame:
    """Join a tier table on the text column `on`, class k's boolean named `names[k]`; a null
    text matches no class (False), as a null-safe regex test would say."""
    right = table.select(pl.col("_text").alias(on), *[pl.col("c__" + k).alias(n) for k, n in names.items()])
    return frame.join(right, on=on, how="left", maintain_order="left").with_columns(
        pl.col(list(names.values())).fill_null(False)
    )


def texts(frame: pl.LazyFrame, *columns: str) -> list[pl.LazyFrame]:
    """Text columns as `_text` frames, the input of a tier table."""
    return [frame.select(pl.col(c).alias("_text")) for c in columns]


def class_hits(
    frame: pl.DataFrame | pl.LazyFrame,
    columns: tuple[str, ...],
    comp: Compiled,
    tables: dict[str, pl.LazyFrame] | None = None,
) -> pl.DataFrame | pl.LazyFrame:
    """Add one boolean column per (rule class, text column) on the masked text, read from the
    tier tables (`tier_table`, built from these columns when not given) by joining on the text."""
    lazy = frame.lazy()
    if tables is None:
        tiers = {TIER_OF[c] for c in columns}
        by_tier = {t: texts(lazy, *["m__" + c for c in columns if TIER_OF[c] == t]) for t in tiers}
        tables = {t: tier_table(by_tier[t], t, comp).collect(engine=ENGINE).lazy() for t in tiers}
    for col in columns:
        tier = TIER_OF[col]
        lazy = join_classes(
            lazy, "m__" + col, tables[tier], {k: hit(k, col) for k in tier_classes(tier, comp)}
        )
    return lazy.collect(engine=ENGINE) if isinstance(frame, pl.DataFrame) else lazy


def primary_tables(
    frame: pl.LazyFrame, items: pl.LazyFrame, comp: Compiled
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """The intervention and title tier tables of a masked candidate frame (materialised): every
    text each tier judges, i.e. the masked columns, the two title variants (`_title_lex`,
    `_title_full`) and the listed items (`items.item_texts`)."""
    iv = [
        *texts(frame, *["m__" + c for c in INTERVENTION_COLUMNS]),
        items.select(pl.col("_item").alias("_text")),
    ]
    title = texts(frame, *["m__" + c for c in TITLE_COLUMNS], "_title_lex", "_title_full")
    tables = [tier_table(iv, R.INTERVENTION, comp), tier_table(title, R.TITLE, comp)]
    iv_table, title_table = pl.collect_all(tables, engine=ENGINE)
    return iv_table.lazy(), title_table.lazy()
