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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from trialtrends.errors import TrialtrendsError, disk_full
from trialtrends.load.ddl import TABLES, TABLES_BY_NAME, quote
from trialtrends.load.views import create_views
from trialtrends.lock import try_lock

log = logging.getLogger(__name__)

TMP_PREFIX = ".building-"
OWNER_SUFFIX = ".owner"
# DuckDB 2.0 writes storage v2 by default, which DuckDB 1.x clients (the CLI on PyPI, DBeaver,
# JDBC) refuse; v1.4.0 opens in every client from DuckDB 1.4 on.
STORAGE_VERSION = "v1.4.0"


class WarehouseError(TrialtrendsError):
    """The warehouse cannot be built or published (one sentence)."""


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


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
    """Remove building files whose builder is gone (its owner lock is free), never a live one."""
    bases = {Path(str(p).split(".duckdb")[0] + ".duckdb") for p in warehouse_dir.glob(f"{TMP_PREFIX}*")}
    for building in sorted(bases):
        owner = Path(f"{building}{OWNER_SUFFIX}")
        fd = try_lock(owner) if owner.exists() else None
        if owner.exists() and fd is None:
            continue  # its builder is alive (another process, or this one)
        log.warning("removing %s left by an interrupted load", building)
        for leftover in (building, Path(f"{building}.wal"), owner):
            leftover.unlink(missing_ok=True)
        if fd is not None:
            os.close(fd)


def unreadable_reason(path: Path) -> str | None:
    """Why the published warehouse cannot be opened (one line), or None when it opens or is
    not there yet."""
    if not path.exists():
        return None
    if not path.is_file():
        return "it is not a file"
    try:
        duckdb.connect(str(path), read_only=True).close()
    except duckdb.Error as exc:
        if "lock" in str(exc).lower():
            return None  # held by a writer: readable, just busy (the attach will say so)
        return (str(exc).splitlines() or [type(exc).__name__])[0][:200]
    return None


def move_aside(warehouse_path: Path, run_id: str, why: str) -> Path:
    """Move an unreadable published warehouse to `<name>.corrupt-<run_id>` (kept for
    inspection, never deleted) so the pipeline heals by publishing a fresh one."""
    aside = warehouse_path.with_name(f"{warehouse_path.name}.corrupt-{run_id}")
    os.replace(warehouse_path, aside)
    log.warning("the published warehouse could not be opened (%s); moved it to %s", why, aside)
    return aside


#: Which trials a run's change log can call removed: "all" (a full build: any trial not in it),
#: "batch" (a search since a date: none, the rest are carried over) or "delta" (a registry delta:
#: those among the studies it brought that are no longer cell therapy).
CHANGE_SCOPES = ("all", "batch", "delta")


