"""Compile the rule data (`trialtrends.data.modality_rules`) once per process into regex strings.

Every pattern is rewritten to ASCII classes and word boundaries (the lazy DFA stays small: Unicode
`\\b` and `\\w` multiply its states and made unions fall back to a slow engine, measured 10-30x
slower) and wrapped case-insensitively. Named patterns are looked up by name (`Compiled.rx`), so a
new pattern or guard in the rule file needs no new field here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from trialtrends.data import modality_rules as R
from trialtrends.transform.products import dictionary, term_pattern

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
EVIDENCE_WINDOW = 50
TIERS = (R.INTERVENTION, R.TITLE, R.SUPPORT)

#: Rule classes whose hits can make each modality (see model.resolve for how they combine).
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


def rx(pattern: str) -> str:
    """Case-insensitive group with ASCII classes and word boundaries."""
    for old, new in _ASCII:
        pattern = pattern.replace(old, new)
    return "(?i:" + pattern + ")"


def union(patterns: list[str] | tuple[str, ...]) -> str:
    """One alternation of already-compiled patterns."""
    return "|".join(patterns)


def _windowed(pattern: str) -> bool:
    """Patterns with a bounded window ("{0,n}") blow up the DFA of a union: run them alone."""
    return "{0," in pattern


def passes(patterns: list[str]) -> tuple[str, ...]:
    """Group patterns into regex passes: one union of the simple ones, each windowed one alone."""
    simple = [p for p in patterns if not _windowed(p)]
    windowed = [p for p in patterns if _windowed(p)]
    return ((union(simple),) if simple else ()) + tuple(windowed)


@dataclass(frozen=True)
class Compiled:
    """The rules compiled into the regex strings classify() runs."""

    masks_lexical: tuple[str, ...]
    masks_background: tuple[str, ...]
    prefilter: str
    #: (rule class, tier) -> regex passes; a class hits when any pass matches.
    class_tier: dict[tuple[str, str], tuple[str, ...]]
    #: (modality, tier) -> rules as (name, pattern, pattern with a quote window on each side).
    evidence: dict[tuple[str, str], tuple[tuple[str, str, str], ...]]
    #: Every named Pattern of the rule file, compiled, by name.
    rx: dict[str, str]
    in_vivo: tuple[str, ...]
    antigen: str
    target_mention: str
    target_context: str
    targets: tuple[tuple[str, str], ...]


def _named_patterns() -> dict[str, str]:
    """Every module-level Pattern of the rule file, by its name."""
    found = {v.name: v.pattern for v in vars(R).values() if isinstance(v, R.Pattern)}
    found.update({f.pattern.name: f.pattern.pattern for f in R.FEATURES})
    return found


def _standard_products() -> tuple[str, str]:
    """Item and title patterns for the approved products of the product dictionary."""
    d = dictionary()
    terms = sorted(
        {t for pid in d.approved_ids for t in d.terms[pid] if len(t) >= 5}, key=lambda t: (-len(t), t)
    )
    names = "|".join(term_pattern(t) for t in terms)
    item = (
        r"^\s*(?:infusion of\s+)?(?:commercial\s+|standard[- ]of[- ]care\s+)?(?:" + names + r")(?:\s+\w+)?"
        r"(?:\s*\([^)|]*\))?(?:\s+(?:intravenous suspension|injection|infusion|product|therapy))?\s*$"
    )
    return item, r"\b(?:" + names + r")\b"


@lru_cache(maxsize=1)
def compiled() -> Compiled:
    """Compile the rule data once per process."""
    class_tier: dict[tuple[str, str], tuple[str, ...]] = {}
    for klass in R.RULE_CLASSES:
        for tier in TIERS:
            pats = [rx(r.pattern) for r in R.RULES if r.klass == klass and tier in r.tiers]
            if pats:
                class_tier[klass, tier] = passes(pats)
    evidence: dict[tuple[str, str], tuple[tuple[str, str, str], ...]] = {}
    window = f"[^|\\n]{{0,{EVIDENCE_WINDOW}}}"
    for modality, classes in MODALITY_CLASSES.items():
        for tier in TIERS:
            rules = [r for r in R.RULES if r.klass in classes and tier in r.tiers]
            if rules:
                evidence[modality, tier] = tuple(
                    (r.name, rx(r.pattern), f"{window}(?:{rx(r.pattern)}){window}") for r in rules
                )
    names = [rx(r.pattern) for r in R.RULES if r.names_list]
    named = {name: rx(pattern) for name, pattern in _named_patterns().items()}
    item, title = _standard_products()
    named["named_standard_item"] = union([rx(r"^\s*(?:" + R.APPROVED_CAR_T + r")\b"), rx(item)])
    named["standard_cell_item"] = union([named["standard_cell_item"], rx(item)])
    named["standard_cell_title"] = union([named["standard_cell_title"], rx(title)])
    return Compiled(
        masks_lexical=passes([rx(m.pattern) for m in R.MASKS]),
        masks_background=tuple(rx(m.pattern) for m in R.BACKGROUND_MASKS),
        prefilter=union([rx(R.PREFILTER_ANCHORS.pattern), *names]),
        class_tier=class_tier,
        evidence=evidence,
        rx=named,
        in_vivo=passes([rx(p.pattern) for p in R.IN_VIVO_CAR]),
        antigen=rx(R.ANTIGEN),
        target_mention=union(
            [rx(R.TARGET_MENTION_EXTRA + R.TARGET_CONTEXT)]
            + [rx("(?:" + p + ")" + R.TARGET_CONTEXT) for _, p in R.TARGETS]
        ),
        target_context=rx(R.TARGET_CONTEXT_WORDS),
        targets=tuple((name, rx(p)) for name, p in R.TARGETS),
    )
