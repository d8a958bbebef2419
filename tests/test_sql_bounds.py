"""`trialtrends sql` is bounded (issue 20, item 6): a time limit that interrupts DuckDB, results
streamed in batches whatever their size, and --max-rows for the table format."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from builders import study
from click.testing import CliRunner
from conftest import test_settings
from fakeapi import FakeCtgov

from trialtrends.cli import main
from trialtrends.output.sql import QueryError, stream_query
from trialtrends.pipeline import refresh

# Cross joins of small materialised ranges: 10^15 rows, so it runs until stopped.
RUNAWAY = "select count(*) from range(100000) a, range(100000) b, range(100000) c"


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    root = tmp_path_factory.mktemp("sql-bounds")
    with FakeCtgov([study("NCT90000001"), study("NCT90000002")]) as fake:
        settings = test_settings(root, fake.url)
        refresh(settings)
    return settings


def sql(settings, *args, env=None):
    return CliRunner().invoke(main, ["sql", "--data-dir", str(settings.data_dir), *map(str, args)], env=env)


@pytest.mark.parametrize(
    ("args", "env"),
    [(["--timeout", "1"], None), ([], {"TRIALTRENDS_SQL_TIMEOUT": "1"})],
    ids=["option", "environment"],
)
def test_runaway_query_ends_within_its_timeout(settings, args, env):
    started = time.monotonic()
    result = sql(settings, *args, RUNAWAY, env=env)
    took = time.monotonic() - started
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines() == [
        "Error: The query was stopped after 1 seconds (--timeout, TRIALTRENDS_SQL_TIMEOUT): "
        "narrow it, or give it longer."
    ]
    assert took < 10, took  # 1 s limit; generous for a loaded machine


def test_timeout_also_bounds_fetching(settings):
    # The query starts at once; the limit must still stop it while rows are being fetched.
    query = "select * from range(10000000000)"
    with (
        pytest.raises(QueryError, match=r"stopped after 0\.5 seconds"),
        stream_query(settings.warehouse_path, query, timeout=0.5) as stream,
    ):
        for _ in stream.batches:
            time.sleep(0.01)


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--timeout", "-1"], None, "--timeout must be a number >= 0"),
        (["--timeout", "nan"], None, "--timeout must be a number >= 0"),
        ([], {"TRIALTRENDS_SQL_TIMEOUT": "soon"}, "TRIALTRENDS_SQL_TIMEOUT must be a number >= 0"),
        (["--max-rows", "0"], None, "--max-rows"),
        (["--max-rows", "5", "--format", "csv"], None, "--max-rows applies to --format table"),
    ],
)
def test_bad_bounds_are_usage_errors(settings, args, env, message):
    result = sql(settings, *args, "select 1", env=env)
    assert result.exit_code == 2 and message in result.output, result.output


def test_zero_timeout_means_no_limit(settings):
    result = sql(settings, "--timeout", "0", "select count(*) as n from range(1000)")
    assert result.exit_code == 0 and "1000" in result.output


def test_max_rows_says_how_many_were_not_shown(settings):
    result = sql(settings, "--max-rows", "5", "select range as n from range(25000)")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:7] == ["n", "-", "0", "1", "2", "3", "4"]
    assert "(24995 more rows not shown: raise --max-rows, or use --format csv.)" in lines


def test_table_default_shows_a_thousand_rows(settings):
    result = sql(settings, "select range as n from range(1500)")
    assert "(500 more rows not shown" in result.output


@pytest.mark.parametrize("rows", [0, 1, 3, 25_001])
def test_streamed_csv_and_json_hold_every_row(settings, rows):
    query = f"select range as n, 'row ' || range as label from range({rows})"
    csv_out = sql(settings, "--format", "csv", query).output.splitlines()
    assert csv_out[0] == "n,label" and len(csv_out) == rows + 1
    if rows:
        assert csv_out[-1] == f"{rows - 1},row {rows - 1}"
    parsed = json.loads(sql(settings, "--format", "json", query).output)
    assert len(parsed) == rows and (not rows or parsed[-1] == {"n": rows - 1, "label": f"row {rows - 1}"})


_PEAK = """
import resource, sys
from trialtrends.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    print("peak-mb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, file=sys.stderr)
"""


def peak_mb(settings, rows: int) -> int:
    """Peak RSS (MB) of `trialtrends sql --format csv` over `rows` rows, in a fresh process."""
    query = f"select range as n, 'row number ' || range as label from range({rows})"
    args = ["sql", "--data-dir", str(settings.data_dir), "--format", "csv", "--timeout", "120", query]
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    # The line is marked: a library may print more at interpreter exit (nanobind's leak notes).
    return int(next(line for line in done.stderr.splitlines() if line.startswith("peak-mb ")).split()[1])


def test_csv_streams_in_bounded_memory(settings):
    """Half a million rows cost about what a thousand do. Fetch-all (the command before issue
    20) held +115 MB here and +458 MB at 2 M rows; streamed 20 M rows peak at +20 MB over this
    floor (bench/bench_sql_stream.py)."""
    small = peak_mb(settings, 1_000)
    large = peak_mb(settings, 500_000)
    assert large - small < 40, (small, large)
