"""Bad inputs through the real entry point: each gives its exit code, one `Error:` line, no traceback.

Exit codes: 0 ok, 1 the command failed, 2 bad options or settings, 3 no warehouse (or no runs),
4 no data for what was asked, 130 interrupted. Most cases run `trialtrends.cli.main` in-process
with CliRunner (a subprocess costs seconds of imports); a few run the installed `trialtrends`
script as a real process, for the real exit status.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from builders import study
from click.testing import CliRunner
from conftest import test_settings
from fakeapi import FakeCtgov

from trialtrends.cli import main
from trialtrends.settings import RULES

# Each CLI invocation configures the root logger (conftest.restore_logging puts it back).
pytestmark = pytest.mark.usefixtures("restore_logging")


ENTRY_POINT = Path(sys.executable).with_name("trialtrends")
UNREACHABLE = "http://127.0.0.1:9/api/v2"  # the discard port: nothing listens, connection refused
NETWORK_HINT = "check the network, or use --api-url for a mirror or --source for a bulk file"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """A small published warehouse (trials first posted in 2021 and 2022); read-only use."""
    from trialtrends.pipeline import refresh

    studies = [
        study("NCT90000001", countries=["United States"]),
        study("NCT90000002", title="BCMA CAR-T in myeloma", countries=["China"]),
        study(
            "NCT90000003", title="Anti-CD19 CAR-T cells in ALL", posted="2021-06-01", submitted="2021-05-01"
        ),
    ]
    with FakeCtgov(studies) as fake:
        settings = test_settings(tmp_path_factory.mktemp("bad-inputs"), fake.url)
        refresh(settings)
    return settings.data_dir


@pytest.fixture(scope="module")
def failing_api():
    """A fake API that answers every request with HTTP 503."""
    with FakeCtgov([study()]) as fake:
        fake.inject("503", times=100_000, path="*")
        yield fake.url


class World(dict):
    """Placeholders for the case table, made on first use inside the test's tmp folder."""

    def __init__(self, tmp: Path, warehouse: Path, failing_api: str) -> None:
        super().__init__(tmp=str(tmp), wh=str(warehouse), unreachable=UNREACHABLE, failing=failing_api)
        self.tmp = tmp
        self.warehouse = warehouse

    def __missing__(self, key: str) -> str:
        path = self.tmp / key
        make = getattr(self, f"_{key}")
        value = make(path)
        self[key] = str(value if value is not None else path)
        return self[key]

    # -- bulk inputs -------------------------------------------------------------------------
    def _truncated_gz(self, path: Path) -> Path:
        path = path.with_suffix(".jsonl.gz")
        lines = b"".join(json.dumps(study(f"NCT9{i:07d}")).encode() + b"\n" for i in range(200))
        path.write_bytes(gzip.compress(lines)[:-300])
        return path

    def _not_gzip(self, path: Path) -> Path:
        path = path.with_suffix(".jsonl.gz")
        path.write_text(json.dumps(study()) + "\n")
        return path

    def _not_zip(self, path: Path) -> Path:
        path = path.with_suffix(".zip")
        path.write_text("this is not a zip archive\n")
        return path

    def _truncated_zip(self, path: Path) -> Path:
        path = path.with_suffix(".zip")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for i in range(20):
                archive.writestr(f"NCT9{i:07d}.json", json.dumps(study(f"NCT9{i:07d}")))
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        return path

    def _zip_of_junk(self, path: Path) -> Path:
        path = path.with_suffix(".zip")
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("NCT90000001.json", "{not json")
        return path

    def _empty_jsonl(self, path: Path) -> Path:
        path = path.with_suffix(".jsonl")
        path.write_bytes(b"")
        return path

    def _empty_gz(self, path: Path) -> Path:
        path = path.with_suffix(".jsonl.gz")
        path.write_bytes(b"")
        return path

    def _empty_zip(self, path: Path) -> Path:
        path = path.with_suffix(".zip")
        path.write_bytes(b"")
        return path

    def _junk_jsonl(self, path: Path) -> Path:
        path = path.with_suffix(".jsonl")
        path.write_text('garbage\n{"half": \n[1, 2]\n')
        return path

    def _good_jsonl(self, path: Path) -> Path:
        path = path.with_suffix(".jsonl")
        path.write_text("".join(json.dumps(study(f"NCT9{i:07d}")) + "\n" for i in range(3)))
        return path

    def _txt_source(self, path: Path) -> Path:
        path = path.with_suffix(".txt")
        path.write_text("NCT90000001\n")
        return path

    def _empty_folder(self, path: Path) -> None:
        path.mkdir()

    # -- paths that cannot work --------------------------------------------------------------
    def _file(self, path: Path) -> None:
        path.write_text("a regular file\n")

    def _under_file(self, path: Path) -> Path:
        return Path(self["file"]) / "data"

    def _readonly(self, path: Path) -> None:
        path.mkdir()
        path.chmod(0o555)
        if os.access(path, os.W_OK):
            pytest.skip("running as root: a chmod 0o555 folder is still writable")

    def _dir_warehouse(self, path: Path) -> None:
        (path / "warehouse" / "trialtrends.duckdb").mkdir(parents=True)

    def _garbage_warehouse(self, path: Path) -> None:
        (path / "warehouse").mkdir(parents=True)
        (path / "warehouse" / "trialtrends.duckdb").write_bytes(b"\x00garbage, not a DuckDB file" * 100)

    def _foreign_warehouse(self, path: Path) -> None:
        import duckdb

        (path / "warehouse").mkdir(parents=True)
        duckdb.connect(str(path / "warehouse" / "trialtrends.duckdb")).close()  # a valid, empty DuckDB file

    def _bad_manifest(self, path: Path) -> None:
        run = path / "raw" / "20260101T000000.000000Z-dead"
        run.mkdir(parents=True)
        (run / "manifest.json").write_text("{ truncated")

    def _damaged_run(self, path: Path) -> None:
        shutil.copytree(self.warehouse, path)
        (page,) = sorted((path / "raw").glob("*/car_t-page-0001.json.gz"))
        page.chmod(0o644)
        page.write_bytes(gzip.compress(b'{"studies": []}'))  # no longer what the manifest's sha256 says

    def _copy_with_bad_manifest(self, path: Path) -> None:
        shutil.copytree(self.warehouse, path)
        self._bad_manifest(path)

    def _nonexport(self, path: Path) -> None:
        path.mkdir()
        (path / "notes.txt").write_text("mine")

    def _query_file(self, path: Path) -> Path:
        path = path.with_suffix(".sql")
        path.write_text("select count(*) from trials\n")
        return path

    def _latin1_query(self, path: Path) -> Path:
        path = path.with_suffix(".sql")
        path.write_bytes("select 'café'".encode("latin-1"))
        return path

    def _empty_query_file(self, path: Path) -> Path:
        path = path.with_suffix(".sql")
        path.write_text("  \n")
        return path


