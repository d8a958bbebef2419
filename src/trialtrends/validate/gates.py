"""Gates: checks a run must pass before it may publish (pure functions over run facts).

Each gate returns a GateResult; the pipeline records all of them in the run's manifest (and so
in `runs`) and publishes only when every one passed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources
from typing import Any

from trialtrends.errors import TrialtrendsError
from trialtrends.transform.flatten import UNMAPPED_CODE


@dataclass(frozen=True)
class GateResult:
    name: str
    passed: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class GateFailed(TrialtrendsError):
    """One or more gates failed; the message is one line naming each."""

    def __init__(self, results: list[GateResult]) -> None:
        failed = [r for r in results if not r.passed]
        super().__init__("; ".join(f"gate {r.name} failed: {r.detail}" for r in failed))
        self.results = results


def reconciliation(
    queries: list[dict[str, Any]],
    unique_studies: int,
    previous_unique: int | None,
    max_drop: float,
    tolerance: float = 0.01,
) -> GateResult:
    """Unique studies match each query's totalCount, and tonight is not far below last night.

    API-NOTES: the index can change mid-crawl, so a small difference (1% or 5 studies) is
    tolerated and reported; a large one means paging went wrong.
    """
    problems = []
    for q in queries:
        total, unique = q.get("total_count"), q.get("unique", 0)
        if total is None:
            continue
        if abs(unique - total) > max(5, tolerance * total):
            problems.append(f"query {q['name']} got {unique} unique studies of totalCount {total}")
    if previous_unique:
        drop = (previous_unique - unique_studies) / previous_unique
        if drop > max_drop:
            problems.append(
                f"{unique_studies} studies tonight vs {previous_unique} in the last good run "
                f"(-{drop:.0%}, limit -{max_drop:.0%})"
            )
    detail = "; ".join(problems) or (
        f"{unique_studies} unique studies"
        + (f" (last good run {previous_unique})" if previous_unique else "")
    )
    return GateResult("reconciliation", not problems, detail)


@cache
def required_fields() -> tuple[str, ...]:
    """The record fields the pipeline reads (stored copy, reviewed with the normaliser)."""
    text = (resources.files("trialtrends") / "data" / "required_fields.txt").read_text()
    return tuple(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def metadata_paths(tree: Iterable[dict[str, Any]], prefix: str = "") -> set[str]:
    """Dotted field paths of a /studies/metadata field tree (FieldNode: name, children)."""
    paths: set[str] = set()
    for node in tree:
        name = node.get("name")
        if not name:
            continue
        path = f"{prefix}.{name}" if prefix else name
        paths.add(path)
        paths |= metadata_paths(node.get("children") or [], path)
    return paths


def schema_drift(metadata: Any) -> GateResult:
    """Every field the pipeline reads is still in the API's /studies/metadata."""
    if not isinstance(metadata, list):
        return GateResult("schema_drift", False, "/studies/metadata is not a field list")
    present = metadata_paths(metadata)
    missing = [f for f in required_fields() if f not in present]
    if missing:
        return GateResult(
            "schema_drift",
            False,
            f"{len(missing)} fields gone from the API: {', '.join(missing[:8])}",
        )
    return GateResult("schema_drift", True, f"all {len(required_fields())} fields present")


def data_quality(
    rejected_share: float,
    max_rejected_share: float,
    unmapped: list[str],
    unmapped_share: float,
    max_unmapped_share: float,
) -> GateResult:
    """Few rejected studies and few trials with an unmapped country string.

    An unmapped country is its own record's problem (code ZZ, raw text kept), so a share of
    trials is tolerated; the distinct strings are named so that an alias can be added.
    """
    problems = []
    if rejected_share > max_rejected_share:
        problems.append(f"{rejected_share:.1%} of studies rejected (limit {max_rejected_share:.1%})")
    if unmapped_share > max_unmapped_share:
        problems.append(
            f"{unmapped_share:.1%} of trials have an unmapped country (limit {max_unmapped_share:.1%}): "
            f"{len(unmapped)} strings, {', '.join(unmapped[:5])}"
        )
    detail = "; ".join(problems) or (
        f"{rejected_share:.2%} rejected, {unmapped_share:.2%} of trials with one of "
        f"{len(unmapped)} unmapped country strings"
    )
    return GateResult("data_quality", not problems, detail)


