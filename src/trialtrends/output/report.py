"""The landscape report of one year, read from the warehouse views (duckdb + stdlib only).

`build_report` returns a plain dict (the stable `--format json` structure documented in the
README); `report_text.render_report` turns it into a table, markdown or CSV. This is the fast path: no
polars, no prefect, no matplotlib.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from trialtrends.output.flow import paper_sections
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


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _macro(view: str, include_follow_up: bool, include_expanded_access: bool = False) -> str:
    # The *_by(include_follow_up, include_expanded_access) table macros behind each view (see
    # sql/); only these fixed spellings can reach the SQL text, never user input.
    if not (include_follow_up or include_expanded_access):
        return view
    follow_up, expanded = str(include_follow_up).lower(), str(include_expanded_access).lower()
    return f"{view}_by({follow_up}, include_expanded_access := {expanded})"


def _provenance(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    run = _rows(
        con,
        "select run_id, kind, finished_at, api_url, api_version, data_timestamp, source, "
        "queries, classifier_version from runs where published order by run_id desc limit 1",
        [],
    )
    if not run:
        return {}
    row = run[0]
    queries = json.loads(row.pop("queries") or "[]")
    row["queries"] = [
        {"name": q.get("name"), "term": (q.get("params") or {}).get("query.term"),
         "filter": (q.get("params") or {}).get("filter.advanced"), "total_count": q.get("total_count")}
        for q in queries
    ]  # fmt: skip
    row["finished_at"] = row["finished_at"].isoformat() + "Z" if row["finished_at"] else None
    # How many records of each special kind the tables hold (and whether the defaults count them).
    ((row["expanded_access_trials"], row["withdrawn_trials"]),) = con.execute(
        "select count(*) filter (where f.is_expanded_access), "
        "count(*) filter (where t.overall_status = 'WITHDRAWN') "
        "from trials t join trial_flags f using (nct_id) "
        "where t.nct_id in (select nct_id from trial_report_groups)"
    ).fetchall()
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
) -> dict[str, Any]:
    """Everything the report shows, as plain data (the `--format json` structure)."""
    _check_options(modality, basis)
    if trend_years < 1:
        raise ReportError(f"--trend-years must be at least 1 (got {trend_years}).", exit_code=2)
    groups = [modality] if modality else list(SIDE_BY_SIDE)
    ranked_by = modality or "ALL"

    def counted(view: str) -> str:
        """The view, or its macro when follow-up or expanded-access studies are counted too."""
        return _macro(view, include_follow_up, include_expanded_access)

    con = connect(warehouse_path)
    try:
        yearly = counted("yearly_counts")
        span = con.execute(
            f"select min(year), max(year) from {yearly} where basis = ? and modality = ?",
            [basis, ranked_by],
        ).fetchall()
        first, last = span[0] if span else (None, None)
        if first is None:
            raise ReportError("The warehouse has no classified trials yet.", exit_code=4)
        if not first <= year <= last:
            raise ReportError(
                f"No {ranked_by} trials with {basis} year {year}: the warehouse covers {first}-{last}.",
                exit_code=4,
            )
        counts = {
            (r["modality"], r["year"]): r["trials"]
            for r in _rows(
                con,
                f"select modality, year, trials from {yearly} "
                "where basis = ? and modality in (select unnest(?::varchar[]))",
                [basis, groups],
            )
        }
        years = list(range(year - trend_years + 1, year + 1))
        trend = [{"modality": g, "year": y, "trials": counts.get((g, y), 0)} for g in groups for y in years]
        cumulative = [
            {"modality": g, "through_year": year,
             "trials": sum(n for (m, y), n in counts.items() if m == g and y <= year)}
            for g in groups
        ]  # fmt: skip
        phases = _zero_filled_phases(
            _rows(
                con,
                f"select modality, phase, trials, share, phase_order "
                f"from {counted('phase_distribution')} "
                "where basis = ? and year = ? and modality in (select unnest(?::varchar[])) "
                "order by phase_order, modality",
                [basis, year, groups],
            ),
            _rows(
                con,
                f"select distinct phase, phase_order from {counted('phase_distribution')} "
                "where basis = ? order by phase_order",
                [basis],
            ),
            groups,
        )
        countries = _ranked(
            con, counted("country_table"), "country_code", ["country"],
            basis, year, groups, ranked_by, top, extra_filter="country_code <> 'XX'",
        )  # fmt: skip
        not_provided = _rows(
            con,
            f"select modality, trials, share from {counted('country_table')} "
            "where basis = ? and year = ? and country_code = 'XX' "
            "and modality in (select unnest(?::varchar[])) order by modality",
            [basis, year, groups],
        )
        sponsors = _ranked(
            con, counted("sponsor_table"), "sponsor", ["sponsor_country"],
            basis, year, groups, ranked_by, top, extra_filter="role = ?", extra_params=[role],
        )  # fmt: skip
        targets = _ranked(
            con, counted("target_table"), "target", [],
            basis, year, groups, ranked_by, top, extra_filter="target <> 'Not named'",
        )  # fmt: skip
        disease_areas = _over_years(
            _rows(
                con,
                f"select modality, year, area, trials, share "
                f"from {counted('disease_area_table')} "
                "where basis = ? and year between ? and ? and modality in (select unnest(?::varchar[]))",
                [basis, years[0], year, groups],
            ),
            "area", AREA_ORDER, groups, years,
        )  # fmt: skip
        sponsor_types = _over_years(
            _rows(
                con,
                f"select modality, year, sponsor_type, trials, share "
                f"from {counted('sponsor_type_table')} "
                "where basis = ? and role = ? and year between ? and ? "
                "and modality in (select unnest(?::varchar[]))",
                [basis, role, years[0], year, groups],
            ),
            "sponsor_type", SPONSOR_TYPE_ORDER, groups, years,
        )  # fmt: skip
        for row in sponsor_types:
            row["role"] = role
        no_collaborators = role == "any" and not _has_collaborators(con)
        cell_sources = _cell_sources(con, counted("trial_group_years"), basis, year, groups)
        products = _products(con, groups, top, counted)
        provenance = _provenance(con)
        paper = paper_sections(con, basis, include_follow_up, include_expanded_access)
    except duckdb.Error as exc:
        raise ReportError(f"The warehouse could not be read: {exc}") from exc
    finally:
        con.close()
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


def _cell_sources(
    con: duckdb.DuckDBPyConnection, counted_years: str, basis: str, year: int, groups: list[str]
) -> list[dict[str, Any]]:
    """The year's trials per group, cell source and the basis of that source, zeros filled.

    share = trials / the group's trials of the year. A warehouse built before
    trial_flags.cell_source_basis existed reads as basis 'unknown' throughout.
    """
    has_basis = con.execute(
        "select count(*) from duckdb_columns() where table_name = 'trial_flags' "
        "and column_name = 'cell_source_basis'"
    ).fetchall()[0][0]
    source_basis = "coalesce(f.cell_source_basis, 'unknown')" if has_basis else "'unknown'"
    rows = _rows(
        con,
        f"select g.modality, f.cell_source, {source_basis} as source_basis, "
        f"count(distinct g.nct_id) as trials from {counted_years} g "
        "join trial_flags f using (nct_id) "
        "where g.basis = ? and g.year = ? and g.modality in (select unnest(?::varchar[])) group by all",
        [basis, year, groups],
    )
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


def _zero_filled_phases(
    rows: list[dict[str, Any]], phases: list[dict[str, Any]], groups: list[str]
) -> list[dict[str, Any]]:
    """The year's phase rows with a 0 row for every phase seen under the basis, per group."""
    found = {(r["modality"], r["phase"]): r for r in rows}
    return [
        found.get((g, p["phase"]))
        or {"modality": g, "phase": p["phase"], "trials": 0, "share": 0.0, "phase_order": p["phase_order"]}
        for p in phases
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


def _products(
    con: duckdb.DuckDBPyConnection, groups: list[str], top: int, counted: Callable[[str], str]
) -> dict[str, list[dict[str, Any]]]:
    """Approved products, the top products by trials, and products by phase and by country.

    Products count when their modality belongs to one of the report's groups (report_groups).
    """
    modalities = "select modality from report_groups where report_group in (select unnest(?::varchar[]))"
    columns = (
        "product_id, name, modality, targets, cell_source, developer, developer_country, "
        "approvals, first_approval_year, trials, highest_phase"
    )
    table = counted("product_table")
    approved = _rows(
        con,
        f"select {columns} from {table} where is_approved and modality in ({modalities}) "
        "order by first_approval_year, name",
        [groups],
    )
    leaders = _rows(
        con,
        f"select {columns} from {table} where trials > 0 and modality in ({modalities}) "
        "order by trials desc, name limit ?",
        [groups, top],
    )
    by_phase = _rows(
        con,
        f"select modality, highest_phase, phase_order, products, approved_products "
        f"from {counted('products_by_phase')} where modality in ({modalities}) "
        "order by phase_order, modality",
        [groups],
    )
    by_country = _rows(
        con,
        f"select developer_country, modality, products, products_in_trials, approved_products "
        f"from {counted('products_by_country')} where modality in ({modalities}) "
        "order by developer_country = 'Unknown', developer_country, modality",
        [groups],
    )
    return {"approved": approved, "top": leaders, "by_phase": by_phase, "by_country": by_country}


def _ranked(
    con: duckdb.DuckDBPyConnection,
    source: str,
    key: str,
    attrs: list[str],
    basis: str,
    year: int,
    groups: list[str],
    ranked_by: str,
    top: int,
    *,
    extra_filter: str,
    extra_params: list[Any] | None = None,
) -> list[dict[str, Any]]:
    """Top-N rows ranked within `ranked_by`, with each other group's trials and share beside."""
    extra_params = extra_params or []
    where = f"basis = ? and year = ? and {extra_filter}"
    leaders = _rows(
        con,
        f"select {', '.join(['rank', key, *attrs, 'trials', 'share'])} from {source} "
        f"where {where} and modality = ? and rank <= ? order by rank, {key}",
        [basis, year, *extra_params, ranked_by, top],
    )
    keys = [row[key] for row in leaders]
    by_group = {
        (r["modality"], r[key]): r
        for r in _rows(
            con,
            f"select modality, {key}, trials, share from {source} where {where} "
            f"and {key} in (select unnest(?::varchar[])) and modality in (select unnest(?::varchar[]))",
            [basis, year, *extra_params, keys, groups],
        )
    }
    for row in leaders:
        row["by_modality"] = {
            g: {
                "trials": by_group.get((g, row[key]), {}).get("trials", 0),
                "share": by_group.get((g, row[key]), {}).get("share", 0.0),
            }
            for g in groups
        }
    return leaders
