"""Benchmark the bulk path (and the API path) at registry scale.

    uv run python bench/bench_bulk.py --studies 100000 600000 [--api 20000] [--profile]

For each size: builds the zip (bench/make_bulk.py), runs `trialtrends refresh --source ZIP` in
a fresh process and reports wall seconds, studies/s end to end (scan + classify + normalize +
validate + load + publish) and the child's peak RSS. `--api N` also serves N replicated studies
from the fake API and times `trialtrends refresh` against it (pacing off). `--profile` runs the
largest bulk size once more under cProfile and prints the top functions by cumulative time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _shared import REPO, corpus_and_records
from make_bulk import build


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and all its descendants (from /proc), in kB."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/status") as fh:
                total += next((int(line.split()[1]) for line in fh if line.startswith("VmRSS:")), 0)
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as fh:
                    stack += [int(c) for c in fh.read().split()]
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return total


def run_child(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak resident memory of the whole process tree (MB), and stdout."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "trialtrends", *args], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    peak = 0
    sampler_done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not sampler_done.is_set():
            peak = max(peak, _tree_rss_kb(proc.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - start
    sampler_done.set()
    sampler.join()
    if proc.returncode != 0:
        sys.exit(f"trialtrends {' '.join(args)} failed:\n{stderr[-3000:]}")
    return seconds, peak / 1024, stdout.strip()


def bench_bulk(n: int, out: Path) -> None:
    source = build(n, out)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "TRIALTRENDS_DATA_DIR": tmp}
        seconds, peak_mb, _stdout = run_child(["-q", "refresh", "--source", str(source)], env)
        manifest = json.loads(next(Path(tmp, "raw").glob("*/manifest.json")).read_text())
    print(
        f"bulk {n:>7} studies: {seconds:6.1f} s, {n / seconds:7.0f} studies/s, peak RSS (all processes) {peak_mb:6.0f} MB, "
        f"{manifest['quality']['classified_trials']} cell-therapy trials loaded"
    )


def bench_api(n: int) -> None:
    from fakeapi import FakeCtgov

    base = corpus_and_records()
    studies = []
    for i in range(n):
        s = json.loads(json.dumps(base[i % len(base)]))
        s["protocolSection"]["identificationModule"]["nctId"] = f"NCT{20000000 + i:08d}"
        studies.append(s)
    with FakeCtgov(studies) as fake, tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "TRIALTRENDS_DATA_DIR": tmp, "TRIALTRENDS_API_URL": fake.url,
               "TRIALTRENDS_MAX_RPS": "0"}  # fmt: skip
        seconds, peak_mb, _ = run_child(["-q", "refresh"], env)
        requests = len(fake.requests)
    print(f"api  {n:>7} studies: {seconds:6.1f} s, {n / seconds:7.0f} studies/s, peak RSS (all processes) {peak_mb:6.0f} MB, "
          f"{requests} requests")  # fmt: skip


def profile(n: int, out: Path) -> None:
    import cProfile
    import pstats

    from trialtrends.pipeline import refresh
    from trialtrends.settings import Settings

    source = build(n, out)
    with tempfile.TemporaryDirectory() as tmp:
        profiler = cProfile.Profile()
        profiler.enable()
        refresh(Settings.from_env(data_dir=Path(tmp)), source=source)
        profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--studies", type=int, nargs="+", default=[100_000, 600_000])
    parser.add_argument("--api", type=int, default=0, help="also time the API path with N studies")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    args = parser.parse_args()
    for n in sorted(args.studies):
        bench_bulk(n, args.out)
    if args.api:
        bench_api(args.api)
    if args.profile:
        profile(max(args.studies), args.out)


if __name__ == "__main__":
    main()
