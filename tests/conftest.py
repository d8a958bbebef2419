"""Shared fixtures: the shared ClinicalTrials.gov material, the fake API, settings, Prefect.

The suite runs in parallel (pytest-xdist, `--dist loadgroup` in pyproject.toml): every session
fixture here exists once per worker, except the corpus warehouse, which the first worker to need
it builds for all (see `corpus_warehouse`). Tests that share an expensive server are put in one
xdist group, so only one worker ever starts it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
sys.path.insert(0, str(TESTS))  # builders, fakeapi, openapi_spec are plain modules here

from fakeapi import FakeCtgov, shared_ctgov_dir  # noqa: E402

from trialtrends.settings import Settings  # noqa: E402

# Property tests run few examples by default, so the README's test command stays fast; the
# thorough profile (`pytest --hypothesis-profile thorough`, or HYPOTHESIS_PROFILE=thorough) is
# the slow search, for when a parser or the fake API's mutations change.
try:
    from hypothesis import HealthCheck
    from hypothesis import settings as hypothesis_settings
except ImportError:  # hypothesis is a dev dependency; the suite runs without it
    pass
else:
    hypothesis_settings.register_profile(
        "default", max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    hypothesis_settings.register_profile("thorough", max_examples=2000, deadline=None)
    # HYPOTHESIS_PROFILE=fuzz is test_fuzz.py's own long profile (registered there); the other
    # property tests then keep the default.
    _profile = os.environ.get("HYPOTHESIS_PROFILE", "default")
    hypothesis_settings.load_profile(_profile if _profile in ("default", "thorough") else "default")

# ---- parallel scheduling (pytest-xdist) --------------------------------------------------------
# The controller hands out units of work by node id alone (it never imports the tests). A unit
# is a whole file, so a file's module-scoped fixtures (a small warehouse, a wheel, a classified
# batch) are built on one worker only, except:
# - the tests sharing one expensive server form one unit: the real `prefect server start` of
#   test_prefect_server.py, and every user of the session's prefect_test_harness;
# - the files below, of slow independent tests with no module-scoped fixtures, are handed out
#   test by test, so both workers share them.
# (`xdist_group` marks would say this in the tests, but with pytest 9.2 and xdist 3.8 loadgroup
# ignores them silently: pytest-dev/pytest-xdist#1386.) A test missing from these rules is still
# correct, just slower: it starts its own harness, or builds a module fixture once more.
PREFECT_SERVER_FILES = frozenset({"test_prefect_server.py"})
PREFECT_HARNESS_FILES = frozenset({"test_flows.py"})
PREFECT_HARNESS_TESTS = frozenset({"test_safety.py::test_flow_and_cli_at_once_one_publishes_the_other_refuses"})
SPREAD_FILES = (
    "test_warehouse.py", "test_safety.py", "test_bulk.py", "test_terminal.py", "test_cli.py",
    "test_extract.py", "test_gates.py", "test_api.py",
)  # fmt: skip


def xdist_unit(nodeid: str) -> str:
    """The unit of work a node id belongs to: a group name, its file, or the test itself."""
    path = nodeid.split("::", 1)[0]
    name = path.rsplit("/", 1)[-1]
    if name in PREFECT_SERVER_FILES:
        return "prefect_server"
    if name in PREFECT_HARNESS_FILES or f"{name}::{nodeid.split('::', 1)[-1]}" in PREFECT_HARNESS_TESTS:
        return "prefect_harness"
    return nodeid if name in SPREAD_FILES else path


def _handout_rank(nodeid: str) -> int:
    """Longest units first, so a parallel run does not end on one worker running a slow unit
    while the other idles: the real server, the harness, then the slow files, then the rest."""
    unit = xdist_unit(nodeid)
    if unit in ("prefect_server", "prefect_harness"):
        return 0 if unit == "prefect_server" else 1
    name = nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
    return 2 + (SPREAD_FILES.index(name) if name in SPREAD_FILES else len(SPREAD_FILES))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The order in which the units are handed out (`--no-loadscope-reorder` keeps it)."""
    items.sort(key=lambda item: _handout_rank(item.nodeid))  # stable: file order within a rank


