"""The nightly Prefect flow under one session-wide prefect_test_harness."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest
import yaml
from builders import study
from conftest import REPO, test_settings
from fakeapi import FakeCtgov, default_metadata

from trialtrends.extract.raw import list_runs

sys.path.insert(0, str(REPO / "flows"))
import nightly

pytestmark = pytest.mark.prefect

GOOD = [study(f"NCT9000{i:04d}", title=f"CD19 CAR-T cells study {i}") for i in range(1, 41)]


@pytest.fixture
def night(prefect_harness, tmp_path, monkeypatch):
    """A fake API with a good night already published; yields (server, settings)."""
    with FakeCtgov(GOOD) as fake:
        settings = test_settings(tmp_path, fake.url)
        for name, value in {"TRIALTRENDS_MAX_RPS": "0", "TRIALTRENDS_BACKOFF_BASE": "0.01",
                            "TRIALTRENDS_READ_TIMEOUT": "2"}.items():  # fmt: skip
            monkeypatch.setenv(name, value)
        state = nightly.nightly(data_dir=str(settings.data_dir), api_url=fake.url, return_state=True)
        assert state.is_completed(), state
        yield fake, settings


def test_a_good_night_publishes(night):
    _, settings = night
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        assert con.execute("select count(*) from trials").fetchone()[0] == 40
        assert con.execute("select status, published from runs").fetchall() == [("succeeded", True)]
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        artifacts = [a for a in client.read_artifacts() if a.key == "trialtrends-run"]
    assert artifacts, "the run published no markdown artifact"
    assert any(
        "## Gates" in a.data and "## Data quality" in a.data and "added: 40" in a.data for a in artifacts
    )


def _bad_night(night, mutate):
    fake, settings = night
    before = settings.warehouse_path.read_bytes()
    mutate(fake)
    state = nightly.nightly(data_dir=str(settings.data_dir), api_url=fake.url, return_state=True)
    assert state.is_failed()
    assert settings.warehouse_path.read_bytes() == before
    manifest = list_runs(settings.raw_dir)[-1].manifest()
    assert manifest.status == "failed" and not manifest.published
    return manifest


def test_count_drop_gate_fails_the_flow(night):
    m = _bad_night(night, lambda f: f.set_studies(GOOD[:10]))
    assert "gate reconciliation failed" in m.error


def test_schema_drift_gate_fails_the_flow(night):
    def drift(fake):
        fake.metadata = [n for n in default_metadata() if n["name"] != "derivedSection"]

    m = _bad_night(night, drift)
    assert "gate schema_drift failed" in m.error


def test_data_quality_gate_fails_the_flow(night):
    odd = [study(f"NCT9100{i:04d}", title="CD19 CAR-T cells", countries=["Atlantis"]) for i in range(3)]
    m = _bad_night(night, lambda f: f.set_studies(GOOD + odd))
    assert "gate data_quality failed" in m.error


def test_classifier_sanity_gate_fails_the_flow(night):
    background = [
        study(f"NCT9000{i:04d}", title=f"Tocilizumab to prevent CRS after CAR-T therapy ({i})",
              summary="Tocilizumab prophylaxis for cytokine release syndrome after commercial CAR-T cells.",
              interventions=[{"type": "DRUG", "name": "tocilizumab"}])
        for i in range(1, 41)
    ]  # fmt: skip
    m = _bad_night(night, lambda f: f.set_studies(background))
    assert "gate classifier_sanity failed" in m.error


def test_api_failure_fails_the_flow(night, monkeypatch):
    monkeypatch.setenv("TRIALTRENDS_MAX_RETRIES", "0")
    m = _bad_night(night, lambda f: f.inject("503", times=1000))
    assert "Giving up" in m.error


def test_the_flow_walks_the_library_stage_list(night):
    """The flow re-types no stage: its task runs are the library's STAGES, in order."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from trialtrends.pipeline import STAGES

    fake, settings = night
    state = nightly.nightly(data_dir=str(settings.data_dir), api_url=fake.url, return_state=True)
    assert state.is_completed(), state
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
        )
    ordered = sorted(runs, key=lambda r: r.expected_start_time or r.start_time)
    assert [r.name.split("-")[0] for r in ordered] == [s.name for s in STAGES]
    assert all(r.state and r.state.is_completed() for r in ordered)
    for task_run in ordered:
        assert task_run.task_key, task_run


