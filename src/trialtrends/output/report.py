"""The landscape report of one year, read from the warehouse views (duckdb + stdlib only).

`build_report` returns a plain dict (the stable `--format json` structure documented in the
README); `report_text.render_report` turns it into a table, markdown or CSV. This is the fast path: no
polars, no prefect, no matplotlib.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import duckdb

from trialtrends.output.flow import paper_sections
from trialtrends.output.report_rows import fetch
from trialtrends.output.sql import QueryError, connect

log = logging.getLogger(__name__)

REPORT_VERSION = 2
GROUPS = ("CAR-T", "TCR-T", "TIL", "NK", "ALL")
SIDE_BY_SIDE = ("CAR-T", "TCR-T", "TIL", "NK", "ALL")
BASES = ("first_posted", "first_submitted", "start")
TREND_YEARS = 5
# Display orders (the same values as schemas.DISEASE_AREAS / SPONSOR_TYPES, which this fast
# path cannot import: schemas pulls in pandera and polars). Values not listed sort after these.
AREA_ORDER = (
    "haematological malignancy", "solid tumour", "autoimmune / immune-mediated", "infectious disease",
    "other non-oncology", "unknown",
)  # fmt: skip
SPONSOR_TYPE_ORDER = ("industry", "academic", "hospital", "government", "other")
# trial_flags.cell_source values and cell_source_basis values ('unknown' stands for a null basis).
CELL_SOURCE_ORDER = ("autologous", "allogeneic", "in_vivo", "unclear")
SOURCE_BASIS_ORDER = ("stated", "product", "inferred", "unknown")
NO_COLLABORATORS = (
    "Sponsor role 'any' (lead sponsor or collaborator) equals 'lead' here: the data hold no "
    "collaborator rows (the registry records list them; this source did not)."
)
CHICTR_CAVEAT = (
    "ClinicalTrials.gov undercounts Chinese cell therapy trials: since 2018 about half of them "
    "are registered only in the Chinese Clinical Trial Registry (ChiCTR), which is not included."
)


class ReportError(QueryError):
    """A report that cannot be made as asked; carries the CLI exit code."""


def _check_options(modality: str | None, basis: str) -> None:
    if modality is not None and modality not in GROUPS:
        raise ReportError(f"Unknown modality {modality!r}: choose one of {', '.join(GROUPS)}.", exit_code=2)
    if basis not in BASES:
        raise ReportError(f"Unknown basis {basis!r}: choose one of {', '.join(BASES)}.", exit_code=2)


# The published run's columns the report's provenance shows, in this order.
_PROVENANCE = ("run_id", "kind", "finished_at", "api_url", "api_version", "data_timestamp", "source",
               "classifier_version")  # fmt: skip


def _provenance(run: dict[str, Any], counts: dict[str, int]) -> dict[str, Any]:
    """The published run, and how many records of each special kind the tables hold (whether
    the defaults count them or not)."""
    if not run:
        return {}
    row = {key: run[key] for key in _PROVENANCE}
    row["queries"] = [
        {"name": q.get("name"), "term": (q.get("params") or {}).get("query.term"),
         "filter": (q.get("params") or {}).get("filter.advanced"), "total_count": q.get("total_count")}
        for q in json.loads(run["queries"] or "[]")
    ]  # fmt: skip
    row["finished_at"] = row["finished_at"].isoformat() + "Z" if row["finished_at"] else None
    row["expanded_access_trials"] = counts["expanded_access"]
    row["withdrawn_trials"] = counts["withdrawn"]
    return row


def _partial_year(provenance: dict[str, Any]) -> dict[str, Any] | None:
    """The year of the registry snapshot, which the data covers only up to that day.

    The data timestamp is the API's dataTimestamp (`runs.data_timestamp`); a bulk run has none,
    so the day its run finished stands in.
    """
    stamp = provenance.get("data_timestamp") or provenance.get("finished_at")
    if not stamp or len(stamp) < 10 or not stamp[:4].isdigit():
        return None
    return {"year": int(stamp[:4]), "data_to": stamp[:10]}


def partial_label(data: dict[str, Any]) -> str:
    """'partial (data to YYYY-MM-DD)', the mark of the current year in every format."""
    partial = data.get("partial_year")
    return f"partial (data to {partial['data_to']})" if partial else ""


def is_partial(data: dict[str, Any], year: int) -> bool:
    partial = data.get("partial_year")
    return bool(partial) and partial["year"] == year


def build_report(
    warehouse_path: Path,
    *,
    year: int,
    modality: str | None = None,
    basis: str = "first_posted",
    top: int = 10,
    role: str = "lead",
    include_follow_up: bool = False,
    include_expanded_access: bool = False,
    trend_years: int = TREND_YEARS,
    materialised: bool = True,
) -> dict[str, Any]:
    """Everything the report shows, as plain data (the `--format json` structure).

    materialised=False computes every section from the views even when schema `report` holds
    them (the tests compare the two).
    """
    _check_options(modality, basis)
    if trend_years < 1:
        raise ReportError(f"--trend-years must be at least 1 (got {trend_years}).", exit_code=2)
    groups = [modality] if modality else list(SIDE_BY_SIDE)
    ranked_by = modality or "ALL"
    years = list(range(year - trend_years + 1, year + 1))
    params = {"basis": basis, "year": year, "first_year": years[0], "groups": groups, "role": role,
              "top": top}  # fmt: skip
    con = connect(warehouse_path)
    try:
        rows = fetch(
            con, params, include_follow_up=include_follow_up,
            include_expanded_access=include_expanded_access, materialised=materialised,
        )  # fmt: skip
        no_collaborators = role == "any" and not _has_collaborators(con)
        run = rows["run"][0]
        flow_counts = rows["counts"][0]
        paper = paper_sections(
            con, basis, include_follow_up, include_expanded_access,
            counted_by_group=_counted(rows["yearly"]), counts=flow_counts, run=run,
        )  # fmt: skip
    except duckdb.CatalogException as exc:  # a view this version reads is missing
        first = str(exc).splitlines()[0]
        raise ReportError(
            f"The warehouse could not be read ({first}): if an older trialtrends published it, "
            "`trialtrends rebuild` publishes it again with this version's views."
        ) from exc
    except duckdb.Error as exc:
        raise ReportError(f"The warehouse could not be read: {exc}") from exc
    finally:
        con.close()
    counts = {(r["modality"], r["year"]): r["trials"] for r in rows["yearly"]}
    span = [y for (m, y) in counts if m == ranked_by]
    if not span:
        raise ReportError("The warehouse has no classified trials yet.", exit_code=4)
    if not min(span) <= year <= max(span):
        raise ReportError(
            f"No {ranked_by} trials with {basis} year {year}: the warehouse covers {min(span)}-{max(span)}.",
            exit_code=4,
        )
    trend = [{"modality": g, "year": y, "trials": counts.get((g, y), 0)} for g in groups for y in years]
    cumulative = [
        {"modality": g, "through_year": year,
         "trials": sum(n for (m, y), n in counts.items() if m == g and y <= year)}
        for g in groups
    ]  # fmt: skip
    phases = _zero_filled_phases(rows["phases"], year, groups)
    not_provided = [
        {"modality": r["modality"], "trials": r["trials"], "share": r["share"]}
        for r in sorted(rows["countries"], key=lambda r: r["modality"])
        if r["country_code"] == "XX"
    ]
    countries = _ranked(
        [r for r in rows["countries"] if r["country_code"] != "XX"], "country_code", ["country"],
        groups, ranked_by, top,
    )  # fmt: skip
    sponsors = _ranked(rows["sponsors"], "sponsor", ["sponsor_country"], groups, ranked_by, top)
    targets = _ranked(rows["targets"], "target", [], groups, ranked_by, top)
    disease_areas = _over_years(rows["disease_areas"], "area", AREA_ORDER, groups, years)
    sponsor_types = _over_years(rows["sponsor_types"], "sponsor_type", SPONSOR_TYPE_ORDER, groups, years)
    for row in sponsor_types:
        row["role"] = role
    cell_sources = _cell_sources(rows["cell_sources"], groups)
    products = _products(rows)
    provenance = _provenance(run, flow_counts)
    partial = _partial_year(provenance)
    for row in trend:
        row["partial"] = bool(partial) and row["year"] == partial["year"]
    excluded = (
        []
        if include_follow_up
        else ["follow-up and observational-exposure studies (use --include-follow-up)"]
    )
    if not include_expanded_access:
        excluded.append("expanded-access and compassionate-use records (use --include-expanded-access)")
    caveats = [CHICTR_CAVEAT]
    if no_collaborators:
        log.warning("--role any: %s", NO_COLLABORATORS)
        caveats.append(NO_COLLABORATORS)
    provenance.update(
        basis=basis,
        excluded=[*excluded, "trials the classifier found testing no CAR-T/TCR-T/TIL/NK product"],
        caveats=caveats,
    )
    return {
        "report_version": REPORT_VERSION,
        "year": year,
        "basis": basis,
        "modalities": groups,
        "ranked_by": ranked_by,
        "top": top,
        "role": role,
        "include_follow_up": include_follow_up,
        "include_expanded_access": include_expanded_access,
        "trend_years": trend_years,
        "partial_year": partial,
        "trend": trend,
        "cumulative": cumulative,
        "phases": phases,
        "countries": countries,
        "countries_not_provided": not_provided,
        "sponsors": sponsors,
        "disease_areas": disease_areas,
        "targets": targets,
        "sponsor_types": sponsor_types,
        "cell_sources": cell_sources,
        "products": products,
        "provenance": provenance,
        **paper,  # flow and methods
    }


def _has_collaborators(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether any trial lists a collaborator (role 'any' counts them; without any it is 'lead')."""
    return bool(con.execute("select count(*) from trial_sponsors where role <> 'lead'").fetchall()[0][0])


