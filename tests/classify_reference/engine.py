"""Rule-based classifier: which immune cell-therapy modalities does a trial test, and how?

Input is the text frame of `trialtrends.transform.study_text` (one row per study). The rules live in
`trialtrends.data.modality_rules` (compiled once by `compiled.py`) and the product dictionary in
`trialtrends.data.products.csv` (`transform/products.py`); everything runs as Polars string
expressions (no Python loop per study), so the 600k-study bulk run stays fast.

How a trial gets a modality row (what it gives, not what it mentions):
1. Lexical masks remove phrases that look like products but are not ("NK/T-cell lymphoma",
   "TCRz" signalling domains, "TCR knock-out", TIL scores). Background masks remove products
   named as context ("after CAR-T", "patients receiving axi-cel"), except in exposure studies
   (long-term follow-up, observational, outcome research), whose subject is treated patients.
2. Primary evidence: a rule or a product-dictionary name matching the interventions, or the
   titles (unless every listed intervention is plainly not a cell product). Conditions are
   never read.
3. If neither names a product, the summary, detailed description, arm groups, keywords and
   intervention MeSH decide, but only for follow-up studies or when the interventions list
   something that may be a cell product (a code name, "cell injection").
4. The design guards of the rule file (GUARDS, first match wins) decide the role: follow_up,
   combination, or no row at all (supportive care, a product named only as history);
   a trial no guard catches is investigational.
"""

from __future__ import annotations

import logging

import polars as pl

from classify_reference import evidence, guards, items, products, roles, targets
from classify_reference.compiled import Compiled, compiled
from classify_reference.exprs import (
    EMPTY_LIST,
    INTERVENTION_COLUMNS,
    PRIMARY_COLUMNS,
    SCAN_COLUMNS,
    SUPPORT_COLUMNS,
    TIER_OF,
    TITLE_COLUMNS,
    any_class,
    any_of,
    contains,
    hit,
    joined,
    masked,
    tier_hits,
)
from classify_reference.model import CLASSIFIER_VERSION, MODALITIES, Classification, resolve
from trialtrends.data import modality_rules as R
from trialtrends.schemas import TrialFlags, TrialModalities, polars_schema
from trialtrends.transform.study_text import TEXT_COLUMNS

logger = logging.getLogger(__name__)

# The output frames' dtypes come from their table contracts (one definition per column).
MODALITIES_SCHEMA = polars_schema(TrialModalities)
FLAGS_SCHEMA = polars_schema(TrialFlags)
# Expanded access is a way to get a product, not a trial of it: flagged and kept out of the
# default counts (study type, or the statuses only expanded-access records carry).
EXPANDED_ACCESS_STATUSES = (
    "AVAILABLE", "NO_LONGER_AVAILABLE", "TEMPORARILY_NOT_AVAILABLE", "APPROVED_FOR_MARKETING",
)  # fmt: skip


# --------------------------------------------------------------------------------------------
# Stages (frame in, frame out)
# --------------------------------------------------------------------------------------------


def ensure_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """Add missing text columns as null strings and cast the present ones to String."""
    missing = [pl.lit(None, dtype=pl.String).alias(c) for c in TEXT_COLUMNS if c not in frame]
    if missing:
        frame = frame.with_columns(missing)
    return frame.select([pl.col(c).cast(pl.String) for c in TEXT_COLUMNS])


def mask(frame: pl.DataFrame, columns: tuple[str, ...], comp: Compiled) -> pl.DataFrame:
    """Add masked copies m__<col>; exposure studies keep products named as context."""
    full = comp.masks_lexical + comp.masks_background
    return frame.with_columns(
        pl.when(pl.col("_exposure"))
        .then(masked(pl.col(c), comp.masks_lexical))
        .otherwise(masked(pl.col(c), full))
        .alias("m__" + c)
        for c in columns
    )


