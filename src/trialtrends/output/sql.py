"""Read-only access to the published warehouse (the `sql` and `report` commands).

Read-only in fact, not by statement type alone: the connection is opened read-only with
external access disabled (no file reads or writes outside the warehouse, no ATTACH, COPY,
INSTALL or LOAD), extension autoloading off, and the configuration locked so that no
statement can turn any of that back on. On top of that, `trialtrends sql` accepts one query
statement (SELECT, WITH, FROM, VALUES, TABLE, DESCRIBE, SHOW, SUMMARIZE, PIVOT) or an EXPLAIN of
one, checking the statement inside an EXPLAIN too (`EXPLAIN ANALYZE <stmt>` runs `<stmt>`).
An analyst who wants to join their own files uses DuckDB directly on the warehouse.

Bounded too: `stream_query` hands rows out in batches (DuckDB produces them as they are fetched,
so a 20-million-row result never sits in Python at once) and interrupts the query when its time
limit passes, fetching included.

Imports only duckdb: this is the fast path.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


# Rows per fetch: big enough that Python's per-call cost vanishes, small enough to stay flat.
BATCH_ROWS = 10_000


def _timed_out(timeout: float) -> QueryError:
    return QueryError(
        f"The query was stopped after {timeout:g} seconds (--timeout, TRIALTRENDS_SQL_TIMEOUT): "
        "narrow it, or give it longer."
    )


def _failed(exc: duckdb.Error, timeout: float) -> QueryError:
    if isinstance(exc, duckdb.InterruptException):
        return _timed_out(timeout)
    if isinstance(exc, duckdb.PermissionException):
        return QueryError(
            "Refused: `trialtrends sql` reads only the warehouse (no files, no ATTACH, no settings); "
            "use DuckDB directly to query your own files."
        )
    return QueryError(f"The query failed: {str(exc).splitlines()[0]}")


@dataclass
class RowStream:
    """A running query: its column names and its rows, batch by batch (read once)."""

    columns: list[str]
    batches: Iterator[list[tuple]]


@contextmanager
def stream_query(
    warehouse_path: Path,
    query: str,
    params: list[Any] | None = None,
    *,
    timeout: float = 0.0,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[RowStream]:
    """One read-only query whose rows are fetched in batches while the caller writes them.

    With `timeout` > 0 a timer interrupts DuckDB (`interrupt()` is DuckDB's thread-safe way to
    stop a running query) once that many seconds have passed since the query started; whatever
    is running then, the query or a fetch, ends in one QueryError sentence.
    """
    if not query.strip():
        raise QueryError("The query is empty.")
    con = connect(warehouse_path)
    timer: threading.Timer | None = None
    fired = threading.Event()

    def stop() -> None:
        fired.set()  # also seen between fetches, should the interrupt land while DuckDB is idle
        con.interrupt()

    try:
        check_read_only(con, query)
        if timeout > 0:
            timer = threading.Timer(timeout, stop)
            timer.daemon = True
            timer.start()
        try:
            cursor = con.execute(query, params or [])
        except duckdb.Error as exc:
            raise _failed(exc, timeout) from exc

        def batches() -> Iterator[list[tuple]]:
            while True:
                if fired.is_set():
                    raise _timed_out(timeout)
                try:
                    rows = cursor.fetchmany(batch_rows)
                except duckdb.Error as exc:
                    raise _failed(exc, timeout) from exc
                if not rows:
                    return
                yield rows

        yield RowStream([d[0] for d in cursor.description or []], batches())
    finally:
        if timer is not None:
            timer.cancel()
        con.close()


def run_query(
    warehouse_path: Path, query: str, params: list[Any] | None = None
) -> tuple[list[str], list[tuple]]:
    """Column names and all rows of one small read-only query (the report's own queries; the
    `sql` command streams with `stream_query`)."""
    with stream_query(warehouse_path, query, params) as stream:
        return stream.columns, [row for batch in stream.batches for row in batch]
