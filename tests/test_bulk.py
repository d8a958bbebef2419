"""Bulk ingest: zip, folder and JSONL sources; integrity; quarantine; nothing published on error."""

from __future__ import annotations

import gzip
import json
import zipfile

import duckdb
import pytest
from builders import study
from conftest import test_settings

from trialtrends.extract.bulk import SourceError
from trialtrends.extract.raw import list_runs
from trialtrends.pipeline import refresh

RECORDS = [
    study("NCT90000001", title="CD19 CAR-T cells for lymphoma"),
    study("NCT90000002", title="BCMA CAR-T in myeloma", interventions=[{"type": "BIOLOGICAL", "name": "BCMA CAR-T"}]),
    study("NCT90000003", title="Aspirin for headache", summary="Aspirin.",
          interventions=[{"type": "DRUG", "name": "aspirin"}]),
]  # fmt: skip


def write_zip(path, records, extra=None):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for r in records:
            archive.writestr(f"{r['protocolSection']['identificationModule']['nctId']}.json", json.dumps(r))
        for name, text in (extra or {}).items():
            archive.writestr(name, text)
    return path


def count(settings, sql):
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(sql).fetchone()[0]


def test_zip_loads_cell_therapy_trials_only(tmp_path):
    settings = test_settings(tmp_path, "http://127.0.0.1:9")
    source = write_zip(tmp_path / "ctg-studies.json.zip", RECORDS)
    result = refresh(settings, source=source)
    m = result.manifest
    assert m.kind == "bulk" and m.entries == 3 and m.scanned == 3
    assert m.source_sha256 and m.source_bytes == source.stat().st_size
    assert count(settings, "select count(*) from trials") == 2  # aspirin scanned, not loaded
    assert count(settings, "select count(*) from runs where kind = 'bulk' and published") == 1


def test_malformed_entry_is_quarantined_and_the_rest_loads(tmp_path):
    # One bad entry in four is far above the default 2% gate; this test is about quarantine.
    settings = test_settings(tmp_path, "http://127.0.0.1:9", max_rejected_share=0.5)
    source = write_zip(tmp_path / "s.zip", RECORDS, extra={"NCT99999999.json": '{"protocolSection": {'})
    refresh(settings, source=source)
    assert count(settings, "select count(*) from trials") == 2
    assert count(settings, "select count(*) from rejected_studies where reason like 'invalid JSON%'") == 1


def test_truncated_zip_is_rejected_and_nothing_published(tmp_path):
    settings = test_settings(tmp_path, "http://127.0.0.1:9")
    good = write_zip(tmp_path / "good.zip", RECORDS)
    refresh(settings, source=good)
    before = settings.warehouse_path.read_bytes()
    data = good.read_bytes()
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(SourceError, match="truncated or corrupt"):
        refresh(settings, source=truncated)
    assert settings.warehouse_path.read_bytes() == before
    assert list_runs(settings.raw_dir)[-1].manifest().status == "failed"


def test_corrupt_entry_fails_the_run(tmp_path):
    settings = test_settings(tmp_path, "http://127.0.0.1:9")
    source = write_zip(tmp_path / "s.zip", RECORDS)
    data = bytearray(source.read_bytes())
    # Flip bytes inside the first entry's compressed data: the CRC check must catch it.
    data[60:70] = b"\x00" * 10
    source.write_bytes(bytes(data))
    with pytest.raises(SourceError):
        refresh(settings, source=source)
    assert not settings.warehouse_path.exists()


def test_folder_and_jsonl_sources(tmp_path):
    folder = tmp_path / "studies"
    folder.mkdir()
    for r in RECORDS:
        (folder / f"{r['protocolSection']['identificationModule']['nctId']}.json").write_text(json.dumps(r))
    settings = test_settings(tmp_path / "a", "http://127.0.0.1:9")
    refresh(settings, source=folder)
    assert count(settings, "select count(*) from trials") == 2
    jsonl = tmp_path / "studies.jsonl.gz"
    with gzip.open(jsonl, "wt") as fh:
        fh.write("\n".join(json.dumps(r) for r in RECORDS) + "\n")
    settings = test_settings(tmp_path / "b", "http://127.0.0.1:9")
    refresh(settings, source=jsonl)
    assert count(settings, "select count(*) from trials") == 2


def test_unknown_source_kind_is_a_clear_error(tmp_path):
    odd = tmp_path / "studies.txt"
    odd.write_text("hello")
    with pytest.raises(SourceError, match=r"not a \.zip"):
        refresh(test_settings(tmp_path, "http://127.0.0.1:9"), source=odd)


def test_study_failing_validation_is_quarantined_with_its_payload(tmp_path):
    settings = test_settings(tmp_path, "http://127.0.0.1:9", max_rejected_share=0.5)
    huge = study("NCT90000007", title="CD19 CAR-T " * 10_000)  # a ~110 kB title
    refresh(settings, source=write_zip(tmp_path / "s.zip", [*RECORDS, huge]))
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        (reason, payload), = con.execute(
            "select reason, payload from rejected_studies where nct_id = 'NCT90000007'").fetchall()  # fmt: skip
    assert "brief_title" in reason
    assert json.loads(payload)["protocolSection"]["identificationModule"]["nctId"] == "NCT90000007"
    assert count(settings, "select count(*) from trials") == 2


def test_too_many_rejected_studies_fail_the_run(tmp_path):
    from trialtrends.validate.gates import GateFailed

    settings = test_settings(tmp_path, "http://127.0.0.1:9")  # default limit: 2% rejected
    source = write_zip(tmp_path / "s.zip", RECORDS, extra={"NCT99999999.json": "{not json"})
    with pytest.raises(GateFailed, match=r"25\.0% of studies rejected \(limit 2\.0%\)"):
        refresh(settings, source=source)
    assert not settings.warehouse_path.exists()
    assert not any(settings.warehouse_dir.glob(".building-*"))
