"""Read-only access to the published warehouse (the `sql` and `report` commands).

Imports only duckdb: this is the fast path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from trialtrends.errors import TrialtrendsError

# Statement types an analyst may run through `trialtrends sql`; everything else (DELETE,
# COPY ... TO, ATTACH, CREATE, SET, ...) is refused before it reaches the database, and the
# connection is read-only as a second line of defence.
ALLOWED = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}


class QueryError(TrialtrendsError):
    """A query that is refused or fails; the message is one sentence."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class NoWarehouse(QueryError):
    def __init__(self, path: Path) -> None:
        super().__init__(
            f"No warehouse at {path}: run `trialtrends refresh` first "
            "(or point --data-dir / TRIALTRENDS_DATA_DIR at an existing data folder).",
            exit_code=3,
        )


def connect(warehouse_path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published warehouse, or NoWarehouse."""
    if not warehouse_path.is_file():
        raise NoWarehouse(warehouse_path)
    try:
        return duckdb.connect(str(warehouse_path), read_only=True)
    except duckdb.Error as exc:
        raise QueryError(f"Cannot open {warehouse_path}: {exc}") from exc


def check_read_only(con: duckdb.DuckDBPyConnection, query: str) -> None:
    """Refuse anything but one SELECT/EXPLAIN statement."""
    try:
        statements = con.extract_statements(query)
    except duckdb.Error as exc:
        raise QueryError(f"The query does not parse: {exc}") from exc
    if len(statements) != 1:
        raise QueryError(f"Give exactly one statement (got {len(statements)}).")
    kind = statements[0].type
    if kind not in ALLOWED:
        raise QueryError(
            f"Refused: `trialtrends sql` is read-only and runs SELECT or EXPLAIN only "
            f"(this is a {kind.name} statement)."
        )


def run_query(
    warehouse_path: Path, query: str, params: list[Any] | None = None
) -> tuple[list[str], list[tuple]]:
    """Column names and rows of one read-only query."""
    con = connect(warehouse_path)
    try:
        check_read_only(con, query)
        try:
            cursor = con.execute(query, params or [])
        except duckdb.Error as exc:
            raise QueryError(f"The query failed: {exc}") from exc
        columns = [d[0] for d in cursor.description or []]
        return columns, cursor.fetchall()
    finally:
        con.close()
