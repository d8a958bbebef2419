"""The report's tables: the rows of the views a report reads, materialised at publish.

`create_views` ends by calling `materialise_report_tables`, so whenever the views are (re)made
(at publish, inside the transaction that builds the new warehouse) schema `report` holds:

- `landscape`: the rows of the eight landscape views a report reads, in one long table
  (LANDSCAPE says which view column went to which shared column);
- `products`: the rows of the product views a report reads (PRODUCTS), side by side;
- `flow_counts`: FLOW_COUNTS, one row.

A report then reads three small tables instead of recomputing the views (the views cost about
0.2 s per report; a cold process pays about 1 ms for every table and operator it first touches,
hence long tables and plain scans). The views stay the analysts' interface and the report's
path for non-default options: output/report_rows.py runs the same SQL over the views then, and
tests/test_report_tables.py checks that both paths give the same report.

Imports only duckdb: the report's fast path reads these definitions.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb

REPORT_SCHEMA = "report"

# The shared columns of report.landscape and their types; a section's view fills some of them.
SHARED = {
    "modality": "varchar", "basis": "varchar", "year": "integer", "role": "varchar", "rank": "integer",
    "key": "varchar", "label": "varchar", "ord": "integer", "trials": "bigint", "share": "double",
}  # fmt: skip
# Section -> (its view, the view's columns the report reads: `column` is stored under the shared
# column of the same name, `column=shared` under another). Basis and year are every view's and
# always kept; role is a filter, kept where a view has it.
LANDSCAPE = {
    "yearly": ("yearly_counts", "modality year trials"),
    "phases": ("phase_distribution", "modality year phase=key trials share phase_order=ord"),
    "countries": ("country_table", "modality rank country_code=key country=label trials share"),
    "sponsors": ("sponsor_table", "modality rank sponsor=key sponsor_country=label trials share"),
    "targets": ("target_table", "modality rank target=key trials share"),
    "disease_areas": ("disease_area_table", "modality year area=key trials share"),
    "sponsor_types": ("sponsor_type_table", "modality year sponsor_type=key trials share"),
    "cell_sources": ("cell_source_table", "modality cell_source=key source_basis=label trials"),
}
_HAS_ROLE = ("sponsor_table", "sponsor_type_table")

# Section -> its rows in report.products (every section's columns side by side, by name): the
# products a report can show (approved, or given in a trial), which modalities count in which
# report group, and the product views by phase and by country.
PRODUCTS = {
    "product": "select product_id, name, modality, targets, cell_source, developer, developer_country, "
    "approvals, first_approval_year, trials, highest_phase, is_approved from {product_table} "
    "where is_approved or trials > 0",
    "product_group": "select modality, report_group from report_groups",
    "by_phase": "select modality, highest_phase, phase_order, products, approved_products "
    "from {products_by_phase}",
    "by_country": "select developer_country, modality, products, products_in_trials, approved_products "
    "from {products_by_country}",
}
PRODUCT_VIEWS = ("product_table", "products_by_phase", "products_by_country")
# Every view the report reads (the landscape's, the products', and trial_report_groups for the
# flow's counts).
REPORT_VIEWS = (*(view for view, _ in LANDSCAPE.values()), *PRODUCT_VIEWS, "trial_report_groups")


def select_list(sql: str) -> list[str]:
    """The columns a plain `select a, b, c from ...` returns."""
    return [name.strip() for name in sql.removeprefix("select ").split(" from ", 1)[0].split(",")]


# The tables of schema report, each column with the field (schemas/fields.py) describing it:
# create_views writes them as comments, the docs print them.
COLUMN_FIELDS = {
    "landscape": {
        "section": "landscape_section", "modality": "report_group", "basis": "basis", "year": "year",
        "role": "sponsor_role", "rank": "rank", "key": "landscape_key", "label": "landscape_label",
        "ord": "landscape_order", "trials": "trials", "share": "share",
    },
    # every other column of report.products is described as the product views' column of its name
    "products": {"section": "products_section"}
    | {column: column for sql in PRODUCTS.values() for column in select_list(sql)},
    "flow_counts": {
        "in_warehouse": "in_warehouse", "registry_studies": "registry_studies",
        "cell_therapy": "cell_therapy", "in_report_groups": "in_report_groups",
        "follow_up": "follow_up_count", "expanded_access": "expanded_access_count",
        "expanded_access_not_follow_up": "expanded_access_not_follow_up", "withdrawn": "withdrawn",
    },
}  # fmt: skip

REPORT_TABLE_NAMES = tuple(COLUMN_FIELDS)

# What the report's flow (output/flow.py) counts across the warehouse, as one row: the trials,
# registry studies and cell-therapy trials, then the trials of a report group (every one has a
# row in group ALL of {report_groups}) and those of them that are follow-up, expanded access or
# withdrawn.
FLOW_COUNTS = """select
    (select count(*) from trials) as in_warehouse,
    (select count(*) from registry_studies) as registry_studies,
    (select count(*) from trial_flags where is_cell_therapy) as cell_therapy,
    count(*) as in_report_groups,
    count(*) filter (where is_long_term_follow_up) as follow_up,
    count(*) filter (where is_expanded_access) as expanded_access,
    count(*) filter (where is_expanded_access and not is_long_term_follow_up)
        as expanded_access_not_follow_up,
    (select count(*) from trials where overall_status = 'WITHDRAWN'
        and nct_id in (select nct_id from {report_groups} where modality = 'ALL')) as withdrawn
