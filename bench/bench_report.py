"""Benchmark the report path, and screenshot the HTML report in headless Chromium.

    uv run python bench/bench_report.py [--repeat 7]

1. Refreshes a warehouse from the fake API serving the shared corpus (into bench/out/report-data).
2. Times cold `trialtrends report --year 2022` processes (median of --repeat) beside a bare
   `python -c "import duckdb; ..."` process running the report's queries on the same views
   (the four original sections plus disease areas, targets, sponsor types and products).
3. Times `--out` (five charts as 300-dpi PNG + SVG, and the HTML) and `--format xlsx`.
4. When Chromium is installed (Debian package `chromium`), saves a full-page PNG screenshot of
   the HTML report to bench/out/report-2022-all-groups-first_posted.png.

The corpus warehouse has no disease or product rows until those classifiers land; the views and
sections are still computed (every trial in area 'unknown', no products), so the timings hold.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time

from _shared import REPO, corpus_and_records
from fakeapi import FakeCtgov

from trialtrends.pipeline import refresh
from trialtrends.settings import Settings

OUT = REPO / "bench" / "out"

BARE = """
import duckdb
con = duckdb.connect({path!r}, read_only=True)
groups = ['CAR-T', 'TCR-T', 'TIL', 'NK', 'ALL']
con.execute("select min(year), max(year) from yearly_counts where basis = 'first_posted' and modality = 'ALL'").fetchall()
con.execute("select modality, year, trials from yearly_counts where basis = 'first_posted' and modality in (select unnest(?::varchar[]))", [groups]).fetchall()
con.execute("select modality, phase, trials, share, phase_order from phase_distribution where basis = 'first_posted' and year = 2022 and modality in (select unnest(?::varchar[])) order by phase_order, modality", [groups]).fetchall()
con.execute("select rank, country_code, country, trials, share from country_table where basis = 'first_posted' and year = 2022 and country_code <> 'XX' and modality = 'ALL' and rank <= 10 order by rank, country_code").fetchall()
con.execute("select modality, country_code, trials, share from country_table where basis = 'first_posted' and year = 2022 and modality in (select unnest(?::varchar[]))", [groups]).fetchall()
con.execute("select rank, sponsor, sponsor_country, trials, share from sponsor_table where basis = 'first_posted' and year = 2022 and role = 'lead' and modality = 'ALL' and rank <= 10 order by rank, sponsor").fetchall()
con.execute("select modality, sponsor, trials, share from sponsor_table where basis = 'first_posted' and year = 2022 and role = 'lead' and modality in (select unnest(?::varchar[]))", [groups]).fetchall()
con.execute("select rank, target, trials, share from target_table where basis = 'first_posted' and year = 2022 and target <> 'Not named' and modality = 'ALL' and rank <= 10 order by rank, target").fetchall()
con.execute("select modality, target, trials, share from target_table where basis = 'first_posted' and year = 2022 and modality in (select unnest(?::varchar[]))", [groups]).fetchall()
con.execute("select modality, year, area, trials, share from disease_area_table where basis = 'first_posted' and year between 2018 and 2022 and modality in (select unnest(?::varchar[]))", [groups]).fetchall()
con.execute("select modality, year, sponsor_type, trials, share from sponsor_type_table where basis = 'first_posted' and role = 'lead' and year between 2018 and 2022 and modality in (select unnest(?::varchar[]))", [groups]).fetchall()
con.execute("select * from product_table where modality in (select modality from report_groups where report_group in (select unnest(?::varchar[])))", [groups]).fetchall()
con.execute("select * from products_by_phase").fetchall()
con.execute("select * from products_by_country").fetchall()
con.execute("select * from runs where published order by run_id desc limit 1").fetchall()
"""


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    data = OUT / "report-data"
    shutil.rmtree(data, ignore_errors=True)
    with FakeCtgov(corpus_and_records()) as fake:
        settings = Settings.from_env(data_dir=data, api_url=fake.url, max_rps=0)
        refresh(settings)
    path = str(settings.warehouse_path)
    exe = shutil.which("trialtrends") or str(REPO / ".venv" / "bin" / "trialtrends")
    report = [exe, "report", "--year", "2022", "--data-dir", str(data)]
    bare = [sys.executable, "-c", BARE.format(path=path)]
    timed(report), timed(bare)  # warm the OS file cache once; each timed run is a new process
    r = [timed(report) for _ in range(args.repeat)]
    b = [timed(bare) for _ in range(args.repeat)]
    print(f"cold `trialtrends report --year 2022`: median {statistics.median(r) * 1000:.0f} ms "
          f"(min {min(r) * 1000:.0f}, max {max(r) * 1000:.0f}) over {args.repeat} runs")  # fmt: skip
    print(f"bare python -c 'import duckdb; <same queries>': median {statistics.median(b) * 1000:.0f} ms "
          f"(min {min(b) * 1000:.0f}, max {max(b) * 1000:.0f})")  # fmt: skip
    print(f"ratio report / bare: {statistics.median(r) / statistics.median(b):.2f} (target <= 2)")

    html_dir = OUT / "report-html"
    shutil.rmtree(html_dir, ignore_errors=True)
    out_s = timed([*report, "--out", str(html_dir)])
    xlsx_s = timed([*report, "--format", "xlsx", "--out", str(html_dir)])
    print(
        f"`report --out` (5 charts as PNG 300 dpi + SVG, HTML): {out_s:.2f} s; `--format xlsx`: {xlsx_s:.2f} s"
    )
    page = html_dir / "report-2022-all-groups-first_posted.html"
    print(f"HTML {page.stat().st_size / 1024:.0f} KiB, workbook "
          f"{(html_dir / 'report-2022-all-groups-first_posted.xlsx').stat().st_size / 1024:.0f} KiB")  # fmt: skip
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print(f"wrote {page}; Chromium not installed (apt-get install chromium): no screenshot")
        return
    shot = OUT / "report-2022-all-groups-first_posted.png"
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={OUT / 'chromium-profile'}", "--hide-scrollbars",
         "--window-size=1400,6000", f"--screenshot={shot}", page.as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    print(f"wrote {page} and its screenshot {shot}")


if __name__ == "__main__":
    main()