def class_hits(frame: pl.DataFrame, columns: tuple[str, ...], comp: Compiled) -> pl.DataFrame:
    """Add one boolean column per (rule class, text column) on the masked text."""
    exprs = []
    for klass in R.RULE_CLASSES:
        for col in columns:
            passes = comp.class_tier.get((klass, TIER_OF[col]))
            if passes is None:
                continue
            text = pl.col("m__" + col)
            exprs.append(
                any_of([text.str.contains(p) for p in passes]).fill_null(False).alias(hit(klass, col))
            )
    return frame.with_columns(exprs)


def _design(frame: pl.DataFrame, comp: Compiled) -> pl.DataFrame:
    """Trial-level exposure flags read before masking: long-term follow-up, observational."""
    p = comp.rx
    title = joined(TITLE_COLUMNS)
    ltfu = contains(
        joined((*TITLE_COLUMNS, "intervention_names", "intervention_other_names")), p["long_term_follow_up"]
    )
    observational = (
        contains(title, p["observational_design"])
        | contains(pl.col("brief_summary"), p["observational_summary"])
        | (pl.col("study_type") == "OBSERVATIONAL").fill_null(False)
        # No intervention listed (and not declared interventional): nothing is given.
        | (pl.col("intervention_names").is_null() & (pl.col("study_type") != "INTERVENTIONAL")).fill_null(
            True
        )
    )
    ltfu = ltfu | contains(pl.col("brief_summary"), p["long_term_follow_up_summary"])
    return frame.with_columns(
        ltfu.alias("_ltfu"), observational.alias("_observational"), (ltfu | observational).alias("_exposure")
    )


def _add_on_title(frame: pl.DataFrame, comp: Compiled) -> pl.DataFrame:
    """Add _add_on_title: the title names another agent and no investigational cell product."""
    p = comp.rx
    title = joined(TITLE_COLUMNS, prefix="m__")
    # The agent is looked for outside the standard products' own names and codes and outside
    # parenthesised study acronyms.
    rest = title.str.replace_all(p["standard_cell_title"], " ~ ").str.replace_all(p["study_acronym"], " ~ ")
    maybe = frame.filter(rest.str.contains(p["add_on_agent"]) & ~title.str.contains(p["comparison"]))
    # Only the few titles naming an add-on agent get the (costly) product check.
    flagged = maybe.select(
        "_row",
        (
            ~any_class(rest, R.TITLE, comp)
            # An antigen left over ("CAR T-cell therapy targeting CD19 and BCMA") means the
            # product is a specific, investigational one.
            & ~rest.str.contains(comp.antigen)
        ).alias("_add_on_title"),
    )
    return frame.join(flagged, on="_row", how="left").with_columns(pl.col("_add_on_title").fill_null(False))


def _title_variants(frame: pl.DataFrame, comp: Compiled) -> pl.DataFrame:
    """Lexically and fully masked titles with their product tests, whatever the masks used."""
    # Materialise the two texts first: every test below reads them (an expression reused in
    # many columns would be masked again for each).
    frame = frame.with_columns(masked(joined(TITLE_COLUMNS), comp.masks_lexical).alias("_title_lex"))
    frame = frame.with_columns(masked(pl.col("_title_lex"), comp.masks_background).alias("_title_full"))
    lexical, full = pl.col("_title_lex"), pl.col("_title_full")
    lex_hits = {k: any_of([lexical.str.contains(p) for p in comp.class_tier.get((k, R.TITLE), ())])
                for k in R.RULE_CLASSES}  # fmt: skip
    frame = frame.with_columns(
        (lexical != full).fill_null(False).alias("_title_background"),
        (any_class(full, R.TITLE, comp) | products.mentions_any(full)).alias("_title_names_product"),
        *[v.fill_null(False).alias("t__" + k) for k, v in lex_hits.items()],
        products.match_products_expr(lexical).alias("_prod_title_lex"),
    )
    return frame.with_columns(
        (
            any_of([pl.col("t__" + k) for k in R.RULE_CLASSES]) | (pl.col("_prod_title_lex").list.len() > 0)
        ).alias("_title_mentions_product")
    )


