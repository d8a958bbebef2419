"""What a paper needs: the PRISMA-style flow of the counted set and a methods paragraph.

`counted_flow` reads the warehouse (runs, trials, trial_flags, trial_report_groups and the
`trial_group_years_by` macro that decides what every view counts), so each box of the flow is a
number an analyst can reproduce with SQL; `methods_paragraph` writes the paragraph from that flow
alone. The report (every format) and the dashboard call these two and nothing else.

Imports only duckdb and the stdlib: the report's fast path.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb

from trialtrends.load.report_tables import FLOW_COUNTS, select_list
from trialtrends.words import plural

# The report groups' member modalities that count (report_groups); other cell types stay in
# trial_modalities for analysts. Named here for the flow's wording only.
OTHER_CELL_TYPES = "CAR-NKT, CAR-γδT, CAR-M or other cell types"
BASIS_WORDS = {
    "first_posted": "the year the trial was first posted",
    "first_submitted": "the year the trial was first submitted",
    "start": "the year of the trial's start date (often an estimate)",
}


# Every run's row; `newest_published` picks the night the warehouse holds. Plain rows, picked in
# Python: the runs table is small, and a sort costs a cold process more than the rows do.
RUNS = (
    "select run_id, kind, mode, since, fallback, finished_at, api_url, api_version, data_timestamp, "
    "source, queries, unique_studies, rejected_studies, classifier_version, baseline_run, deltas_applied, "
    "published from runs"
)
RUN_COLUMNS = tuple(select_list(RUNS))


def newest_published(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The newest published run (by run_id), or {}.

    A registry delta rests on a baseline: its snapshot (baseline_data_timestamp) and the deltas
    applied since, this one included (deltas_applied), are part of what a reader must know of
    the night.
    """
    published = [run for run in runs if run["published"]]
    if not published:
        return {}
    run = dict(max(published, key=lambda r: r["run_id"]))
    del run["published"]
    mode = run["mode"]
    baseline = next((r for r in runs if r["run_id"] == run["baseline_run"]), None)
    run["deltas_applied"] = None if mode is None else (run["deltas_applied"] or 0) + (mode == "delta")
    run["baseline_data_timestamp"] = (baseline or {}).get("data_timestamp") or (
        run["data_timestamp"] if mode == "baseline" else None
    )
    return run


