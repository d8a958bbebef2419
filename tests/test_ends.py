"""Every way a run ends is recorded truthfully (issue 20): SIGTERM at random moments, a kill right
after the swap, a clean-up that fails, a full disk.

Real processes (`python -m trialtrends`) against the fake API; each child carries a marker in its
environment, so a process left behind (a bulk worker, anything it spawned) is found by it.
TRIALTRENDS_LONG_TESTS=1 runs ten moments of each kind instead of three.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import duckdb
import orjson
import pytest
from builders import study
from conftest import test_settings, wait_for
from fakeapi import FakeCtgov

from trialtrends.extract.raw import list_runs
from trialtrends.manifest import FAILED, SUCCEEDED
from trialtrends.pipeline import refresh

MOMENTS = 10 if os.environ.get("TRIALTRENDS_LONG_TESTS") else 3
STUDIES = [study(f"NCT9300{i:04d}", title=f"CD19 CAR-T cells, cohort {i}") for i in range(40)]


def run_cli(settings, *args: str, marker: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    env = {
        **os.environ,
        "TRIALTRENDS_DATA_DIR": str(settings.data_dir),
        "TRIALTRENDS_API_URL": settings.api_url,
        "TRIALTRENDS_MAX_RPS": "0",
        "TRIALTRENDS_MODE": "search",
        "TRIALTRENDS_TEST_MARKER": marker,
        **(extra_env or {}),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "trialtrends", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def marked_processes(marker: str) -> list[int]:
    """Live processes whose environment carries the marker (a run's leftovers)."""
    found = []
    needle = f"TRIALTRENDS_TEST_MARKER={marker}".encode()
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if needle in environ.read_bytes().split(b"\0"):
                state = (environ.parent / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    found.append(int(environ.parent.name))
        except OSError:
            continue
    return found


def assert_ended_truthfully(
    settings, proc: subprocess.Popen, marker: str, published_before: bytes | None
) -> str:
    """The common checks after a SIGTERM: exit 143 with one `Error: Terminated.` line (or 0 when
    the run had finished first), the run recorded, no building files, no process left."""
    _out, err = proc.communicate(timeout=120)
    assert "Traceback" not in err, err
    runs = [r.manifest() for r in list_runs(settings.raw_dir)]
    if proc.returncode == -signal.SIGTERM:
        # The signal came as the interpreter was finishing, after the run had ended (Python
        # gives signals their default action while it shuts down): the run must be complete.
        assert runs and runs[-1].status == SUCCEEDED, err
        proc.returncode = 0
    assert proc.returncode in (0, 143), err
    assert wait_for(lambda: not marked_processes(marker), timeout=20), "a process outlived the run"
    assert not list(settings.warehouse_dir.glob(".building-*")), "building files left behind"
    if proc.returncode == 143:
        assert [line for line in err.splitlines() if line.startswith("Error: ")] == ["Error: Terminated."], (
            err
        )
        if runs:
            assert runs[-1].status in (FAILED, SUCCEEDED), runs[-1].status
            assert runs[-1].status == SUCCEEDED or "Terminated" in (runs[-1].error or "")
    if published_before is not None:
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            assert con.execute("select count(*) from trials").fetchone()[0] > 0
    return "terminated" if proc.returncode == 143 else "finished"


@pytest.mark.parametrize("moment", range(MOMENTS))
def test_sigterm_at_a_random_moment_of_a_refresh(tmp_path, moment):
    rng = random.Random(moment)
    with FakeCtgov(STUDIES) as fake:
        settings = test_settings(tmp_path, fake.url)
        refresh(settings)  # a published warehouse the terminated run must leave intact
        before = settings.warehouse_path.read_bytes()
        fake.inject("slow", times=3, path="/studies", seconds=0.4)
        marker = uuid.uuid4().hex
        proc = run_cli(settings, "refresh", marker=marker)
        time.sleep(rng.uniform(0.2, 4.0))
        proc.send_signal(signal.SIGTERM)
        outcome = assert_ended_truthfully(settings, proc, marker, before)
    if outcome == "terminated":
        assert (
            settings.warehouse_path.read_bytes() == before
            or list_runs(settings.raw_dir)[-1].manifest().published
        )


@pytest.fixture(scope="module")
def bulk_source(tmp_path_factory) -> Path:
    """Enough studies for the bulk path to start its worker processes."""
    from trialtrends.pipeline.bulk import PARALLEL_MIN_ENTRIES

    source = tmp_path_factory.mktemp("bulk") / "big.jsonl"
    template = orjson.dumps(study("NCT00000000"))
    with open(source, "wb") as fh:
        for i in range(PARALLEL_MIN_ENTRIES + 1000):
            fh.write(template.replace(b"NCT00000000", f"NCT{i + 1:08d}".encode()) + b"\n")
    return source


@pytest.mark.parametrize("moment", range(MOMENTS))
def test_sigterm_at_a_random_moment_of_a_bulk_refresh(tmp_path, bulk_source, moment):
    rng = random.Random(1000 + moment)
    settings = test_settings(tmp_path, "http://127.0.0.1:9/api/v2")
    marker = uuid.uuid4().hex
    proc = run_cli(
        settings,
        "refresh",
        "--source",
        str(bulk_source),
        marker=marker,
        extra_env={"TRIALTRENDS_WORKERS": "2"},
    )
    time.sleep(rng.uniform(0.5, 8.0))
    proc.send_signal(signal.SIGTERM)
    assert_ended_truthfully(settings, proc, marker, None)


def test_a_kill_right_after_the_swap_leaves_the_run_shown_as_published(tmp_path):
    """The process dies between the swap and its last manifest write: the next run reads the
    truth from the published warehouse's own runs row, never `abandoned`."""
    with FakeCtgov(STUDIES) as fake:
        settings = test_settings(tmp_path, fake.url)
        script = (
            "import os, sys\n"
            "import trialtrends.load.warehouse as w\n"
            "w._fsync_dir = lambda path: os._exit(137)  # dies right after os.replace\n"
            "from trialtrends.cli import main\n"
            "sys.argv = ['trialtrends', 'refresh']\n"
            "main()\n"
        )
        env = {**os.environ, "TRIALTRENDS_DATA_DIR": str(settings.data_dir), "TRIALTRENDS_API_URL": fake.url,
               "TRIALTRENDS_MAX_RPS": "0", "TRIALTRENDS_MODE": "search"}  # fmt: skip
        killed = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
        )
        assert killed.returncode == 137, killed.stderr
        (run,) = list_runs(settings.raw_dir)
        assert run.manifest().status == "publishing"  # what it said just before the swap
        refresh(settings)  # the next night settles it
    first = list_runs(settings.raw_dir)[0].manifest()
    assert first.status == SUCCEEDED and first.published and first.error is None


def test_a_clean_up_that_fails_does_not_hide_the_failure(tmp_path, monkeypatch):
    """The warehouse folder turns unwritable mid-run: the building file cannot be removed, yet
    the run is marked failed with the original reason."""
    from trialtrends.load import warehouse
    from trialtrends.validate import gates

    with FakeCtgov(STUDIES) as fake:
        settings = test_settings(tmp_path, fake.url)

        def gate_fails(*_a, **_k):
            return gates.GateResult("data_quality", False, "forced for the test")

        real_unlink = Path.unlink

        def unwritable(self, missing_ok=False):
            if self.name.startswith(warehouse.TMP_PREFIX):
                raise PermissionError(13, "Permission denied", str(self))
            return real_unlink(self, missing_ok=missing_ok)

        monkeypatch.setattr("trialtrends.validate.gates.data_quality", gate_fails)
        monkeypatch.setattr(Path, "unlink", unwritable)
        with pytest.raises(gates.GateFailed, match="forced for the test"):
            refresh(settings)
    monkeypatch.undo()
    (run,) = list_runs(settings.raw_dir)
    assert run.manifest().status == FAILED and "forced for the test" in run.manifest().error


def _tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    return result.returncode == 0


def test_a_full_disk_while_landing_names_the_path_and_marks_the_run_failed(tmp_path):
    data = tmp_path / "small"
    if not _tmpfs(data, "256k"):
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        big = [study(f"NCT9400{i:04d}", summary="CAR-T " * 4000) for i in range(60)]  # ~1.5 MB of pages
        with FakeCtgov(big) as fake:
            settings = test_settings(tmp_path, fake.url, data_dir=data)
            marker = uuid.uuid4().hex
            proc = run_cli(settings, "refresh", marker=marker)
            _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 1, err
        line = [x for x in err.splitlines() if x.startswith("Error: ")]
        assert len(line) == 1 and "is full" in line[0] and str(data) in line[0] and "free" in line[0], err
        runs = list_runs(settings.raw_dir)
        assert runs, "the run folder was not even created"
        manifest = runs[-1].manifest()
        recorded = runs[-1].recorded_status()
        assert manifest.status == FAILED or recorded.startswith("failed:"), (manifest.status, recorded)
        # The next run (with room again) settles it as failed, never `running` or `abandoned`.
        subprocess.run(["mount", "-o", "remount,size=64m", str(data)], check=True)
        with FakeCtgov(STUDIES) as fake:
            refresh(test_settings(tmp_path, fake.url, data_dir=data))
        assert list_runs(settings.raw_dir)[0].manifest().status == FAILED
    finally:
        subprocess.run(["umount", "-l", str(data)], capture_output=True)


@pytest.mark.prefect_server
def test_sigterm_of_a_local_flow_run_stops_its_temporary_prefect_server(tmp_path):
    """`python flows/nightly.py` without a Prefect server starts a temporary one; SIGTERM ends the
    run as failed and the server goes with it (nothing left listening)."""
    repo = Path(__file__).resolve().parents[1]
    with FakeCtgov(STUDIES) as fake:
        fake.inject("slow", times=1000, path="/studies", seconds=2.0)
        settings = test_settings(tmp_path, fake.url)
        marker = uuid.uuid4().hex
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
        env.update(
            TRIALTRENDS_DATA_DIR=str(settings.data_dir), TRIALTRENDS_API_URL=fake.url, TRIALTRENDS_MAX_RPS="0",
            TRIALTRENDS_MODE="search", TRIALTRENDS_TEST_MARKER=marker, PREFECT_HOME=str(tmp_path / "prefect"),
        )  # fmt: skip
        proc = subprocess.Popen(
            [sys.executable, str(repo / "flows" / "nightly.py")], env=env, cwd=repo,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            # The run has started once its raw folder exists (the server is up by then).
            assert wait_for(lambda: bool(list_runs(settings.raw_dir)), timeout=180), "the flow never started"
            assert len(marked_processes(marker)) >= 2, "no temporary server process"
            proc.send_signal(signal.SIGTERM)
            output, _ = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode != 0
        assert wait_for(lambda: not marked_processes(marker), timeout=30), (
            "the temporary server outlived the flow"
        )
    (run,) = list_runs(settings.raw_dir)
    assert run.manifest().status == FAILED and "Terminated" in (run.manifest().error or ""), output[-2000:]