def _primary(frame: pl.DataFrame, comp: Compiled) -> pl.DataFrame:
    """Features, the guard outcome, primary-tier modalities p__<M>, and whether the summary decides."""
    p = comp.rx
    title_hits = {k: tier_hits(k, TITLE_COLUMNS, comp) for k in R.RULE_CLASSES}
    iv_hits = {k: tier_hits(k, INTERVENTION_COLUMNS, comp) for k in R.RULE_CLASSES}
    title_masked = joined(TITLE_COLUMNS, prefix="m__")
    frame = _title_variants(
        _add_on_title(frame.join(items.intervention_items(frame, comp), on="_row", how="left"), comp), comp
    )
    frame = frame.with_columns(
        pl.col(items.ITEM_FLAGS).fill_null(False),
        (any_of(list(iv_hits.values())) | (pl.col("_prod_iv").list.len() > 0)).alias("_iv_names_product"),
        pl.concat_str([joined(TITLE_COLUMNS), joined(INTERVENTION_COLUMNS)], separator=" | ")
        .str.contains(p["cell_hint"])
        .alias("_cell_hint"),
        pl.col("intervention_names").is_not_null().alias("_has_interventions"),
        (pl.col("_standard_item") | contains(title_masked, p["standard_cell_title"])).alias(
            "_standard_product"
        ),
        *guards.regex_features(comp),
    ).with_columns(*guards.guard_outcome())
    if "_forced_outcome" in frame.columns:
        # A re-read with lexical masks keeps the outcome the first reading decided.
        frame = frame.with_columns(pl.coalesce("_forced_outcome", "_outcome").alias("_outcome"))
    c = pl.col
    # Follow-up and combination trials name the product as context ("after CAR-T", "before
    # CAR-T infusion"): their titles are read with lexical masks only.
    follow = c("_outcome").is_in([R.FOLLOW_UP, R.COMBINATION])
    veto = (c("_outcome") == R.NO_ROW).fill_null(False)
    # A title naming a product counts unless every listed intervention is plainly not one.
    title_counts = ~(c("_has_interventions") & c("_all_non_cell") & ~c("_exposure")) | follow.fill_null(False)
    title_class = {k: pl.when(follow).then(c("t__" + k)).otherwise(title_hits[k]) for k in R.RULE_CLASSES}
    frame = frame.with_columns(
        title_counts.alias("_title_counts"),
        pl.when(follow).then(c("_prod_title_lex")).otherwise(c("_prod_title")).alias("_prod_title_used"),
    ).with_columns(
        pl.concat_list(
            "_prod_iv", pl.when(c("_title_counts")).then(c("_prod_title_used")).otherwise(EMPTY_LIST)
        )
        .list.unique(maintain_order=True)
        .alias("_products")
    )
    prod_mods = products.product_modalities(c("_products"))
    primary = resolve(
        {k: iv_hits[k] | (title_class[k].fill_null(False) & c("_title_counts")) for k in R.RULE_CLASSES}
    )
    primary = {m: v | prod_mods.list.contains(m) for m, v in primary.items()}
    use_support = (
        ~any_of(list(primary.values()))
        & ~veto
        & (
            c("_ltfu")
            | (
                c("_has_interventions")
                & ~c("_all_non_cell")
                # Lymphodepletion plus drugs only: a product must at least be hinted at.
                & (~c("_only_drugs") | c("_cell_hint"))
            )
        )
    )
    return frame.with_columns(
        veto.alias("_veto"),
        use_support.alias("_use_support"),
        *[(v & ~veto).alias("p__" + k) for k, v in primary.items()],
    )


