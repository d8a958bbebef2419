"""The report through the CLI: new sections in every format, the partial-year mark, CSV columns,
the Excel workbook, chart and HTML files (on the corpus warehouse plus the landscape fixture rows)."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import shutil
import zipfile

import pytest
from click.testing import CliRunner
from test_views import landscape  # noqa: F401  (the fixture: corpus warehouse + disease/product rows)

from trialtrends.cli import main
from trialtrends.load.views import create_views

PARTIAL = "partial (data to 2026-09-04)"  # the fake API's dataTimestamp is 2026-09-04T09:00:06


@pytest.fixture(scope="module")
def data_dir(landscape, tmp_path_factory):  # noqa: F811
    """A data folder whose warehouse is the landscape fixture (checkpointed, then copied)."""
    landscape.execute("checkpoint").fetchall()
    path = landscape.execute(
        "select path from duckdb_databases() where database_name = current_database()"
    ).fetchall()
    root = tmp_path_factory.mktemp("report-data")
    (root / "warehouse").mkdir()
    shutil.copy(path[0][0], root / "warehouse" / "trialtrends.duckdb")
    return root


def invoke(data_dir, *args):
    result = CliRunner().invoke(
        main, ["report", *map(str, args), "--data-dir", str(data_dir)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result


def report_json(data_dir, *args):
    return json.loads(invoke(data_dir, *args, "--format", "json").stdout)


def test_json_has_version_2_every_old_key_and_the_new_sections(data_dir):
    data = report_json(data_dir, "--year", 2024)
    assert data["report_version"] == 2
    old = {"year", "basis", "modalities", "ranked_by", "top", "role", "include_follow_up", "trend", "cumulative",
           "phases", "countries", "countries_not_provided", "sponsors", "provenance"}  # fmt: skip
    assert old | {
        "disease_areas",
        "targets",
        "sponsor_types",
        "products",
        "partial_year",
        "trend_years",
    } <= set(data)
    groups = data["modalities"]
    years = [2020, 2021, 2022, 2023, 2024]
    # Zero-filled tidy rows: every group x year x area / sponsor type.
    areas = {r["area"] for r in data["disease_areas"]}
    assert "autoimmune / immune-mediated" in areas and "unknown" in areas
    assert len(data["disease_areas"]) == len(groups) * len(years) * len(areas)
    til_2024 = [r for r in data["disease_areas"] if r["modality"] == "TIL" and r["year"] == 2024]
    assert {r["trials"] for r in til_2024} == {0}
    types = {r["sponsor_type"] for r in data["sponsor_types"]}
    assert "industry" in types and len(data["sponsor_types"]) == len(groups) * len(years) * len(types)
    assert data["targets"][0]["target"] == "CD19" and data["targets"][0]["rank"] == 1
    assert all(r["target"] != "Not named" for r in data["targets"])
    products = data["products"]
    assert {p["name"] for p in products["approved"]} == {"tisagenlecleucel", "axicabtagene ciloleucel",
                                                        "ciltacabtagene autoleucel"}  # fmt: skip
    tisa = next(p for p in products["approved"] if p["product_id"] == "tisa-cel")
    assert tisa["approvals"] == "FDA 2017; EMA 2018" and tisa["trials"] > 0
    assert (
        sum(r["products"] for r in products["by_phase"])
        == 4
        == sum(r["products"] for r in products["by_country"])
    )
    # Phase zeros: every phase seen under the basis, for every group.
    phases = {r["phase"] for r in data["phases"]}
    assert len(data["phases"]) == len(phases) * len(groups)
    assert any(r["modality"] == "TIL" and r["trials"] == 0 for r in data["phases"])


def test_trend_years_and_sections_match_the_views(data_dir, landscape):  # noqa: F811
    data = report_json(data_dir, "--year", 2023, "--trend-years", 3, "--modality", "CAR-T")
    assert [r["year"] for r in data["trend"]] == [2021, 2022, 2023] and data["trend_years"] == 3
    industry = {r["year"]: r["share"] for r in data["sponsor_types"] if r["sponsor_type"] == "industry"}
    expected = dict(landscape.execute(
        "select year, share from sponsor_type_table where modality = 'CAR-T' and basis = 'first_posted' "
        "and role = 'lead' and sponsor_type = 'industry' and year between 2021 and 2023").fetchall())  # fmt: skip
    assert industry == pytest.approx(expected)
    targets = landscape.execute(
        "select target, trials from target_table where modality = 'CAR-T' and basis = 'first_posted' "
        "and year = 2023 and rank <= 10 order by rank, target"
    ).fetchall()
    assert sorted((r["target"], r["trials"]) for r in data["targets"]) == sorted(targets)
    assert {p["modality"] for p in data["products"]["top"]} == {"CAR-T"}  # the CAR-NK product is left out


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_text_formats_show_the_new_sections_and_the_partial_year(data_dir, fmt):
    out = invoke(data_dir, "--year", 2026, "--format", fmt).stdout
    for heading in ("Disease areas, 2026", "Disease areas per year", "Top 10 targets, 2026", "Sponsor types, 2026",
                    "Sponsor types per year", "Approved products", "Top 10 products by trials",
                    "Products by highest phase", "Products by developer country", "FDA 2017; EMA 2018"):  # fmt: skip
        assert heading in out, heading
    assert f"2026, {PARTIAL}" not in out  # the mark reads "2026 partial (data to ...)"
    assert f"Phase distribution, 2026 {PARTIAL}" in out
    trend = out.split("Trials per year")[1].split("Phase distribution")[0]
    assert f"2026 {PARTIAL}" in trend and f"2025 {PARTIAL}" not in trend
    # A year before the data timestamp's year carries no mark in its sections.
    assert PARTIAL not in invoke(data_dir, "--year", 2024, "--format", fmt).stdout.split("Provenance")[0]


def test_csv_carries_basis_run_and_timestamp_zeros_and_the_partial_note(data_dir):
    out = invoke(data_dir, "--year", 2026, "--format", "csv", "--basis", "start").stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["section", "modality", "year", "item", "rank", "trials", "share", "country_code",
                             "sponsor_country", "role", "products", "highest_phase", "approvals", "basis",
                             "run_id", "data_timestamp", "note"]  # fmt: skip
    assert {r["basis"] for r in rows} == {"start"}
    assert {r["data_timestamp"] for r in rows} == {"2026-09-04T09:00:06"} and all(r["run_id"] for r in rows)
    sections = {r["section"] for r in rows}
    assert {"trend", "phase", "country", "sponsor", "disease_area", "target", "sponsor_type", "product",
            "product_approved", "products_by_phase", "products_by_country"} <= sections  # fmt: skip
    assert any(r["section"] == "phase" and r["modality"] == "TIL" and r["trials"] == "0" for r in rows)
    assert any(r["section"] == "disease_area" and r["trials"] == "0" for r in rows)
    for r in rows:
        assert (r["note"] == PARTIAL) == (r["year"] == "2026"), r


def _sheet_cells(xml: str) -> dict[str, tuple[str | None, str]]:
    """Cell reference -> (type attribute, value) of one worksheet's XML."""
    cells = {}
    for attrs, value in re.findall(r"<c ([^>]*)>(?:<f>[^<]*</f>)?<v>([^<]*)</v></c>", xml):
        ref = re.search(r'r="([A-Z]+\d+)"', attrs).group(1)
        kind = re.search(r't="(\w+)"', attrs)
        cells[ref] = (kind.group(1) if kind else None, value)
    return cells


