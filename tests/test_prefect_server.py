"""The nightly schedule end to end with the real tools, as the README's nightly section says.

A real `prefect server start` (own PREFECT_HOME, loopback port, scheduler every second), the
README's `prefect work-pool create` and `prefect deploy --all` from the repository root, the
server's scheduler creating the 03:00 UTC runs, then a real process worker running one triggered
run against the fake ClinicalTrials.gov API. The CLI is the venv's `prefect` script, which is what
`uv run prefect` runs. Every process is stopped by a fixture finaliser, whatever fails.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import requests
import yaml
from builders import study
from conftest import REPO, wait_for
from fakeapi import FakeCtgov

pytestmark = pytest.mark.prefect_server

PREFECT = str(Path(sys.executable).with_name("prefect"))  # the script `uv run prefect` runs
DEPLOYMENT = "trialtrends-nightly/nightly"
STUDIES = [study(f"NCT9300{i:04d}", title=f"CD19 CAR-T cells study {i}") for i in range(1, 13)]


_T0 = time.monotonic()


def _phase(what: str) -> None:
    """A -s-visible timeline, to see where the wall time goes."""
    print(f"[{time.monotonic() - _T0:5.1f} s] {what}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(what: str, check: Callable[[], object], timeout: float) -> object:
    """conftest.wait_for that returns what `check` found, and fails naming `what`."""
    found: list[object] = [None]

    def done() -> bool:
        found[0] = check()
        return bool(found[0])

    if not wait_for(done, timeout=timeout, interval=0.5):
        pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
    return found[0]


class Proc:
    """A long-running CLI process in its own session, logging to a file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.log = name, log
        self._fh = log.open("wb")
        self.popen = subprocess.Popen(
            args, env=env, cwd=REPO, stdin=subprocess.DEVNULL, stdout=self._fh,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, grace: float) -> float:
        """SIGTERM and wait; a second SIGTERM (Prefect's worker then SIGKILLs itself), then
        SIGKILL to the whole process group. Returns the seconds it took."""
        started = time.monotonic()
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            if self.popen.poll() is not None:
                break
            try:
                os.killpg(self.popen.pid, sig) if sig == signal.SIGKILL else self.popen.send_signal(sig)
                self.popen.wait(timeout=wait)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                pass
        # Children (a flow-run subprocess, uvicorn) may outlive their parent: clear the group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self._fh.close()
        return time.monotonic() - started