def _support(frame: pl.DataFrame, comp: Compiled) -> pl.DataFrame:
    """Add modality booleans mod__<M>; the summary tier runs only where it may decide."""
    sub = frame.filter(pl.col("_use_support")).select("_row", "_exposure", *SUPPORT_COLUMNS)
    sub = class_hits(mask(sub, SUPPORT_COLUMNS, comp), SUPPORT_COLUMNS, comp)
    support = resolve({k: tier_hits(k, SUPPORT_COLUMNS, comp) for k in R.RULE_CLASSES})
    sub = sub.select(
        "_row",
        *[pl.col("m__" + c) for c in SUPPORT_COLUMNS],
        *[
            pl.col(hit(k, c))
            for k in R.RULE_CLASSES
            for c in SUPPORT_COLUMNS
            if (k, R.SUPPORT) in comp.class_tier
        ],
        *[v.alias("s__" + k) for k, v in support.items()],
    )
    hit_cols = [c for c in sub.columns if c.startswith(("h__", "s__"))]
    frame = frame.join(sub, on="_row", how="left").with_columns(pl.col(hit_cols).fill_null(False))
    return frame.with_columns(
        pl.when(pl.col("_use_support"))
        .then(pl.col("s__" + m))
        .otherwise(pl.col("p__" + m))
        .alias("mod__" + m)
        for m in MODALITIES
    ).with_columns(any_of([pl.col("mod__" + m) for m in MODALITIES]).alias("is_cell_therapy"))


def _in_vivo(frame: pl.DataFrame, comp: Compiled) -> pl.DataFrame:
    """Add is_in_vivo_car: a CAR-T/CAR-M trial whose text says the CAR is made in the patient."""
    text = joined(SCAN_COLUMNS)
    maybe = frame.filter(
        (pl.col("mod__CAR-T") | pl.col("mod__CAR-M")) & text.str.contains(comp.rx["in_vivo_anchor"])
    ).select("_row", any_of([text.str.contains(p) for p in comp.in_vivo]).alias("is_in_vivo_car"))
    in_vivo_product = products.product_column(pl.col("_products"), "cell_source").list.contains("in_vivo")
    return frame.join(maybe, on="_row", how="left").with_columns(
        (pl.col("is_in_vivo_car").fill_null(False) | (pl.col("is_cell_therapy") & in_vivo_product)).alias(
            "is_in_vivo_car"
        )
    )


def _modality_rows(cand: pl.DataFrame, comp: Compiled) -> pl.DataFrame:
    """One row per (trial, modality) found, with its role and the evidence quote."""
    names = products.product_names()
    long = pl.concat(
        [
            cand.filter(pl.col("mod__" + m)).select(
                "_row",
                "nct_id",
                pl.lit(m).alias("modality"),
                pl.col("evcol__" + m).alias("_column"),
                products.first_product_of(pl.col("_products"), m)
                .replace_strict(names, default=None)
                .alias("_product"),
            )
            for m in MODALITIES
        ]
    )
    texts = cand.select("_row", "_outcome", *[pl.col("m__" + c) for c in SCAN_COLUMNS])
    long = long.join(texts, on="_row", how="left").select(
        "_row",
        "nct_id",
        "modality",
        "_outcome",
        "_column",
        "_product",
        pl.col("_column").replace_strict(TIER_OF, default=None).alias("_tier"),
        pl.coalesce(pl.when(pl.col("_column") == c).then(pl.col("m__" + c)) for c in SCAN_COLUMNS).alias(
            "_text"
        ),
    )
    order = {m: i for i, m in enumerate(MODALITIES)}
    return (
        evidence.quote_evidence(long, comp)
        .with_columns(pl.col("modality").replace_strict(order).alias("_order"))
        .sort("_row", "_order")
        .select(
            "nct_id",
            "modality",
            roles.role(pl.col("modality")).alias("role"),
            "evidence",
            pl.lit(CLASSIFIER_VERSION).alias("classifier_version"),
        )
        .unique(["nct_id", "modality"], keep="first", maintain_order=True)
        .cast(MODALITIES_SCHEMA)
    )


def _stage(cand: pl.DataFrame, comp: Compiled) -> pl.DataFrame:
    """Mask, match and decide (everything up to the modality booleans)."""
    cand = class_hits(mask(cand, PRIMARY_COLUMNS, comp), PRIMARY_COLUMNS, comp)
    return _support(_primary(products.product_hits(cand), comp), comp)


