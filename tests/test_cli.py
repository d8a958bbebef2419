"""The CLI through its entry point: every command, format and error path."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from trialtrends.cli import main

# Each CLI invocation configures the root logger (conftest.restore_logging puts it back).
pytestmark = pytest.mark.usefixtures("restore_logging")


def invoke(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)


def assert_one_clear_error(result, code, *fragments):
    """Exit `code`, no traceback, and exactly one `Error:` line that holds every fragment."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment in errors[0]


@pytest.mark.parametrize("command", [[], ["refresh"], ["rebuild"], ["runs"], ["sql"], ["report"]])
def test_every_command_has_help(command):
    result = invoke(*command, "--help")
    assert result.exit_code == 0 and "Usage:" in result.output


def test_no_warehouse_says_how_to_make_one(tmp_path):
    result = invoke("sql", "select 1", "--data-dir", tmp_path)
    assert_one_clear_error(result, 3, "No warehouse", "trialtrends refresh")
    result = invoke("report", "--year", "2022", "--data-dir", tmp_path)
    assert_one_clear_error(result, 3, "No warehouse")
    result = invoke("runs", "--data-dir", tmp_path)
    assert_one_clear_error(result, 3, "trialtrends refresh")


@pytest.mark.parametrize(
    "query",
    ["DELETE FROM trials", "drop view yearly_counts", "copy trials to 'x.csv'",
     "attach 'other.duckdb' as o", "select 1; delete from trials", "create table x as select 1"],
)  # fmt: skip
def test_sql_refuses_writes(corpus_warehouse, query):
    result = invoke("sql", query, "--data-dir", corpus_warehouse.data_dir)
    assert result.exit_code == 1
    assert "Refused" in result.output or "exactly one statement" in result.output
    count = invoke(
        "sql", "select count(*) as n from trials", "--data-dir", corpus_warehouse.data_dir, "--format", "json"
    )
    assert json.loads(count.output)[0]["n"] > 2000


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_sql_formats(corpus_warehouse, fmt):
    result = invoke("sql", "select modality, trials from yearly_counts where basis = 'first_posted' and year = 2022 "
                    "order by modality", "--format", fmt, "--data-dir", corpus_warehouse.data_dir)  # fmt: skip
    assert result.exit_code == 0
    if fmt == "json":
        rows = json.loads(result.output)
        assert {r["modality"] for r in rows} >= {"ALL", "CAR-T"}
    elif fmt == "csv":
        assert result.output.splitlines()[0] == "modality,trials"
    else:
        assert result.output.splitlines()[0].split() == ["modality", "trials"]


def test_sql_error_is_one_sentence(corpus_warehouse):
    result = invoke("sql", "select * from no_such_table", "--data-dir", corpus_warehouse.data_dir)
    assert_one_clear_error(result, 1, "The query failed")


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv", "json"])
def test_report_formats(corpus_warehouse, fmt):
    result = invoke("report", "--year", 2022, "--format", fmt, "--data-dir", corpus_warehouse.data_dir)
    assert result.exit_code == 0, result.output
    out = result.output
    if fmt == "json":
        data = json.loads(out)
        assert data["year"] == 2022 and data["basis"] == "first_posted"
        assert [r["year"] for r in data["trend"] if r["modality"] == "ALL"] == [2018, 2019, 2020, 2021, 2022]
        assert data["countries"][0]["rank"] == 1 and data["sponsors"]
        assert data["provenance"]["classifier_version"] and data["provenance"]["queries"]
        assert any("ChiCTR" in c for c in data["provenance"]["caveats"])
    elif fmt == "csv":
        assert out.splitlines()[0].startswith("section,modality,year")
        assert {line.split(",")[0] for line in out.splitlines()[1:]} >= {
            "trend",
            "phase",
            "country",
            "sponsor",
        }
    else:
        for heading in ("Trials per year", "Phase distribution, 2022", "Top 10 countries", "Top 10 sponsors",
                        "Provenance", "ChiCTR"):  # fmt: skip
            assert heading in out
        if fmt == "markdown":
            assert "## Phase distribution" in out and "|---" in out


