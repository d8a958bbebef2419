"""The landscape report of one year, read from the warehouse views (duckdb + stdlib only).

`build_report` returns a plain dict (the stable `--format json` structure documented in the
README); `report_text.render_report` turns it into a table, markdown or CSV. This is the fast path: no
polars, no prefect, no matplotlib.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from trialtrends.output.sql import READ_ONLY_CONFIG, NoWarehouse, QueryError, _open_error

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


def _provenance(run: dict[str, Any] | None, special: dict[str, Any]) -> dict[str, Any]:
    """The newest published run as the report cites it, and how many special records it holds."""
    if not run:
        return {}
    row = dict(run)
    queries = json.loads(row.pop("queries") or "[]")
    row["queries"] = [
        {"name": q.get("name"), "term": (q.get("params") or {}).get("query.term"),
         "filter": (q.get("params") or {}).get("filter.advanced"), "total_count": q.get("total_count")}
        for q in queries
    ]  # fmt: skip
    row["finished_at"] = row["finished_at"].isoformat() + "Z" if row["finished_at"] else None
    # How many records of each special kind the tables hold (and whether the defaults count them).
    row["expanded_access_trials"], row["withdrawn_trials"] = special["expanded"], special["withdrawn"]
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

    con = _connect(warehouse_path)
    try:
        found = _fetch(con, counted, basis=basis, year=year, groups=groups, ranked_by=ranked_by,
                       top=top, role=role, first=year - trend_years + 1)  # fmt: skip
    except duckdb.Error as exc:
        raise ReportError(f"The warehouse could not be read: {exc}") from exc
    finally:
        con.close()
    spanned = [r["year"] for r in found["yearly"] if r["modality"] == ranked_by and r["year"] is not None]
    if not spanned:
        raise ReportError("The warehouse has no classified trials yet.", exit_code=4)
    first, last = min(spanned), max(spanned)
    if not first <= year <= last:
        raise ReportError(
            f"No {ranked_by} trials with {basis} year {year}: the warehouse covers {first}-{last}.",
            exit_code=4,
        )
    counts = {(r["modality"], r["year"]): r["trials"] for r in found["yearly"]}
    years = list(range(year - trend_years + 1, year + 1))
    trend = [{"modality": g, "year": y, "trials": counts.get((g, y), 0)} for g in groups for y in years]
    cumulative = [
        {"modality": g, "through_year": year,
         "trials": sum(n for (m, y), n in counts.items() if m == g and y <= year)}
        for g in groups
    ]  # fmt: skip
    phases = _zero_filled_phases(found["phases"], found["phase_orders"], groups)
    countries = _ranked(found["country_leaders"], found["country_by_group"], "country_code", groups)
    not_provided = found["countries_not_provided"]
    sponsors = _ranked(found["sponsor_leaders"], found["sponsor_by_group"], "sponsor", groups)
    targets = _ranked(found["target_leaders"], found["target_by_group"], "target", groups)
    disease_areas = _over_years(found["disease_areas"], "area", AREA_ORDER, groups, years)
    sponsor_types = _over_years(found["sponsor_types"], "sponsor_type", SPONSOR_TYPE_ORDER, groups, years)
    for row in sponsor_types:
        row["role"] = role
    products = {key: found[f"products_{key}"] for key in ("approved", "top", "by_phase", "by_country")}
    provenance = _provenance(found["run"], found["special"])
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
    provenance.update(
        basis=basis,
        excluded=[*excluded, "trials the classifier found testing no CAR-T/TCR-T/TIL/NK product"],
        caveats=[CHICTR_CAVEAT],
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
        "products": products,
        "provenance": provenance,
    }


# The report's one statement. Each view is read once, filtered to the report's basis, year and
# groups (a materialized CTE where several sections share it); each section comes back as a list
# of rows (structs, fields in the order the JSON shows them), ordered as the report shows them.
# {name} is a view, or its *_by(...) macro when follow-up / expanded-access studies count too.
# The CTEs' names (wanted_*) must not be those of tables: a view's body would read the CTE.
_PRODUCT_COLUMNS = (
    "product_id, name, modality, targets, cell_source, developer, developer_country, "
    "approvals, first_approval_year, trials, highest_phase"
)
_REPORT_SQL = f"""
with
  wanted_yearly as (
    select modality, year, trials from {{yearly_counts}}
    where basis = $basis and list_contains($groups, modality)),
  wanted_phases as materialized (
    select modality, year, phase, trials, share, phase_order from {{phase_distribution}}
    where basis = $basis),
  wanted_countries as materialized (
    select modality, rank, country_code, country, trials, share from {{country_table}}
    where basis = $basis and year = $year and list_contains($groups, modality)),
  wanted_country_leaders as (
    select rank, country_code, country, trials, share from wanted_countries
    where country_code <> 'XX' and modality = $ranked_by and rank <= $top),
  wanted_sponsors as materialized (
    select modality, rank, sponsor, sponsor_country, trials, share from {{sponsor_table}}
    where basis = $basis and year = $year and role = $role and list_contains($groups, modality)),
  wanted_sponsor_leaders as (
    select rank, sponsor, sponsor_country, trials, share from wanted_sponsors
    where modality = $ranked_by and rank <= $top),
  wanted_targets as materialized (
    select modality, rank, target, trials, share from {{target_table}}
    where basis = $basis and year = $year and target <> 'Not named' and list_contains($groups, modality)),
  wanted_target_leaders as (
    select rank, target, trials, share from wanted_targets where modality = $ranked_by and rank <= $top),
  -- Products count when their modality belongs to one of the report's groups.
  wanted_product_modalities as materialized (
    select modality from report_groups where list_contains($groups, report_group)),
  wanted_products as materialized (
    select {_PRODUCT_COLUMNS}, is_approved from {{product_table}}
    where modality in (select modality from wanted_product_modalities))