from {report_groups} where modality = 'ALL'"""


def columns(section: str) -> list[tuple[str, str]]:
    """(the view's column, the shared column it is stored under) of a landscape section."""
    spec = LANDSCAPE[section][1].split()
    return [(name, shared or name) for name, _, shared in (column.partition("=") for column in spec)]


def landscape_sql(relations: Mapping[str, str]) -> str:
    """The landscape's rows as one relation: section, then the SHARED columns (null where a
    section's view has none), reading each view from `relations[view]`."""
    parts = []
    for section, (view, _) in LANDSCAPE.items():
        stored = {"basis": "basis", "year": "year"} | {shared: name for name, shared in columns(section)}
        if view in _HAS_ROLE:
            stored["role"] = "role"
        select = ", ".join(f"{stored.get(col, 'null')}::{kind} as {col}" for col, kind in SHARED.items())
        parts.append(f"select '{section}' as section, {select} from {relations[view]}")
    return "\nunion all\n".join(parts)


def products_sql(relations: Mapping[str, str]) -> str:
    """The product sections' rows as one relation (UNION ALL BY NAME), reading each view from
    `relations[view]`."""
    parts = [
        f"(select '{section}' as section, * from ({sql.format(**relations)}))"
        for section, sql in PRODUCTS.items()
    ]
    return "\nunion all by name\n".join(parts)


def materialise_report_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Schema `report` as of now: landscape, products and flow_counts."""
    con.execute(f"drop schema if exists {REPORT_SCHEMA} cascade")
    con.execute(f"create schema {REPORT_SCHEMA}")
    landscape = landscape_sql({view: view for view in REPORT_VIEWS})
    tables = {
        "landscape": (
            f"{landscape} order by basis, year, section",
            "The rows of the landscape views trialtrends report reads, when the warehouse was "
            "published: section names the view (see trialtrends/load/report_tables.py).",
        ),
        "products": (
            products_sql({view: view for view in PRODUCT_VIEWS}),
            "The rows of the product views trialtrends report reads, when the warehouse was "
            "published: section names what a row is (see trialtrends/load/report_tables.py).",
        ),
        "flow_counts": (
            FLOW_COUNTS.format(report_groups="trial_report_groups"),
            "What the report flow counts across the warehouse when it was published: trials, "
            "registry studies, cell-therapy trials, and the trials of a report group that are "
            "follow-up, expanded access or withdrawn.",
        ),
    }
    for name, (sql, comment) in tables.items():
        con.execute(f"create table {REPORT_SCHEMA}.{name} as {sql}")
        con.execute(f"comment on table {REPORT_SCHEMA}.{name} is " + "'" + comment.replace("'", "''") + "'")