def published_run(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The newest published row of runs (with its baseline's snapshot), or {}."""
    cursor = con.execute(RUNS)
    names = [d[0] for d in cursor.description]
    return newest_published([dict(zip(names, row, strict=True)) for row in cursor.fetchall()])


def _identified(run: dict[str, Any], in_warehouse: int, registry: int) -> tuple[str, str, int]:
    """(key, label, count) of the flow's first box: what the night looked at.

    A filled registry_studies table (registry mode: one row per registry study) is the registry
    itself; otherwise the run's unique studies (pulled by the searches, or read from the bulk
    file). When the warehouse holds more trials than the run brought (an incremental pull merged
    into the previous warehouse), the first box is the warehouse's studies.
    """
    if registry:
        return "registry", "studies in the registry", registry
    pulled = run.get("unique_studies")
    kept = (pulled or 0) - (run.get("rejected_studies") or 0)
    if pulled is None or run.get("since") or in_warehouse > kept:
        return "warehouse", "studies in the warehouse (merged over runs)", in_warehouse
    if run.get("kind") == "bulk":
        return "pulled", "studies in the bulk download", pulled
    return "pulled", "unique studies pulled by the searches", pulled


def warehouse_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """The flow's warehouse-wide counts (FLOW_COUNTS, computed now), as a dict."""
    cursor = con.execute(FLOW_COUNTS.format(report_groups="trial_report_groups"))
    return dict(zip([d[0] for d in cursor.description], cursor.fetchall()[0], strict=True))


def _excluded(
    counts: dict[str, int], include_follow_up: bool, include_expanded_access: bool
) -> tuple[int, int]:
    """(follow-up, expanded access) studies the options leave out, taken in that order: a
    follow-up study that is also expanded access is excluded once, as follow-up."""
    follow_up = 0 if include_follow_up else counts["follow_up"]
    if include_expanded_access:
        return follow_up, 0
    return follow_up, counts["expanded_access" if include_follow_up else "expanded_access_not_follow_up"]


def counted_flow(
    con: duckdb.DuckDBPyConnection,
    *,
    basis: str = "first_posted",
    include_follow_up: bool = False,
    include_expanded_access: bool = False,
    counted_by_group: dict[str, int] | None = None,
    counts: dict[str, int] | None = None,
    run: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The flow from the studies looked at to the counted set, each box with its number.

    `boxes` is the PRISMA column: stages (kind 'stage') with the exclusions between them (kind
    'excluded'); every stage equals the previous stage minus the exclusions after it, and the last
    stage ('counted') equals the trials the views count for ALL under the basis (the sum of
    yearly_counts). `counted_by_group` splits the counted set by report group. A caller that
    has them already (the report) passes in that split (yearly_counts summed under the same
    basis and options), the FLOW_COUNTS row and the published run, and no query is made.
    """
    run = published_run(con) if run is None else run
    counts = warehouse_counts(con) if counts is None else counts
    in_warehouse, cell, in_groups = counts["in_warehouse"], counts["cell_therapy"], counts["in_report_groups"]
    follow_up, expanded = _excluded(counts, include_follow_up, include_expanded_access)
    key, label, identified = _identified(run, in_warehouse, counts["registry_studies"])
    # Quarantined studies belong to this run's input; a merged warehouse has no single input.
    rejected = (run.get("rejected_studies") or 0) if key != "warehouse" else 0
    if counted_by_group is None:
        fu, ea = str(include_follow_up).lower(), str(include_expanded_access).lower()
        counted_by_group = dict(
            con.execute(
                f"select modality, count(distinct nct_id) from trial_group_years_by({fu}, "
                f"include_expanded_access := {ea}) where basis = ? group by modality",
                [basis],
            ).fetchall()
        )
    by_group = counted_by_group
    counted = by_group.get("ALL", 0)
    kept = in_groups - follow_up - expanded
    boxes = [
        _box("identified", label, identified, "stage"),
        _box("not_candidate", "not a cell-therapy candidate (prefilter) or not loaded",
             max(identified - in_warehouse - rejected, 0), "excluded"),
        _box("rejected", "quarantined (unreadable or failed validation)", rejected, "excluded"),
        _box("candidates", "candidate studies in the warehouse", in_warehouse, "stage"),
        _box("no_cell_product", "no cell-therapy product given or followed (classifier)",
             in_warehouse - cell, "excluded"),
        _box("cell_therapy", "cell-therapy trials", cell, "stage"),
        _box("other_cell_types", f"only {OTHER_CELL_TYPES} (no report group)", cell - in_groups, "excluded"),
        _box("in_report_groups", "trials in a report group (CAR-T, TCR-T, TIL, NK)", in_groups, "stage"),
        _box("follow_up", "long-term follow-up or observational exposure only"
             + (" (included)" if include_follow_up else ""), follow_up, "excluded"),
        _box("expanded_access", "expanded access or compassionate use"
             + (" (included)" if include_expanded_access else ""), expanded, "excluded"),
        _box("no_year", f"no {basis.replace('_', ' ')} date (no year under the basis)",
             kept - counted, "excluded"),
        _box("counted", "trials counted", counted, "stage"),
    ]  # fmt: skip
    queries = json.loads(run.get("queries") or "[]")
    return {
        "basis": basis,
        "include_follow_up": include_follow_up,
        "include_expanded_access": include_expanded_access,
        "boxes": boxes,
        "counted": counted,
        "counted_by_group": {g: by_group.get(g, 0) for g in ("CAR-T", "TCR-T", "TIL", "NK", "ALL")},
        "run": {
            "run_id": run.get("run_id"),
            "kind": run.get("kind"),
            "mode": run.get("mode"),
            "since": run.get("since"),
            "fallback": run.get("fallback"),
            "baseline_run": run.get("baseline_run"),
            "baseline_data_timestamp": run.get("baseline_data_timestamp"),
            "deltas_applied": run.get("deltas_applied"),
            "identified_as": key,
            "finished_at": run["finished_at"].isoformat() + "Z" if run.get("finished_at") else None,
            "api_version": run.get("api_version"),
            "data_timestamp": run.get("data_timestamp"),
            "source": run.get("source"),
            "queries": [q.get("name") for q in queries],
            "classifier_version": run.get("classifier_version"),
        },
    }


def paper_sections(
    con: duckdb.DuckDBPyConnection,
    basis: str,
    include_follow_up: bool,
    include_expanded_access: bool,
    counted_by_group: dict[str, int] | None = None,
    counts: dict[str, int] | None = None,
    run: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The report's `flow` (counted_flow) and `methods` (its paragraph) keys."""
    flow = counted_flow(
        con, basis=basis, include_follow_up=include_follow_up,
        include_expanded_access=include_expanded_access, counted_by_group=counted_by_group,
        counts=counts, run=run,
    )  # fmt: skip
    return {"flow": flow, "methods": methods_paragraph(flow)}


def _box(key: str, label: str, trials: int, kind: str) -> dict[str, Any]:
    return {"key": key, "label": label, "trials": int(trials), "kind": kind}


def _n(value: int) -> str:
    return f"{value:,}"


def methods_paragraph(flow: dict[str, Any]) -> str:
    """One paragraph a paper can cite: source and snapshot, how studies were found, the
    classifier, the year basis, the exclusions and the numbers of the flow."""
    run, boxes = flow["run"], {b["key"]: b["trials"] for b in flow["boxes"]}
    if run.get("data_timestamp"):
        stamp = f"registry snapshot {run['data_timestamp']}"
    else:  # a bulk file carries no registry timestamp: the run's finish time stands in
        finished = run.get("finished_at") or "at an unknown time"
        stamp = f"no registry timestamp recorded, run finished {finished}"
    if run.get("identified_as") == "registry":
        deltas = run.get("deltas_applied") or 0
        kept_current = (
            f", kept current by {plural(deltas, 'nightly delta')} of every study updated since (an "
            "overlap of one day)"
            if deltas
            else ""
        )
        snapshot = run.get("baseline_data_timestamp")
        found = (
            f"the full registry ({_n(boxes['identified'])} studies) was downloaded as a baseline"
            f"{f' (snapshot {snapshot})' if snapshot else ''}{kept_current}, and every study was screened "
            "by a text prefilter and the classifier"
        )
    elif run.get("kind") == "bulk":
        # The file's name, not the machine's path to it.
        source = (run.get("source") or "file").replace("\\", "/").rsplit("/", 1)[-1]
        found = f"a bulk download of {_n(boxes['identified'])} studies ({source}) was screened"
    else:
        names = run.get("queries") or []
        found = (
            f"{len(names)} recall-oriented searches of the ClinicalTrials.gov API v2 "
            f"({', '.join(names)}) returned {_n(boxes['identified'])} unique studies"
            if run.get("identified_as") == "pulled"
            else f"incremental searches were merged into a warehouse of {_n(boxes['identified'])} studies"
        )
    excluded = [
        f"trials that only follow up earlier recipients (long-term follow-up, registries, real-world "
        f"studies; n = {_n(boxes['follow_up'])})" if not flow["include_follow_up"] else None,
        f"expanded-access and compassionate-use records (n = {_n(boxes['expanded_access'])})"
        if not flow["include_expanded_access"] else None,
    ]  # fmt: skip
    excluded = [e for e in excluded if e]
    included = [
        word for word, on in (("follow-up studies", flow["include_follow_up"]),
                              ("expanded-access records", flow["include_expanded_access"])) if on
    ]  # fmt: skip
    groups = flow["counted_by_group"]
    return (
        f"Source: ClinicalTrials.gov ({stamp}; run {run.get('run_id') or 'unknown'}, "
        f"{run.get('kind') or 'unknown'} run, mode {run.get('mode') or 'unknown'}"
        f"{'; ' + run['fallback'] if run.get('fallback') else ''}). Identification: {found}; "
        f"{_n(boxes['candidates'])} candidate studies were loaded ({_n(boxes['rejected'])} quarantined). "
        f"Classification: rule-based classifier version {run.get('classifier_version') or 'unknown'} "
        "(text rules and a reviewed product dictionary) kept trials that give patients a CAR-T, "
        "TCR-T, TIL or NK (including CAR-NK) cell product as the intervention under test or as the "
        f"backbone of a combination ({_n(boxes['cell_therapy'])} cell-therapy trials, "
        f"{_n(boxes['in_report_groups'])} in these groups); withdrawn trials were kept. "
        + (f"Excluded: {'; '.join(excluded)}. " if excluded else "")
        + (f"Included on request: {' and '.join(included)}. " if included else "")
        + f"Year basis: {BASIS_WORDS.get(flow['basis'], flow['basis'])}; "
        f"{_n(boxes['no_year'])} trials lacking that date were not counted. "
        f"Counted: {_n(flow['counted'])} trials (CAR-T {_n(groups['CAR-T'])}, TCR-T {_n(groups['TCR-T'])}, "
        f"TIL {_n(groups['TIL'])}, NK {_n(groups['NK'])}; a trial testing two groups counts in each)."
    )
