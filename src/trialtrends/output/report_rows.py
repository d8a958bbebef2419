"""The rows behind a report, in two statements (duckdb + stdlib only: the report's fast path).

The landscape sections (trend, phases, countries, sponsors, targets, disease areas, sponsor types,
cell sources) are filters over eight views, read at once from their long form (report.landscape,
see load/report_tables.py); the product sections (report.products), the flow's counts and the
runs are the second statement.

Where the rows come from: with the default counting rules (no follow-up, no expanded access)
from schema `report`, the views' rows materialised at publish; otherwise, or in a warehouse
published before that schema existed, from the views or their `*_by` macros, computed now. The
SQL is the same text either way; only the relations differ.
"""

from __future__ import annotations

from typing import Any

import duckdb

from trialtrends.load.report_tables import (
    COLUMN_FIELDS,
    FLOW_COUNTS,
    LANDSCAPE,
    PRODUCTS,
    REPORT_SCHEMA,
    REPORT_TABLE_NAMES,
    REPORT_VIEWS,
    SHARED,
    columns,
    landscape_sql,
    products_sql,
    select_list,
)
from trialtrends.output.flow import RUN_COLUMNS, RUNS, newest_published

# The landscape rows of the report's year: whole for the trend and the phase list, the trend
# window for the sections over years, the year for the others; and the report's sponsor role.
LANDSCAPE_QUERY = f"""select section, {", ".join(SHARED)} from {{landscape}}
where basis = $basis and (role is null or role = $role) and (
    section in ('yearly', 'phases')
    or (section in ('disease_areas', 'sponsor_types') and year between $first_year and $year)
    or year = $year)"""
# Landscape sections narrowed to the report's groups here (the trend stays whole: the flow
# counts every group; so does the phase list, every phase seen under the basis).
_BY_GROUP = ("countries", "sponsors", "targets", "disease_areas", "sponsor_types", "cell_sources")

# The second statement: report.products (narrowed in Python, `_products`, to the products whose
# modality counts in one of the report's groups: cheaper than the same filter in SQL), the
# flow's counts and every run's row (the published one is picked in Python).
_COUNT_COLUMNS = tuple(COLUMN_FIELDS["flow_counts"])  # report.flow_counts' columns
OTHERS_QUERY = (
    "select * from {products}\nunion all by name\n"
    f"(select 'counts' as section, {', '.join(_COUNT_COLUMNS)} from {{flow_counts}})\nunion all by name\n"
    f"(select 'runs' as section, {RUNS.removeprefix('select ')})"
)
# The columns of each section of the second statement.
_OTHER_COLUMNS = {section: select_list(sql) for section, sql in PRODUCTS.items()} | {
    "counts": _COUNT_COLUMNS,
    "runs": RUN_COLUMNS,
}
MATERIALISED = {name: f"{REPORT_SCHEMA}.{name}" for name in REPORT_TABLE_NAMES}


def live(include_follow_up: bool, include_expanded_access: bool) -> dict[str, str]:
    """The relations over the views, or their macros when follow-up or expanded-access studies
    are counted too (only these fixed spellings reach the SQL text, never user input)."""
    follow_up, expanded = str(include_follow_up).lower(), str(include_expanded_access).lower()
    views = {
        view: view
        if view == "trial_report_groups" or not (include_follow_up or include_expanded_access)
        else f"{view}_by({follow_up}, include_expanded_access := {expanded})"
        for view in REPORT_VIEWS
    }
    return views | {
        "landscape": f"({landscape_sql(views)})",
        "products": f"({products_sql(views)})",
        "flow_counts": f"({FLOW_COUNTS.format(report_groups='trial_report_groups')})",
    }


def fetch(
    con: duckdb.DuckDBPyConnection,
    params: dict[str, Any],
    *,
    include_follow_up: bool,
    include_expanded_access: bool,
    materialised: bool = True,
) -> dict[str, list[dict[str, Any]]]:
    """section -> its rows (dicts of the section's own columns), in no particular order.

    params: basis, year, first_year, role, top, and groups (the report's groups).
    """
    landscape_params = {name: params[name] for name in ("basis", "year", "first_year", "role")}
    landscape = None
    if materialised and not (include_follow_up or include_expanded_access):
        try:
            landscape = con.execute(LANDSCAPE_QUERY.format(**MATERIALISED), landscape_params).fetchall()
            relations = MATERIALISED
        except duckdb.CatalogException:  # published before schema report existed: compute
            landscape = None
    if landscape is None:
        relations = live(include_follow_up, include_expanded_access)
        landscape = con.execute(LANDSCAPE_QUERY.format(**relations), landscape_params).fetchall()
    others = con.execute(OTHERS_QUERY.format(**relations))
    index = {d[0]: i for i, d in enumerate(others.description)}
    found: dict[str, list[dict[str, Any]]] = {section: [] for section in _OTHER_COLUMNS}
    for row in others.fetchall():
        section = row[0]
        found[section].append({name: row[index[name]] for name in _OTHER_COLUMNS[section]})
    groups = set(params["groups"])
    return (
        _landscape_sections(landscape, groups)
        | _products(found, groups, params["top"])
        | {"counts": found["counts"], "run": [newest_published(found["runs"])]}
    )


def _products(
    found: dict[str, list[dict[str, Any]]], groups: set[str], top: int
) -> dict[str, list[dict[str, Any]]]:
    """The approved products, the `top` leading ones (by trials, then name), and products by
    phase and by country, of the modalities that count in the report's groups (report_groups)."""
    counted = {row["modality"] for row in found["product_group"] if row["report_group"] in groups}
    flagged = [(row.pop("is_approved"), row) for row in found["product"] if row["modality"] in counted]
    return {
        "approved": [row for approved, row in flagged if approved],
        "leading": sorted((row for _, row in flagged if row["trials"]), key=_by_trials)[:top],
        "by_phase": [row for row in found["by_phase"] if row["modality"] in counted],
        "by_country": [row for row in found["by_country"] if row["modality"] in counted],
    }


def _landscape_sections(rows: list[tuple[Any, ...]], groups: set[str]) -> dict[str, list[dict[str, Any]]]:
    """Each landscape row as a dict of its view's own column names (LANDSCAPE)."""
    position = {shared: i + 1 for i, shared in enumerate(SHARED)}  # after section
    sections: dict[str, list[dict[str, Any]]] = {section: [] for section in LANDSCAPE}
    picks = {section: [(name, position[col]) for name, col in columns(section)] for section in LANDSCAPE}
    modality = position["modality"]
    for row in rows:
        section = row[0]
        if section in _BY_GROUP and row[modality] not in groups:
            continue
        sections[section].append({name: row[i] for name, i in picks[section]})
    return sections


def _by_trials(product: dict[str, Any]) -> tuple[int, str]:
    return -product["trials"], product["name"]
