"""Load: build the new warehouse aside and publish it in one atomic step.

The only module that writes the warehouse. A refresh writes a complete new DuckDB file next to
the published one, then `os.replace`s it over `trialtrends.duckdb`: a reader sees the old file or
the new one, never a mix, and a crash or kill at any moment leaves the published file untouched
(an abandoned temporary file is removed by the next load).

Open readers: on POSIX the rename does not disturb a connection that is already open; it keeps
reading the file it opened (the previous night) until it reconnects. New connections get the new
warehouse. Readers never block a publish.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from trialtrends.load.ddl import TABLES, TABLES_BY_NAME, quote
from trialtrends.load.views import create_views

log = logging.getLogger(__name__)

TMP_PREFIX = ".building-"
# Tables whose rows belong to one trial: merged by nct_id in incremental mode.
TRIAL_TABLES = (
    "trials", "trial_countries", "trial_sponsors", "trial_sites", "trial_conditions",
    "trial_interventions", "trial_modalities", "trial_flags", "trial_diseases", "trial_products",
)  # fmt: skip


def _create_tables(con: duckdb.DuckDBPyConnection) -> None:
    for table in TABLES:
        con.execute(table.ddl())
        con.execute(f"comment on table {table.name} is {quote(table.comment)}")
        for column in table.columns:
            con.execute(f"comment on column {table.name}.{column.name} is {quote(column.comment)}")


def _insert(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> None:
    columns = [c.name for c in TABLES_BY_NAME[name].columns]
    con.register("incoming", frame.select(columns))
    try:
        con.execute(f"insert into {name} ({', '.join(columns)}) select {', '.join(columns)} from incoming")
    finally:
        con.unregister("incoming")


def _cleanup_abandoned(warehouse_dir: Path) -> None:
    for stale in warehouse_dir.glob(f"{TMP_PREFIX}*"):
        log.warning("removing %s left by an interrupted load", stale)
        stale.unlink(missing_ok=True)


def _changes_sql(run_id: str, incremental: bool) -> str:
    """Trials added, removed or changed against the previous warehouse (attached as prev)."""

    def signature(schema: str) -> str:
        return f"""
        select t.nct_id, t.overall_status, t.phase, t.lead_sponsor,
               coalesce(c.countries, []) as countries, coalesce(m.modalities, []) as modalities
        from {schema}.trials t
        left join (select nct_id, list(distinct country_code order by country_code) as countries
                   from {schema}.trial_countries where not is_removed group by nct_id) c
            on c.nct_id = t.nct_id
        left join (select nct_id, list(distinct modality order by modality) as modalities
                   from {schema}.trial_modalities group by nct_id) m
            on m.nct_id = t.nct_id"""

    removed = "" if incremental else "when new.nct_id is null then 'removed'"
    return f"""
    insert into trial_changes
    with new as ({signature("main")}),
    old as ({signature("prev")}),
    joined as (
        select coalesce(new.nct_id, old.nct_id) as nct_id,
               case when old.nct_id is null then 'added' {removed}
                    when new.nct_id is null then null else 'changed' end as change,
               list_filter([
                   case when new.overall_status is distinct from old.overall_status then 'status' end,
                   case when new.phase is distinct from old.phase then 'phase' end,
                   case when new.lead_sponsor is distinct from old.lead_sponsor then 'sponsor' end,
                   case when new.countries is distinct from old.countries then 'countries' end,
                   case when new.modalities is distinct from old.modalities then 'modality' end
               ], lambda x: x is not null) as changed_fields
        from new full outer join old on new.nct_id = old.nct_id
    )
    select {quote(run_id)}, nct_id, change, case when change = 'changed' then changed_fields else [] end
    from joined
    where change is not null and (change <> 'changed' or len(changed_fields) > 0)
    order by nct_id
    """


class WarehouseBuilder:
    """A new warehouse being built aside, chunk by chunk; `publish` swaps it in atomically.

    Rows go straight to the building file as each chunk is staged, so memory stays bounded
    by a chunk whatever the input size (DuckDB spills beyond `memory_limit`).
    """

    def __init__(self, warehouse_path: Path, run_id: str, memory_limit: str = "1GB") -> None:
        self.warehouse_path = warehouse_path
        self.run_id = run_id
        warehouse_dir = warehouse_path.parent
        warehouse_dir.mkdir(parents=True, exist_ok=True)
        _cleanup_abandoned(warehouse_dir)
        self.tmp = warehouse_dir / f"{TMP_PREFIX}{run_id}.duckdb"
        self.con: duckdb.DuckDBPyConnection | None = duckdb.connect(
            str(self.tmp), config={"memory_limit": memory_limit}
        )
        try:
            _create_tables(self.con)
        except BaseException:
            self.abort()
            raise

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self.con is None:
            raise RuntimeError("the warehouse builder is closed")
        return self.con

    def append(self, name: str, frame: pl.DataFrame) -> None:
        """Stage rows of one table."""
        if frame.height:
            _insert(self._connection(), name, frame)

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple]:
        """Read from the staged tables (data-quality summaries, gate inputs)."""
        return self._connection().execute(sql, params or []).fetchall()

    def set_payloads(self, payloads: Mapping[str, str]) -> None:
        """Fill in the raw records of studies quarantined after normalisation."""
        rows = [(payload, nct_id) for nct_id, payload in payloads.items()]
        if rows:
            self._connection().executemany("update rejected_studies set payload = ? where nct_id = ?", rows)

    def publish(self, runs: Iterable[Mapping[str, Any]], *, incremental: bool = False) -> Path:
        """Finish the new warehouse (history, changes, views) and atomically replace the old.

        In incremental mode the previous warehouse's rows of trials not in this batch are
        carried over. `runs` is rebuilt from the given rows; `trial_changes` keeps its history
        and gains this run's changes.
        """
        con = self._connection()
        previous = self.warehouse_path if self.warehouse_path.is_file() else None
        try:
            if previous is not None:
                con.execute(f"attach {quote(str(previous))} as prev (read_only)")
                if incremental:
                    con.execute("create temp table batch_ids as select nct_id from trials")
                    for name in TRIAL_TABLES:
                        cols = ", ".join(c.name for c in TABLES_BY_NAME[name].columns)
                        con.execute(
                            f"insert into {name} ({cols}) select {cols} from prev.{name} "
                            "where nct_id not in (select nct_id from batch_ids)"
                        )
                con.execute(
                    "insert into trial_changes select * from prev.trial_changes where run_id <> ?",
                    [self.run_id],
                )
                con.execute(_changes_sql(self.run_id, incremental))
                con.execute("detach prev")
            else:
                con.execute(
                    "insert into trial_changes select ?, nct_id, 'added', [] from trials order by nct_id",
                    [self.run_id],
                )
            _insert_runs(con, runs)
            create_views(con)
            con.execute("checkpoint")
            con.close()
            self.con = None
            with open(self.tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(self.tmp, self.warehouse_path)
            _fsync_dir(self.warehouse_path.parent)
        except BaseException:
            self.abort()
            raise
        log.info("published %s", self.warehouse_path)
        return self.warehouse_path

    def abort(self) -> None:
        """Drop the half-built warehouse; the published one is untouched."""
        if self.con is not None:
            self.con.close()
            self.con = None
        self.tmp.unlink(missing_ok=True)
        Path(f"{self.tmp}.wal").unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


RUN_COLUMNS = tuple(c.name for c in TABLES_BY_NAME["runs"].columns)


def _insert_runs(con: duckdb.DuckDBPyConnection, runs: Iterable[Mapping[str, Any]]) -> None:
    rows = []
    for run in runs:
        row = []
        for col in RUN_COLUMNS:
            value = run.get(col)
            if isinstance(value, dict | list):
                value = json.dumps(value, sort_keys=True)
            row.append(value)
        rows.append(row)
    if rows:
        placeholders = ", ".join("?" for _ in RUN_COLUMNS)
        con.executemany(f"insert into runs ({', '.join(RUN_COLUMNS)}) values ({placeholders})", rows)