def _counted(yearly: list[dict[str, Any]]) -> dict[str, int]:
    """Trials counted per group under the basis: the sum of its years (a trial has one year)."""
    counted: dict[str, int] = {}
    for row in yearly:
        counted[row["modality"]] = counted.get(row["modality"], 0) + row["trials"]
    return counted


def _cell_sources(rows: list[dict[str, Any]], groups: list[str]) -> list[dict[str, Any]]:
    """The year's trials per group, cell source and the basis of that source, zeros filled.

    share = trials / the group's trials of the year (each trial has one cell source).
    """
    found = {(r["modality"], r["cell_source"], r["source_basis"]): r["trials"] for r in rows}
    totals = {g: sum(n for (m, _, _), n in found.items() if m == g) for g in groups}
    out = []
    for g in groups:
        for source in CELL_SOURCE_ORDER:
            # unclear has no basis; a known source never has basis 'unknown' (but is kept if seen)
            bases = ("unknown",) if source == "unclear" else SOURCE_BASIS_ORDER
            for source_basis_ in bases:
                trials = found.get((g, source, source_basis_), 0)
                if source_basis_ == "unknown" and source != "unclear" and not trials:
                    continue
                out.append({"modality": g, "cell_source": source, "source_basis": source_basis_,
                            "trials": trials, "share": trials / totals[g] if totals[g] else 0.0})  # fmt: skip
    return out