@pytest.mark.registry
def test_a_registry_night_runs_as_a_baseline_then_a_delta(prefect_harness, tmp_path, monkeypatch):
    with FakeCtgov(GOOD, data_timestamp="2026-11-30T09:00:06") as fake:
        settings = test_settings(tmp_path, fake.url, mode="registry")
        monkeypatch.setenv("TRIALTRENDS_MAX_RPS", "0")
        monkeypatch.delenv("TRIALTRENDS_MODE", raising=False)
        assert nightly.nightly(
            data_dir=str(settings.data_dir), api_url=fake.url, return_state=True
        ).is_completed()
        fake.advance_day("2026-12-01", added=[study("NCT90009999", title="CD22 CAR-T cells")])
        assert nightly.nightly(
            data_dir=str(settings.data_dir), api_url=fake.url, return_state=True
        ).is_completed()
    modes = [r.manifest().mode for r in list_runs(settings.raw_dir)]
    assert modes == ["baseline", "delta"]
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        assert con.execute("select count(*) from trials").fetchone()[0] == 41


def test_the_flow_writes_the_export_and_the_dashboard_beside_it(night, tmp_path):
    fake, settings = night
    out = tmp_path / "site" / "export"
    state = nightly.nightly(
        data_dir=str(settings.data_dir), api_url=fake.url, export_dir=str(out), return_state=True
    )
    assert state.is_completed(), state
    assert (out / "manifest.json").is_file() and (out / "yearly_counts.parquet").is_file()
    page = (tmp_path / "site" / "dashboard.html").read_text()
    assert "<html" in page and list_runs(settings.raw_dir)[-1].run_id in page  # tonight's data


def test_deployment_carries_the_cron_schedule(monkeypatch):
    deployment = nightly.nightly.to_deployment(name="nightly", schedules=[nightly.nightly_schedule()])
    (schedule,) = deployment.schedules
    assert schedule.schedule.cron == "0 3 * * *" and schedule.schedule.timezone == "UTC"
    monkeypatch.setenv("TRIALTRENDS_SCHEDULE_CRON", "30 4 * * 1-5")
    monkeypatch.setenv("TRIALTRENDS_SCHEDULE_TIMEZONE", "America/New_York")
    custom = nightly.nightly_schedule()
    assert (custom.cron, custom.timezone) == ("30 4 * * 1-5", "America/New_York")
    config = yaml.safe_load((REPO / "prefect.yaml").read_text())
    (entry,) = config["deployments"]
    assert entry["entrypoint"] == "flows/nightly.py:nightly"
    assert entry["schedules"][0] == {"cron": "0 3 * * *", "timezone": "UTC", "active": True}


def test_library_logs_reach_prefect(night):
    """Records from the `trialtrends` loggers are stored with the flow run's logs."""
    from prefect.client.orchestration import get_client
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)  # logs are shipped in batches by a background worker
    with get_client(sync_client=True) as client:
        messages = [log.message for log in client.read_logs()]
    assert any("landing raw responses" in m for m in messages)  # trialtrends.extract.api_pull
    assert any(m.startswith("published ") for m in messages)  # trialtrends.load.warehouse


def test_serve_without_a_server_fails_in_one_sentence(tmp_path):
    """`--serve` on a temporary server would lose its schedule on exit: refuse, in one sentence."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path)  # no profile, so no PREFECT_API_URL
    done = subprocess.run(
        [sys.executable, "flows/nightly.py", "--serve"], cwd=REPO, env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("--serve needs a Prefect server: run `uv run prefect server start`")
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert nightly.SERVE_DEPLOYMENT == "nightly-serve"