select
  (select list(r) from wanted_yearly r) as yearly,
  (select list(r order by phase_order, modality) from (
    select modality, phase, trials, share, phase_order from wanted_phases
    where year = $year and list_contains($groups, modality)) r) as phases,
  (select list(r order by phase_order) from (
    select distinct phase, phase_order from wanted_phases) r) as phase_orders,
  (select list(r order by rank, country_code) from wanted_country_leaders r) as country_leaders,
  (select list(r) from (
    select modality, country_code, trials, share from wanted_countries
    where country_code in (select country_code from wanted_country_leaders)) r) as country_by_group,
  (select list(r order by modality) from (
    select modality, trials, share from wanted_countries
    where country_code = 'XX') r) as countries_not_provided,
  (select list(r order by rank, sponsor) from wanted_sponsor_leaders r) as sponsor_leaders,
  (select list(r) from (
    select modality, sponsor, trials, share from wanted_sponsors
    where sponsor in (select sponsor from wanted_sponsor_leaders)) r) as sponsor_by_group,
  (select list(r order by rank, target) from wanted_target_leaders r) as target_leaders,
  (select list(r) from (
    select modality, target, trials, share from wanted_targets
    where target in (select target from wanted_target_leaders)) r) as target_by_group,
  (select list(r) from (
    select modality, year, area, trials, share from {{disease_area_table}}
    where basis = $basis and year between $first and $year and list_contains($groups, modality)) r
  ) as disease_areas,
  (select list(r) from (
    select modality, year, sponsor_type, trials, share from {{sponsor_type_table}}
    where basis = $basis and role = $role and year between $first and $year
    and list_contains($groups, modality)) r) as sponsor_types,
  (select list(r order by first_approval_year, name) from (
    select {_PRODUCT_COLUMNS} from wanted_products where is_approved) r) as products_approved,
  (select list(r order by trials desc, name) from (
    select {_PRODUCT_COLUMNS} from wanted_products where trials > 0 order by trials desc, name limit $top) r
  ) as products_top,
  (select list(r order by phase_order, modality) from (
    select modality, highest_phase, phase_order, products, approved_products from {{products_by_phase}}
    where modality in (select modality from wanted_product_modalities)) r) as products_by_phase,
  (select list(r order by developer_country = 'Unknown', developer_country, modality) from (
    select developer_country, modality, products, products_in_trials, approved_products
    from {{products_by_country}} where modality in (select modality from wanted_product_modalities)) r
  ) as products_by_country,
  (select r from (
    select run_id, kind, finished_at, api_url, api_version, data_timestamp, source, queries,
    classifier_version from runs where published order by run_id desc limit 1) r) as run,
  (select {{{{'expanded': count(*) filter (where f.is_expanded_access),
           'withdrawn': count(*) filter (where t.overall_status = 'WITHDRAWN')}}}}
   from trials t join trial_flags f using (nct_id)
   where t.nct_id in (select nct_id from trial_report_groups)) as special
"""
_REPORT_VIEWS = (
    "yearly_counts", "phase_distribution", "country_table", "sponsor_table", "target_table",
    "disease_area_table", "sponsor_type_table", "product_table", "products_by_phase", "products_by_country",
)  # fmt: skip


# The report's statement plans every view at once, and DuckDB's projection pull-up pass alone
# took about 40% of its optimiser time (`profiling_mode = 'detailed'`) while the tables are too
# small for the pass to pay back; results do not depend on optimiser passes. One thread: the
# views' inputs are a few thousand rows, where handing work between threads costs more than it
# saves (cold report processes ~17% faster, measured on 2 busy cores; bench/bench_paths.py).
_REPORT_CONFIG = {"disabled_optimizers": "projection_pullup", "threads": 1}


def _connect(warehouse_path: Path) -> duckdb.DuckDBPyConnection:
    """output.sql.connect's hardened read-only connection, with the report's planner setting
    (set at connect: the hardened configuration is locked)."""
    if warehouse_path.is_dir():
        raise QueryError(f"{warehouse_path} is a directory, not a warehouse file: move it away and refresh.")
    if not warehouse_path.is_file():
        raise NoWarehouse(warehouse_path)
    try:
        return duckdb.connect(str(warehouse_path), read_only=True, config=_REPORT_CONFIG | READ_ONLY_CONFIG)
    except duckdb.Error as exc:
        raise _open_error(warehouse_path, exc) from exc


def _fetch(con: duckdb.DuckDBPyConnection, counted: Callable[[str], str], **params: Any) -> dict[str, Any]:
    """Every section's rows, by section name, from the report's one statement."""
    sql = _REPORT_SQL.format(**{view: counted(view) for view in _REPORT_VIEWS})
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    row = cursor.fetchone()
    assert row is not None  # a select of scalar subqueries has exactly one row
    # list() of no rows is NULL: an empty section. `run` is one row (None: no published run).
    return {n: [] if v is None and n != "run" else v for n, v in zip(names, row, strict=True)}


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


def _ranked(
    leaders: list[dict[str, Any]], by_group: list[dict[str, Any]], key: str, groups: list[str]
) -> list[dict[str, Any]]:
    """The top-N rows ranked within one group, with each group's trials and share beside."""
    found = {(r["modality"], r[key]): r for r in by_group}
    for row in leaders:
        row["by_modality"] = {
            g: {
                "trials": found.get((g, row[key]), {}).get("trials", 0),
                "share": found.get((g, row[key]), {}).get("share", 0.0),
            }
            for g in groups
        }
    return leaders