def _zero_filled_phases(rows: list[dict[str, Any]], year: int, groups: list[str]) -> list[dict[str, Any]]:
    """The year's phase rows with a 0 row for every phase seen under the basis, per group."""
    found = {(r["modality"], r["phase"]): r for r in rows if r["year"] == year}
    phases = sorted({(r["phase_order"], r["phase"]) for r in rows})
    return [
        {k: v for k, v in found[(g, phase)].items() if k != "year"}
        if (g, phase) in found
        else {"modality": g, "phase": phase, "trials": 0, "share": 0.0, "phase_order": order}
        for order, phase in phases
        for g in groups
    ]


def _over_years(
    rows: list[dict[str, Any]], key: str, order: tuple[str, ...], groups: list[str], years: list[int]
) -> list[dict[str, Any]]:
    """Rows of every group x year x item (known order first, then any other item seen), zeros filled.

    The views fill zeros inside each group's own span of years; the report's trend window can
    start before a group's first trial, so the report fills those years too.
    """
    found = {(r["modality"], r["year"], r[key]): r for r in rows}
    items = [i for i in order if any(k[2] == i for k in found)]
    items += sorted({k[2] for k in found} - set(items))
    return [
        {"modality": g, "year": y, key: item,
         "trials": found.get((g, y, item), {}).get("trials", 0),
         "share": found.get((g, y, item), {}).get("share", 0.0)}
        for g in groups for y in years for item in items
    ]  # fmt: skip


def _products(rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Approved products, the top products by trials, and products by phase and by country.

    Products count when their modality belongs to one of the report's groups (report_groups).
    """
    return {
        "approved": sorted(rows["approved"], key=lambda r: (_last(r["first_approval_year"]), r["name"])),
        "top": sorted(rows["leading"], key=lambda r: (-r["trials"], r["name"])),
        "by_phase": sorted(rows["by_phase"], key=lambda r: (_last(r["phase_order"]), r["modality"])),
        "by_country": sorted(
            rows["by_country"],
            key=lambda r: (r["developer_country"] == "Unknown", _last(r["developer_country"]), r["modality"]),
        ),
    }


def _last(value: Any) -> tuple[bool, Any]:
    """A sort key that puts None last, as SQL's default NULLS LAST does."""
    return (value is None, value if value is not None else 0)


def _ranked(
    rows: list[dict[str, Any]], key: str, attrs: list[str], groups: list[str], ranked_by: str, top: int
) -> list[dict[str, Any]]:
    """Top-N rows ranked within `ranked_by`, with each other group's trials and share beside."""
    leaders = sorted(
        (r for r in rows if r["modality"] == ranked_by and r["rank"] is not None and r["rank"] <= top),
        key=lambda r: (r["rank"], r[key]),
    )
    by_group = {(r["modality"], r[key]): r for r in rows}
    return [
        {
            **{c: row[c] for c in ("rank", key, *attrs, "trials", "share")},
            "by_modality": {
                g: {
                    "trials": by_group.get((g, row[key]), {}).get("trials", 0),
                    "share": by_group.get((g, row[key]), {}).get("share", 0.0),
                }
                for g in groups
            },
        }
        for row in leaders
    ]
