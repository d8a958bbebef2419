"""The warehouse: atomic publish, readers, kill -9, run history, change log, view counts.

Every view's grain is tested from its header in test_views.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import duckdb
import polars as pl
import pytest
from builders import study
from conftest import copy_corpus_warehouse, test_settings, wait_for
from fakeapi import FakeCtgov

from trialtrends.load.views import VIEWS
from trialtrends.pipeline import refresh

SMALL = [
    study("NCT90000001", title="CD19 CAR-T cells for lymphoma", countries=["China", "United States"]),
    study("NCT90000002", title="CAR-NK cells in AML", summary="CD33 CAR-NK cells",
          interventions=[{"type": "BIOLOGICAL", "name": "CD33 CAR-NK cells"}], countries=[]),
    study("NCT90000003", title="BCMA CAR-T cells in myeloma", phases=["PHASE1", "PHASE2"],
          interventions=[{"type": "BIOLOGICAL", "name": "BCMA CAR-T"}], posted="2023-04-01"),
]  # fmt: skip


def read(settings, sql, params=None):
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


@pytest.fixture
def small_server():
    with FakeCtgov(SMALL) as fake:
        yield fake


def test_refresh_builds_commented_tables_and_views(small_server, tmp_path):
    settings = test_settings(tmp_path, small_server.url)
    refresh(settings)
    names = {r[0] for r in read(settings, "select table_name from duckdb_tables()")}
    assert {
        "trials",
        "trial_countries",
        "trial_sponsors",
        "trial_modalities",
        "runs",
        "trial_changes",
    } <= names
    views = {r[0] for r in read(settings, "select view_name from duckdb_views() where not internal")}
    assert set(VIEWS) <= views
    uncommented = read(
        settings,
        "select table_name, column_name from duckdb_columns() where comment is null "
        "and table_name in (select table_name from duckdb_tables())",
    )
    assert uncommented == []
    assert read(settings, "select count(*) from trials")[0][0] == 3
    assert read(settings, "select modality, year, trials from yearly_counts where basis = 'first_posted' "
                          "and modality in ('CAR-T', 'NK') order by 1, 2") == [
        ("CAR-T", 2022, 1), ("CAR-T", 2023, 1), ("NK", 2022, 1)]  # fmt: skip
    (run,) = read(settings, "select status, published, classifier_version from runs")
    assert run[0] == "succeeded" and run[1] is True and run[2]


def test_unchanged_data_twice_gives_identical_views_and_no_changes(small_server, tmp_path):
    settings = test_settings(tmp_path, small_server.url)
    first = refresh(settings).run.run_id
    snapshot = {v: read(settings, f"select * from {v} order by all") for v in VIEWS if v != "latest_changes"}
    second = refresh(settings).run.run_id
    for view, rows in snapshot.items():
        assert read(settings, f"select * from {view} order by all") == rows, view
    assert read(settings, "select count(*) from trial_changes where run_id = ?", [second]) == [(0,)]
    assert read(settings, "select count(*) from trial_changes where run_id = ?", [first]) == [(3,)]
    assert read(settings, "select count(*) from latest_changes") == [(0,)]


def test_changes_record_added_removed_and_changed_fields(small_server, tmp_path):
    settings = test_settings(tmp_path, small_server.url)
    refresh(settings)
    changed = study("NCT90000001", title="CD19 CAR-T cells for lymphoma", status="COMPLETED",
                    countries=["China"], phases=["PHASE2"])  # fmt: skip
    new = study("NCT90000009", title="GPC3 CAR-T cells in liver cancer")
    small_server.set_studies([changed, SMALL[1], new])
    run_id = refresh(settings).run.run_id
    rows = read(
        settings,
        "select nct_id, change, changed_fields from trial_changes where run_id = ? order by 1",
        [run_id],
    )
    assert rows == [
        ("NCT90000001", "changed", ["status", "phase", "countries"]),
        ("NCT90000003", "removed", []),
        ("NCT90000009", "added", []),
    ]


def test_open_reader_keeps_its_snapshot_and_nothing_is_corrupted(small_server, tmp_path):
    settings = test_settings(tmp_path, small_server.url)
    refresh(settings)
    reader = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        before = reader.execute("select count(*) from runs").fetchone()[0]
        refresh(settings)  # publishes while the reader is open: must not fail or block
        # Documented behaviour: an open connection keeps reading the file it opened.
        assert reader.execute("select count(*) from runs").fetchone()[0] == before
        assert reader.execute("select count(*) from trials").fetchone()[0] == 3
    finally:
        reader.close()
    assert read(settings, "select count(*) from runs") == [(before + 1,)]




def _building_wal_bytes(settings) -> int:
    return sum(p.stat().st_size for p in settings.warehouse_dir.glob(".building-*.wal") if p.exists())


# Where the kill lands: as the load starts (the building file appears), or in the middle of
# staging rows (its write-ahead log already holds a megabyte of rows; the corpus's is ~4 MB).
KILL_POINTS = {
    "load_start": lambda settings: any(settings.warehouse_dir.glob(".building-*")),
    "staging_rows": lambda settings: _building_wal_bytes(settings) > 1_000_000,
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_kill_9_during_load_leaves_the_old_warehouse_intact(corpus_warehouse, tmp_path, point):
    # The state right after a refresh of the corpus, without paying for one more refresh.
    settings = copy_corpus_warehouse(corpus_warehouse, tmp_path)
    before = read(settings, "select * from yearly_counts order by all")
    runs_before = read(settings, "select run_id from runs")
    env = {**os.environ, "TRIALTRENDS_DATA_DIR": str(settings.data_dir),
           "TRIALTRENDS_API_URL": settings.api_url, "TRIALTRENDS_MAX_RPS": "0"}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "trialtrends", "refresh"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        reached = KILL_POINTS[point]
        assert wait_for(lambda: reached(settings) or proc.poll() is not None), "the refresh never got there"
        assert proc.poll() is None, f"the refresh ended before the kill point {point}"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    if any(settings.warehouse_dir.glob(".building-*")):
        # Killed before the publish: the old warehouse, unchanged and openable.
        assert read(settings, "select * from yearly_counts order by all") == before
        assert read(settings, "select run_id from runs") == runs_before
    else:
        # The kill landed after the atomic replace: the new warehouse, complete and openable.
        assert read(settings, "select * from yearly_counts order by all") == before
        assert len(read(settings, "select run_id from runs")) == len(runs_before) + 1
    # The next refresh cleans up any abandoned file and publishes normally.
    refresh(settings)
    assert not any(settings.warehouse_dir.glob(".building-*"))


def _frame(settings, sql):
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.sql(sql).pl()


def test_views_equal_independent_counts(corpus_warehouse):
    s = corpus_warehouse
    trials = _frame(s, "select nct_id, phase, first_posted_year as year from trials")
    mods = _frame(s, "select nct_id, modality from trial_modalities")
    flags = _frame(s, "select nct_id, is_long_term_follow_up, is_expanded_access from trial_flags")
    countries = _frame(s, "select nct_id, country_code from trial_countries where not is_removed")
    sponsors = _frame(s, "select nct_id, role, sponsor from trial_sponsors")
    groups = {"CAR-T": ["CAR-T"], "NK": ["NK", "CAR-NK"], "ALL": ["CAR-T", "TCR-T", "TIL", "NK", "CAR-NK"]}
    for group, members in groups.items():
        ids = (
            mods.filter(pl.col("modality").is_in(members)).select("nct_id").unique()
            .join(flags.filter(~pl.col("is_long_term_follow_up") & ~pl.col("is_expanded_access")), on="nct_id")
        )  # fmt: skip
        base = trials.join(ids, on="nct_id").filter(pl.col("year").is_not_null())
        expected = dict(base.group_by("year").len().iter_rows())
        got = dict(
            read(
                s,
                "select year, trials from yearly_counts where modality = ? and basis = 'first_posted'",
                [group],
            )
        )
        assert got == expected, group
        y2022 = base.filter(pl.col("year") == 2022)
        phases = dict(y2022.group_by("phase").len().iter_rows())
        got = dict(read(s, "select phase, trials from phase_distribution where modality = ? "
                           "and basis = 'first_posted' and year = 2022", [group]))  # fmt: skip
        assert got == phases, group
        per_country = dict(
            countries.join(y2022.select("nct_id"), on="nct_id").unique()
            .group_by("country_code").len().iter_rows()
        )  # fmt: skip
        got = dict(read(s, "select country_code, trials from country_table where modality = ? "
                           "and basis = 'first_posted' and year = 2022", [group]))  # fmt: skip
        assert got == per_country, group
        shares = read(s, "select sum(share) from phase_distribution where modality = ? and basis = 'first_posted' "
                         "and year = 2022", [group])  # fmt: skip
        assert shares[0][0] == pytest.approx(1.0)
        for role, roles in (("lead", ["lead"]), ("any", ["lead", "collaborator"])):
            per_sponsor = dict(
                sponsors.filter(pl.col("role").is_in(roles)).join(y2022.select("nct_id"), on="nct_id")
                .select("nct_id", "sponsor").unique().group_by("sponsor").len().iter_rows()
            )  # fmt: skip
            got = dict(read(s, "select sponsor, trials from sponsor_table where modality = ? and role = ? "
                               "and basis = 'first_posted' and year = 2022", [group, role]))  # fmt: skip
            assert got == per_sponsor, (group, role)


def test_ranks_follow_competition_ranking(corpus_warehouse):
    rows = read(corpus_warehouse, "select rank, trials from sponsor_table where modality = 'ALL' "
                                  "and basis = 'first_posted' and year = 2022 and role = 'lead' order by rank")  # fmt: skip
    for position, (rank, trials) in enumerate(rows, start=1):
        better = sum(1 for _, t in rows if t > trials)
        assert rank == better + 1
        assert rank <= position


def test_incremental_refresh_merges_updated_trials(small_server, tmp_path):
    from datetime import date

    settings = test_settings(tmp_path, small_server.url)
    refresh(settings)
    updated = study("NCT90000001", title="CD19 CAR-T cells for lymphoma", status="COMPLETED",
                    countries=["China", "United States"], updated="2026-11-01")  # fmt: skip
    small_server.set_studies([updated, *SMALL[1:]])
    result = refresh(settings, since=date(2026, 10, 1))
    assert result.manifest.mode == "search" and result.manifest.since and result.manifest.unique_studies == 1
    assert read(settings, "select count(*) from trials") == [(3,)]  # the others are carried over
    assert read(settings, "select overall_status from trials where nct_id = 'NCT90000001'") == [
        ("COMPLETED",)
    ]
    assert read(settings, "select nct_id, change, changed_fields from trial_changes where run_id = ?",
                [result.run.run_id]) == [("NCT90000001", "changed", ["status"])]  # fmt: skip
    assert read(settings, "select count(*) from trial_modalities") == read(
        settings, "select count(*) from trial_modalities where nct_id in (select nct_id from trials)"
    )