def _cli(args: list[str], env: dict[str, str], timeout: float = 120) -> str:
    """One Prefect CLI command from the repository root; fails the test with its output."""
    done = subprocess.run(
        [PREFECT, *args], env=env, cwd=REPO, stdin=subprocess.DEVNULL, capture_output=True,
        text=True, timeout=timeout,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"prefect {' '.join(args)} exited {done.returncode}:\n{output}"
    return output


def _clean_env() -> dict[str, str]:
    """This environment without any Prefect or trialtrends settings of the developer's own."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "TRIALTRENDS_"))}


class Server:
    def __init__(self, url: str, env: dict[str, str]) -> None:
        self.api, self.env = url, env

    def post(self, path: str, body: dict) -> list[dict]:
        response = requests.post(f"{self.api}{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def get(self, path: str) -> dict:
        response = requests.get(f"{self.api}{path}", timeout=10)
        response.raise_for_status()
        return response.json()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`prefect server start` on a free loopback port with a private PREFECT_HOME."""
    home = tmp_path_factory.mktemp("prefect-home")
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = _clean_env() | {
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(port),
        # Telemetry off: the server's telemetry service, and the SDK's analytics.
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        # The scheduler visits deployments every second instead of every 60 s.
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "1",
        "PREFECT_SERVER_UI_ENABLED": "false",
    }
    # Upkeep loops this test never needs (automations, late/paused/cancelled-run sweeps, worker
    # health): off, to spare a busy machine. The scheduler and the API stay as in production.
    for service in (
        "TRIGGERS",
        "LATE_RUNS",
        "PAUSE_EXPIRATIONS",
        "CANCELLATION_CLEANUP",
        "FOREMAN",
        "REPOSSESSOR",
    ):
        env[f"PREFECT_SERVER_SERVICES_{service}_ENABLED"] = "false"
    proc = Proc("server", [PREFECT, "server", "start"], env, home / "server.log")
    try:

        def healthy() -> bool:
            assert proc.popen.poll() is None, f"prefect server start exited:\n{proc.tail()}"
            try:
                return requests.get(f"{api}/health", timeout=2).status_code == 200
            except requests.ConnectionError:
                return False

        _wait_for("the Prefect server's /api/health", healthy, timeout=90)
        _phase("prefect server start: healthy")
        yield Server(api, env)
    finally:
        _phase(f"server stopped in {proc.stop(grace=15):.1f} s")


@pytest.fixture(scope="module")
def served(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    """`python flows/nightly.py --serve` against the server (started early: it imports a lot)."""
    tmp = tmp_path_factory.mktemp("serve")
    env = server.env | {"TRIALTRENDS_DATA_DIR": str(tmp / "data")}
    proc = Proc("serve", [sys.executable, "flows/nightly.py", "--serve"], env, tmp / "serve.log")
    try:
        yield proc
    finally:
        _phase(f"--serve stopped in {proc.stop(grace=10):.1f} s")


@pytest.fixture(scope="module")
def pool(server: Server, served: Proc) -> str:
    """The README's work pool: `prefect work-pool create trialtrends --type process`."""
    _cli(["work-pool", "create", "trialtrends", "--type", "process"], server.env)
    _phase("prefect work-pool create: done")
    return "trialtrends"


@pytest.fixture(scope="module")
def worker(
    server: Server, pool: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Proc, Path]]:
    """The README's worker (`prefect worker start --pool trialtrends`), its runs pulling from the
    fake API. Started before the deploy, as the README orders it does not matter, so both start
    up at once."""
    tmp = tmp_path_factory.mktemp("worker")
    data_dir = tmp / "data"
    with FakeCtgov(STUDIES) as fake:
        env = server.env | {
            "TRIALTRENDS_API_URL": fake.url,
            "TRIALTRENDS_DATA_DIR": str(data_dir),
            "TRIALTRENDS_MAX_RPS": "0",
            "TRIALTRENDS_BACKOFF_BASE": "0.01",
            "TRIALTRENDS_READ_TIMEOUT": "5",
            "PREFECT_WORKER_QUERY_SECONDS": "1",  # poll for work every second, not every 10
        }
        proc = Proc("worker", [PREFECT, "worker", "start", "--pool", pool], env, tmp / "worker.log")
        try:
            yield proc, data_dir
        finally:
            seconds = proc.stop(grace=5)
            _phase(f"worker stopped in {seconds:.1f} s")


@pytest.fixture(scope="module")
def deployment(server: Server, pool: str, worker: tuple[Proc, Path]) -> dict:
    """The README's `prefect deploy --all`, from the repository root."""
    output = _cli(["deploy", "--all"], server.env)
    _phase("prefect deploy --all: done")
    assert f"Deployment '{DEPLOYMENT}' successfully created" in output, output
    return server.get(f"/deployments/name/{DEPLOYMENT}")


def test_deploy_schedules_the_nightly_runs(
    server: Server, deployment: dict, record_testsuite_property
) -> None:
    config = yaml.safe_load((REPO / "prefect.yaml").read_text())["deployments"][0]
    assert deployment["work_pool_name"] == config["work_pool"]["name"] == "trialtrends"
    assert deployment["entrypoint"] == "flows/nightly.py:nightly"
    # No pull step in prefect.yaml: `prefect deploy` records the checkout it ran in.
    assert deployment["pull_steps"] == [
        {"prefect.deployments.steps.set_working_directory": {"directory": str(REPO.resolve())}}
    ]
    (schedule,) = deployment["schedules"]
    assert schedule["active"] and schedule["schedule"]["cron"] == "0 3 * * *"
    assert schedule["schedule"]["timezone"] == "UTC"
    # The parameters' docstring descriptions are what the Prefect UI shows on the run form.
    properties = deployment["parameter_openapi_schema"]["properties"]
    assert "bulk download" in properties["source"]["description"]

    def scheduled() -> list[dict]:
        runs = server.post(
            "/flow_runs/filter",
            {
                "flow_runs": {
                    "deployment_id": {"any_": [deployment["id"]]},
                    "state": {"type": {"any_": ["SCHEDULED"]}},
                },
                "sort": "EXPECTED_START_TIME_ASC",
            },
        )
        return runs if len(runs) >= 3 else []

    runs = _wait_for("the scheduler to create the nightly runs", scheduled, timeout=30)
    starts = [datetime.fromisoformat(r["expected_start_time"]) for r in runs]
    shown = ", ".join(s.isoformat() for s in starts)
    print(f"\nscheduled nightly runs: {shown}")
    record_testsuite_property("scheduled_runs", shown)  # in --junitxml reports
    now = datetime.now(UTC)
    assert all(r["auto_scheduled"] for r in runs), "made by the server's scheduler, not by hand"
    assert all((s.hour, s.minute, s.second, s.utcoffset()) == (3, 0, 0, timedelta(0)) for s in starts)
    assert now < starts[0] <= now + timedelta(days=1)
    assert all(b - a == timedelta(days=1) for a, b in itertools.pairwise(starts))


def test_a_worker_runs_the_deployment(server: Server, deployment: dict, worker: tuple[Proc, Path]) -> None:
    proc, data_dir = worker
    output = _cli(["deployment", "run", DEPLOYMENT], server.env)
    match = re.search(r"UUID: ([0-9a-f-]{36})", output)
    assert match, output
    run_id = match.group(1)
    _phase("prefect deployment run: flow run created")

    def finished() -> dict | None:
        assert proc.popen.poll() is None, f"the worker exited:\n{proc.tail()}"
        run = server.get(f"/flow_runs/{run_id}")
        return run if run["state"]["type"] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"} else None

    run = _wait_for("the triggered run to finish", finished, timeout=120)
    assert run["state"]["type"] == "COMPLETED", f"{run['state']}\n{proc.tail()}"
    _phase("flow run COMPLETED")

    warehouse = data_dir / "warehouse" / "trialtrends.duckdb"
    assert warehouse.is_file(), proc.tail()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from trials").fetchone()[0] == len(STUDIES)

    def library_logs() -> list[dict]:
        # The flow-run process ships logs in batches, the last ones as it exits after COMPLETED.
        logs = server.post("/logs/filter", {"logs": {"flow_run_id": {"any_": [run_id]}}})
        found = [log for log in logs if log["name"].startswith("trialtrends.") and log["level"] == 20]
        return found if any(log["message"].startswith("published ") for log in found) else []

    library = _wait_for("the library's INFO lines in the run logs", library_logs, timeout=30)
    # A clean environment: the deployment runs the default, registry mode, whose first night
    # downloads the registry (the fake API serves it) as a baseline.
    assert any("registry mode: downloading a baseline" in log["message"] for log in library)
    names = {log["name"] for log in library}
    assert {"trialtrends.pipeline.acquire", "trialtrends.extract.download", "trialtrends.load.warehouse"} <= names

    artifacts = server.post("/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [run_id]}}})
    (artifact,) = [a for a in artifacts if a["key"] == "trialtrends-run"]
    assert artifact["type"] == "markdown" and "## Gates" in artifact["data"]


def test_serve_adds_its_own_deployment(server: Server, deployment: dict, served: Proc) -> None:
    """`--serve` registers `nightly-serve` beside prefect.yaml's `nightly`, never over it."""

    def registered() -> dict | None:
        assert served.popen.poll() is None, f"--serve exited:\n{served.tail()}"
        response = requests.get(
            f"{server.api}/deployments/name/trialtrends-nightly/nightly-serve", timeout=10
        )
        return response.json() if response.status_code == 200 else None

    serve = _wait_for("the nightly-serve deployment", registered, timeout=90)
    (schedule,) = serve["schedules"]
    assert (schedule["schedule"]["cron"], schedule["schedule"]["timezone"]) == ("0 3 * * *", "UTC")
    assert serve["work_pool_name"] is None  # its runs execute in the serving process
    nightly = server.get(f"/deployments/name/{DEPLOYMENT}")
    assert nightly["id"] == deployment["id"] and nightly["work_pool_name"] == "trialtrends"
    assert nightly["pull_steps"] == deployment["pull_steps"]
