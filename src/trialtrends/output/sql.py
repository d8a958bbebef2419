"""Read-only access to the published warehouse (the `sql` and `report` commands).

Read-only in fact, not by statement type alone: the connection is opened read-only with
external access disabled (no file reads or writes outside the warehouse, no ATTACH, COPY,
INSTALL or LOAD), extension autoloading off, and the configuration locked so that no
statement can turn any of that back on. On top of that, `trialtrends sql` accepts one query
statement (SELECT, WITH, FROM, VALUES, TABLE, DESCRIBE, SHOW, SUMMARIZE, PIVOT) or an EXPLAIN of
one, checking the statement inside an EXPLAIN too (`EXPLAIN ANALYZE <stmt>` runs `<stmt>`).
An analyst who wants to join their own files uses DuckDB directly on the warehouse.

Imports only duckdb: this is the fast path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from trialtrends.errors import TrialtrendsError

# DuckDB settings of every read-only connection; lock_configuration last, so the others hold.
READ_ONLY_CONFIG = {
    "enable_external_access": False,
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "allow_community_extensions": False,
    "lock_configuration": True,
}

# PIVOT is a query but DuckDB parses it as a MULTI statement (it may declare an enum first).
_PIVOT_WORDS = {"pivot", "pivot_wider"}


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


def _open_error(path: Path, exc: duckdb.Error) -> QueryError:
    """One sentence for a warehouse that exists but cannot be opened."""
    text = str(exc)
    if "lock" in text.lower():
        return QueryError(
            f"The warehouse {path} is locked by another process that opened it for writing "
            "(a DuckDB client without -readonly?); close it, or open it read-only."
        )
    first = text.splitlines()[0] if text else type(exc).__name__
    return QueryError(
        f"The warehouse {path} cannot be read ({first[:160]}); the next `trialtrends refresh` "
        "moves it aside and publishes a new one (`trialtrends rebuild` does so from landed data)."
    )


def connect(warehouse_path: Path) -> duckdb.DuckDBPyConnection:
    """A hardened read-only connection to the published warehouse, or a one-sentence error."""
    if warehouse_path.is_dir():
        raise QueryError(f"{warehouse_path} is a directory, not a warehouse file: move it away and refresh.")
    if not warehouse_path.is_file():
        raise NoWarehouse(warehouse_path)
    try:
        return duckdb.connect(str(warehouse_path), read_only=True, config=dict(READ_ONLY_CONFIG))
    except duckdb.Error as exc:
        raise _open_error(warehouse_path, exc) from exc


def _refused(kind: str) -> QueryError:
    return QueryError(
        "Refused: `trialtrends sql` is read-only and runs one query (SELECT, WITH, DESCRIBE, SHOW, "
        f"SUMMARIZE, PIVOT or EXPLAIN of one); this is a {kind} statement."
    )


def _explained(text: str) -> str:
    """The statement inside `EXPLAIN [ANALYZE | (options)] <statement>`, found with DuckDB's
    own tokenizer (so comments and option lists cannot hide it)."""
    tokens = [(pos, kind) for pos, kind in duckdb.tokenize(text) if kind != duckdb.token_type.comment]

    def word(i: int) -> str:
        pos = tokens[i][0]
        end = tokens[i + 1][0] if i + 1 < len(tokens) else len(text)
        return text[pos:end].strip().lower()

    i = 1  # tokens[0] is EXPLAIN
    if i < len(tokens) and word(i) == "analyze":
        i += 1
    elif i < len(tokens) and word(i).startswith("("):
        depth = 0
        while i < len(tokens):
            depth += word(i).count("(") - word(i).count(")")
            i += 1
            if depth <= 0:
                break
    if i >= len(tokens):
        raise QueryError("EXPLAIN of what? Give the query after EXPLAIN.")
    return text[tokens[i][0] :]


def check_read_only(con: duckdb.DuckDBPyConnection, query: str, _depth: int = 0) -> None:
    """Refuse anything but one query statement (or an EXPLAIN of one)."""
    try:
        statements = con.extract_statements(query)
    except duckdb.Error as exc:
        raise QueryError(f"The query does not parse: {str(exc).splitlines()[0]}") from exc
    if len(statements) != 1:
        raise QueryError(f"Give exactly one statement (got {len(statements)}).")
    statement = statements[0]
    kind = statement.type
    if kind == duckdb.StatementType.SELECT:
        return
    if kind == duckdb.StatementType.MULTI:
        first = next((t for t in duckdb.tokenize(query) if t[1] != duckdb.token_type.comment), None)
        if first is not None and query[first[0] :].split(None, 1)[0].lower() in _PIVOT_WORDS:
            return
    if kind == duckdb.StatementType.EXPLAIN and _depth == 0:
        check_read_only(con, _explained(statement.query), _depth + 1)
        return
    raise _refused(kind.name)


def run_query(
    warehouse_path: Path, query: str, params: list[Any] | None = None
) -> tuple[list[str], list[tuple]]:
    """Column names and rows of one read-only query."""
    if not query.strip():
        raise QueryError("The query is empty.")
    con = connect(warehouse_path)
    try:
        check_read_only(con, query)
        try:
            cursor = con.execute(query, params or [])
        except duckdb.PermissionException as exc:
            raise QueryError(
                "Refused: `trialtrends sql` reads only the warehouse (no files, no ATTACH, no settings); "
                "use DuckDB directly to query your own files."
            ) from exc
        except duckdb.Error as exc:
            raise QueryError(f"The query failed: {str(exc).splitlines()[0]}") from exc
        columns = [d[0] for d in cursor.description or []]
        return columns, cursor.fetchall()
    finally:
        con.close()