@pytest.hookimpl(tryfirst=True)  # before xdist's own
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto`: one worker more than the cores this process may use (PYTEST_XDIST_AUTO_NUM_WORKERS
    still decides when set). About a fifth of the suite waits on servers, subprocesses and the
    browser: on 2 cores, 3 workers ran it in 3 min 10-20 s where 2 took 3 min 45-55 s."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own hook reads it
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return cores + 1


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which would make its plain loadgroup
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """`--dist loadgroup` with the units of `xdist_unit` (see above)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedFixtureScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_unit(nodeid)

    return SharedFixtureScheduling(config, log)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Each CLI invocation configures the root logger; leave it as the next test expects."""
    import logging

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    root.setLevel(level)
    root.handlers[:] = handlers


@pytest.fixture(scope="session")
def shared_ctgov() -> Path:
    """The shared material, read in place through its one path setting (fakeapi.shared_ctgov_dir)."""
    path = shared_ctgov_dir()
    if not (path / "corpus").is_dir():
        pytest.skip(f"shared ClinicalTrials.gov material not found at {path} (set TRIALTRENDS_SHARED_CTGOV)")
    return path


@pytest.fixture(scope="session")
def corpus_studies(shared_ctgov: Path) -> list[dict]:
    """The shared corpus plus the 64 full records (read in place, never copied)."""
    import gzip
    import json

    with gzip.open(shared_ctgov / "corpus" / "celltherapy-2026-08.jsonl.gz", "rt") as fh:
        studies = [json.loads(line) for line in fh if line.strip()]
    studies += [json.loads(p.read_text()) for p in sorted((shared_ctgov / "records").glob("NCT*.json"))]
    return studies


@pytest.fixture(autouse=True)
def search_mode_by_default(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite's older tests exercise the search path through the CLI and the flow; tests of
    registry mode (the default a user gets) are marked `registry` and see the real default."""
    if request.node.get_closest_marker("registry") is None:
        monkeypatch.setenv("TRIALTRENDS_MODE", "search")


def test_settings(tmp_path: Path, api_url: str, **overrides: object) -> Settings:
    """Settings for tests: unpaced, fast backoff, short timeouts, a private data folder, and the
    search path unless a test asks for registry mode (tests/test_registry.py does)."""
    values: dict[str, object] = dict(
        data_dir=tmp_path / "data",
        api_url=api_url,
        mode="search",
        max_rps=0,
        backoff_base=0.01,
        backoff_cap=0.05,
        connect_timeout=2,
        read_timeout=2,
        max_retries=4,
    )
    values.update(overrides)
    return Settings.from_env(**values)


test_settings.__test__ = False  # a helper, not a test


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.005) -> bool:
    """Poll until predicate() is true or the timeout passes (for tests of real processes)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


@pytest.fixture(scope="session")
def corpus_server(corpus_studies: list[dict]) -> Iterator[FakeCtgov]:
    server = FakeCtgov(corpus_studies)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect server for the whole session (it takes ~13 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def run_temp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every xdist worker of this run shares (the parent of the workers' own temp
    folders); the session's temp folder when the suite runs in one process."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def corpus_warehouse(corpus_server: FakeCtgov, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A warehouse refreshed once per run from the fake API serving the shared corpus
    (read-only use!). The first worker to need it builds it under an exclusive file lock;
    the others wait on that lock and then open the same files (DuckDB allows many read-only
    processes on one file)."""
    from trialtrends.pipeline import refresh

    root = run_temp_root(tmp_path_factory) / "corpus-warehouse"
    root.mkdir(exist_ok=True)
    settings = test_settings(root, corpus_server.url)
    built = root / "built"
    with (root.parent / "corpus-warehouse.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if a worker dies
        if not built.exists():
            shutil.rmtree(settings.data_dir, ignore_errors=True)  # a builder that died half-way
            refresh(settings)
            built.touch()
    return settings


def copy_corpus_warehouse(corpus_warehouse: Settings, tmp_path: Path) -> Settings:
    """A private, writable copy of the corpus warehouse's data folder (landed run included), as
    test_settings(tmp_path, ...) lays it out: the state right after a refresh of the corpus."""
    settings = test_settings(tmp_path, corpus_warehouse.api_url)
    shutil.copytree(corpus_warehouse.data_dir, settings.data_dir)
    return settings
