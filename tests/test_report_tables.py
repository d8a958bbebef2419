"""Schema report: the views' rows materialised at publish, and the report read from them.

The report of a year reads report.landscape, report.products and report.flow_counts in two
statements (output/report_rows.py); with other counting options, or in a warehouse published
without that schema, it computes the same sections from the views. Both paths must give the same
report, and the materialised rows must be the views' rows.
"""

from __future__ import annotations

import shutil

import duckdb
import pytest

from trialtrends.load.report_tables import LANDSCAPE, PRODUCT_VIEWS, PRODUCTS, columns, select_list
from trialtrends.output.flow import warehouse_counts
from trialtrends.output.report import ReportError, build_report

OPTIONS = [
    {"year": 2022},
    {"year": 2019, "modality": "CAR-T"},
    {"year": 2024, "role": "any", "top": 5},
    {"year": 2023, "basis": "start", "modality": "NK", "trend_years": 3},
    {"year": 2025, "basis": "first_submitted", "modality": "TIL"},
    {"year": 2026},  # the partial year
]


@pytest.fixture(scope="module")
def warehouse(corpus_warehouse):
    return corpus_warehouse.warehouse_path


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_the_report_from_the_materialised_tables_is_the_report_from_the_views(warehouse, options):
    materialised = build_report(warehouse, **options)
    computed = build_report(warehouse, materialised=False, **options)
    assert materialised == computed
    # and not vacuously: the year has trials and sponsors
    assert sum(r["trials"] for r in materialised["trend"]) > 0 and materialised["sponsors"]
    if "modality" not in options:
        assert materialised["countries"] and materialised["targets"] and materialised["products"]["top"]


def test_every_landscape_row_is_its_views_row(warehouse):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for section, (view, _) in LANDSCAPE.items():
            names = [name for name, _ in columns(section)]
            shared = [col for _, col in columns(section)]
            role = ", role" if view in ("sponsor_table", "sponsor_type_table") else ""
            want = con.execute(f"select basis, year, {', '.join(names)}{role} from {view}").fetchall()
            got = con.execute(
                f"select basis, year, {', '.join(shared)}{role} from report.landscape where section = ?", [section]
            ).fetchall()
            assert sorted(got, key=repr) == sorted(want, key=repr), section
            assert want, section
        for section, sql in PRODUCTS.items():
            names = select_list(sql)
            want = con.execute(sql.format(**{view: f"main.{view}" for view in PRODUCT_VIEWS})).fetchall()
            got = con.execute(
                f"select {', '.join(names)} from report.products where section = ?", [section]
            ).fetchall()
            assert sorted(got, key=repr) == sorted(want, key=repr), section
            assert want, section
        stored = con.execute("select * from report.flow_counts")
        names = [d[0] for d in stored.description]
        assert dict(zip(names, stored.fetchall()[0], strict=True)) == warehouse_counts(con)


def test_options_beyond_the_defaults_are_computed_from_the_views(warehouse):
    """Counting follow-up or expanded-access studies changes the counts: they cannot come from the
    tables materialised under the default rules."""
    default = build_report(warehouse, year=2022)
    follow_up = build_report(warehouse, year=2022, include_follow_up=True)
    assert follow_up == build_report(warehouse, year=2022, include_follow_up=True, materialised=False)
    assert follow_up["flow"]["counted"] > default["flow"]["counted"]


def test_a_warehouse_without_schema_report_is_reported_from_its_views(warehouse, tmp_path):
    copy = tmp_path / "trialtrends.duckdb"
    shutil.copy(warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("drop schema report cascade")
    assert build_report(copy, year=2022) == build_report(warehouse, year=2022)


def test_a_warehouse_from_an_older_version_is_one_sentence_naming_rebuild(warehouse, tmp_path):
    copy = tmp_path / "trialtrends.duckdb"
    shutil.copy(warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("drop schema report cascade")
        con.execute("drop view cell_source_table")
    with pytest.raises(ReportError, match="trialtrends rebuild") as caught:
        build_report(copy, year=2022)
    assert "\n" not in str(caught.value)


def test_a_default_report_opens_one_connection_and_runs_two_statements(warehouse, monkeypatch):
    import trialtrends.output.report as report

    opened, statements = [], []

    class Counting:
        def __init__(self, con):
            self.con = con

        def execute(self, sql, *args):
            statements.append(sql)
            return self.con.execute(sql, *args)

        def close(self):
            self.con.close()

    real = report.connect
    monkeypatch.setattr(report, "connect", lambda path: opened.append(path) or Counting(real(path)))
    build_report(warehouse, year=2022)
    assert len(opened) == 1
    assert len(statements) == 2 and all("report." in sql for sql in statements)
