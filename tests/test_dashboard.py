"""The dashboard (output/dashboard.py) on the corpus warehouse.

Its numbers are checked against the warehouse views for many selections twice: on the embedded
dataset in Python (no browser needed), and in real headless Chromium (Playwright driving the
system Chromium, network disabled) by reading what the page shows after the filters change.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from trialtrends.cli import main
from trialtrends.output.sql import connect

pytestmark = pytest.mark.shared

CHROMIUM = Path("/usr/bin/chromium")
# The flags that work on these machines (no sandbox as root; no background requests that a closed
# network refuses).
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
GROUPS = ("CAR-T", "TCR-T", "TIL", "NK", "ALL")


@pytest.fixture(scope="module")
def built(corpus_warehouse, tmp_path_factory) -> Path:
    """The dashboard of the corpus warehouse, written by the CLI command."""
    out = tmp_path_factory.mktemp("dashboard") / "corpus-dashboard.html"
    result = CliRunner().invoke(
        main, ["dashboard", "--out", str(out), "--data-dir", str(corpus_warehouse.data_dir)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"wrote {out}"
    return out


@pytest.fixture(scope="module")
def con(corpus_warehouse):
    con = connect(corpus_warehouse.warehouse_path)
    yield con
    con.close()


def _source(view: str, fu: bool, ea: bool) -> str:
    if not (fu or ea):
        return view
    return f"{view}_by({str(fu).lower()}, include_expanded_access := {str(ea).lower()})"


def expected(con, s: dict[str, Any]) -> dict[str, Any]:
    """What the views say for a selection of group, basis, years and switches (no other filter):
    each view summed over the years (a trial has one year per basis, so the sums are exact)."""
    fu, ea = s.get("followUp", False), s.get("expandedAccess", False)
    where = "modality = ? and basis = ? and year between ? and ?"
    params = [s["group"], s["basis"], s["from"], s["to"]]

    def totals(view: str, key: str, extra: str = "") -> dict[Any, int]:
        rows = con.execute(
            f"select {key}, sum(trials)::bigint from {_source(view, fu, ea)} where {where} {extra} "
            f"group by {key} having sum(trials) > 0",
            params,
        ).fetchall()
        return dict(rows)

    year = totals("yearly_counts", "year")
    return {
        "trials": sum(year.values()),
        "year": year,
        "phase": totals("phase_distribution", "phase"),
        "country": totals("country_table", "country_code"),
        "sponsor": totals("sponsor_table", "sponsor", "and role = 'lead'"),
        "sponsor_type": totals("sponsor_type_table", "sponsor_type", "and role = 'lead'"),
        "area": totals("disease_area_table", "area"),
        "target": totals("target_table", "target"),
    }


def expected_with(con, s: dict[str, Any], view: str, key: str, value: str) -> dict[int, int]:
    """Trials per year of a selection narrowed to one country / target / area / sponsor type /
    phase, from the view that counts that attribute."""
    extra = " and role = 'lead'" if view.startswith("sponsor") else ""
    rows = con.execute(
        f"select year, trials from {_source(view, s.get('followUp', False), s.get('expandedAccess', False))} "
        f"where modality = ? and basis = ? and year between ? and ? and {key} = ? and trials > 0{extra}",
        [s["group"], s["basis"], s["from"], s["to"], value],
    ).fetchall()
    return dict(rows)


# Selections: (group, basis, years, switches) with no other filter; every view is compared.
PLAIN = [
    {"group": "ALL", "basis": "first_posted", "from": 2004, "to": 2026},
    {"group": "CAR-T", "basis": "first_posted", "from": 2022, "to": 2022},
    {"group": "NK", "basis": "start", "from": 2018, "to": 2024},
    {"group": "TCR-T", "basis": "first_submitted", "from": 2004, "to": 2027},
    {"group": "TIL", "basis": "first_posted", "from": 2004, "to": 2027},
    {"group": "CAR-T", "basis": "first_posted", "from": 2015, "to": 2026, "followUp": True},
    {"group": "ALL", "basis": "first_posted", "from": 2010, "to": 2026, "expandedAccess": True},
    {"group": "ALL", "basis": "start", "from": 2012, "to": 2027, "followUp": True, "expandedAccess": True},
]
# Selections narrowed by one attribute: (selection, filter name, dictionary, view, view column, value).
NARROWED = [
    ({"group": "CAR-T", "basis": "first_posted", "from": 2020, "to": 2024}, "country", "country_table",
     "country_code", "CN"),
    ({"group": "ALL", "basis": "first_posted", "from": 2015, "to": 2020}, "country", "country_table",
     "country_code", "US"),
    ({"group": "ALL", "basis": "first_posted", "from": 2004, "to": 2026}, "country", "country_table",
     "country_code", "XX"),
    ({"group": "CAR-T", "basis": "first_posted", "from": 2019, "to": 2025}, "target", "target_table",
     "target", "CD19"),
    ({"group": "ALL", "basis": "first_posted", "from": 2010, "to": 2026}, "target", "target_table",
     "target", "Not named"),
    ({"group": "ALL", "basis": "first_submitted", "from": 2016, "to": 2026}, "area", "disease_area_table",
     "area", "autoimmune / immune-mediated"),
    ({"group": "CAR-T", "basis": "first_posted", "from": 2004, "to": 2026}, "sponsor_type", "sponsor_type_table",
     "sponsor_type", "industry"),
    ({"group": "NK", "basis": "first_posted", "from": 2004, "to": 2026}, "phase", "phase_distribution",
     "phase", "Phase 1"),
]  # fmt: skip


# ---- the embedded dataset, counted in Python ---------------------------------------------------------


def _dataset(page: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="tt-data">(.*?)</script>', page, re.S)
    return json.loads(match.group(1).replace("<\\/", "</"))


def _many(value: Any) -> list[int]:
    return value if isinstance(value, list) else [value]


def count_dataset(data: dict[str, Any], s: dict[str, Any], narrow: tuple[str, str] | None = None) -> dict:
    """The selection's trials and tallies, computed from the dataset the page embeds."""
    col, vocab = data["col"], data["dict"]
    bit = 1 << GROUPS.index(s["group"])
    chosen = []
    for i, y in enumerate(col[s["basis"]]):
        if not col["groups"][i] & bit or not y or not s["from"] <= y <= s["to"]:
            continue
        if (col["follow_up"][i] & bit and not s.get("followUp")) or (
            col["expanded_access"][i] and not s.get("expandedAccess")
        ):
            continue
        if narrow and vocab[narrow[0]].index(narrow[1]) not in _many(col[narrow[0]][i]):
            continue
        chosen.append(i)

    def tally(name: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for i in chosen:
            for v in _many(col[name][i]):
                out[vocab[name][v]] = out.get(vocab[name][v], 0) + 1
        return out

    year: dict[int, int] = {}
    for i in chosen:
        year[col[s["basis"]][i]] = year.get(col[s["basis"]][i], 0) + 1
    names = ("phase", "country", "sponsor", "sponsor_type", "area", "target")
    return {"trials": len(chosen), "year": year, **{n: tally(n) for n in names},
            "ids": {f"NCT{col['id'][i]:08d}" for i in chosen}}  # fmt: skip


@pytest.mark.parametrize("s", PLAIN, ids=lambda s: f"{s['group']}-{s['basis']}-{s['from']}-{s['to']}")
def test_dataset_counts_equal_the_views(built, con, s):
    got = count_dataset(_dataset(built.read_text()), s)
    want = expected(con, s)
    assert got["trials"] > 0
    for key, value in want.items():
        assert got[key] == value, key


@pytest.mark.parametrize(("s", "name", "view", "key", "value"), NARROWED, ids=lambda v: str(v)[:20])
def test_dataset_narrowed_counts_equal_the_views(built, con, s, name, view, key, value):
    got = count_dataset(_dataset(built.read_text()), s, (name, value))
    assert got["trials"] > 0
    assert got["year"] == expected_with(con, s, view, key, value)


def test_products_equal_product_table(built, con):
    data = _dataset(built.read_text())
    # product_table counts a product's trials in any year; every corpus trial has a first_posted year.
    ((no_year,),) = con.execute(
        "select count(*) from trial_report_groups where nct_id not in "
        "(select nct_id from trial_years where basis = 'first_posted')"
    ).fetchall()
    assert no_year == 0
    s = {"group": "ALL", "basis": "first_posted", "from": 1900, "to": 2100}
    col, vocab = data["col"], data["dict"]
    chosen = count_dataset(data, s)["ids"]
    counts: dict[str, int] = {}
    for i, trial in enumerate(col["id"]):
        if f"NCT{trial:08d}" in chosen:
            for v in _many(col["product"][i]):
                counts[vocab["product"][v]] = counts.get(vocab["product"][v], 0) + 1
    want = dict(con.execute("select product_id, trials from product_table where trials > 0").fetchall())
    assert counts == want and want


def test_page_is_self_contained_and_carries_provenance(built, con):
    page = built.read_text()
    assert 10_000 < len(page.encode()) < 5_000_000
    # Nothing is fetched: no external script, style, image or font.
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", page)
    assert "@import" not in page and "url(http" not in page
    data = _dataset(page)
    ((run_id, stamp, version),) = con.execute(
        "select run_id, data_timestamp, classifier_version from runs where published"
    ).fetchall()
    assert (data["run"]["run_id"], data["run"]["data_timestamp"], data["run"]["classifier_version"]) == (
        run_id, stamp, version,
    )  # fmt: skip
    assert set(data["flows"]) == {f"{b}|{f}|{e}" for b in ("first_posted", "first_submitted", "start")
                                  for f in (0, 1) for e in (0, 1)}  # fmt: skip


def test_dashboard_command_default_path_and_errors(corpus_warehouse, tmp_path):
    data_dir = tmp_path / "data"
    (data_dir / "warehouse").mkdir(parents=True)
    shutil.copy(corpus_warehouse.warehouse_path, data_dir / "warehouse" / "trialtrends.duckdb")
    result = CliRunner().invoke(main, ["dashboard", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert (data_dir / "dashboard.html").is_file()
    missing = CliRunner().invoke(main, ["dashboard", "--data-dir", str(tmp_path / "none")])
    assert missing.exit_code == 3 and missing.output.startswith("Error: No warehouse")
    folder = CliRunner().invoke(main, ["dashboard", "--data-dir", str(data_dir), "--out", str(tmp_path)])
    assert folder.exit_code == 2 and "Traceback" not in folder.output


# ---- the page in headless Chromium ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def page(built):
    if not CHROMIUM.is_file():
        pytest.skip(f"no system Chromium at {CHROMIUM} (Debian package `chromium`)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(
            offline=True, accept_downloads=True, viewport={"width": 1400, "height": 900}
        )
        fetched: list[str] = []

        def only_local(route):
            url = route.request.url
            if url.startswith(("file:", "blob:", "data:")):
                route.continue_()
            else:
                fetched.append(url)
                route.abort()

        context.route("**/*", only_local)
        tab = context.new_page()
        problems: list[str] = []
        tab.on(
            "console",
            lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None,
        )
        tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        tab.goto(built.as_uri())
        tab.wait_for_function("window.ttReady !== undefined", timeout=20_000)
        tab.problems, tab.fetched = problems, fetched
        yield tab
        context.close()
        browser.close()


def apply(page, s: dict[str, Any], narrow: tuple[str, str] | None = None) -> dict[str, Any]:
    """Set every filter control of the page to the selection, fire one change, return the page's
    counts (what the charts are drawn from)."""
    controls = {"f-group": s["group"], "f-basis": s["basis"], "f-from": str(s["from"]), "f-to": str(s["to"])}
    for name in ("area", "target", "country", "stype", "phase", "cell"):
        controls[f"f-{name}"] = ""
    if narrow:
        control = {"country": "f-country", "target": "f-target", "area": "f-area", "sponsor_type": "f-stype",
                   "phase": "f-phase"}[narrow[0]]  # fmt: skip
        controls[control] = str(page.evaluate(f"JSON.parse(document.getElementById('tt-data').textContent)"
                                              f".dict[{json.dumps(narrow[0])}].indexOf({json.dumps(narrow[1])})"))  # fmt: skip
    refused = page.evaluate(
        """([controls, fu, ea]) => {
            for (const [id, value] of Object.entries(controls)) document.getElementById(id).value = value;
            document.getElementById('f-fu').checked = fu;
            document.getElementById('f-ea').checked = ea;
            document.getElementById('f-group').dispatchEvent(new Event('change'));
            // A value the control does not offer leaves it empty: say so rather than count nothing.
            return Object.keys(controls).filter((id) => document.getElementById(id).value !== controls[id]);
        }""",
        [controls, bool(s.get("followUp")), bool(s.get("expandedAccess"))],
    )
    assert refused == [], f"the page offers no such value: {refused}"
    settle(page)
    return page.evaluate("window.ttDashboard.counts")


def settle(page) -> None:
    """Wait until the charts queued after the first view are drawn."""
    page.wait_for_function("window.ttDashboard.pending === 0", timeout=10_000)


def shown(page) -> dict[str, Any]:
    """The numbers on screen: the headline, and the trend chart's bars."""
    settle(page)
    trend = page.evaluate(
        "(() => { const d = document.getElementById('chart-trend').data[0]; return [d.x, d.y]; })()"
    )
    return {
        "headline": int(page.inner_text("#count").replace(",", "")),
        "trend": {int(x): int(y) for x, y in zip(*trend, strict=True) if y},
    }


def test_page_loads_offline_without_errors(page):
    assert page.evaluate("document.body.dataset.ready") == "1"
    assert page.problems == [] and page.fetched == []
    assert page.evaluate("typeof Plotly") == "object"


def test_filters_move_the_numbers_to_what_the_views_say(page, con):
    # The controls an analyst touches first, through the real select elements.
    page.select_option("#f-group", "CAR-T")
    page.select_option("#f-from", "2020")
    page.select_option("#f-to", "2024")
    page.select_option("#f-country", label="China")
    s = {"group": "CAR-T", "basis": "first_posted", "from": 2020, "to": 2024}
    want = expected_with(con, s, "country_table", "country_code", "CN")
    assert shown(page) == {"headline": sum(want.values()), "trend": want}
    page.select_option("#f-country", "")
    assert shown(page)["trend"] == expected(con, s)["year"]
    checked = 2
    for s in PLAIN:
        got, want = apply(page, s), expected(con, s)
        for key, value in want.items():
            got_value = {int(k): v for k, v in got[key].items() if v} if key == "year" else got[key]
            assert got_value == value, (s, key)
        assert shown(page) == {"headline": want["trials"], "trend": want["year"]}
        # The top bars of the country chart are the view's largest counts.
        settle(page)
        bars = page.evaluate("document.getElementById('chart-country').data[0].x")
        top = sorted((n for c, n in want["country"].items() if c != "XX"), reverse=True)[:15]
        assert sorted(bars[1:] if "XX" in want["country"] else bars, reverse=True) == top
        checked += 1
    for s, name, view, key, value in NARROWED:
        apply(page, s, (name, value))
        want = expected_with(con, s, view, key, value)
        assert shown(page) == {"headline": sum(want.values()), "trend": want}, (s, name, value)
        checked += 1
    assert checked >= 10
    assert page.problems == [] and page.fetched == []


def test_trial_table_and_csv_list_exactly_the_trials_of_the_count(page, con, tmp_path):
    s = {"group": "CAR-T", "basis": "first_posted", "from": 2020, "to": 2024}
    apply(page, s, ("country", "CN"))
    ids = {
        r[0]
        for r in con.execute(
            "select distinct g.nct_id from trial_group_years g join trial_countries c using (nct_id) "
            "where g.modality = 'CAR-T' and g.basis = 'first_posted' and g.year between 2020 and 2024 "
            "and c.country_code = 'CN' and not c.is_removed"
        ).fetchall()
    }
    assert len(ids) == int(page.inner_text("#count").replace(",", "")) > 100
    page.click("#more")
    rows = page.eval_on_selector_all(
        "#trials tbody tr td:first-child a", "links => links.map(a => [a.textContent, a.href])"
    )
    assert {r[0] for r in rows} == ids and len(rows) == len(ids)
    assert all(href == f"https://clinicaltrials.gov/study/{nct}" for nct, href in rows)
    with page.expect_download() as info:
        page.click("#csv")
    path = tmp_path / "selection.csv"
    info.value.save_as(path)
    text = path.read_text(encoding="utf-8-sig")
    header = [line for line in text.splitlines() if line.startswith("#") or line.startswith('"#')]
    ((run_id, stamp, version),) = con.execute(
        "select run_id, data_timestamp, classifier_version from runs where published"
    ).fetchall()
    joined = "\n".join(header)
    for fact in (run_id, stamp, version, "modality=CAR-T", "years=2020-2024", "country=CN",
                 "follow_up=excluded", f"trials: {len(ids)}"):  # fmt: skip
        assert fact in joined, fact
    body = list(csv.DictReader(io.StringIO("\n".join(text.splitlines()[len(header) :]))))
    assert {r["nct_id"] for r in body} == ids and len(body) == len(ids)
    assert all(r["url"].endswith(r["nct_id"]) for r in body)


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(page):
    cells = page.evaluate(
        "['=1+1', '+A1', '-2', '@SUM(A1)', '\\tx', 'plain', 'a,b', 'say \"hi\"']"
        ".map(window.ttDashboard.csvCell)"
    )
    assert cells == ["'=1+1", "'+A1", "'-2", "'@SUM(A1)", "'\tx", "plain", '"a,b"', '"say ""hi"""']


def test_cell_source_basis_is_carried_when_the_warehouse_records_it(corpus_warehouse, tmp_path):
    import duckdb

    from trialtrends.output.dashboard import dashboard_data

    path = tmp_path / "with-basis.duckdb"
    shutil.copy(corpus_warehouse.warehouse_path, path)
    con = duckdb.connect(str(path))
    # Warehouses from before the cell-source basis lack the column; newer ones have it (nullable).
    con.execute("alter table trial_flags add column if not exists cell_source_basis varchar")
    con.execute(
        "update trial_flags set cell_source_basis = case when cell_source = 'autologous' then 'inferred' end"
    )
    data = dashboard_data(con)
    con.close()
    vocab, col = data["dict"], data["col"]
    inferred = vocab["cell_source_basis"].index("inferred")
    autologous = vocab["cell_source"].index("autologous")
    assert [b == inferred for b in col["cell_source_basis"]] == [c == autologous for c in col["cell_source"]]
