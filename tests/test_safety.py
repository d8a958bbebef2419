"""Safe in real operation: one writer per data folder, one data generation per run, a warehouse
that heals, safe rebuilds, conflicting duplicates, and clean ends after kill -9.

The concurrency tests run real `trialtrends` processes against a real fake API on 127.0.0.1.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import orjson
import pytest
from builders import study
from click.testing import CliRunner
from conftest import test_settings, wait_for
from fakeapi import FakeCtgov, default_metadata

from trialtrends import lock as lock_module
from trialtrends.cli import main
from trialtrends.extract.raw import RawRun, list_runs
from trialtrends.lock import LOCK_FILE, DataDirBusy, data_dir_lock
from trialtrends.manifest import RunManifest
from trialtrends.pipeline import build_landed, rebuild, refresh

OLD = [
    study("NCT90000001", title="CD19 CAR-T cells for lymphoma", updated="2026-01-01"),
    study("NCT90000002", title="BCMA CAR-T cells in myeloma", updated="2026-01-01"),
    study("NCT90000003", title="CD33 CAR-NK cells in AML", summary="CD33 CAR-NK cells", updated="2026-01-01"),
]
NEW = [
    study("NCT90000001", title="CD19 CAR-T cells for lymphoma (amended)", updated="2026-09-05"),
    study("NCT90000004", title="GPC3 CAR-T cells in liver cancer", updated="2026-09-05"),
]
OLD_STAMP, NEW_STAMP = "2026-09-04T09:00:06", "2026-09-05T09:00:06"


def read(settings, sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(sql).fetchall()


def env_for(settings) -> dict[str, str]:
    return {
        **os.environ,
        "TRIALTRENDS_DATA_DIR": str(settings.data_dir),
        "TRIALTRENDS_API_URL": settings.api_url,
        "TRIALTRENDS_MAX_RPS": "0",
    }


def cli_process(settings, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "trialtrends", *args], env=env_for(settings),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip




def lock_held(settings) -> bool:
    path = settings.data_dir / LOCK_FILE
    return path.is_file() and path.stat().st_size > 0


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


# ---- one writer per data folder ---------------------------------------------------------------


@pytest.fixture
def slow_server():
    """A fake API whose /studies pages can be slowed or held: a refresh then holds the lock."""
    with FakeCtgov(OLD) as fake:
        yield fake
        fake.release()  # a test that failed half-way must not leave a refresh waiting on a page


@pytest.mark.parametrize("attempt", range(2))
def test_two_cli_refreshes_at_once_one_publishes_the_other_refuses(slow_server, tmp_path, attempt):
    settings = test_settings(tmp_path, slow_server.url)
    # The first refresh's first page is held until the second has been refused: it holds the lock
    # for exactly as long as the test needs, however slow the machine.
    slow_server.inject("held", times=1, path="/studies", max_seconds=120)
    first = cli_process(settings, "refresh")
    assert wait_for(lambda: lock_held(settings)), "the first refresh never took the lock"
    second = cli_process(settings, "refresh")
    _, err2 = second.communicate(timeout=60)
    slow_server.release()
    _, err1 = first.communicate(timeout=120)
    assert first.returncode == 0, err1
    assert second.returncode == 1, err2
    line = one_error_line(err2)
    assert "Another run is using the data folder" in line and "pid" in line
    # Nothing lost: the published run is the first one, and the refused one landed nothing.
    (run,) = list_runs(settings.raw_dir)
    assert run.manifest().published and run.manifest().status == "succeeded"
    assert read(settings, "select count(*) from trials")[0][0] == len(OLD)
    assert not list(settings.warehouse_dir.glob(".building-*"))


def test_second_run_can_wait_for_the_lock(slow_server, tmp_path, monkeypatch):
    settings = test_settings(tmp_path, slow_server.url)
    slow_server.inject("held", times=1, path="/studies", max_seconds=120)
    first = cli_process(settings, "refresh")
    assert wait_for(lambda: lock_held(settings))
    # Seen from the waiting run: each attempt at the lock and whether it got it.
    attempts: list[bool] = []

    def try_lock(path):
        fd = real_try_lock(path)
        attempts.append(fd is not None)
        return fd

    real_try_lock = lock_module.try_lock
    monkeypatch.setattr(lock_module, "try_lock", try_lock)
    waiting = test_settings(tmp_path, slow_server.url, lock_wait=120)
    results: list = []
    waiter = threading.Thread(target=lambda: results.append(refresh(waiting)))  # waits, then runs
    waiter.start()
    try:
        assert wait_for(lambda: len(attempts) >= 2), "the second run never tried the lock"
        assert attempts[:2] == [False, False], "the second run got the lock while the first held it"
    finally:
        slow_server.release()
        waiter.join(timeout=120)
    (result,) = results
    assert first.wait(timeout=120) == 0
    assert result.manifest.published
    assert [r.manifest().published for r in list_runs(settings.raw_dir)] == [True, True]


def test_kill_9_of_the_holder_frees_the_lock_and_the_next_run_proceeds(slow_server, tmp_path):
    settings = test_settings(tmp_path, slow_server.url)
    slow_server.inject("slow", times=50, path="/studies", seconds=0.5)
    holder = cli_process(settings, "refresh")
    assert wait_for(lambda: lock_held(settings))
    assert wait_for(lambda: bool(list_runs(settings.raw_dir)))
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    slow_server.reset_faults()
    result = refresh(settings)  # no stale lock: the kernel released it with the process
    assert result.manifest.published
    killed, published = list_runs(settings.raw_dir)
    assert killed.manifest().status == "abandoned"
    assert "ended before it finished" in (killed.manifest().error or "")
    assert published.run_id == result.run.run_id


def test_lock_names_its_holder_in_one_sentence(tmp_path):
    with (
        data_dir_lock(tmp_path, command="refresh"),
        pytest.raises(DataDirBusy) as info,
        data_dir_lock(tmp_path),
    ):
        pass
    message = str(info.value)
    assert message.count(". ") == 0 and f"pid {os.getpid()} (refresh)" in message
    with data_dir_lock(tmp_path):  # released on exit
        pass


@pytest.mark.prefect
def test_flow_and_cli_at_once_one_publishes_the_other_refuses(prefect_harness, slow_server, tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "flows"))
    import nightly

    settings = test_settings(tmp_path, slow_server.url)
    slow_server.inject("held", times=1, path="/studies", max_seconds=120)
    cli = cli_process(settings, "refresh")
    assert wait_for(lambda: lock_held(settings))
    state = nightly.nightly(data_dir=str(settings.data_dir), api_url=slow_server.url, return_state=True)
    slow_server.release()
    assert state.is_failed()
    assert "Another run is using the data folder" in str(state.message) or "Another run" in repr(
        state.result(raise_on_failure=False)
    )
    _, err = cli.communicate(timeout=120)
    assert cli.returncode == 0, err
    assert len(list_runs(settings.raw_dir)) == 1 and list_runs(settings.raw_dir)[0].manifest().published


# ---- one data generation per run --------------------------------------------------------------


def _generation_check(settings, expected_ids: set[str], restarts: int) -> RunManifest:
    manifest = list_runs(settings.raw_dir)[-1].manifest()
    assert manifest.published and manifest.data_timestamp == NEW_STAMP
    assert len(manifest.crawls) == restarts
    assert {r[0] for r in read(settings, "select nct_id from trials")} == expected_ids
    (stamp,) = read(settings, f"select data_timestamp from runs where run_id = '{manifest.run_id}'")[0]
    assert stamp == NEW_STAMP
    return manifest


def test_data_refreshed_between_queries_restarts_the_crawl(tmp_path):
    with FakeCtgov(OLD, data_timestamp=OLD_STAMP) as fake:
        # The registry refreshes after the first query's first page has been served.
        fake.switch_generation_after(1, NEW, data_timestamp=NEW_STAMP)
        settings = test_settings(tmp_path, fake.url)
        refresh(settings)
    manifest = _generation_check(settings, {"NCT90000001", "NCT90000004"}, restarts=1)
    assert "dataTimestamp changed" in manifest.crawls[0]["restarted"]
    title = read(settings, "select brief_title from trials where nct_id = 'NCT90000001'")[0][0]
    assert title.endswith("(amended)")


def test_expired_page_token_inside_a_query_restarts_the_crawl(tmp_path):
    # One study per page: the refresh happens between two pages of the same query, so the
    # next request carries a token of the old generation, which the API refuses as expired.
    with FakeCtgov(OLD, data_timestamp=OLD_STAMP, max_page_size=1) as fake:
        fake.switch_generation_after(1, NEW, data_timestamp=NEW_STAMP)
        settings = test_settings(tmp_path, fake.url)
        refresh(settings)
        refused = [r for r in fake.requests if r.status == 400]
    assert refused, "the old token was never refused"
    manifest = _generation_check(settings, {"NCT90000001", "NCT90000004"}, restarts=1)
    assert "page token expired" in manifest.crawls[0]["restarted"]


def test_a_registry_that_never_settles_fails_clearly(tmp_path):
    from trialtrends.extract.searches import QUERIES

    with FakeCtgov(OLD, data_timestamp=OLD_STAMP) as fake:
        # A refresh during the first query of every crawl (each query is one page here).
        for i in range(4):
            fake.switch_generation_after(
                1 if i == 0 else len(QUERIES), NEW if i % 2 == 0 else OLD,
                data_timestamp=f"2026-09-0{i + 5}T09:00:00",
            )  # fmt: skip
        settings = test_settings(tmp_path, fake.url)
        args = ["refresh", "--data-dir", str(settings.data_dir), "--api-url", fake.url, "--max-rps", "0"]
        result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert one_error_line(result.output).startswith("Error: The registry's data changed during each of 3 crawls")
    assert not settings.warehouse_path.exists()


# ---- a warehouse that heals ---------------------------------------------------------------------


def test_corrupt_warehouse_is_reported_then_moved_aside_by_the_next_refresh(tmp_path):
    with FakeCtgov(OLD) as fake:
        settings = test_settings(tmp_path, fake.url)
        refresh(settings)
        settings.warehouse_path.write_bytes(b"this is not a duckdb file" * 1000)
        runner = CliRunner()
        for args in (["report", "--year", "2022"], ["sql", "select 1"]):
            result = runner.invoke(main, [*args, "--data-dir", str(settings.data_dir)])
            assert result.exit_code == 1, result.output
            text = result.output.strip()
            assert text.startswith("Error: ") and len(text.splitlines()) == 1 and "Traceback" not in text
            assert "cannot be read" in text and "trialtrends refresh" in text
        result = refresh(settings)
    aside = Path(result.manifest.recovered_warehouse or "")
    assert aside.name == f"trialtrends.duckdb.corrupt-{result.run.run_id}"
    assert aside.read_bytes().startswith(b"this is not a duckdb file")
    assert read(settings, "select count(*) from trials")[0][0] == len(OLD)
    # Published as a first load: every trial is 'added', nothing compared against garbage.
    assert {r[0] for r in read(settings, "select distinct change from trial_changes")} == {"added"}


def test_a_directory_where_the_warehouse_should_be_is_moved_aside(tmp_path):
    with FakeCtgov(OLD) as fake:
        settings = test_settings(tmp_path, fake.url)
        settings.warehouse_path.mkdir(parents=True)
        result = CliRunner().invoke(main, ["sql", "select 1", "--data-dir", str(settings.data_dir)])
        assert result.exit_code == 1 and "is a directory" in result.output
        refresh(settings)
    assert settings.warehouse_path.is_file()


def test_a_writer_holding_the_warehouse_is_one_sentence(tmp_path):
    with FakeCtgov(OLD) as fake:
        settings = test_settings(tmp_path, fake.url)
        refresh(settings)
    script = f"import duckdb, time; c = duckdb.connect({str(settings.warehouse_path)!r}); print('open', flush=True); time.sleep(60)"
    analyst = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert analyst.stdout.readline().strip() == "open"
        result = CliRunner().invoke(main, ["sql", "select 1", "--data-dir", str(settings.data_dir)])
        assert result.exit_code == 1
        assert result.output.startswith("Error: ") and "locked by another process" in result.output
    finally:
        analyst.kill()
        analyst.wait()


# ---- safe rebuilds ----------------------------------------------------------------------------


def test_rebuild_refuses_a_pull_that_stopped_half_way(tmp_path):
    with FakeCtgov(OLD) as fake:
        settings = test_settings(tmp_path, fake.url, max_retries=0)
        fake.inject("500", times=100, path="/studies", skip=2)
        with pytest.raises(Exception, match="Giving up"):
            refresh(settings)
    (failed,) = list_runs(settings.raw_dir)
    before = (failed.path / "manifest.json").read_bytes()
    assert not failed.manifest().landed
    result = CliRunner().invoke(
        main, ["rebuild", "--run", failed.run_id, "--data-dir", str(settings.data_dir)]
    )
    assert result.exit_code == 1 and "did not land completely" in result.output
    with pytest.raises(Exception, match="did not land completely"):
        build_landed(settings, failed)
    assert not settings.warehouse_path.exists()
    assert json.loads(before)["status"] == "failed"


def test_rebuild_is_a_new_run_and_leaves_the_rebuilt_manifest_alone(tmp_path):
    with FakeCtgov(OLD) as fake:
        settings = test_settings(tmp_path, fake.url)
        first = refresh(settings)
    before = (first.run.path / "manifest.json").read_bytes()
    result = rebuild(settings)
    assert result.manifest.rebuild_of == first.run.run_id and result.run.run_id != first.run.run_id
    assert (first.run.path / "manifest.json").read_bytes() == before
    assert read(settings, "select count(*) from runs")[0][0] == 2
    assert read(settings, "select count(*) from trials")[0][0] == len(OLD)


def test_bulk_rebuild_refuses_a_source_that_changed(tmp_path):
    source = tmp_path / "studies.jsonl.gz"
    with gzip.open(source, "wb") as fh:
        fh.write(b"\n".join(orjson.dumps(s) for s in OLD) + b"\n")
    settings = test_settings(tmp_path, "http://127.0.0.1:9/api/v2")
    first = refresh(settings, source=source)
    recorded = first.manifest.source_sha256
    with gzip.open(source, "wb") as fh:
        fh.write(b"\n".join(orjson.dumps(s) for s in NEW) + b"\n")
    result = CliRunner().invoke(main, ["rebuild", "--data-dir", str(settings.data_dir)])
    assert result.exit_code == 1
    assert "has changed since run" in result.output and recorded[:12] in result.output
    assert len(result.output.strip().splitlines()) == 1


# ---- conflicting duplicates -------------------------------------------------------------------


def _land_pages(settings, pages: list[list[dict]]) -> RawRun:
    """A landed API run made by hand: these pages, in this order, as one query."""
    run = RawRun.create(settings.raw_dir, "20260101T000000.000000Z-test")
    manifest = RunManifest(run_id=run.run_id, kind="api", landed=True, data_timestamp=OLD_STAMP)
    metadata = json.dumps(default_metadata()).encode()
    manifest.files.append({"kind": "metadata", **run.write_body("studies-metadata.json", metadata)})
    for number, studies in enumerate(pages, 1):
        body = json.dumps({"studies": studies}).encode()
        manifest.files.append({"kind": "page", "query": "car_t", "page": number,
                               **run.write_body(f"car_t-page-{number:04d}.json", body)})  # fmt: skip
    total = len({s["protocolSection"]["identificationModule"]["nctId"] for p in pages for s in p})
    manifest.queries = [{"name": "car_t", "total_count": total, "unique": total, "difference": 0}]
    manifest.unique_studies = total
    run.write_manifest(manifest)
    return run


def test_conflicting_copies_keep_the_newer_record_and_are_counted(tmp_path):
    settings = test_settings(tmp_path, "http://127.0.0.1:9/api/v2")
    genuine = study("NCT90000001", title="CD19 CAR-T cells (genuine)", updated="2026-05-01")
    doctored = study("NCT90000001", title="CD19 CAR-T cells (doctored)", updated="2024-01-01")
    tie_a = study("NCT90000002", title="BCMA CAR-T (first)", updated="2026-01-01")
    tie_b = study("NCT90000002", title="BCMA CAR-T (second)", updated="2026-01-01")
    same = study("NCT90000003", title="CD22 CAR-T cells")
    run = _land_pages(settings, [[genuine, tie_a, same], [doctored, tie_b, same]])
    result = build_landed(settings, run)
    titles = dict(read(settings, "select nct_id, brief_title from trials"))
    assert titles["NCT90000001"].endswith("(genuine)")  # newer lastUpdatePostDate wins, wherever it is
    assert titles["NCT90000002"].endswith("(second)")  # a tie: the later copy
    quality = result.manifest.quality
    assert quality["conflicting_duplicates"] == 2  # identical copies are no conflict
    assert {c["nct_id"] for c in quality["conflicting_duplicate_examples"]} == {"NCT90000001", "NCT90000002"}


# ---- clean ends -------------------------------------------------------------------------------


def test_next_run_marks_dead_runs_abandoned_and_removes_stale_temp_files(tmp_path):
    with FakeCtgov(OLD) as fake:
        settings = test_settings(tmp_path, fake.url)
        dead = RawRun.create(settings.raw_dir, "20250101T000000.000000Z-dead")
        dead.write_manifest(RunManifest(run_id=dead.run_id, kind="api", landed=True))
        stale = dead.path / ".car_t-page-0001.json.gz.1234abcd.tmp"
        stale.write_bytes(b"half")
        refresh(settings)
    m = dead.manifest()
    assert m.status == "abandoned" and not m.published and "rebuild" in (m.error or "")
    assert not stale.exists()
    runs = dict(read(settings, "select run_id, status from runs"))
    assert runs[dead.run_id] == "abandoned"


def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_bulk_workers_exit_when_their_parent_is_killed(tmp_path):
    from trialtrends.pipeline.chunks import BULK_CHUNK_SIZE

    source = tmp_path / "big.jsonl"
    template = orjson.dumps(study("NCT00000000"))
    with open(source, "wb") as fh:
        for i in range(3 * BULK_CHUNK_SIZE):
            fh.write(template.replace(b"NCT00000000", f"NCT{i + 1:08d}".encode()) + b"\n")
    settings = test_settings(tmp_path, "http://127.0.0.1:9/api/v2")
    env = {**env_for(settings), "TRIALTRENDS_WORKERS": "2"}
    parent = subprocess.Popen([sys.executable, "-m", "trialtrends", "refresh", "--source", str(source)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    workers: list[int] = []
    try:
        # The pool's workers are the spawned python children (the resource tracker aside).
        assert wait_for(lambda: len(_children(parent.pid)) >= 2, timeout=90), "no worker processes started"
        time.sleep(1.0)
        workers = _children(parent.pid)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=30)
        assert wait_for(lambda: not any(_alive(w) for w in workers), timeout=15), "orphaned workers live on"
    finally:
        for w in workers:
            if _alive(w):
                os.kill(w, signal.SIGKILL)


def test_a_damaged_manifest_of_another_run_does_not_stop_the_night(tmp_path):
    with FakeCtgov(OLD) as fake:
        settings = test_settings(tmp_path, fake.url)
        damaged = RawRun.create(settings.raw_dir, "20250101T000000.000000Z-bad0")
        (damaged.path / "manifest.json").write_text('{"run_id": "20250101T0000')  # cut short
        result = refresh(settings)
    assert result.manifest.published
    assert [r[0] for r in read(settings, "select run_id from runs")] == [result.run.run_id]
    rebuilt = CliRunner().invoke(
        main, ["rebuild", "--run", damaged.run_id, "--data-dir", str(settings.data_dir)]
    )
    assert rebuilt.exit_code == 1 and "is not a readable run manifest" in rebuilt.output
    one_error_line(rebuilt.output)  # CLI log lines reach stderr too (a WARNING names the skipped run)