@dataclass
class Case:
    id: str
    args: list[str]
    code: int
    fragment: str = ""
    env: dict[str, str] = field(default_factory=dict)
    stdin: str | None = None
    xfail: str | None = None  # a bug in a file this session does not own: strict xfail


def bad_env(variable: str, value: str, command: list[str] | None = None, fragment: str | None = None) -> Case:
    command = command or ["report", "--year", "2022", "--data-dir", "{wh}"]
    return Case(f"env-{variable.removeprefix('TRIALTRENDS_').lower()}={value}-{command[0]}", command, 2,
                fragment or f"{variable} must be", env={variable: value})  # fmt: skip


REFRESH = ["refresh", "--data-dir", "{tmp}/data"]
BULK = [*REFRESH, "--source"]
REPORT = ["report", "--year", "2022", "--data-dir", "{wh}"]
SQL = ["sql", "--data-dir", "{wh}"]
FAST_FAIL = {"TRIALTRENDS_MAX_RETRIES": "0", "TRIALTRENDS_MAX_RPS": "0"}

# fmt: off
CASES = [
    # -- refresh from a bulk file ------------------------------------------------------------
    Case("bulk-truncated-gz", [*BULK, "{truncated_gz}"], 1, "is truncated or corrupt"),
    Case("bulk-not-gzip", [*BULK, "{not_gzip}"], 1, "is not a gzip file (it has no gzip header)"),
    Case("bulk-not-a-zip", [*BULK, "{not_zip}"], 1, "is not a readable zip"),
    Case("bulk-truncated-zip", [*BULK, "{truncated_zip}"], 1, "is not a readable zip"),
    Case("bulk-zip-of-junk", [*BULK, "{zip_of_junk}"], 1, "gate"),
    Case("bulk-empty-jsonl", [*BULK, "{empty_jsonl}"], 1, "gate classifier_sanity failed"),
    Case("bulk-empty-gz", [*BULK, "{empty_gz}"], 1, "is not a gzip file (it is empty)"),
    Case("bulk-empty-zip", [*BULK, "{empty_zip}"], 1, "is not a readable zip"),
    Case("bulk-junk-jsonl", [*BULK, "{junk_jsonl}"], 1, "gate data_quality failed"),
    Case("bulk-unknown-kind", [*BULK, "{txt_source}"], 1, "is not a .zip, a folder of study JSON files"),
    Case("bulk-empty-folder", [*BULK, "{empty_folder}"], 1, "gate"),
    Case("bulk-missing", [*BULK, "{tmp}/no-such.zip"], 2, "does not exist"),
    Case("bulk-and-since", [*BULK, "{empty_jsonl}", "--since", "2024-01-01"], 2, "--since applies to the API"),
    # -- refresh from the API ----------------------------------------------------------------
    Case("api-url-not-a-url", [*REFRESH, "--api-url", "not-a-url"], 2, "--api-url must be an http:// or https:// URL"),
    Case("api-url-ftp", [*REFRESH, "--api-url", "ftp://example.org/api/v2"], 2, "got 'ftp://example.org/api/v2'"),
    Case("api-url-no-host", [*REFRESH, "--api-url", "http://"], 2, "with a host"),
    Case("api-url-bad-port", [*REFRESH, "--api-url", "http://localhost:port/api"], 2, "with a host"),
    Case("api-unreachable", [*REFRESH, "--api-url", "{unreachable}"], 1, NETWORK_HINT, env=FAST_FAIL),
    Case("api-unreachable-names-cause", [*REFRESH, "--api-url", "{unreachable}"], 1, "connection", env=FAST_FAIL),
    Case("api-always-503", [*REFRESH, "--api-url", "{failing}"], 1, NETWORK_HINT, env=FAST_FAIL),
    Case("max-rps-text", [*REFRESH, "--max-rps", "abc"], 2, "'abc' is not a valid float"),
    Case("max-rps-negative", [*REFRESH, "--max-rps", "-1"], 2, "--max-rps must be a number >= 0"),
    Case("since-bad-date", [*REFRESH, "--since", "2022-13-01"], 2, "--since"),
    Case("since-words", [*REFRESH, "--since", "yesterday"], 2, "--since"),
    Case("wait-lock-negative", [*REFRESH, "--wait-lock", "-1"], 2, "--wait-lock must be a number >= 0"),
    Case("wait-lock-text", [*REFRESH, "--wait-lock", "soon"], 2, "--wait-lock"),
    Case("refresh-data-dir-under-file", ["refresh", "--data-dir", "{under_file}"], 2, "is a file, not a folder"),
    Case("refresh-data-dir-is-file", ["refresh", "--data-dir", "{file}"], 2, "is a file"),
    Case("refresh-data-dir-read-only", ["refresh", "--data-dir", "{readonly}/data", "--source", "{empty_jsonl}"], 1, "not writable"),
    Case("refresh-data-dir-proc", ["refresh", "--data-dir", "/proc/trialtrends-test/data", "--source", "{empty_jsonl}"], 1, "/proc/trialtrends-test"),
    Case("refresh-warehouse-is-dir-heals", ["refresh", "--data-dir", "{dir_warehouse}", "--source", "{good_jsonl}"], 0),
    Case("refresh-unknown-option", [*REFRESH, "--fast"], 2, "No such option '--fast'"),
    # -- settings from the environment (validated at start-up, whatever the command) --------
    bad_env("TRIALTRENDS_MAX_RPS", "abc", fragment="TRIALTRENDS_MAX_RPS must be a number >= 0 (requests per second"),
    bad_env("TRIALTRENDS_MAX_RPS", "abc", ["runs", "--data-dir", "{wh}"]),
    bad_env("TRIALTRENDS_MAX_RPS", "abc", [*SQL, "select 1"]),
    bad_env("TRIALTRENDS_MAX_RPS", "abc", ["export", "{tmp}/out", "--data-dir", "{wh}"]),
    bad_env("TRIALTRENDS_MAX_RPS", "-1", ["refresh", "--data-dir", "{tmp}/data"]),
    bad_env("TRIALTRENDS_MAX_RPS", "nan"),
    bad_env("TRIALTRENDS_CONNECT_TIMEOUT", "0", fragment="TRIALTRENDS_CONNECT_TIMEOUT must be a number > 0 (seconds)"),
    bad_env("TRIALTRENDS_CONNECT_TIMEOUT", "abc"),
    bad_env("TRIALTRENDS_READ_TIMEOUT", "-1", fragment="TRIALTRENDS_READ_TIMEOUT must be a number > 0 (seconds), got '-1'."),
    bad_env("TRIALTRENDS_MAX_RETRIES", "-1", ["refresh", "--data-dir", "{tmp}/data"], "TRIALTRENDS_MAX_RETRIES must be a whole number >= 0"),
    bad_env("TRIALTRENDS_MAX_RETRIES", "1.5"),
    bad_env("TRIALTRENDS_MAX_RETRIES", "many"),
    bad_env("TRIALTRENDS_BACKOFF_BASE", "-1"),
    bad_env("TRIALTRENDS_BACKOFF_CAP", "-60"),
    bad_env("TRIALTRENDS_MAX_REJECTED_SHARE", "1.5", fragment="must be a number between 0 and 1 (a share), got '1.5'"),
    bad_env("TRIALTRENDS_MAX_REJECTED_SHARE", "-0.1"),
    bad_env("TRIALTRENDS_MAX_COUNT_DROP", "2"),
    bad_env("TRIALTRENDS_MAX_UNCLASSIFIED_SHARE", "most"),
    bad_env("TRIALTRENDS_WORKERS", "0", fragment="TRIALTRENDS_WORKERS must be a whole number >= 1"),
    bad_env("TRIALTRENDS_WORKERS", "-3"),
    bad_env("TRIALTRENDS_WORKERS", "two"),
    bad_env("TRIALTRENDS_LOCK_WAIT", "-1", ["rebuild", "--data-dir", "{wh}"]),
    bad_env("TRIALTRENDS_LOCK_WAIT", "forever"),
    bad_env("TRIALTRENDS_API_URL", "not-a-url", fragment="TRIALTRENDS_API_URL must be an http:// or https:// URL"),
    bad_env("TRIALTRENDS_API_URL", "ftp://mirror.example/api/v2", ["refresh", "--data-dir", "{tmp}/data"]),
    Case("env-several-bad", REPORT, 2, "TRIALTRENDS_MAX_RPS must be",
         env={"TRIALTRENDS_MAX_RPS": "x", "TRIALTRENDS_WORKERS": "0"}),
    Case("env-data-dir-under-file", ["refresh"], 2, "is a file, not a folder", env={"TRIALTRENDS_DATA_DIR": "{under_file}"}),
    # -- report ------------------------------------------------------------------------------
    Case("report-year-outside-data", ["report", "--year", "1990", "--data-dir", "{wh}"], 4, "the warehouse covers 2021-2022"),
    Case("report-year-before-data", ["report", "--year", "2020", "--data-dir", "{wh}"], 4, "No ALL trials"),
    Case("report-year-absurd", ["report", "--year", "30000", "--data-dir", "{wh}"], 2, "--year"),
    Case("report-year-text", ["report", "--year", "last", "--data-dir", "{wh}"], 2, "'last' is not a valid integer"),
    Case("report-year-missing", ["report", "--data-dir", "{wh}"], 2, "Missing option '--year'"),
    Case("report-unknown-modality", [*REPORT, "--modality", "CAR-X"], 2, "'CAR-X' is not one of 'CAR-T'"),
    Case("report-unknown-basis", [*REPORT, "--basis", "sometime"], 2, "'sometime' is not one of 'first_posted'"),
    Case("report-unknown-role", [*REPORT, "--role", "all"], 2, "'all' is not one of 'lead', 'any'"),
    Case("report-unknown-format", [*REPORT, "--format", "xml"], 2, "'xml' is not one of"),
    Case("report-top-zero", [*REPORT, "--top", "0"], 2, "--top"),
    Case("report-out-under-file", [*REPORT, "--out", "{under_file}"], 1, "is a file, not a folder"),
    Case("report-out-is-file", [*REPORT, "--out", "{file}"], 2, "is a file"),
    Case("report-no-warehouse", ["report", "--year", "2022", "--data-dir", "{tmp}"], 3, "No warehouse"),
    Case("report-data-dir-under-file", ["report", "--year", "2022", "--data-dir", "{under_file}"], 3, "No warehouse"),
    Case("report-warehouse-is-dir", ["report", "--year", "2022", "--data-dir", "{dir_warehouse}"], 1, "is a directory, not a warehouse file"),
    Case("report-garbage-warehouse", ["report", "--year", "2022", "--data-dir", "{garbage_warehouse}"], 1, "cannot be read"),
    Case("report-foreign-duckdb", ["report", "--year", "2022", "--data-dir", "{foreign_warehouse}"], 1, "could not be read"),
    Case("report-quiet-after-command", [*REPORT, "-q"], 0),
    # -- sql ---------------------------------------------------------------------------------
    Case("sql-syntax-error", [*SQL, "selec 1"], 1, "does not parse"),
    Case("sql-unknown-table", [*SQL, "select * from no_such_table"], 1, "The query failed"),
    Case("sql-runtime-error", [*SQL, "select 'a'::integer"], 1, "The query failed"),
    Case("sql-delete", [*SQL, "delete from trials"], 1, "Refused"),
    Case("sql-two-statements", [*SQL, "select 1; select 2"], 1, "exactly one statement"),
    Case("sql-copy-to", [*SQL, "copy trials to '{tmp}/x.csv'"], 1, "Refused"),
    Case("sql-attach", [*SQL, "attach '{tmp}/other.duckdb' as o"], 1, "Refused"),
    Case("sql-set", [*SQL, "set threads = 1"], 1, "Refused"),
    Case("sql-read-a-file", [*SQL, "select * from read_text('/etc/hostname')"], 1, "Refused"),
    Case("sql-empty", [*SQL, ""], 2, "is empty"),
    Case("sql-blank", [*SQL, "   \n "], 2, "is empty"),
    Case("sql-only-semicolon", [*SQL, ";"], 2, "is empty"),
    Case("sql-only-comment", [*SQL, "--", "-- nothing here"], 1, "exactly one statement"),
    Case("sql-comment-read-as-option", [*SQL, "-- nothing here"], 2, "No such option '-- nothing here'"),
    Case("sql-stdin-empty", [*SQL, "-"], 2, "The query from stdin is empty", stdin=""),
    Case("sql-stdin-refused", [*SQL, "-"], 1, "Refused", stdin="drop view yearly_counts;\n"),
    Case("sql-file-missing", [*SQL, "--file", "{tmp}/missing.sql"], 2, "does not exist"),
    Case("sql-file-is-dir", [*SQL, "--file", "{tmp}"], 2, "is a directory"),
    Case("sql-file-not-utf8", [*SQL, "--file", "{latin1_query}"], 2, "is not UTF-8 text"),
    Case("sql-file-empty", [*SQL, "--file", "{empty_query_file}"], 2, "is empty"),
    Case("sql-no-query", SQL, 2, "Give a query"),
    Case("sql-query-and-file", [*SQL, "select 1", "--file", "{query_file}"], 2, "not both"),
    Case("sql-unknown-format", [*SQL, "select 1", "--format", "yaml"], 2, "'yaml' is not one of 'table', 'csv', 'json'"),
    Case("sql-no-warehouse", ["sql", "select 1", "--data-dir", "{tmp}"], 3, "No warehouse"),
    Case("sql-garbage-warehouse", ["sql", "select 1", "--data-dir", "{garbage_warehouse}"], 1, "cannot be read"),
    # -- runs --------------------------------------------------------------------------------
    Case("runs-no-data", ["runs", "--data-dir", "{tmp}"], 3, "No runs"),
    Case("runs-limit-zero", ["runs", "--limit", "0", "--data-dir", "{wh}"], 2, "--limit"),
    Case("runs-limit-text", ["runs", "--limit", "all", "--data-dir", "{wh}"], 2, "--limit"),
    Case("runs-corrupt-manifest", ["runs", "--data-dir", "{bad_manifest}"], 0),
    # -- rebuild -----------------------------------------------------------------------------
    Case("rebuild-unknown-run", ["rebuild", "--run", "no-such-run", "--data-dir", "{wh}"], 1, "No landed run no-such-run"),
    Case("rebuild-no-runs", ["rebuild", "--data-dir", "{tmp}/data"], 1, "No completely landed run"),
    Case("rebuild-only-corrupt-manifest", ["rebuild", "--data-dir", "{bad_manifest}"], 1, "No completely landed run"),
    Case("refresh-beside-a-corrupt-manifest", ["refresh", "--data-dir", "{bad_manifest}", "--source", "{junk_jsonl}"], 1, "gate"),
    Case("rebuild-damaged-raw", ["rebuild", "--data-dir", "{damaged_run}"], 1, "does not match its manifest checksum"),
    Case("rebuild-beside-a-corrupt-manifest", ["rebuild", "--data-dir", "{copy_with_bad_manifest}"], 0),
    Case("rebuild-data-dir-under-file", ["rebuild", "--data-dir", "{under_file}"], 2, "is a file, not a folder"),
    Case("rebuild-wait-lock-negative", ["rebuild", "--wait-lock", "-5", "--data-dir", "{wh}"], 2, "--wait-lock must be"),
    # -- export ------------------------------------------------------------------------------
    Case("export-no-warehouse", ["export", "{tmp}/out", "--data-dir", "{tmp}"], 3, "No warehouse"),
    Case("export-under-file", ["export", "{under_file}", "--data-dir", "{wh}"], 1, "is a file, not a folder"),
    Case("export-to-a-file", ["export", "{file}", "--data-dir", "{wh}"], 2, "is a file"),
    Case("export-over-other-files", ["export", "{nonexport}", "--data-dir", "{wh}"], 1, "not an earlier export"),
    Case("export-no-dir", ["export", "--data-dir", "{wh}"], 2, "Missing argument 'DIR'"),
    # -- the command line itself -------------------------------------------------------------
    Case("unknown-command", ["refrsh"], 2, "No such command 'refrsh'"),
    Case("unknown-global-option", ["--fast", "runs"], 2, "No such option '--fast'"),
]
# fmt: on


