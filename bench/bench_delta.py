"""Registry mode's two nights, timed as a user runs them: a baseline, then a delta merged into it.

    uv run python bench/bench_delta.py [--studies 600000] [--updated 5000] [--out bench/out]

1. Baseline: `trialtrends refresh --source ctg-registry-<N>.json.zip` (a registry-shaped zip from
   bench/make_registry.py, read as the registry download would be), in a fresh data folder.
2. Delta: the suite's fake API (tests/fakeapi.py) serves `--updated` of the zip's studies, each
   updated today (about 1% cell therapy, as the zip), and `trialtrends refresh` (registry mode,
   the default) pulls them with the unfiltered update query, judges them and merges them into the
   published baseline.

Each prints its wall time and the peak resident memory of the whole process tree beside its floor
(the issue's targets: a baseline >= 10,000 studies/s and <= 1 GB; a delta of 5,000 <= 20 s and
<= 1 GB), plus what each run published. The environment is compiled first (see bench_bulk).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from _shared import REPO
from bench_bulk import compile_bytecode, run_child
from make_registry import build

sys.path.insert(0, str(REPO / "tests"))
from fakeapi import FakeCtgov

BASELINE_FLOOR = 10_000  # studies per second
DELTA_FLOOR = 20.0  # seconds for 5,000 updated studies
MEMORY_FLOOR = 1024  # MB, the whole process tree


def updated_studies(source: Path, n: int, today: str) -> list[dict]:
    """`n` studies of the zip (its first entries: the same mix of sizes and cell therapy),
    stamped as updated today with one visible change."""
    out = []
    with zipfile.ZipFile(source) as archive:
        for info in archive.infolist()[:n]:
            study = json.loads(archive.read(info))
            status = study["protocolSection"].setdefault("statusModule", {})
            status["lastUpdatePostDateStruct"] = {"date": today, "type": "ACTUAL"}
            status["overallStatus"] = "COMPLETED" if status.get("overallStatus") != "COMPLETED" else "RECRUITING"
            out.append(study)
    return out


def published(data: Path) -> tuple[int, int, int]:
    with duckdb.connect(str(data / "warehouse" / "trialtrends.duckdb"), read_only=True) as con:
        trials = con.execute("select count(*) from trials").fetchone()[0]
        index = con.execute("select count(*) from registry_studies").fetchone()[0]
        changed = con.execute(
            "select count(*) from trial_changes where run_id = (select max(run_id) from runs where published)"
        ).fetchone()[0]
    return trials, index, changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--studies", type=int, default=600_000)
    parser.add_argument("--updated", type=int, default=5_000)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    args = parser.parse_args()
    compile_bytecode()
    source = build(args.studies, args.out)
    today = datetime.now(UTC).date().isoformat()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        env = {**os.environ, "TRIALTRENDS_DATA_DIR": str(data), "TRIALTRENDS_MAX_RPS": "0"}
        env.pop("TRIALTRENDS_MODE", None)
        seconds, peak, _ = run_child(["-q", "refresh", "--source", str(source)], env)
        rate = args.studies / seconds
        trials, index, _ = published(data)
        print(f"baseline  {args.studies:>9,} studies  {seconds:7.1f} s  {rate:8,.0f} studies/s (floor {BASELINE_FLOOR:,})"
              f"  peak {peak:6.0f} MB (floor {MEMORY_FLOOR})  -> {trials:,} trials, {index:,} indexed")  # fmt: skip
        studies = updated_studies(source, args.updated, today)
        with FakeCtgov(studies, data_timestamp=f"{today}T09:00:06") as fake:
            env["TRIALTRENDS_API_URL"] = fake.url
            seconds, peak, line = run_child(["-q", "refresh"], env)
        trials, index, changed = published(data)
        print(f"delta     {args.updated:>9,} updated  {seconds:7.1f} s (floor {DELTA_FLOOR:.0f} s)"
              f"  peak {peak:6.0f} MB (floor {MEMORY_FLOOR})  -> {trials:,} trials, {index:,} indexed, "
              f"{changed:,} trial changes")  # fmt: skip
        print(f"          {line}")
        ok = seconds <= DELTA_FLOOR and peak <= MEMORY_FLOOR
        print("delta within its floors" if ok else "delta OVER its floors")


if __name__ == "__main__":
    main()
