"""End to end: `trialtrends refresh` and the Prefect nightly flow against the fake API serving the
shared corpus + records; prints wall times and the four views for one year and modality.

    uv run python bench/bench_refresh.py [--year 2022] [--modality CAR-T] [--no-flow]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _shared import REPO, corpus_and_records
from fakeapi import FakeCtgov

VIEWS = {
    "yearly_counts": "select * from yearly_counts where modality = ? and basis = 'first_posted' order by year",
    "phase_distribution": "select phase, trials, round(share, 3) as share from phase_distribution "
    "where modality = ? and basis = 'first_posted' and year = ? order by phase_order",
    "country_table": "select rank, country_code, country, trials, round(share, 3) as share from country_table "
    "where modality = ? and basis = 'first_posted' and year = ? order by rank nulls last, country limit 12",
    "sponsor_table": "select rank, sponsor, sponsor_country, trials, round(share, 3) as share from sponsor_table "
    "where modality = ? and basis = 'first_posted' and year = ? and role = 'lead' order by rank, sponsor limit 12",
}


def run(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--year", type=int, default=2022)
    parser.add_argument("--modality", default="CAR-T")
    parser.add_argument("--no-flow", action="store_true")
    args = parser.parse_args()
    import duckdb

    exe = str(REPO / ".venv" / "bin" / "trialtrends")
    with FakeCtgov(corpus_and_records()) as fake, tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "TRIALTRENDS_DATA_DIR": tmp, "TRIALTRENDS_API_URL": fake.url,
               "TRIALTRENDS_MAX_RPS": "0"}  # fmt: skip
        seconds = run([exe, "refresh"], env)
        print(f"trialtrends refresh (pacing off): {seconds:.2f} s wall")
        import json

        m = json.loads(next(Path(tmp, "raw").glob("*/manifest.json")).read_text())
        q = m["quality"]
        print(
            f"{m['requests']} requests, {m['unique_studies']} unique studies of {fake.study_count} served, "
            f"{m['trials_loaded']} trials loaded, {q['classified_trials']} cell-therapy, "
            f"{q['long_term_follow_up']} long-term follow-up, {m['rejected_studies']} rejected, "
            f"unmapped countries: {q['unmapped_countries'] or 'none'}; gates: "
            + ", ".join(f"{g['name']}={'pass' if g['passed'] else 'FAIL'}" for g in m["gates"])
        )
        with duckdb.connect(str(Path(tmp) / "warehouse" / "trialtrends.duckdb"), read_only=True) as con:
            for view, sql in VIEWS.items():
                params = [args.modality] if view == "yearly_counts" else [args.modality, args.year]
                cur = con.execute(sql, params)
                cols = [d[0] for d in cur.description]
                print(
                    f"\n{view} ({args.modality}, first_posted{'' if view == 'yearly_counts' else f', {args.year}'})"
                )
                print(" | ".join(cols))
                for row in cur.fetchall():
                    print(" | ".join(str(v) for v in row))
        if not args.no_flow:
            seconds = run([sys.executable, str(REPO / "flows" / "nightly.py")], env)
            print(
                f"\nPrefect nightly flow, local (includes the temporary Prefect server start): {seconds:.2f} s wall"
            )


if __name__ == "__main__":
    main()