def test_xlsx_workbook_has_a_sheet_per_table_numeric_cells_and_frozen_headers(data_dir, tmp_path):
    result = invoke(data_dir, "--year", 2026, "--format", "xlsx", "--out", tmp_path)
    assert result.stdout == ""
    book = tmp_path / "report-2026-all-groups-first_posted.xlsx"
    assert book.is_file() and str(book) in result.stderr
    with zipfile.ZipFile(book) as z:
        names = re.findall(r'<sheet name="([^"]+)"', z.read("xl/workbook.xml").decode())
        assert names == ["Trend", "Cumulative", "Phases", "Countries", "Countries not provided", "Sponsors", "Targets",
                         "Disease areas", "Sponsor types", "Cell sources", "Approved products", "Top products",
                         "Products by phase", "Products by country", "Flow", "Provenance", "Queries"]  # fmt: skip
        strings = re.findall(r"<t[^>]*>([^<]*)</t>", z.read("xl/sharedStrings.xml").decode())
        trend = z.read("xl/worksheets/sheet1.xml").decode()
        countries = z.read("xl/worksheets/sheet4.xml").decode()
    assert 'ySplit="1"' in trend and 'state="frozen"' in trend and "<cols>" in trend
    cells = _sheet_cells(trend)
    assert cells["A1"][0] == "s" and strings[int(cells["A1"][1])] == "year"
    assert cells["A2"] == (None, "2022")  # years and counts are numbers, not text
    assert cells["F2"][0] is None and int(cells["F2"][1]) > 100  # ALL, 2022
    last = max(int(ref[1:]) for ref in cells if ref.startswith("A"))
    note = cells[f"G{last}"]
    assert note[0] == "s" and strings[int(note[1])] == PARTIAL
    c = _sheet_cells(countries)
    assert c["E2"][0] is None and 0 < float(c["E2"][1]) <= 1  # share: a number (formatted as %)