def test_report_single_modality_and_options(corpus_warehouse):
    result = invoke("report", "--year", 2022, "--modality", "CAR-T", "--top", 3, "--role", "any",
                    "--basis", "start", "--format", "json", "--data-dir", corpus_warehouse.data_dir)  # fmt: skip
    data = json.loads(result.stdout)  # stderr carries the warning that the corpus has no collaborators
    assert any("collaborator rows" in c for c in data["provenance"]["caveats"])
    assert data["modalities"] == ["CAR-T"] and data["role"] == "any" and data["basis"] == "start"
    assert len(data["countries"]) >= 3 and max(r["rank"] for r in data["countries"]) <= 3


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["--modality", "CAR-X"], 2, "'CAR-X' is not one of 'CAR-T', 'TCR-T', 'TIL', 'NK', 'ALL'"),
        (["--basis", "sometime"], 2, "'sometime' is not one of 'first_posted'"),
        (["--year", "1990"], 4, "No ALL trials with first_posted year 1990"),
    ],
)
def test_report_errors(corpus_warehouse, args, code, fragment):
    base = ["report", "--data-dir", corpus_warehouse.data_dir]
    if "--year" not in args:
        base += ["--year", "2022"]
    result = invoke(*base, *args)
    assert_one_clear_error(result, code, fragment)


def test_report_out_writes_charts_and_html(corpus_warehouse, tmp_path):
    out = tmp_path / "report"
    result = invoke("report", "--year", 2022, "--out", out, "--data-dir", corpus_warehouse.data_dir)
    assert result.exit_code == 0
    names = sorted(p.name for p in out.iterdir())
    stem = "report-2022-all-groups-first_posted"
    charts = ("cell-sources", "disease-areas", "phases", "sponsor-types", "targets", "trend")
    assert names == sorted([*(f"{stem}-{c}.{ext}" for c in charts for ext in ("png", "svg")), f"{stem}.html"])
    html = (out / f"{stem}.html").read_text()
    assert "<svg" in html and "Top 10 countries" in html
    # Self-contained: nothing is loaded from elsewhere (XML namespace URIs are names, not loads).
    for external in ('src="http', "src='http", 'href="http', "<link", "<script", "url(http", "@import"):
        assert external not in html
    assert (out / f"{stem}-trend.png").read_bytes()[:4] == b"\x89PNG"


# What the commands that only read the warehouse must not import (the pipeline brings Polars and
# pandera; Prefect lives in flows/). `export` streams Parquet through pyarrow, which it uses.
HEAVY = ("prefect", "polars", "matplotlib", "pandera", "requests", "rich", "trialtrends.pipeline")
READ_COMMANDS = {
    "report": (["report", "--year", "2022"], ("pyarrow", "numpy")),
    "sql": (["sql", "select count(*) from trials"], ("pyarrow", "numpy")),
    "runs": (["runs"], ("pyarrow", "numpy")),
    "export": (["export", "{tmp}/export"], ()),
}