def _decided(frame: pl.DataFrame, comp: Compiled) -> pl.DataFrame:
    """The candidate rows of a text frame (with `_row`) with their modality booleans and
    `is_cell_therapy`, which nothing after this changes."""
    # Cheap pass: a study that matches no rule anchor and names no known product anywhere can
    # have no modality.
    cand = _design(
        frame.filter(
            joined(SCAN_COLUMNS).str.contains(comp.prefilter)
            | products.mentions_any(
                joined((*TITLE_COLUMNS, "intervention_names", "intervention_other_names"))
            )
        ),
        comp,
    )
    base = cand.columns
    cand = _stage(cand, comp)
    # Follow-ups and combinations found by the guards (not by the design words) name the product
    # as context: they are re-read with lexical masks only, like every exposure study.
    redo = pl.col("_outcome").is_in([R.FOLLOW_UP, R.COMBINATION]) & ~pl.col("_exposure")
    if cand.select(redo.any()).item():
        again = cand.filter(redo).select(*base, pl.col("_outcome").alias("_forced_outcome"))
        again = _stage(again.with_columns(pl.lit(True).alias("_exposure")), comp)
        cand = pl.concat([cand.filter(~redo.fill_null(False)), again], how="diagonal_relaxed").sort("_row")
    return cand


def _frame(text: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    frame = text.collect() if isinstance(text, pl.LazyFrame) else text
    return ensure_columns(frame).with_row_index("_row")


def cell_therapy_ids(text: pl.DataFrame | pl.LazyFrame) -> set[str]:
    """The nctIds `classify` finds cell therapy in, without the rest of its output (evidence,
    targets, roles, products): what the bulk path needs to decide which studies to normalise."""
    cand = _decided(_frame(text), compiled())
    return set(cand.filter(pl.col("is_cell_therapy"))["nct_id"].drop_nulls())


def classify(text: pl.DataFrame | pl.LazyFrame) -> Classification:
    """Classify trials (text frame of study_text) into cell-therapy modalities, roles and flags."""
    comp = compiled()
    frame = _frame(text)
    cand = evidence.evidence_choice(_decided(frame, comp), comp)
    cand = roles.cell_source(_in_vivo(targets.targets(cand, comp), comp), comp).with_columns(
        (pl.col("is_cell_therapy") & (pl.col("_outcome") == R.FOLLOW_UP).fill_null(False)).alias(
            "is_long_term_follow_up"
        )
    )
    modalities = _modality_rows(cand, comp)
    flags = (
        frame.select("_row", "nct_id", "study_type", "overall_status")
        .join(
            cand.select(
                "_row",
                "is_cell_therapy",
                "is_long_term_follow_up",
                "is_in_vivo_car",
                "targets",
                "cell_source",
                "cell_source_basis",
            ),
            on="_row",
            how="left",
        )
        .sort("_row")
        .select(
            "nct_id",
            pl.col("is_cell_therapy").fill_null(False),
            pl.col("is_long_term_follow_up").fill_null(False),
            pl.col("is_in_vivo_car").fill_null(False),
            (
                (pl.col("study_type") == "EXPANDED_ACCESS")
                | pl.col("overall_status").is_in(EXPANDED_ACCESS_STATUSES)
            )
            .fill_null(False)
            .alias("is_expanded_access"),
            pl.when(pl.col("is_cell_therapy"))
            .then(pl.col("cell_source"))
            .otherwise(pl.lit(roles.UNCLEAR))
            .fill_null(roles.UNCLEAR)
            .alias("cell_source"),
            pl.when(pl.col("is_cell_therapy")).then(pl.col("cell_source_basis")).alias("cell_source_basis"),
            pl.col("targets").fill_null(EMPTY_LIST),
            pl.lit(CLASSIFIER_VERSION).alias("classifier_version"),
        )
        .cast(FLAGS_SCHEMA)
    )
    linked = products.trial_products(cand)
    logger.info(
        "classified %d studies: %d candidates, %d cell-therapy, %d modality rows, %d product links",
        frame.height,
        cand.height,
        flags["is_cell_therapy"].sum(),
        modalities.height,
        linked.height,
    )
    return Classification(modalities=modalities, flags=flags, products=linked)
