"""Rule-based classifier: which immune cell-therapy modalities does a trial test?

Input is the text frame of `trialtrends.transform.study_text` (one row per study). The rules live in
`trialtrends.data.modality_rules`; this module compiles them once and applies them with Polars
string expressions (no Python loop per study), so the 600k-study bulk run stays fast.

How a trial gets a modality (what it TESTS, not what it mentions):
1. Lexical masks remove phrases that look like products but are not ("NK/T-cell lymphoma",
   "TCRz" signalling domains, "TCR knock-out", TIL scores). Background masks remove products
   named as context ("after CAR-T", "patients receiving axi-cel"), except in long-term
   follow-up studies, whose subject is previously treated patients.
2. Primary evidence: a rule matching the intervention names/other names/descriptions, or the
   titles (unless every listed intervention is plainly not a cell product). Conditions are
   never read.
3. If neither names a product, the summary, detailed description, arm groups, keywords and
   intervention MeSH decide, but only for follow-up studies or when the interventions list
   something that may be a cell product (a code name, "cell injection").
4. Vetoes (no modality): titles about supportive care, CRS/ICANS drugs, imaging, costs or
   biomarkers; observational designs; products named only as the setting ("X after CAR-T");
   add-on drugs to an approved or unnamed standard CAR-T.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from trialtrends.data import modality_rules as R
from trialtrends.schemas import TrialFlags, TrialModalities, polars_schema
from trialtrends.transform.study_text import TEXT_COLUMNS

logger = logging.getLogger(__name__)

CLASSIFIER_VERSION = "2026.11.1"

MODALITIES: tuple[str, ...] = (
    "CAR-T",
    "CAR-NK",
    "NK",
    "TCR-T",
    "TIL",
    "CAR-NKT",
    "CAR-gdT",
    "CAR-M",
    "OTHER-CELL",
)

REPORT_GROUPS: dict[str, tuple[str, ...]] = {
    "CAR-T": ("CAR-T",),
    "TCR-T": ("TCR-T",),
    "TIL": ("TIL",),
    "NK": ("NK", "CAR-NK"),
    "ALL": ("CAR-T", "TCR-T", "TIL", "NK", "CAR-NK"),
}

INTERVENTION_COLUMNS = (
    "intervention_names",
    "intervention_other_names",
    "intervention_descriptions",
)
TITLE_COLUMNS = ("brief_title", "official_title", "acronym")
SUPPORT_COLUMNS = (
    "brief_summary",
    "detailed_description",
    "arm_groups",
    "keywords",
    "intervention_mesh",
)
PRIMARY_COLUMNS = INTERVENTION_COLUMNS + TITLE_COLUMNS
#: Scanned fields in evidence priority order (interventions first: they say what is given).
SCAN_COLUMNS = PRIMARY_COLUMNS + SUPPORT_COLUMNS
_TIER_OF = (
    {c: R.INTERVENTION for c in INTERVENTION_COLUMNS}
    | {c: R.TITLE for c in TITLE_COLUMNS}
    | {c: R.SUPPORT for c in SUPPORT_COLUMNS}
)

#: Rule classes whose hits can make each modality (see _resolve for how they combine).
MODALITY_CLASSES: dict[str, tuple[str, ...]] = {
    "CAR-T": ("CAR-T", "CAR"),
    "CAR-NK": ("CAR-NK",),
    "NK": ("NK",),
    "TCR-T": ("TCR-T",),
    "TIL": ("TIL",),
    "CAR-NKT": ("CAR-NKT",),
    "CAR-gdT": ("CAR-gdT",),
    "CAR-M": ("CAR-M",),
    "OTHER-CELL": ("OTHER-CELL", "NKT", "GDT", "VST", "CAR-OTHER"),
}

_EVIDENCE_WINDOW = 50
#: Lexical masks keep a word through named groups (see modality_rules.MASKS).
_MASK_REPLACEMENT = "${k1}${k3}${k4}${k5} ~ ${k2}"
_EMPTY_LIST = pl.lit([], dtype=pl.List(pl.String))

# The output frames' dtypes come from their table contracts (one definition per column).
MODALITIES_SCHEMA = polars_schema(TrialModalities)
FLAGS_SCHEMA = polars_schema(TrialFlags)
# Expanded access is a way to get a product, not a trial of it: flagged and kept out of the
# default counts (study type, or the statuses only expanded-access records carry).
EXPANDED_ACCESS_STATUSES = (
    "AVAILABLE", "NO_LONGER_AVAILABLE", "TEMPORARILY_NOT_AVAILABLE", "APPROVED_FOR_MARKETING",
)  # fmt: skip


@dataclass(frozen=True)
class Classification:
    """Classifier output: one row per (trial, modality) found, and one flag row per trial."""

    modalities: pl.DataFrame
    flags: pl.DataFrame


# --------------------------------------------------------------------------------------------
# Compiling the rule data
# --------------------------------------------------------------------------------------------

# Rewrites applied to every pattern. ASCII classes keep the lazy DFA small: Unicode \w and \b
# multiply its states and made the unions fall back to a slow engine (measured 10-30x slower).
_ASCII = (
    ("\\b", "(?-u:\\b)"),
    ("\\w", "[0-9A-Za-z_]"),
    ("\\W", "[^0-9A-Za-z_]"),
    ("\\s", "[\\t\\n\\f\\r ]"),
    ("\\d", "[0-9]"),
    # Window classes (printable ASCII without the stop characters; see modality_rules).
    ("[^|.;]", "[ -\\-/-:<-{}~]"),
    ("[^|;]", "[ -:<-{}~]"),
    ("[^|.]", "[ -\\-/-{}~]"),
    ("[^|]", "[ -{}~]"),
)


def _rx(pattern: str) -> str:
    """Case-insensitive group with ASCII classes and word boundaries."""
    for old, new in _ASCII:
        pattern = pattern.replace(old, new)
    return "(?i:" + pattern + ")"


def _union(patterns: list[str] | tuple[str, ...]) -> str:
    """One alternation of already-compiled patterns."""
    return "|".join(patterns)


def _windowed(pattern: str) -> bool:
    """Patterns with a bounded window ("{0,n}") blow up the DFA of a union: run them alone."""
    return "{0," in pattern


def _passes(patterns: list[str]) -> tuple[str, ...]:
    """Group patterns into regex passes: one union of the simple ones, each windowed one alone."""
    simple = [p for p in patterns if not _windowed(p)]
    windowed = [p for p in patterns if _windowed(p)]
    return ((_union(simple),) if simple else ()) + tuple(windowed)


@dataclass(frozen=True)
class _Compiled:
    """The rules compiled into the regex strings classify() runs."""

    masks_lexical: tuple[str, ...]
    masks_background: tuple[str, ...]
    prefilter: str
    #: (rule class, tier) -> regex passes; a class hits when any pass matches.
    class_tier: dict[tuple[str, str], tuple[str, ...]]
    #: (modality, tier) -> rules as (name, pattern, pattern with a quote window on each side).
    evidence: dict[tuple[str, str], tuple[tuple[str, str, str], ...]]
    ltfu: str
    ltfu_summary: str
    in_vivo: tuple[str, ...]
    in_vivo_anchor: str
    hard_veto: str
    soft_veto: str
    title_cell_product: str
    observational: str
    observational_summary: str
    standard_item: str
    standard_title: str
    add_on_agent: str
    add_on_drug: str
    comparison: str
    antigen: str
    non_cell_item: str
    item_cell_therapy: str
    stem_cell_item: str
    lymphodepletion: str
    cell_hint: str
    target_mention: str
    target_context: str
    targets: tuple[tuple[str, str], ...]


@lru_cache(maxsize=1)
def _compiled() -> _Compiled:
    """Compile the rule data once per process."""
    class_tier: dict[tuple[str, str], tuple[str, ...]] = {}
    for klass in R.RULE_CLASSES:
        for tier in (R.INTERVENTION, R.TITLE, R.SUPPORT):
            pats = [_rx(r.pattern) for r in R.RULES if r.klass == klass and tier in r.tiers]
            if pats:
                class_tier[klass, tier] = _passes(pats)
    evidence: dict[tuple[str, str], tuple[tuple[str, str, str], ...]] = {}
    window = f"[^|\\n]{{0,{_EVIDENCE_WINDOW}}}"
    for modality, classes in MODALITY_CLASSES.items():
        for tier in (R.INTERVENTION, R.TITLE, R.SUPPORT):
            rules = [r for r in R.RULES if r.klass in classes and tier in r.tiers]
            if rules:
                evidence[modality, tier] = tuple(
                    (r.name, _rx(r.pattern), f"{window}(?:{_rx(r.pattern)}){window}") for r in rules
                )
    names = [_rx(r.pattern) for r in R.RULES if r.names_list]
    return _Compiled(
        masks_lexical=_passes([_rx(m.pattern) for m in R.MASKS]),
        masks_background=tuple(_rx(m.pattern) for m in R.BACKGROUND_MASKS),
        prefilter=_union([_rx(R.PREFILTER_ANCHORS.pattern), *names]),
        class_tier=class_tier,
        evidence=evidence,
        ltfu=_rx(R.LONG_TERM_FOLLOW_UP.pattern),
        ltfu_summary=_rx(R.LONG_TERM_FOLLOW_UP_SUMMARY.pattern),
        in_vivo=_passes([_rx(p.pattern) for p in R.IN_VIVO_CAR]),
        in_vivo_anchor=_rx(R.IN_VIVO_ANCHOR.pattern),
        hard_veto=_rx(R.HARD_DESIGN_VETO.pattern),
        soft_veto=_rx(R.SOFT_DESIGN_VETO.pattern),
        title_cell_product=_rx(R.TITLE_CELL_PRODUCT.pattern),
        observational=_rx(R.OBSERVATIONAL.pattern),
        observational_summary=_rx(R.OBSERVATIONAL_SUMMARY.pattern),
        standard_item=_rx(R.STANDARD_CELL_ITEM.pattern),
        standard_title=_rx(R.STANDARD_CELL_TITLE.pattern),
        add_on_agent=_rx(R.ADD_ON_AGENT.pattern),
        add_on_drug=_rx(R.ADD_ON_DRUG.pattern),
        comparison=_rx(R.COMPARISON.pattern),
        antigen=_rx(R.ANTIGEN),
        non_cell_item=_rx(R.NON_CELL_INTERVENTION.pattern),
        item_cell_therapy=_rx(R.ITEM_CELL_THERAPY.pattern),
        stem_cell_item=_rx(R.STEM_CELL_ITEM.pattern),
        lymphodepletion=_rx(R.LYMPHODEPLETION.pattern),
        cell_hint=_rx(R.CELL_HINT.pattern),
        target_mention=_union(
            [_rx(R.TARGET_MENTION_EXTRA + R.TARGET_CONTEXT)]
            + [_rx("(?:" + p + ")" + R.TARGET_CONTEXT) for _, p in R.TARGETS]
        ),
        target_context=_rx(R.TARGET_CONTEXT_WORDS),
        targets=tuple((name, _rx(p)) for name, p in R.TARGETS),
    )


# --------------------------------------------------------------------------------------------
# Expression helpers
# --------------------------------------------------------------------------------------------


def _joined(columns: tuple[str, ...], prefix: str = "") -> pl.Expr:
    """Concatenate text columns with the item separator, skipping nulls ("" when all null)."""
    return pl.concat_str([pl.col(prefix + c) for c in columns], separator=" | ", ignore_nulls=True)


def _any(exprs: list[pl.Expr]) -> pl.Expr:
    """OR of boolean expressions (False for an empty list)."""
    return pl.any_horizontal(exprs) if exprs else pl.lit(False)


def _hit(klass: str, column: str) -> str:
    """Name of the boolean column 'rule class hit in text column'."""
    return f"h__{klass}__{column}"


def _masked(expr: pl.Expr, patterns: tuple[str, ...]) -> pl.Expr:
    """Apply mask patterns in order (one replace pass each)."""
    for pattern in patterns:
        expr = expr.str.replace_all(pattern, _MASK_REPLACEMENT)
    return expr


def _any_class(text: pl.Expr, tier: str, comp: _Compiled) -> pl.Expr:
    """Any rule class of a tier matches this text."""
    passes = [p for k in R.RULE_CLASSES for p in comp.class_tier.get((k, tier), ())]
    return _any([text.str.contains(p) for p in passes]).fill_null(False)


def _tier_hits(klass: str, columns: tuple[str, ...], comp: _Compiled) -> pl.Expr:
    """Any hit of a rule class in the given columns."""
    cols = [_hit(klass, c) for c in columns if (klass, _TIER_OF[c]) in comp.class_tier]
    return _any([pl.col(c) for c in cols])


def _resolve(b: dict[str, pl.Expr]) -> dict[str, pl.Expr]:
    """Turn rule-class hits (one tier set) into modality booleans."""
    car_not_t = b["CAR-NK"] | b["CAR-NKT"] | b["CAR-gdT"] | b["CAR-M"] | b["CAR-OTHER"]
    out = {
        # "γδ CAR T cells" and CAR-NKT texts also say "CAR T": the named cell type wins.
        "CAR-T": (b["CAR-T"] & ~(b["CAR-gdT"] | b["CAR-NKT"])) | (b["CAR"] & ~car_not_t),
        "CAR-NK": b["CAR-NK"],
        # A CAR-NK or NKT description always says "NK cells" too.
        "NK": b["NK"] & ~(b["CAR-NK"] | b["CAR-NKT"] | b["NKT"]),
        "TCR-T": b["TCR-T"],
        "TIL": b["TIL"],
        "CAR-NKT": b["CAR-NKT"],
        "CAR-gdT": b["CAR-gdT"],
        "CAR-M": b["CAR-M"],
    }
    car_or_tcr = out["CAR-T"] | out["CAR-NK"] | out["CAR-NKT"] | out["CAR-gdT"] | out["CAR-M"] | out["TCR-T"]
    # Virus-specific T cells usually carry the CAR of a CAR-T trial ("HER2 CAR CMV-specific
    # CTLs"); DC vaccines, CIK, Tregs and antigen-specific T cells are separate products.
    out["OTHER-CELL"] = (
        b["OTHER-CELL"]
        | (b["NKT"] & ~b["CAR-NKT"])
        | (b["GDT"] & ~b["CAR-gdT"])
        | (b["VST"] & ~car_or_tcr)
        | b["CAR-OTHER"]
    )
    return out


# --------------------------------------------------------------------------------------------
# Stages (frame in, frame out)
# --------------------------------------------------------------------------------------------


def _ensure_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """Add missing text columns as null strings and cast the present ones to String."""
    missing = [pl.lit(None, dtype=pl.String).alias(c) for c in TEXT_COLUMNS if c not in frame]
    if missing:
        frame = frame.with_columns(missing)
    return frame.select([pl.col(c).cast(pl.String) for c in TEXT_COLUMNS])


def _mask(frame: pl.DataFrame, columns: tuple[str, ...], comp: _Compiled) -> pl.DataFrame:
    """Add masked copies m__<col>; follow-up studies keep products named as context."""
    full = comp.masks_lexical + comp.masks_background
    return frame.with_columns(
        pl.when(pl.col("_ltfu"))
        .then(_masked(pl.col(c), comp.masks_lexical))
        .otherwise(_masked(pl.col(c), full))
        .alias("m__" + c)
        for c in columns
    )


def _class_hits(frame: pl.DataFrame, columns: tuple[str, ...], comp: _Compiled) -> pl.DataFrame:
    """Add one boolean column per (rule class, text column) on the masked text."""
    exprs = []
    for klass in R.RULE_CLASSES:
        for col in columns:
            passes = comp.class_tier.get((klass, _TIER_OF[col]))
            if passes is None:
                continue
            text = pl.col("m__" + col)
            exprs.append(
                _any([text.str.contains(p) for p in passes]).fill_null(False).alias(_hit(klass, col))
            )
    return frame.with_columns(exprs)


def _intervention_items(frame: pl.DataFrame, comp: _Compiled) -> pl.DataFrame:
    """Per trial, what kinds of item the intervention list holds."""
    # Lexical masks only: inside one item, "X before ASCT and CAR-T" still lists the CAR-T.
    names = _masked(pl.col("intervention_names"), comp.masks_lexical)
    item = pl.col("_item")
    items = (
        frame.select("_row", names.str.split(" | ").alias("_item"))
        .explode("_item")
        .drop_nulls("_item")
        .with_columns(
            _any_class(item, R.INTERVENTION, comp).alias("_cell"),
            item.str.contains(comp.standard_item).alias("_standard"),
            item.str.contains(comp.non_cell_item).alias("_non_cell"),
            item.str.contains(comp.lymphodepletion).alias("_lymphodepletion"),
            (item.str.contains(comp.item_cell_therapy) & ~item.str.contains(comp.stem_cell_item)).alias(
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
    )


def _add_on_title(frame: pl.DataFrame, comp: _Compiled) -> pl.DataFrame:
    """Add _add_on_title: the title names another agent and no investigational cell product."""
    title = _joined(TITLE_COLUMNS, prefix="m__")
    maybe = frame.filter(title.str.contains(comp.add_on_agent) & ~title.str.contains(comp.comparison))
    # Only the few titles naming an add-on agent get the (costly) product check.
    rest = title.str.replace_all(comp.standard_title, " ~ ")
    flagged = maybe.select(
        "_row",
        (
            ~_any_class(rest, R.TITLE, comp)
            # An antigen left over ("CAR T-cell therapy targeting CD19 and BCMA") means the
            # product is a specific, investigational one.
            & ~rest.str.contains(comp.antigen)
        ).alias("_add_on_title"),
    )
    return frame.join(flagged, on="_row", how="left").with_columns(pl.col("_add_on_title").fill_null(False))


def _primary(frame: pl.DataFrame, comp: _Compiled) -> pl.DataFrame:
    """Decide vetoes, primary-tier modalities p__<M>, and whether the summary may decide."""
    title_hits = {k: _tier_hits(k, TITLE_COLUMNS, comp) for k in R.RULE_CLASSES}
    iv_hits = {k: _tier_hits(k, INTERVENTION_COLUMNS, comp) for k in R.RULE_CLASSES}
    title_raw = _joined(TITLE_COLUMNS)
    title_masked = _joined(TITLE_COLUMNS, prefix="m__")
    frame = _add_on_title(
        frame.join(_intervention_items(frame, comp), on="_row", how="left"), comp
    ).with_columns(
        pl.col("_all_non_cell", "_only_drugs", "_investigational_item", "_standard_item").fill_null(False),
        _any(list(title_hits.values())).alias("_title_names_product"),
        _any(list(iv_hits.values())).alias("_iv_names_product"),
        title_raw.str.contains(comp.hard_veto).alias("_hard_veto"),
        title_raw.str.contains(comp.soft_veto).alias("_soft_veto"),
        title_raw.str.contains(comp.title_cell_product).alias("_title_cell_product"),
        # The background masks removed a product from the title: it is named as context only.
        (_masked(title_raw, comp.masks_lexical) != title_masked).alias("_title_background"),
        (
            title_raw.str.contains(comp.observational)
            | pl.col("brief_summary").str.contains(comp.observational_summary).fill_null(False)
            | (pl.col("study_type") == "OBSERVATIONAL").fill_null(False)
            # No intervention listed (and not declared interventional): nothing is given.
            | (pl.col("intervention_names").is_null() & (pl.col("study_type") != "INTERVENTIONAL")).fill_null(
                True
            )
        ).alias("_observational"),
        pl.concat_str([title_raw, _joined(INTERVENTION_COLUMNS)], separator=" | ")
        .str.contains(comp.cell_hint)
        .alias("_cell_hint"),
        pl.col("intervention_names").is_not_null().alias("_has_interventions"),
        title_masked.str.contains(comp.standard_title).alias("_standard_title"),
        title_masked.str.contains(comp.add_on_drug).alias("_add_on_drug"),
    )
    c = pl.col
    not_ltfu = ~c("_ltfu")
    veto = (
        c("_hard_veto")
        # Vaccine/bispecific/infection/ctDNA titles that name no cell product of their own.
        | (c("_soft_veto") & ~c("_title_names_product") & ~c("_title_cell_product") & ~c("_iv_names_product"))
        | (not_ltfu & c("_observational"))
        # "Iberdomide after ide-cel": the product in the title is only the setting.
        | (not_ltfu & c("_title_background") & ~c("_title_names_product") & ~c("_investigational_item"))
        # "Bridging bispecific antibody with BCMA CAR-T" listing only the antibody.
        | (
            not_ltfu
            & c("_add_on_drug")
            & c("_has_interventions")
            & ~c("_iv_names_product")
            & ~c("_investigational_item")
        )
        # An add-on (drug, lymphodepletion, dosing...) to an approved or unnamed CAR-T.
        | (
            not_ltfu
            & c("_add_on_title")
            & ~c("_investigational_item")
            & (c("_standard_item") | c("_standard_title"))
        )
    )
    # A title naming a product counts unless every listed intervention is plainly not one.
    title_counts = ~(c("_has_interventions") & c("_all_non_cell") & not_ltfu)
    primary = _resolve({k: iv_hits[k] | (title_hits[k] & title_counts) for k in R.RULE_CLASSES})
    primary_any = _any(list(primary.values()))
    use_support = (
        ~primary_any
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


def _support(frame: pl.DataFrame, comp: _Compiled) -> pl.DataFrame:
    """Add modality booleans mod__<M>; the summary tier runs only where it may decide."""
    sub = frame.filter(pl.col("_use_support")).select("_row", "_ltfu", *SUPPORT_COLUMNS)
    sub = _class_hits(_mask(sub, SUPPORT_COLUMNS, comp), SUPPORT_COLUMNS, comp)
    support = _resolve({k: _tier_hits(k, SUPPORT_COLUMNS, comp) for k in R.RULE_CLASSES})
    sub = sub.select(
        "_row",
        *[pl.col("m__" + c) for c in SUPPORT_COLUMNS],
        *[
            pl.col(_hit(k, c))
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
    ).with_columns(_any([pl.col("mod__" + m) for m in MODALITIES]).alias("is_cell_therapy"))


def _evidence_choice(frame: pl.DataFrame, comp: _Compiled) -> pl.DataFrame:
    """For each modality found, pick the first field (priority order) where it matched."""
    exprs = []
    for m, classes in MODALITY_CLASSES.items():
        col_name: pl.Expr = pl.lit(None, dtype=pl.String)
        # Build the when-chain backwards so the first column in priority order wins.
        for col in reversed(SCAN_COLUMNS):
            hits = [pl.col(_hit(k, col)) for k in classes if (k, _TIER_OF[col]) in comp.class_tier]
            if not hits:
                continue
            tier_used = pl.col("_use_support")
            if _TIER_OF[col] != R.SUPPORT:
                tier_used = ~tier_used
            col_name = pl.when(_any(hits) & tier_used).then(pl.lit(col)).otherwise(col_name)
        exprs.append(col_name.alias("evcol__" + m))
    return frame.with_columns(exprs)


def _evidence(long: pl.DataFrame, comp: _Compiled) -> pl.DataFrame:
    """Name the first rule (rule order) matching the chosen field and quote a window around it."""
    named = []
    for (modality, tier), group in long.group_by(["modality", "_tier"], maintain_order=True):
        rules = comp.evidence[modality, tier]
        rule_index = pl.coalesce(
            pl.when(pl.col("_text").str.contains(pattern)).then(pl.lit(i))
            for i, (_, pattern, _) in enumerate(rules)
        )
        named.append(group.with_columns(rule_index.alias("_rule")))
    if not named:
        return long.with_columns(pl.lit(None, dtype=pl.String).alias("evidence"))
    parts = []
    # Capture extraction is the slow part: run it once per rule, on that rule's rows only.
    for (modality, tier, rule), group in pl.concat(named).group_by(
        ["modality", "_tier", "_rule"], maintain_order=True
    ):
        if rule is None:
            name, quote = "unknown", pl.lit("")
        else:
            name, _, quoted = comp.evidence[modality, tier][rule]
            quote = pl.col("_text").str.extract(f"({quoted})", 1).str.strip_chars().fill_null("")
        parts.append(
            group.with_columns(
                pl.format('rule {}: "...{}..." ({})', pl.lit(name), quote, pl.col("_column")).alias(
                    "evidence"
                )
            )
        )
    return pl.concat(parts).drop("_rule")


def _targets(frame: pl.DataFrame, comp: _Compiled) -> pl.DataFrame:
    """Add canonical antigen targets (sorted, unique) of cell-therapy rows as `targets`."""
    strong = _joined(PRIMARY_COLUMNS, prefix="m__")
    # The summary (masked where it was scanned) only when titles and interventions name none:
    # it also names targets of earlier products and of the disease.
    support = pl.concat_str(
        [pl.coalesce(pl.col("m__" + c), pl.col(c)) for c in ("brief_summary", "detailed_description")],
        separator=" | ",
        ignore_nulls=True,
    )
    found = (
        frame.filter(pl.col("is_cell_therapy"))
        .select(
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
    targets = (
        found.join(canon, on="_mention", how="left")
        .drop_nulls("_target")
        .group_by("_row")
        .agg(pl.col("_target").unique().sort().alias("targets"))
    )
    return frame.join(targets, on="_row", how="left").with_columns(pl.col("targets").fill_null(_EMPTY_LIST))


def _in_vivo(frame: pl.DataFrame, comp: _Compiled) -> pl.DataFrame:
    """Add is_in_vivo_car: a CAR-T/CAR-M trial whose text says the CAR is made in the patient."""
    text = _joined(SCAN_COLUMNS)
    maybe = frame.filter(
        (pl.col("mod__CAR-T") | pl.col("mod__CAR-M")) & text.str.contains(comp.in_vivo_anchor)
    ).select("_row", _any([text.str.contains(p) for p in comp.in_vivo]).alias("is_in_vivo_car"))
    return frame.join(maybe, on="_row", how="left").with_columns(pl.col("is_in_vivo_car").fill_null(False))


def _modality_rows(cand: pl.DataFrame, comp: _Compiled) -> pl.DataFrame:
    """One row per (trial, modality) found, with the evidence quote."""
    long = pl.concat(
        [
            cand.filter(pl.col("mod__" + m)).select(
                "_row", "nct_id", pl.lit(m).alias("modality"), pl.col("evcol__" + m).alias("_column")
            )
            for m in MODALITIES
        ]
    )
    texts = cand.select("_row", *[pl.col("m__" + c) for c in SCAN_COLUMNS])
    long = long.join(texts.join(cand.select("_row", "_ltfu"), on="_row"), on="_row", how="left").select(
        "_row",
        "nct_id",
        "modality",
        "_ltfu",
        "_column",
        pl.col("_column").replace_strict(_TIER_OF, default=None).alias("_tier"),
        pl.coalesce(pl.when(pl.col("_column") == c).then(pl.col("m__" + c)) for c in SCAN_COLUMNS).alias(
            "_text"
        ),
    )
    order = {m: i for i, m in enumerate(MODALITIES)}
    return (
        _evidence(long, comp)
        .with_columns(pl.col("modality").replace_strict(order).alias("_order"))
        .sort("_row", "_order")
        .select(
            "nct_id",
            "modality",
            # Follow-up protocols give no product: the treated patients are the exposure.
            pl.when(pl.col("_ltfu")).then(pl.lit("follow_up")).otherwise(pl.lit("investigational")).alias("role"),
            "evidence",
            pl.lit(CLASSIFIER_VERSION).alias("classifier_version"),
        )
        .unique(["nct_id", "modality"], keep="first", maintain_order=True)
        .cast(MODALITIES_SCHEMA)
    )


def classify(text: pl.DataFrame | pl.LazyFrame) -> Classification:
    """Classify trials (text frame of study_text) into cell-therapy modalities and flags."""
    comp = _compiled()
    frame = text.collect() if isinstance(text, pl.LazyFrame) else text
    frame = _ensure_columns(frame).with_row_index("_row")

    # Cheap pass: a study that matches no rule anchor anywhere can have no modality.
    cand = frame.filter(_joined(SCAN_COLUMNS).str.contains(comp.prefilter)).with_columns(
        (
            _joined((*TITLE_COLUMNS, "intervention_names", "intervention_other_names")).str.contains(
                comp.ltfu
            )
            | pl.col("brief_summary").str.contains(comp.ltfu_summary).fill_null(False)
        ).alias("_ltfu")
    )
    cand = _class_hits(_mask(cand, PRIMARY_COLUMNS, comp), PRIMARY_COLUMNS, comp)
    cand = _evidence_choice(_support(_primary(cand, comp), comp), comp)
    cand = _in_vivo(_targets(cand, comp), comp).with_columns(
        (pl.col("is_cell_therapy") & pl.col("_ltfu")).alias("is_long_term_follow_up")
    )
    modalities = _modality_rows(cand, comp)

    flags = (
        frame.select("_row", "nct_id", "study_type", "overall_status")
        .join(
            cand.select("_row", "is_cell_therapy", "is_long_term_follow_up", "is_in_vivo_car", "targets"),
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
            pl.lit("unclear").alias("cell_source"),
            pl.col("targets").fill_null(_EMPTY_LIST),
            pl.lit(CLASSIFIER_VERSION).alias("classifier_version"),
        )
        .cast(FLAGS_SCHEMA)
    )
    logger.info(
        "classified %d studies: %d candidates, %d cell-therapy, %d modality rows",
        frame.height,
        cand.height,
        flags["is_cell_therapy"].sum(),
        modalities.height,
    )
    return Classification(modalities=modalities, flags=flags)