def test_out_writes_every_chart_and_one_html_per_group_and_basis(data_dir, tmp_path):
    invoke(data_dir, "--year", 2026, "--out", tmp_path)
    invoke(data_dir, "--year", 2026, "--modality", "CAR-T", "--out", tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    for stem in ("report-2026-all-groups-first_posted", "report-2026-car-t-first_posted"):
        for chart in ("trend", "phases", "disease-areas", "targets", "sponsor-types", "cell-sources"):
            assert f"{stem}-{chart}.png" in names and f"{stem}-{chart}.svg" in names
        assert f"{stem}.html" in names
    png = (tmp_path / "report-2026-car-t-first_posted-trend.png").read_bytes()
    assert png[:4] == b"\x89PNG"
    width = int.from_bytes(png[16:20], "big")
    assert width >= 7 * 300  # 7.5 in at 300 dpi
    page = (tmp_path / "report-2026-all-groups-first_posted.html").read_text()
    assert page.count("<svg") == 6
    for heading in ("Disease areas, 2026", "Top 10 targets", "Sponsor types", "Approved products", PARTIAL,
                    "CAR-T, TCR-T, TIL and NK, first posted basis"):  # fmt: skip
        assert heading in page
    single = (tmp_path / "report-2026-car-t-first_posted.html").read_text()
    assert "<title>Immune cell therapy trials on ClinicalTrials.gov, 2026 partial" in single
    assert "CAR-T, first posted basis</title>" in single
    for external in ('src="http', "src='http", 'href="http', "<link", "<script", "url(http", "@import"):
        assert external not in page
    svg = (tmp_path / "report-2026-all-groups-first_posted-targets.svg").read_text()
    # The caption (source, data timestamp, basis) and the partial mark are drawn into every chart.
    for chart in ("trend", "phases", "disease-areas", "targets", "sponsor-types", "cell-sources"):
        text = (tmp_path / f"report-2026-all-groups-first_posted-{chart}.svg").read_text()
        assert "Source: ClinicalTrials.gov" in text and "2026-09-04" in text and "first posted" in text, chart
    assert "CD19" in svg


def test_cell_sources_add_up_to_the_year_and_match_trial_flags(data_dir, landscape):  # noqa: F811
    data = report_json(data_dir, "--year", 2024)
    rows = data["cell_sources"]
    trend = {r["modality"]: r["trials"] for r in data["trend"] if r["year"] == 2024}
    for group in data["modalities"]:
        mine = [r for r in rows if r["modality"] == group]
        assert sum(r["trials"] for r in mine) == trend[group], group
        assert {r["source_basis"] for r in mine if r["cell_source"] == "unclear"} == {"unknown"}
        assert {r["source_basis"] for r in mine if r["cell_source"] != "unclear"} <= {"stated", "product", "inferred"}
    expected = dict(landscape.execute(
        "select f.cell_source || '/' || coalesce(f.cell_source_basis, 'unknown'), count(distinct g.nct_id) "
        "from trial_group_years g join trial_flags f using (nct_id) "
        "where g.modality = 'CAR-T' and g.basis = 'first_posted' and g.year = 2024 group by all").fetchall())  # fmt: skip
    got = {f"{r['cell_source']}/{r['source_basis']}": r["trials"] for r in rows if r["modality"] == "CAR-T"}
    assert {k: v for k, v in got.items() if v} == expected
    out = invoke(data_dir, "--year", 2024).stdout
    assert "Cell source, 2024" in out and "Cell source by basis, ALL, 2024" in out and "inferred" in out


def test_provenance_names_each_search_once_and_states_every_setting(data_dir, tmp_path):
    data = report_json(data_dir, "--year", 2024, "--include-expanded-access")
    names = [q["name"] for q in data["provenance"]["queries"]]
    assert names, "the fixture run has searches"
    out = invoke(data_dir, "--year", 2024, "--include-expanded-access").stdout
    provenance, appendix = out.split("Provenance\n")[1].split("Appendix: search queries")
    searches = [line for line in provenance.splitlines() if line.startswith("Searches")]
    assert len(searches) == 1 and searches[0].endswith(": " + ", ".join(names) + ".")
    terms = [q["term"] for q in data["provenance"]["queries"]]
    assert not any(t in provenance for t in terms) and all(t in appendix for t in terms)
    assert "expanded-access records included" in provenance and "follow-up studies excluded" in provenance
    assert "sponsor role lead" in provenance and "year basis first_posted" in provenance
    invoke(data_dir, "--year", 2024, "--out", tmp_path)
    page = (tmp_path / "report-2024-all-groups-first_posted.html").read_text()
    footer = page.split("<footer>")[1]
    assert "<details><summary>Appendix: search queries" in footer
    assert ", ".join(names) + ".</li>" in footer.split("<details>")[0]
    assert not any(html.escape(t) in footer.split("<details>")[0] for t in terms)
    invoke(data_dir, "--year", 2024, "--include-expanded-access", "--format", "xlsx", "--out", tmp_path)
    book = tmp_path / "report-2024-all-groups-first_posted-with-expanded-access.xlsx"
    with zipfile.ZipFile(book) as z:
        strings = re.findall(r"<t[^>]*>([^<]*)</t>", z.read("xl/sharedStrings.xml").decode())
    assert "include_expanded_access" in strings and "query term" in strings


def test_role_any_without_collaborators_warns_in_the_log_and_the_report(data_dir, tmp_path, caplog):
    import duckdb

    with duckdb.connect(str(data_dir / "warehouse" / "trialtrends.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from trial_sponsors where role <> 'lead'").fetchall()[0][0] == 0
    with caplog.at_level("WARNING", logger="trialtrends.output.report"):
        loud = report_json(data_dir, "--year", 2024, "--role", "any")
    assert any("collaborator rows" in c for c in loud["provenance"]["caveats"])
    assert any("collaborator rows" in r.getMessage() for r in caplog.records)
    assert "collaborator rows" in invoke(data_dir, "--year", 2024, "--role", "any").stdout
    assert not any("collaborator rows" in c for c in report_json(data_dir, "--year", 2024)["provenance"]["caveats"])
    # One collaborator row anywhere makes 'any' differ from 'lead': no warning then.
    shared = tmp_path / "shared"
    shutil.copytree(data_dir, shared)
    with duckdb.connect(str(shared / "warehouse" / "trialtrends.duckdb")) as con:
        con.execute(
            "insert into trial_sponsors select * replace ('collaborator' as role, 'A collaborator' as sponsor) "
            "from trial_sponsors where role = 'lead' limit 1"
        )
        create_views(con)  # as a publish does: the report's tables follow the rows
    quiet = report_json(shared, "--year", 2024, "--role", "any")
    assert not any("collaborator rows" in c for c in quiet["provenance"]["caveats"])


def test_include_follow_up_reaches_every_new_section(data_dir):
    default = report_json(data_dir, "--year", 2024, "--modality", "CAR-T")
    wider = report_json(data_dir, "--year", 2024, "--modality", "CAR-T", "--include-follow-up")

    def total(data, key):
        return sum(r["trials"] for r in data[key] if r["year"] == 2024)

    assert total(wider, "disease_areas") >= total(default, "disease_areas")
    assert total(wider, "sponsor_types") >= total(default, "sponsor_types")
    trials = {p["product_id"]: p["trials"] for p in default["products"]["approved"]}
    wider_trials = {p["product_id"]: p["trials"] for p in wider["products"]["approved"]}
    assert wider_trials["tisa-cel"] > trials["tisa-cel"]  # its long-term follow-up study now counts


def test_xlsx_without_out_is_one_clear_error(data_dir):
    result = CliRunner().invoke(
        main, ["report", "--year", "2024", "--format", "xlsx", "--data-dir", str(data_dir)]
    )
    assert result.exit_code == 2 and "give --out DIR" in result.output and "Traceback" not in result.output


def test_expanded_access_is_out_by_default_and_in_on_request(tmp_path):
    from builders import study
    from conftest import test_settings
    from fakeapi import FakeCtgov

    from trialtrends.output.report import build_report
    from trialtrends.pipeline import refresh

    records = [
        study("NCT90000001", title="CD19 CAR-T cells for lymphoma", posted="2022-03-01"),
        study("NCT90000002", title="Expanded access to CD19 CAR-T cells", posted="2022-05-01",
              status="AVAILABLE", study_type="EXPANDED_ACCESS"),
        study("NCT90000003", title="BCMA CAR-T cells in myeloma", posted="2022-06-01", status="WITHDRAWN"),
    ]  # fmt: skip
    with FakeCtgov(records) as fake:
        settings = test_settings(tmp_path, fake.url)
        refresh(settings)

    def car_t_2022(**options):
        data = build_report(settings.warehouse_path, year=2022, modality="CAR-T", **options)
        return next(r["trials"] for r in data["trend"] if r["year"] == 2022), data

    default, data = car_t_2022()
    assert default == 2  # the withdrawn trial stays in, expanded access is out
    assert any("expanded-access" in e for e in data["provenance"]["excluded"])
    assert data["provenance"]["expanded_access_trials"] == 1 and data["provenance"]["withdrawn_trials"] == 1
    included, data = car_t_2022(include_expanded_access=True)
    assert included == 3 and data["include_expanded_access"] is True
    assert not any("expanded-access" in e for e in data["provenance"]["excluded"])