def _params():
    for case in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
        yield pytest.param(case, id=case.id, marks=marks)


def assert_one_error(output: str, code: int, got: int, fragment: str) -> None:
    assert got == code, output
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("Error:")]
    if code == 0:
        assert errors == [], output
        return
    assert len(errors) == 1, output
    assert fragment in errors[0], output


@pytest.mark.parametrize("case", list(_params()))
def test_bad_input(case: Case, tmp_path, warehouse, failing_api):
    world = World(tmp_path, warehouse, failing_api)
    args = [a.format_map(world) for a in case.args]
    env = {rule.env: None for rule in RULES.values()} | {
        "TRIALTRENDS_DATA_DIR": None,
        "TRIALTRENDS_API_URL": None,
    }
    env |= {k: v.format_map(world) for k, v in case.env.items()}
    before = sorted(p.name for p in Path(warehouse).rglob("*"))
    result = CliRunner().invoke(main, args, env=env, input=case.stdin, catch_exceptions=False)
    assert_one_error(result.output, case.code, result.exit_code, case.fragment)
    assert sorted(p.name for p in Path(warehouse).rglob("*")) == before  # the shared warehouse untouched


def test_there_are_enough_cases():
    assert len(CASES) >= 70
    assert len({c.id for c in CASES}) == len(CASES)


