"""`trialtrends export`: every table and view as Parquet plus a manifest, swapped in whole."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pytest
from builders import study
from click.testing import CliRunner
from conftest import test_settings
from fakeapi import FakeCtgov

from trialtrends.cli import main
from trialtrends.output import export as export_mod
from trialtrends.output.export import ExportError, export_warehouse

# Each CLI invocation configures the root logger (conftest.restore_logging puts it back).
pytestmark = pytest.mark.usefixtures("restore_logging")


@pytest.fixture(scope="module")
def small_warehouse(tmp_path_factory):
    from trialtrends.pipeline import refresh

    studies = [
        study("NCT90000001", countries=["United States", "France"]),
        study("NCT90000002", title="BCMA CAR-T in myeloma", phases=["PHASE1", "PHASE2"], countries=["China"]),
        study("NCT90000003", title="Tumor infiltrating lymphocytes (TIL) in melanoma", posted="2021-05-02"),
        study(
            "NCT90000004", title="CAR-NK cells for AML", lead="MD Anderson Cancer Center", lead_class="OTHER"
        ),
    ]
    with FakeCtgov(studies) as fake:
        settings = test_settings(tmp_path_factory.mktemp("export"), fake.url)
        refresh(settings)
    return settings


def _rows(con, sql):
    return sorted(con.execute(sql).fetchall(), key=repr)


def test_round_trip_every_table_and_view(small_warehouse, tmp_path):
    out = tmp_path / "export"
    manifest = export_warehouse(small_warehouse.warehouse_path, out)
    con = duckdb.connect(str(small_warehouse.warehouse_path), read_only=True)
    try:
        names = {
            r[0]
            for r in con.execute(
                "select view_name from duckdb_views() where not internal and schema_name = 'main'"
            ).fetchall()
        }
        names |= {
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where not internal and schema_name = 'main'"
            ).fetchall()
        }
        assert {f["name"] for f in manifest["files"]} == names
        assert {"yearly_counts", "phase_distribution", "country_table", "sponsor_table", "trials"} <= names
        for entry in manifest["files"]:
            path = out / entry["file"]
            assert path.name == f"{entry['name']}.parquet"
            back = _rows(con, f"select * from read_parquet('{path}')")
            assert back == _rows(con, f'select * from "{entry["name"]}"'), entry["name"]
            assert entry["rows"] == len(back)
            assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
            assert entry["bytes"] == path.stat().st_size
            # Same column names and types as the warehouse (Parquet does not keep NOT NULL).
            parquet_cols = con.execute(f"describe select * from read_parquet('{path}')").fetchall()
            warehouse_cols = con.execute(f'describe select * from "{entry["name"]}"').fetchall()
            assert [c[:2] for c in parquet_cols] == [c[:2] for c in warehouse_cols], entry["name"]
        assert sum(f["rows"] for f in manifest["files"] if f["name"] == "trials") == 4
        run_id, classifier = con.execute(
            "select run_id, classifier_version from runs where published order by run_id desc limit 1"
        ).fetchone()
    finally:
        con.close()
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk == manifest
    assert manifest["run_id"] == run_id and manifest["classifier_version"] == classifier
    assert manifest["data_timestamp"] == "2026-09-04T09:00:06"
    assert manifest["exported_at"].endswith("Z")
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*(f["file"] for f in manifest["files"]), "manifest.json"]
    )


def test_cli_export_replaces_an_earlier_export(small_warehouse, tmp_path):
    out = tmp_path / "pub"
    runner = CliRunner()
    args = ["export", str(out), "--data-dir", str(small_warehouse.data_dir)]
    first = runner.invoke(main, args, catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert "exported" in first.stdout and str(out) in first.stdout
    (out / "stale.parquet").write_bytes(b"old")
    second = runner.invoke(main, args, catch_exceptions=False)
    assert second.exit_code == 0, second.output
    assert not (out / "stale.parquet").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["pub"]  # nothing left aside


def test_a_failed_export_leaves_nothing_half_written(small_warehouse, tmp_path, monkeypatch):
    out = tmp_path / "pub"
    export_warehouse(small_warehouse.warehouse_path, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real = export_mod.relations
    monkeypatch.setattr(export_mod, "relations", lambda con: [*real(con), ("no_such_view", "view")])
    with pytest.raises(ExportError, match="Exporting no_such_view failed"):
        export_warehouse(small_warehouse.warehouse_path, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the earlier export, intact
    assert [p.name for p in tmp_path.iterdir()] == ["pub"]
    with pytest.raises(ExportError):
        export_warehouse(small_warehouse.warehouse_path, tmp_path / "fresh")
    assert not (tmp_path / "fresh").exists()


def test_export_refuses_a_folder_of_other_files(small_warehouse, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    result = CliRunner().invoke(main, ["export", str(tmp_path), "--data-dir", str(small_warehouse.data_dir)])
    assert result.exit_code == 1 and "not an earlier export" in result.output
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_export_without_a_warehouse(tmp_path):
    result = CliRunner().invoke(main, ["export", str(tmp_path / "out"), "--data-dir", str(tmp_path)])
    assert result.exit_code == 3 and "No warehouse" in result.output
    assert not Path(tmp_path / "out").exists()