def _changes_sql(run_id: str, scope: str) -> str:
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

    removed = {
        "all": "when new.nct_id is null then 'removed'",
        "batch": "",
        "delta": "when new.nct_id is null and old.nct_id in (select nct_id from replaced_ids) then 'removed'",
    }[scope]
    # In registry mode a removed trial says why: its record is still in the registry index (it
    # is no longer cell therapy) or it is not (absent from the new baseline).
    why = """case when exists (select 1 from main.registry_studies)
                  then [case when nct_id in (select nct_id from main.registry_studies)
                             then 'not cell therapy' else 'not in registry' end]
                  else [] end"""
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
    select {quote(run_id)}, nct_id, change,
           case when change = 'changed' then changed_fields when change = 'removed' then {why} else [] end
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
        # The owner lock says "this building file is live" to any other builder's clean-up.
        self._owner = Path(f"{self.tmp}{OWNER_SUFFIX}")
        self._owner_fd = try_lock(self._owner)
        self.con: duckdb.DuckDBPyConnection | None = duckdb.connect(config={"memory_limit": memory_limit})
        try:
            # Written in a storage format that maintained DuckDB clients (1.4 and newer) open.
            self.con.execute(f"attach {quote(str(self.tmp))} as warehouse (storage_version '{STORAGE_VERSION}')")
            self.con.execute("use warehouse")
            _create_tables(self.con)
        except BaseException:
            self.abort()
            raise
        #: Where an unreadable published warehouse was moved by this publish, if it was.
        self.recovered: Path | None = None

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self.con is None:
            raise RuntimeError("the warehouse builder is closed")
        return self.con

    def append(self, name: str, frame: pl.DataFrame) -> None:
        """Stage rows of one table."""
        if frame.height:
            try:
                _insert(self._connection(), name, frame)
            except duckdb.Error as exc:
                raise self._write_error(exc) from exc

    def delete_studies(self, nct_ids: Iterable[str]) -> None:
        """Drop the staged rows of these studies from every trial table (a later copy replaces
        them)."""
        ids = sorted(nct_ids)
        for name in TRIAL_TABLES:
            self._connection().execute(f"delete from {name} where nct_id in (select unnest(?))", [ids])

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple]:
        """Read from the staged tables (data-quality summaries, gate inputs)."""
        return self._connection().execute(sql, params or []).fetchall()

    def set_payloads(self, payloads: Mapping[str, str]) -> None:
        """Fill in the raw records of studies quarantined after normalisation."""
        rows = [(payload, nct_id) for nct_id, payload in payloads.items()]
        if rows:
            self._connection().executemany("update rejected_studies set payload = ? where nct_id = ?", rows)

    def _attach_previous(self, *, for_merge: bool) -> Path | None:
        """Attach the published warehouse as `prev` (None when there is none yet); an unreadable
        one is moved aside (a full build heals) or refused (a merge has nothing to merge into)."""
        con = self._connection()
        why = unreadable_reason(self.warehouse_path)
        if why is not None and for_merge:
            raise WarehouseError(
                f"The published warehouse {self.warehouse_path} cannot be read, so this run has nothing "
                "to merge into; run `trialtrends refresh --full` (it moves the file aside)."
            )
        if why is not None:
            self.recovered = move_aside(self.warehouse_path, self.run_id, why)
        previous = self.warehouse_path if self.warehouse_path.is_file() else None
        if previous is None:
            if for_merge:
                raise WarehouseError(
                    f"There is no published warehouse at {self.warehouse_path} to merge into; "
                    "run `trialtrends refresh --full`."
                )
            return None
        try:
            con.execute(f"attach {quote(str(previous))} as prev (read_only)")
        except duckdb.IOException as exc:
            raise WarehouseError(
                f"Cannot read the published warehouse {previous} to compare against it "
                f"({str(exc).splitlines()[0][:160]}); if a DuckDB client holds it open for writing, "
                "close it (or open it with -readonly) and run again."
            ) from exc
        return previous

    def carry_over(self, scope: str) -> CarriedOver:
        """Copy the published warehouse's rows of every study this run does not bring.

        `scope` "batch": the staged trials replace theirs (a search since a date); "delta": every
        study in the staged registry index replaces its rows, cell therapy or not, so a study
        that stopped being cell therapy leaves the trial tables. Returns the trials carried over,
        and how many published cell-therapy trials tonight's studies replace and no longer call
        cell therapy (the delta's classifier-sanity gate).
        """
        con = self._connection()
        try:
            self._attach_previous(for_merge=True)
            tables = (*TRIAL_TABLES, "registry_studies") if scope == "delta" else TRIAL_TABLES
            _check_same_layout(con, tables)
            source = "registry_studies" if scope == "delta" else "trials"
            con.execute(f"create or replace temp table replaced_ids as select nct_id from {source}")
            # Before the copy, the staged flags are tonight's classification alone.
            replaced, dropped = con.execute(
                "select count(*), count(*) filter (where not coalesce(staged.is_cell_therapy, false)) "
                "from prev.trial_flags published left join trial_flags staged using (nct_id) "
                "where published.is_cell_therapy and published.nct_id in (select nct_id from replaced_ids)"
            ).fetchone() or (0, 0)
            for name in tables:
                cols = ", ".join(c.name for c in TABLES_BY_NAME[name].columns)
                con.execute(
                    f"insert into {name} ({cols}) select {cols} from prev.{name} "
                    "where nct_id not in (select nct_id from replaced_ids)"
                )
            carried = con.execute(
                "select count(*) from prev.trials where nct_id not in (select nct_id from replaced_ids)"
            ).fetchone()
            con.execute("detach prev")
        except duckdb.Error as exc:
            raise self._write_error(exc) from exc
        return CarriedOver(int(carried[0]) if carried else 0, int(replaced), int(dropped))

    def publish(self, runs: Iterable[Mapping[str, Any]], *, changes: str = "all") -> Path:
        """Finish the new warehouse (history, changes, views) and atomically replace the old.

        `runs` is rebuilt from the given rows; `trial_changes` keeps its history and gains this
        run's changes (see CHANGE_SCOPES for what `changes` may call removed).
        """
        con = self._connection()
        try:
            previous = self._attach_previous(for_merge=changes != "all")
            if previous is not None:
                con.execute(
                    "insert into trial_changes select * from prev.trial_changes where run_id <> ?",
                    [self.run_id],
                )
                con.execute(_changes_sql(self.run_id, changes))
                con.execute("detach prev")
            else:
                con.execute(
                    "insert into trial_changes select ?, nct_id, 'added', [] from trials order by nct_id",
                    [self.run_id],
                )
            _insert_runs(con, runs)
            create_views(con)
            con.execute("checkpoint")
            con.execute("use memory")
            con.execute("detach warehouse")
            con.close()
            self.con = None
            with open(self.tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(self.tmp, self.warehouse_path)
            _fsync_dir(self.warehouse_path.parent)
            self._release_owner()
        except duckdb.Error as exc:
            self.abort()
            raise self._write_error(exc) from exc
        except BaseException:
            self.abort()
            raise
        log.info("published %s", self.warehouse_path)
        return self.warehouse_path

    def _write_error(self, exc: duckdb.Error) -> TrialtrendsError:
        """A DuckDB failure while building: one sentence naming the building file, and the
        free space when the disk is full (never blamed on the published warehouse)."""
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        if "space" in first.lower() or "disk" in first.lower():
            return disk_full(self.tmp, _size(self.tmp))
        if isinstance(exc, WarehouseError):
            return exc
        return WarehouseError(f"Building the new warehouse {self.tmp} failed: {first}")

    def abort(self) -> None:
        """Drop the half-built warehouse; the published one is untouched.

        Never raises: it runs inside failure handlers, and a clean-up that fails (a folder made
        unwritable mid-run) must not hide the failure being recorded. What it cannot remove,
        the next load removes (its owner lock is free by then)."""
        try:
            if self.con is not None:
                self.con.close()
        except Exception as exc:  # the failure being handled matters more
            log.warning("closing the building warehouse failed: %s", exc)
        self.con = None
        for leftover in (self.tmp, Path(f"{self.tmp}.wal")):
            try:
                leftover.unlink(missing_ok=True)
            except OSError as exc:
                log.warning("could not remove %s (the next run removes it): %s", leftover, exc)
        try:
            self._release_owner()
        except OSError as exc:
            log.warning("could not release %s: %s", self._owner, exc)

    def _release_owner(self) -> None:
        if self._owner_fd is not None:
            self._owner.unlink(missing_ok=True)
            os.close(self._owner_fd)
            self._owner_fd = None


@dataclass(frozen=True)
class CarriedOver:
    """What a merge kept of the published warehouse, and what tonight's studies did to it."""

    #: published trials carried over unchanged
    trials: int
    #: published cell-therapy trials that tonight's studies replace ...
    replaced_cell_therapy: int
    #: ... and, of those, the ones tonight's classification no longer calls cell therapy
    dropped_cell_therapy: int


def _check_same_layout(con: duckdb.DuckDBPyConnection, tables: Iterable[str] = TRIAL_TABLES) -> None:
    """A merge copies rows from the previous warehouse: it must have this layout."""
    for name in tables:
        want = [c.name for c in TABLES_BY_NAME[name].columns]
        have = [r[0] for r in con.execute(
            "select column_name from duckdb_columns() where database_name = 'prev' "
            "and schema_name = 'main' and table_name = ? "
            "order by column_index", [name]).fetchall()]  # fmt: skip
        if have != want:
            raise WarehouseError(
                f"The published warehouse has an older layout (table {name} differs), so this run "
                "cannot merge into it; run `trialtrends refresh --full` once."
            )


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