# Trials with a site or removed country no alias maps (text_hygiene cleaned it first).
UNMAPPED_COUNTRY_TRIALS_SQL = (
    f"select count(distinct nct_id) from trial_countries where country_code = '{UNMAPPED_CODE}' "
    "and country_raw is not null"
)


def unmapped_country_share(query: Callable[[str], list[tuple]], trials: int) -> float:
    """Share of `trials` with an unmapped country, from the staged tables (`builder.query`)."""
    return query(UNMAPPED_COUNTRY_TRIALS_SQL)[0][0] / max(trials, 1)


def classifier_sanity(trials: int, classified: int, max_unclassified_share: float) -> GateResult:
    """The classifier still recognises most pulled trials (a broken rule file shows here)."""
    if trials == 0:
        return GateResult("classifier_sanity", False, "no trials to classify")
    unclassified = 1 - classified / trials
    ok = classified > 0 and unclassified <= max_unclassified_share
    return GateResult(
        "classifier_sanity",
        ok,
        f"{unclassified:.1%} of {trials} trials unclassified (limit {max_unclassified_share:.0%})",
    )


# Fewer re-judged cell-therapy trials than this say nothing of the classifier: on a quiet night
# one or two updated trials may truly stop being cell therapy (a corrected intervention).
MIN_REJUDGED = 5


def delta_classifier_sanity(replaced: int, dropped: int, max_dropped_share: float) -> GateResult:
    """The classifier still recognises the published cell-therapy trials a delta re-judges.

    An updated trial rarely stops being cell therapy; a broken rule file would make every one
    do so, and the merge would drop them all from the warehouse.
    """
    share = dropped / replaced if replaced else 0.0
    ok = replaced < MIN_REJUDGED or share <= max_dropped_share
    return GateResult(
        "classifier_sanity",
        ok,
        f"{dropped} of the {replaced} published cell-therapy trials updated tonight are no longer "
        f"cell therapy ({share:.0%}; limit {max_dropped_share:.0%} once there are {MIN_REJUDGED})",
    )


def baseline_size(
    entries: int, registry_total: int | None, previous_entries: int | None, max_drop: float
) -> GateResult:
    """A registry baseline holds about as many studies as the registry says it has (/stats/size)
    and as the previous baseline: a download that falls well short is refused, not published
    (its missing studies would leave every table as if removed from the registry)."""
    problems = []
    if registry_total:
        short = (registry_total - entries) / registry_total
        if short > max_drop:
            problems.append(
                f"{entries} studies downloaded but the registry reports {registry_total} ({short:.1%} short)"
            )
    if previous_entries:
        drop = (previous_entries - entries) / previous_entries
        if drop > max_drop:
            problems.append(
                f"{entries} studies vs {previous_entries} in the previous baseline ({drop:.1%} fewer)"
            )
    if problems:
        return GateResult("baseline_size", False, "; ".join(problems) + f" (limit {max_drop:.0%})")
    return GateResult(
        "baseline_size",
        True,
        f"{entries} studies (registry {registry_total or 'unknown'}, previous {previous_entries or 'none'})",
    )


def delta_share(changed: int, index_size: int | None, max_share: float) -> GateResult:
    """A delta changes a plausible share of the registry index: a few thousand studies of ~600k
    a day; nearly all of them means the date filter was ignored (it is not a delta at all)."""
    if not index_size:
        return GateResult("delta_share", True, f"{changed} studies updated (no index to compare)")
    share = changed / index_size
    passed = share <= max_share
    return GateResult(
        "delta_share",
        passed,
        f"{changed} of {index_size} indexed studies updated ({share:.1%}, limit {max_share:.0%})",
    )
