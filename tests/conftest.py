"""Shared fixtures: the shared ClinicalTrials.gov material, the fake API, settings, Prefect."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
sys.path.insert(0, str(TESTS))  # builders, fakeapi, openapi_spec are plain modules here

from fakeapi import FakeCtgov, shared_ctgov_dir  # noqa: E402

from trialtrends.settings import Settings  # noqa: E402


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


@pytest.fixture(scope="session")
def corpus_warehouse(corpus_server: FakeCtgov, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A warehouse refreshed once from the fake API serving the shared corpus (read-only use!)."""
    from trialtrends.pipeline import refresh

    settings = test_settings(tmp_path_factory.mktemp("corpus"), corpus_server.url)
    refresh(settings)
    return settings
