"""Export the published warehouse as Parquet files plus a manifest (`trialtrends export DIR`).

Every table and view becomes `DIR/<name>.parquet` (schema `report`, copies of the views' rows
for the report, is left out), and `DIR/manifest.json` says which run the data comes from and
lists each file with its row count and sha256. The export is written into a hidden sibling
folder and renamed into place, so a reader (or a sync to object storage) never sees half an
export.

The rows are read over the same hardened read-only connection as `trialtrends sql`
(`output.sql.connect`: external access disabled, so DuckDB's own `COPY ... TO` cannot write
files there) and streamed as Arrow record batches into a pyarrow Parquet writer: memory stays at
one batch whatever the table size, and DuckDB reads the files back with the same column types.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from trialtrends import __version__
from trialtrends.errors import TrialtrendsError
from trialtrends.output.sql import connect

MANIFEST = "manifest.json"
EXPORT_VERSION = 1
BATCH_ROWS = 100_000


class ExportError(TrialtrendsError):
    """An export that cannot be written where asked; the message is one sentence."""


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def write_parquet(con: duckdb.DuckDBPyConnection, name: str, target: Path) -> int:
    """Stream every row of table or view `name` into the Parquet file `target`; return the count."""
    reader = con.sql(f"select * from {_ident(name)}").to_arrow_reader(BATCH_ROWS)
    rows = 0
    with pq.ParquetWriter(target, reader.schema, compression="zstd") as writer:
        for batch in reader:
            writer.write_batch(batch)
            rows += batch.num_rows
    return rows


def relations(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(name, 'table' or 'view') of every user table and view of the warehouse, by name."""
    rows = con.execute(
        "select table_name, 'table' from duckdb_tables() where database_name = current_database() "
        "and schema_name = 'main' and not internal and not temporary "
        "union all "
        "select view_name, 'view' from duckdb_views() where database_name = current_database() "
        "and schema_name = 'main' and not internal and not temporary "
        "order by 1"
    ).fetchall()
    return [(name, kind) for name, kind in rows]


def _provenance(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The published run the warehouse holds (the newest published row of `runs`)."""
    row = con.execute(
        "select run_id, data_timestamp, classifier_version from runs where published "
        "order by run_id desc limit 1"
    ).fetchone()
    if row is None:
        return {"run_id": None, "data_timestamp": None, "classifier_version": None}
    run_id, data_timestamp, classifier_version = row
    return {
        "run_id": run_id,
        "data_timestamp": str(data_timestamp) if data_timestamp is not None else None,
        "classifier_version": classifier_version,
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _check_target(out_dir: Path) -> None:
    """DIR must be absent, empty, or an earlier export (never a folder of someone's files)."""
    if not out_dir.exists():
        for parent in out_dir.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise ExportError(f"Cannot export to {out_dir}: {parent} is a file, not a folder.")
                break
        return
    if not out_dir.is_dir():
        raise ExportError(f"Cannot export to {out_dir}: it is a file, not a folder.")
    if any(out_dir.iterdir()) and not (out_dir / MANIFEST).is_file():
        raise ExportError(
            f"Cannot export to {out_dir}: the folder holds files that are not an earlier export; "
            "choose an empty or new folder."
        )


def _swap_into_place(staging: Path, out_dir: Path) -> None:
    """Rename the finished export to DIR; an earlier export there is moved aside, then removed."""
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{secrets.token_hex(4)}")
        os.replace(out_dir, old)
        try:
            os.replace(staging, out_dir)
        except BaseException:
            os.replace(old, out_dir)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, out_dir)


def export_warehouse(warehouse_path: Path, out_dir: Path) -> dict[str, Any]:
    """Write every table and view as `out_dir/<name>.parquet` plus `manifest.json`; return it."""
    out_dir = Path(out_dir)
    _check_target(out_dir)
    con = connect(warehouse_path)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = out_dir.with_name(f".{out_dir.name}.exporting-{secrets.token_hex(4)}")
        staging.mkdir()
        try:
            files = []
            for name, kind in relations(con):
                target = staging / f"{name}.parquet"
                try:
                    rows = write_parquet(con, name, target)
                except duckdb.Error as exc:
                    raise ExportError(f"Exporting {name} failed: {exc}") from exc
                files.append(
                    {
                        "name": name,
                        "kind": kind,
                        "file": target.name,
                        "rows": rows,
                        "bytes": target.stat().st_size,
                        "sha256": _sha256(target),
                    }
                )
            manifest = {
                "export_version": EXPORT_VERSION,
                **_provenance(con),
                "exported_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "warehouse": str(warehouse_path),
                "trialtrends_version": __version__,
                "duckdb_version": duckdb.__version__,
                "files": files,
            }
            (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
            _swap_into_place(staging, out_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    finally:
        con.close()
    return manifest