@pytest.mark.parametrize("command", list(READ_COMMANDS))
def test_report_path_imports_no_heavy_modules(corpus_warehouse, tmp_path, command):
    args, also_heavy = READ_COMMANDS[command]
    argv = [a.format(tmp=tmp_path) for a in args] + ["--data-dir", str(corpus_warehouse.data_dir)]
    code = (
        "import sys\n"
        "from trialtrends.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        f"heavy = [m for m in {HEAVY + also_heavy!r} if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stdout, done.stdout[-500:]


def test_runs_lists_runs(corpus_warehouse):
    result = invoke("runs", "--data-dir", corpus_warehouse.data_dir)
    assert result.exit_code == 0 and "succeeded" in result.output and "published" in result.output


def test_refresh_that_exhausts_retries_exits_with_one_sentence(tmp_path):
    # Nothing listens on this port: connection refused on every try.
    env = {"TRIALTRENDS_MAX_RETRIES": "1", "TRIALTRENDS_BACKOFF_BASE": "0.01", "TRIALTRENDS_MAX_RPS": "0"}
    result = invoke("refresh", "--api-url", "http://127.0.0.1:9/api/v2", "--data-dir", tmp_path, env=env)
    assert_one_clear_error(
        result, 1, "Giving up on 127.0.0.1:9/api/v2/", "after 2 attempts", "connection refused"
    )
    (manifest,) = (tmp_path / "raw").glob("*/manifest.json")
    assert json.loads(manifest.read_text())["status"] == "failed"


def test_refresh_from_fake_api(tmp_path):
    from builders import study
    from fakeapi import FakeCtgov

    with FakeCtgov([study("NCT90000001")]) as fake:
        result = invoke("refresh", "--api-url", fake.url, "--data-dir", tmp_path, "--max-rps", 0)
    assert result.exit_code == 0, result.output
    assert "published" in result.output
    assert (tmp_path / "warehouse" / "trialtrends.duckdb").is_file()


def test_rebuild_reprocesses_the_landed_run_without_the_network(tmp_path):
    from builders import study
    from fakeapi import FakeCtgov

    with FakeCtgov([study("NCT90000001"), study("NCT90000002", title="BCMA CAR-T in myeloma")]) as fake:
        assert invoke("refresh", "--api-url", fake.url, "--data-dir", tmp_path, "--max-rps", 0).exit_code == 0
    # The fake API is gone: a rebuild must only read data/raw.
    result = invoke("rebuild", "--data-dir", tmp_path)
    assert result.exit_code == 0, result.output
    assert "(rebuilt from run " in result.output
    count = invoke(
        "sql", "select count(*) as n from trial_modalities", "--format", "json", "--data-dir", tmp_path
    )
    assert json.loads(count.output)[0]["n"] == 2
    missing = invoke("rebuild", "--run", "no-such-run", "--data-dir", tmp_path)
    assert_one_clear_error(missing, 1, "No landed run no-such-run")


def test_choices_are_case_insensitive_and_canonical(corpus_warehouse):
    lower = invoke("report", "--year", 2022, "--modality", "car-t", "--basis", "START", "--role", "ANY",
                   "--format", "JSON", "--data-dir", corpus_warehouse.data_dir)  # fmt: skip
    assert lower.exit_code == 0, lower.output
    data = json.loads(lower.stdout)  # the no-collaborators warning goes to stderr
    assert data["modalities"] == ["CAR-T"] and data["basis"] == "start" and data["role"] == "any"
    rows = invoke("sql", "select 1 as n", "--format", "Csv", "--data-dir", corpus_warehouse.data_dir)
    assert rows.output == "n\n1\n"


def test_cli_choices_match_the_report(monkeypatch):
    from trialtrends import cli
    from trialtrends.output import report

    assert cli.MODALITIES == report.GROUPS and cli.BASES == report.BASES


def test_verbosity_after_the_subcommand(tmp_path):
    from builders import study
    from fakeapi import FakeCtgov

    with FakeCtgov([study("NCT90000001")]) as fake:
        loud = invoke("refresh", "--api-url", fake.url, "--data-dir", tmp_path / "a", "--max-rps", 0, "-v")
        quiet = invoke("refresh", "--api-url", fake.url, "--data-dir", tmp_path / "b", "--max-rps", 0, "-q")
        before = invoke("-q", "refresh", "--api-url", fake.url, "--data-dir", tmp_path / "c", "--max-rps", 0)
    assert loud.exit_code == quiet.exit_code == before.exit_code == 0
    assert "INFO" in loud.stderr and "landing raw responses" in loud.stderr
    assert "INFO" not in quiet.stderr and "INFO" not in before.stderr
    debug = invoke("runs", "--data-dir", tmp_path / "a", "-vv")
    assert debug.exit_code == 0


def test_sql_reads_stdin_and_file(corpus_warehouse, tmp_path):
    query = "select count(*) as n from trials"
    piped = CliRunner().invoke(main, ["sql", "-", "--format", "json", "--data-dir", str(corpus_warehouse.data_dir)],
                               input=query + "\n")  # fmt: skip
    assert piped.exit_code == 0, piped.output
    assert json.loads(piped.stdout)[0]["n"] > 2000
    file = tmp_path / "q.sql"
    file.write_text("-- how many trials\n" + query + ";\n")
    from_file = invoke("sql", "--file", file, "--format", "json", "--data-dir", corpus_warehouse.data_dir)
    assert json.loads(from_file.stdout) == json.loads(piped.stdout)
    both = invoke("sql", query, "--file", file, "--data-dir", corpus_warehouse.data_dir)
    assert_one_clear_error(both, 2, "not both")


def test_sql_json_is_valid_json_for_every_type(corpus_warehouse):
    query = (
        "select 'nan'::double as nan, 'inf'::double as inf, '-inf'::double as ninf, 1.5::double as x, "
        "'\\x00\\xff'::blob as blob, interval '1 day 2 hours 3 minutes 4.5 seconds' as iv, "
        "interval '-90 minutes' as neg, date '2022-03-01' as d, timestamp '2022-03-01 12:30:00' as ts, "
        "timestamptz '2022-03-01 12:30:00+00' as tstz, 12.50::decimal(10, 2) as dec, 7::decimal(10, 2) as whole, "
        "[1.0, 'nan'::double] as list, {'a': 'inf'::double, 'b': date '2020-01-01'} as struct, "
        "null as nothing, 1 as dup, 2 as dup"
    )
    result = invoke("sql", query, "--format", "json", "--data-dir", corpus_warehouse.data_dir)
    assert result.exit_code == 0, result.output
    assert "NaN" not in result.stdout and "Infinity" not in result.stdout
    (row,) = json.loads(result.stdout, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert row["nan"] is None and row["inf"] is None and row["ninf"] is None and row["x"] == 1.5
    assert row["blob"] == "AP8="  # base64 of b"\x00\xff"
    assert row["iv"] == "P1DT2H3M4.5S" and row["neg"] == "-PT1H30M"
    assert row["d"] == "2022-03-01" and row["ts"] == "2022-03-01T12:30:00"
    assert datetime.fromisoformat(row["tstz"]) == datetime(2022, 3, 1, 12, 30, tzinfo=UTC)
    assert row["dec"] == 12.5 and row["whole"] == 7 and isinstance(row["whole"], int)
    assert row["list"] == [1.0, None] and row["struct"] == {"a": None, "b": "2020-01-01"}
    assert row["nothing"] is None and row["dup"] == 1 and row["dup_2"] == 2


def test_unreachable_api_suggests_a_mirror_or_a_bulk_file(tmp_path):
    env = {"TRIALTRENDS_MAX_RETRIES": "0", "TRIALTRENDS_MAX_RPS": "0"}
    result = invoke("refresh", "--api-url", "http://127.0.0.1:9/api/v2", "--data-dir", tmp_path, env=env)
    assert_one_clear_error(
        result,
        1,
        "after 1 attempts",
        "check the network, or use --api-url for a mirror or --source for a bulk file",
    )


def test_api_refusal_gets_no_network_hint():
    from trialtrends.cli_options import with_hint as _with_hint
    from trialtrends.extract.client import ApiError

    refused = _with_hint(ApiError("The API refused http://x/studies with HTTP 400: bad filter"))
    assert "check the network" not in refused
    assert "check the network" in _with_hint(
        ApiError("Giving up on http://x after 7 attempts; last error: HTTP 503")
    )


def test_wait_lock_waits_for_another_run(tmp_path):
    import threading

    from builders import study
    from fakeapi import FakeCtgov

    from trialtrends.lock import data_dir_lock

    data = tmp_path / "data"
    with FakeCtgov([study("NCT90000001")]) as fake:
        args = ["refresh", "--api-url", fake.url, "--data-dir", data, "--max-rps", 0]
        with data_dir_lock(data, command="another refresh"):
            busy = invoke(*args, "--wait-lock", "0")
            assert_one_clear_error(busy, 1, "Another run is using the data folder")
            from_env = invoke(*args, env={"TRIALTRENDS_LOCK_WAIT": "0.2"})
            assert_one_clear_error(from_env, 1, "after waiting 0.2 s")
        held, release = threading.Event(), threading.Event()

        def hold() -> None:
            with data_dir_lock(data, command="another refresh"):
                held.set()
                release.wait(1.0)

        holder = threading.Thread(target=hold)
        holder.start()
        held.wait()
        waited = invoke(*args, "--wait-lock", "30")  # the lock is held now; the holder lets go within 1 s
        holder.join()
    assert waited.exit_code == 0, waited.output
    assert "published" in waited.stdout
    assert_one_clear_error(
        invoke("rebuild", "--wait-lock", "-1", "--data-dir", data), 2, "--wait-lock must be"
    )
