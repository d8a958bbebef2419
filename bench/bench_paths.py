"""Benchmark the paths people wait on: a cold report beside a bare DuckDB query, in one run.

    UV_COMPILE_BYTECODE=1 uv run python bench/bench_paths.py [--repeat 9]

1. Refreshes a warehouse from the fake API serving the shared corpus and records (into
   bench/out/paths-data), unless one is already there (--rebuild forces it).
2. Times, interleaved so both see the same machine load, cold processes of
   - `trialtrends report --year 2022` (the installed script: a fresh interpreter each time; it
     reads the tables materialised at publish), and the same with --include-follow-up (computed
     from the views), and
   - `python -c "import duckdb; duckdb.connect(db, read_only=True).sql('select 1')"`, the floor
     any command that answers from the warehouse pays (interpreter, DuckDB, opening the file);
   and the same for `trialtrends sql 'select 1'` and `trialtrends runs`.
3. Prints medians side by side and the ratio to the floor (goal for the report: <= 1.3x).

Bytecode: run it in a compiled environment (`UV_COMPILE_BYTECODE=1 uv run ...`, or `uv sync
--compile-bytecode` once); where PYTHONDONTWRITEBYTECODE is set, an uncompiled environment
compiles every imported module in every process and the figures measure that instead.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys

from _shared import REPO, corpus_and_records
from bench_report import timed

OUT = REPO / "bench" / "out"
BARE = "import duckdb; duckdb.connect({path!r}, read_only=True).sql('select 1').fetchall()"


def build(data) -> None:
    from fakeapi import FakeCtgov

    from trialtrends.pipeline import refresh
    from trialtrends.settings import Settings

    shutil.rmtree(data, ignore_errors=True)
    with FakeCtgov(corpus_and_records()) as fake:
        refresh(Settings.from_env(data_dir=data, api_url=fake.url, max_rps=0))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--rebuild", action="store_true", help="refresh the warehouse again")
    args = parser.parse_args()
    data = OUT / "paths-data"
    warehouse = data / "warehouse" / "trialtrends.duckdb"
    if args.rebuild or not warehouse.is_file():
        build(data)
    exe = shutil.which("trialtrends") or str(REPO / ".venv" / "bin" / "trialtrends")
    commands = {
        "bare duckdb (floor)": [sys.executable, "-c", BARE.format(path=str(warehouse))],
        "trialtrends report --year 2022": [exe, "report", "--year", "2022", "--data-dir", str(data)],
        # other counting rules: the same sections computed from the views' macros (no goal)
        "  ... --include-follow-up": [exe, "report", "--year", "2022", "--include-follow-up", "--data-dir", str(data)],
        "trialtrends sql 'select 1'": [exe, "sql", "select 1", "--data-dir", str(data)],
        "trialtrends runs": [exe, "runs", "--data-dir", str(data)],
    }
    for cmd in commands.values():
        timed(cmd)  # warm the OS file cache once; every timed run is a new process
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.repeat):  # interleaved: a burst of load hits every command alike
        for name, cmd in commands.items():
            times[name].append(timed(cmd))
    floor = statistics.median(times["bare duckdb (floor)"])
    load = os.getloadavg()
    print(f"{args.repeat} cold processes each, interleaved; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'command':34} {'median':>8} {'min':>7} {'max':>7} {'x floor':>8}")
    for name, t in times.items():
        median = statistics.median(t)
        print(f"{name:34} {median * 1000:6.0f}ms {min(t) * 1000:5.0f}ms {max(t) * 1000:5.0f}ms {median / floor:7.2f}x")
    print("goal: report <= 1.3x the floor")


if __name__ == "__main__":
    main()
