"""The analysts' views: one SQL file each in `sql/`, created in dependency order.

Each file starts with a header comment that documents the view once, beside its SQL:

    -- view_name: what it shows.            <- these lines become COMMENT ON VIEW
    -- grain: one row per (...).
    -- columns:
    --   column_name: what it holds.        <- each becomes COMMENT ON COLUMN view.column_name
    --     a deeper-indented line continues the description above.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import duckdb

# Views in dependency order; each file in sql/ is named after the view it creates.
VIEWS = (
    "trial_years", "trial_report_groups", "trial_group_years", "yearly_counts", "phase_distribution",
    "country_table", "sponsor_table", "latest_changes", "disease_area_table", "target_table",
    "sponsor_type_table", "product_table", "products_by_phase", "products_by_country",
)  # fmt: skip

_COLUMN = re.compile(r"^ {3}([a-z_][a-z0-9_]*): (.+)$")
_CONTINUATION = re.compile(r"^ {5,}(\S.*)$")


@dataclass(frozen=True)
class ViewDoc:
    """The documentation of one view, parsed from its file's header comment."""

    name: str
    comment: str
    columns: dict[str, str]


def view_sql(name: str) -> str:
    """The SQL of one view, read from the package (so an installed wheel builds its views)."""
    return resources.files("trialtrends.load").joinpath("sql", f"{name}.sql").read_text()


def parse_header(name: str, sql: str) -> ViewDoc:
    """The view comment (header lines before `-- columns:`) and the column descriptions."""
    header = []
    for line in sql.splitlines():
        if not line.startswith("--"):
            break
        header.append(line[2:])
    marks = [i for i, line in enumerate(header) if line.strip() == "columns:"]
    if not marks:
        raise ValueError(f"sql/{name}.sql: the header has no '-- columns:' block")
    split = marks[0]
    text = " ".join(line.strip() for line in header[:split])
    comment = text.removeprefix(f"{name}:").strip()
    columns: dict[str, str] = {}
    last = None
    for line in header[split + 1 :]:
        if match := _COLUMN.match(line):
            last = match.group(1)
            columns[last] = match.group(2).strip()
        elif (match := _CONTINUATION.match(line)) and last is not None:
            columns[last] += " " + match.group(1).strip()
        else:
            raise ValueError(f"sql/{name}.sql: cannot read column line {line!r}")
    return ViewDoc(name, comment, columns)


def view_docs() -> dict[str, ViewDoc]:
    """Every view's documentation, in dependency order."""
    return {name: parse_header(name, view_sql(name)) for name in VIEWS}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def create_views(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create every view from sql/, in dependency order, and write its comments."""
    for name in VIEWS:
        con.execute(view_sql(name))
    for doc in view_docs().values():
        con.execute(f"comment on view {doc.name} is {_quote(doc.comment)}")
        present = {
            row[0]
            for row in con.execute(
                "select column_name from duckdb_columns() "
                "where table_name = ? and database_name = current_database() "
                "and schema_name = current_schema()",
                [doc.name],
            ).fetchall()
        }
        # A documented column the view lacks is skipped here; tests/test_views.py reports both
        # directions (documented but absent, present but undocumented), so a refresh never fails
        # on documentation alone.
        for column, description in doc.columns.items():
            if column in present:
                con.execute(f'comment on column {doc.name}."{column}" is {_quote(description)}')
