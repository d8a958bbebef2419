"""The PRISMA-style flow and the methods paragraph (output/flow.py) on the corpus warehouse:
every stage is the previous one minus its exclusions, the last is what the views count, and a
registry_studies table (registry mode) becomes the first box."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest
from click.testing import CliRunner

from trialtrends.cli import main
from trialtrends.output.flow import counted_flow, methods_paragraph
from trialtrends.output.sql import connect

pytestmark = pytest.mark.shared

SWITCHES = [(False, False), (True, False), (False, True), (True, True)]


@pytest.fixture(scope="module")
def con(corpus_warehouse):
    # The CLI's own read-only connection settings: the report tests below open the same file.
    con = connect(corpus_warehouse.warehouse_path)
    yield con
    con.close()


def _macro(view: str, fu: bool, ea: bool) -> str:
    return f"{view}_by({str(fu).lower()}, include_expanded_access := {str(ea).lower()})"


@pytest.mark.parametrize("basis", ["first_posted", "first_submitted", "start"])
@pytest.mark.parametrize(("fu", "ea"), SWITCHES)
def test_stages_chain_and_end_at_what_the_views_count(con, basis, fu, ea):
    flow = counted_flow(con, basis=basis, include_follow_up=fu, include_expanded_access=ea)
    boxes = flow["boxes"]
    assert boxes[0]["kind"] == "stage" and boxes[-1]["key"] == "counted"
    stage = None
    for box in boxes:
        assert box["trials"] >= 0, box
        if box["kind"] == "excluded":
            stage -= box["trials"]
        else:
            assert stage is None or box["trials"] == stage, box
            stage = box["trials"]
    ((yearly,),) = con.execute(
        f"select sum(trials) from {_macro('yearly_counts', fu, ea)} where modality = 'ALL' and basis = ?",
        [basis],
    ).fetchall()
    assert flow["counted"] == boxes[-1]["trials"] == yearly
    for group, n in flow["counted_by_group"].items():
        ((expected,),) = con.execute(
            f"select coalesce(sum(trials), 0) from {_macro('yearly_counts', fu, ea)} "
            "where modality = ? and basis = ?",
            [group, basis],
        ).fetchall()
        assert n == expected, group
    by_key = {b["key"]: b["trials"] for b in boxes}
    if fu:
        assert by_key["follow_up"] == 0 and "(included)" in boxes[8]["label"]
    if ea:
        assert by_key["expanded_access"] == 0 and "(included)" in boxes[9]["label"]
    assert by_key["candidates"] == con.execute("select count(*) from trials").fetchall()[0][0]


def test_default_flow_excludes_follow_up_and_expanded_access(con):
    by_key = {b["key"]: b["trials"] for b in counted_flow(con)["boxes"]}
    ((follow_up, expanded),) = con.execute(
        "select count(*) filter (where is_long_term_follow_up), "
        "count(*) filter (where is_expanded_access and not is_long_term_follow_up) "
        "from trial_report_groups where modality = 'ALL'"
    ).fetchall()
    assert follow_up > 0 and expanded > 0  # the corpus has both, so the boxes are exercised
    assert (by_key["follow_up"], by_key["expanded_access"]) == (follow_up, expanded)
    ((pulled,),) = con.execute("select unique_studies from runs where published").fetchall()
    assert by_key["identified"] == pulled


def test_methods_paragraph_cites_the_night(con):
    flow = counted_flow(con, basis="start")
    text = methods_paragraph(flow)
    ((run_id, stamp, version),) = con.execute(
        "select run_id, data_timestamp, classifier_version from runs where published"
    ).fetchall()
    for fact in (run_id, stamp, version, "start date", f"{flow['counted']:,}", "car_t", "expanded-access"):
        assert fact in text, fact
    assert "Included on request" not in text
    assert "Included on request: follow-up studies" in methods_paragraph(
        counted_flow(con, include_follow_up=True)
    )


def test_registry_studies_table_is_the_first_box(corpus_warehouse, tmp_path):
    path = tmp_path / "registry.duckdb"
    shutil.copy(corpus_warehouse.warehouse_path, path)
    con = duckdb.connect(str(path))
    con.execute("create or replace table registry_studies as select 'NCT' || lpad(i::varchar, 8, '0') as nct_id "
                "from range(100000) t(i)")  # fmt: skip
    flow = counted_flow(con)
    con.close()
    first = flow["boxes"][0]
    assert (first["label"], first["trials"]) == ("studies in the registry", 100000)
    assert flow["boxes"][1]["trials"] == 100000 - flow["boxes"][3]["trials"]  # not candidates
    assert "full registry (100,000 studies)" in methods_paragraph(flow)


def _report(corpus_warehouse, fmt: str) -> str:
    args = ["report", "--year", "2022", "--format", fmt, "--data-dir", str(corpus_warehouse.data_dir)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_report_json_carries_flow_and_methods(corpus_warehouse):
    data = json.loads(_report(corpus_warehouse, "json"))
    assert data["flow"]["boxes"][-1]["trials"] == data["flow"]["counted"]
    assert data["methods"] == methods_paragraph(data["flow"])
    markdown = _report(corpus_warehouse, "markdown")
    assert "## Flow of trials to the counted set" in markdown and "## Methods" in markdown
    assert "| trials counted" in markdown and data["methods"] in markdown


def test_incremental_run_starts_from_the_warehouse(corpus_warehouse, tmp_path):
    path = tmp_path / "incremental.duckdb"
    shutil.copy(corpus_warehouse.warehouse_path, path)
    con = duckdb.connect(str(path))
    # A run that brought 12 studies published a warehouse of thousands: it merged earlier runs.
    con.execute("update runs set unique_studies = 12 where published")
    flow = counted_flow(con)
    con.close()
    first = flow["boxes"][0]
    assert (
        first["label"].startswith("studies in the warehouse")
        and first["trials"] == flow["boxes"][3]["trials"]
    )
    assert "incremental searches were merged" in methods_paragraph(flow)


def test_csv_xlsx_and_html_reports_carry_flow_and_methods(corpus_warehouse, tmp_path):
    import csv
    import io
    import zipfile

    from trialtrends.output.files import report_html
    from trialtrends.output.report import build_report
    from trialtrends.output.xlsx import write_workbook

    data = build_report(corpus_warehouse.warehouse_path, year=2022)
    rows = list(csv.DictReader(io.StringIO(_report(corpus_warehouse, "csv"))))
    flow = [(r["item"], int(r["trials"]), r["note"]) for r in rows if r["section"] == "flow"]
    assert flow == [(b["label"], b["trials"], b["kind"]) for b in data["flow"]["boxes"]]
    assert [r["note"] for r in rows if r["section"] == "methods"] == [data["methods"]]
    book = write_workbook(data, tmp_path, "report")
    with zipfile.ZipFile(book) as z:
        assert '<sheet name="Flow"' in z.read("xl/workbook.xml").decode()
        strings = z.read("xl/sharedStrings.xml").decode()
    assert "trials counted" in strings and "Counted: " in strings
    page = report_html(data, {})
    assert "Flow of trials to the counted set" in page and '<p class="methods">' in page