# -- real processes: the exit status the shell sees -----------------------------------------


def _run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("TRIALTRENDS_")}
    return subprocess.run(
        [str(ENTRY_POINT), *args], env=base | (env or {}), capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("args", "env", "code", "fragment"),
    [
        (["report", "--year", "2022"], {"TRIALTRENDS_MAX_RPS": "abc"}, 2, "TRIALTRENDS_MAX_RPS must be"),
        (["report", "--year", "2022", "--data-dir", "{tmp}"], {}, 3, "No warehouse"),
        (["report", "--year", "1990", "--data-dir", "{wh}"], {}, 4, "the warehouse covers"),
        (["refresh", "--data-dir", "{tmp}/data", "--api-url", UNREACHABLE], FAST_FAIL, 1, NETWORK_HINT),
        (["sql", "-", "--data-dir", "{wh}"], {}, 2, "is empty"),
    ],
    ids=["bad-setting", "no-warehouse", "no-data", "unreachable", "empty-stdin"],
)
def test_real_process_exit_codes(args, env, code, fragment, tmp_path, warehouse):
    assert ENTRY_POINT.is_file(), ENTRY_POINT
    args = [a.format(tmp=tmp_path, wh=warehouse) for a in args]
    done = _run(args, env)
    assert_one_error(done.stdout + done.stderr, code, done.returncode, fragment)
    assert all(line.startswith("Error:") for line in done.stderr.splitlines() if "Error:" in line)


def test_real_process_interrupted_exits_130(tmp_path):
    with FakeCtgov([study()]) as fake:
        fake.inject("hang", times=1, path="/studies", max_seconds=60)
        base = {k: v for k, v in os.environ.items() if not k.startswith("TRIALTRENDS_")}
        proc = subprocess.Popen(
            [str(ENTRY_POINT), "refresh", "--api-url", fake.url, "--data-dir", str(tmp_path), "--max-rps", "0"],
            env=base, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while not fake.requests.snapshot() or not any(
                "/studies" in r.path for r in fake.requests.snapshot()
            ):
                assert time.monotonic() < deadline and proc.poll() is None, (
                    "the refresh never reached the search"
                )
                time.sleep(0.05)
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert_one_error(out + err, 130, proc.returncode, "Interrupted.")
    assert err.splitlines()[-1] == "Error: Interrupted."
    (manifest,) = tmp_path.glob("raw/*/manifest.json")
    assert json.loads(manifest.read_text())["status"] == "failed"
