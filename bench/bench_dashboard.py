"""Measure the dashboard: file size, build time, open time and filter time in headless Chromium.

    uv run python bench/bench_dashboard.py [--repeat 5] [--registry bench/out/ctg-registry-100000.json.zip]
                                           [--scale 3] [--screenshots DIR]

1. Refreshes a warehouse from the fake API serving the shared corpus (bench/out/dashboard-corpus).
2. With --registry ZIP (made by bench/make_registry.py), a bulk refresh of that file
   (bench/out/dashboard-registry; reused when it exists: the refresh runs once).
3. With --scale K, a copy of the corpus warehouse whose report-group trials are repeated K times
   under new NCT ids (every table a trial has rows in): as many counted trials as a full
   registry's cell-therapy share (~6,000), without pulling one.
4. For each warehouse: builds the dashboard (`write_dashboard`), then opens it --repeat times in
   headless Chromium (the system's /usr/bin/chromium, network off) and reports the median time
   to interactive (navigation start to the first drawn view, `window.ttTimings.ready`) and the
   median time of one filter change; prints each figure beside its goal (<= 5 MB, <= 2 s).
5. With --screenshots DIR, saves the default view and a filtered view (CAR-T, 2020-2024, China)
   of the corpus dashboard there.

Timings on a shared machine are noisy: compare figures measured in one run.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

import duckdb
from _shared import REPO, corpus_and_records
from fakeapi import FakeCtgov

from trialtrends.output.dashboard import write_dashboard
from trialtrends.pipeline import refresh
from trialtrends.settings import Settings

OUT = REPO / "bench" / "out"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SIZE_GOAL = 5_000_000  # bytes
OPEN_GOAL = 2.0  # seconds to interactive
# Tables with rows per trial (a scaled copy repeats them under new ids).
TRIAL_TABLES = (
    "trials", "trial_flags", "trial_modalities", "trial_countries", "trial_sponsors", "trial_diseases",
    "trial_products",
)  # fmt: skip


def corpus_warehouse() -> Path:
    data = OUT / "dashboard-corpus"
    if data.exists():
        shutil.rmtree(data)
    server = FakeCtgov(corpus_and_records())
    server.start()
    try:
        refresh(Settings.from_env(data_dir=data, api_url=server.url, max_rps=0))
    finally:
        server.stop()
    return data / "warehouse" / "trialtrends.duckdb"


def registry_warehouse(zip_path: Path) -> Path:
    data = OUT / "dashboard-registry"
    path = data / "warehouse" / "trialtrends.duckdb"
    if not path.is_file():  # a 100k-study bulk refresh: once, then reused
        started = time.perf_counter()
        refresh(Settings.from_env(data_dir=data), source=zip_path)
        print(f"bulk refresh of {zip_path.name}: {time.perf_counter() - started:.1f} s")
    return path


def scaled_warehouse(source: Path, times: int) -> Path:
    """A copy whose report-group trials appear `times` times (copy k: NCT id + k * 10^7)."""
    path = OUT / f"dashboard-scaled-{times}x.duckdb"
    shutil.copy(source, path)
    con = duckdb.connect(str(path))
    try:
        for k in range(1, times):
            for table in TRIAL_TABLES:
                con.execute(
                    f"insert into {table} by name select * replace ("
                    f"'NCT' || lpad((nct_id[4:]::bigint + {k} * 10000000)::varchar, 8, '0') as nct_id) "
                    f"from {table} where nct_id in (select nct_id from trial_report_groups) "
                    "and nct_id[4:]::bigint < 10000000"
                )
        con.execute("checkpoint")
    finally:
        con.close()
    return path


# The floor: Plotly's bundle inline (as a plain script) and one bar chart. Opened alternately with
# the dashboard, so the ratio holds however loaded the machine is.
REFERENCE = """<!doctype html><html><head><meta charset="utf-8"></head><body><div id="c"></div>
<script>{plotly}</script><script>Plotly.newPlot("c", [{{type: "bar", x: [1, 2, 3], y: [3, 1, 2]}}]);
window.ttTimings = {{ready: performance.now()}}; window.ttReady = 1;</script></body></html>"""


def reference_page() -> Path:
    from plotly.offline import get_plotlyjs

    path = OUT / "plotly-reference.html"
    path.write_text(REFERENCE.format(plotly=get_plotlyjs().replace("</", "<\\/")))
    return path


def _ready(browser, path: Path) -> tuple[float, object, object]:
    context = browser.new_context(offline=True, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(path.as_uri())
    page.wait_for_function("window.ttReady !== undefined", timeout=60_000)
    return page.evaluate("window.ttTimings.ready") / 1000, page, context


def open_times(
    page_path: Path, repeat: int, screenshots: Path | None
) -> tuple[list[float], list[float], list[float], list[float]]:
    from playwright.sync_api import sync_playwright

    ready, complete, changes, reference = [], [], [], []
    floor = reference_page()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for i in range(repeat):
            seconds, _, context = _ready(browser, floor)
            reference.append(seconds)
            context.close()
            seconds, page, context = _ready(browser, page_path)
            ready.append(seconds)
            page.wait_for_function("window.ttTimings.complete !== undefined", timeout=60_000)
            complete.append(page.evaluate("window.ttTimings.complete") / 1000)
            # One filter change, until every chart of the new selection is drawn.
            changes.append(
                page.evaluate(
                    """() => new Promise((done) => {
                        const s = document.getElementById('f-group'); const t = performance.now();
                        s.value = 'CAR-T'; s.dispatchEvent(new Event('change'));
                        const wait = () => window.ttDashboard.pending === 0 ? done(performance.now() - t)
                            : setTimeout(wait, 1);
                        wait();
                    })"""
                )
                / 1000
            )
            if screenshots and i == 0:
                page.select_option("#f-group", "ALL")
                page.wait_for_function("window.ttDashboard.pending === 0")
                page.screenshot(path=str(screenshots / "dashboard-default.png"))
                page.select_option("#f-group", "CAR-T")
                page.select_option("#f-from", "2020")
                page.select_option("#f-to", "2024")
                page.select_option("#f-country", label="China")
                page.wait_for_function("window.ttDashboard.pending === 0")
                page.screenshot(path=str(screenshots / "dashboard-filtered.png"))
                page.evaluate("window.scrollTo(0, document.getElementById('flow-title').offsetTop - 20)")
                page.screenshot(path=str(screenshots / "dashboard-flow.png"))
            context.close()
        browser.close()
    return ready, complete, changes, reference


def measure(label: str, warehouse: Path, repeat: int, screenshots: Path | None = None) -> None:
    con = duckdb.connect(str(warehouse), read_only=True)
    ((trials,),) = con.execute("select count(distinct nct_id) from trial_report_groups").fetchall()
    con.close()
    out = OUT / f"dashboard-{label}.html"
    started = time.perf_counter()
    write_dashboard(warehouse, out)
    build = time.perf_counter() - started
    size = out.stat().st_size
    ready, complete, changes, reference = open_times(out, repeat, screenshots)
    open_s, change_s, floor_s = (
        statistics.median(ready),
        statistics.median(changes),
        statistics.median(reference),
    )
    print(f"\n{label}: {trials:,} trials in report groups -> {out}")
    print(f"  size              {size / 1e6:6.2f} MB   goal <= {SIZE_GOAL / 1e6:.0f} MB   "
          f"{'ok' if size <= SIZE_GOAL else 'OVER'}")  # fmt: skip
    print(f"  open (interactive){open_s:6.2f} s    goal <= {OPEN_GOAL:.0f} s     "
          f"{'ok' if open_s <= OPEN_GOAL else 'OVER'}   (median of {repeat}: "
          f"{', '.join(f'{r:.2f}' for r in ready)})")  # fmt: skip
    print(f"  every chart drawn {statistics.median(complete):6.2f} s")
    print(f"  Plotly alone      {floor_s:6.2f} s    (bundle inline + one chart, opened alternately: "
          f"the dashboard takes {open_s / floor_s:.2f}x)")  # fmt: skip
    print(f"  one filter change {change_s:6.2f} s    (to every chart drawn; median of {repeat})")
    print(f"  build             {build:6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--registry", type=Path, default=None, help="a zip made by bench/make_registry.py")
    parser.add_argument("--scale", type=int, default=0, help="also a corpus copy with its trials K times")
    parser.add_argument("--screenshots", type=Path, default=None)
    args = parser.parse_args()
    if not CHROMIUM.is_file():
        sys.exit(f"skipped: no Chromium at {CHROMIUM} (Debian package `chromium`)")
    OUT.mkdir(parents=True, exist_ok=True)
    if args.screenshots:
        args.screenshots.mkdir(parents=True, exist_ok=True)
    corpus = corpus_warehouse()
    measure("corpus", corpus, args.repeat, args.screenshots)
    if args.registry:
        measure("registry", registry_warehouse(args.registry), args.repeat)
    if args.scale > 1:
        measure(f"scaled-{args.scale}x", scaled_warehouse(corpus, args.scale), args.repeat)


if __name__ == "__main__":
    main()
