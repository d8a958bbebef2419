"""The analysts' views: one SQL file each in `sql/`, created in dependency order.

Each file starts with a header comment that documents and tests the view once, beside its SQL:

    -- view_name: what it shows.            <- the lines before `-- columns:` become COMMENT ON VIEW
    -- grain: one row per (a, b).           <- the key: tests/test_views.py checks it is unique, not null
    -- columns: a, b=report_group, c        <- the columns in order; each takes its description from
    --   d                                     schemas/fields.py by its name, or by the name after `=`
    -- not null: c                          <- optional: further columns that never hold null

A column's accepted values come with its field (schemas.ACCEPTED_VALUES). Logic shared by several
views lives in SQL files that create macros only (`MACROS`), created before the views need them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import duckdb

from trialtrends.load.report_tables import COLUMN_FIELDS, REPORT_SCHEMA, materialise_report_tables
from trialtrends.schemas.fields import doc

# Views in dependency order; each file in sql/ is named after the view it creates.
VIEWS = (
    "trial_years", "trial_report_groups", "trial_group_years", "yearly_counts", "phase_distribution",
    "country_table", "sponsor_table", "latest_changes", "disease_area_table", "target_table",
    "sponsor_type_table", "cell_source_table", "product_table", "products_by_phase", "products_by_country",
)  # fmt: skip

# Macros-only files, created just before the first view that uses them: rank and share are
# computed the same way in every ranked or shared landscape view (they need yearly_counts_by).
MACROS = {"country_table": ("rank_and_share",)}

_KEY = re.compile(r"^ (columns|not null): ?(.*)$")
_CONTINUATION = re.compile(r"^ {3,}(\S.*)$")
_GRAIN = re.compile(r"grain: one row per \(([a-z0-9_, ]+)\)")
_NAME = re.compile(r"^([a-z_][a-z0-9_]*)(?:=([a-z_][a-z0-9_]*))?$")


@dataclass(frozen=True)
class ViewDoc:
    """The documentation and declared tests of one view, parsed from its file's header comment."""

    name: str
    comment: str
    columns: dict[str, str]  # column -> description (from schemas/fields.py)
    fields: dict[str, str]  # column -> the fields.py entry describing it
    grain: tuple[str, ...]
    not_null: tuple[str, ...] = ()


def view_sql(name: str) -> str:
    """The SQL of one view, read from the package (so an installed wheel builds its views)."""
    return resources.files("trialtrends.load").joinpath("sql", f"{name}.sql").read_text()


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_header(name: str, sql: str) -> ViewDoc:
    """The view comment (header lines before `-- columns:`), its columns, grain and tests."""
    header = []
    for line in sql.splitlines():
        if not line.startswith("--"):
            break
        header.append(line[2:])
    marks = [i for i, line in enumerate(header) if _KEY.match(line) and line.strip().startswith("columns:")]
    if not marks:
        raise ValueError(f"sql/{name}.sql: the header has no '-- columns:' block")
    split = marks[0]
    text = " ".join(line.strip() for line in header[:split])
    comment = text.removeprefix(f"{name}:").strip()
    blocks: dict[str, str] = {}
    last = None
    for line in header[split:]:
        if match := _KEY.match(line):
            last = match.group(1)
            blocks[last] = match.group(2)
        elif (match := _CONTINUATION.match(line)) and last is not None:
            blocks[last] += " " + match.group(1)
        else:
            raise ValueError(
                f"sql/{name}.sql: cannot read header line {line!r} (describe a column in "
                "src/trialtrends/schemas/fields.py and list it under '-- columns:')"
            )
    fields: dict[str, str] = {}
    for item in _names(blocks["columns"]):
        if not (match := _NAME.match(item)):
            raise ValueError(f"sql/{name}.sql: cannot read column {item!r} (write name or name=field)")
        fields[match.group(1)] = match.group(2) or match.group(1)
    grain = _GRAIN.search(comment)
    if not grain:
        raise ValueError(f"sql/{name}.sql: the header declares no 'grain: one row per (...)'")
    keys = tuple(_names(grain.group(1)))
    not_null = tuple(_names(blocks.get("not null", "")))
    unknown = [c for c in (*keys, *not_null) if c not in fields]
    if unknown:
        raise ValueError(f"sql/{name}.sql: grain or not-null names columns it does not list: {unknown}")
    columns = {column: doc(field) for column, field in fields.items()}
    return ViewDoc(name, comment, columns, fields, keys, not_null)


def view_docs() -> dict[str, ViewDoc]:
    """Every view's documentation, in dependency order."""
    return {name: parse_header(name, view_sql(name)) for name in VIEWS}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def create_views(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create every view from sql/, in dependency order, write its comments, and
    materialise the report's (`materialise_report_tables`)."""
    for name in VIEWS:
        for macros in MACROS.get(name, ()):
            con.execute(view_sql(macros))
        con.execute(view_sql(name))
    docs = view_docs()
    present: dict[str, set[str]] = {}  # each view's columns, read once for all views
    for table, column in con.execute(
        "select table_name, column_name from duckdb_columns() where database_name = current_database() "
        "and schema_name = current_schema() and table_name in (select unnest(?::varchar[]))",
        [list(docs)],
    ).fetchall():
        present.setdefault(table, set()).add(column)
    comments = []
    for view in docs.values():
        comments.append(f"comment on view {view.name} is {_quote(view.comment)}")
        # A listed column the view lacks is skipped here; tests/test_views.py checks that the
        # listed columns are exactly the view's (a header that cannot be read fails at once).
        comments += [
            f'comment on column {view.name}."{column}" is {_quote(description)}'
            for column, description in view.columns.items()
            if column in present.get(view.name, ())
        ]
    materialise_report_tables(con)
    comments += [
        f'comment on column {REPORT_SCHEMA}.{table}."{column}" is {_quote(doc(field))}'
        for table, fields in COLUMN_FIELDS.items()
        for column, field in fields.items()
    ]
    con.execute(";\n".join(comments))  # ~150 statements, one call
