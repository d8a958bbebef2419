"""Benchmark the bulk path (and the API path) at registry scale.

    uv run python bench/bench_bulk.py --studies 100000 600000 [--old 100000] [--full 100000]
        [--api 20000] [--profile] [--out DIR]

For each size: builds the registry-shaped zip (bench/make_registry.py; `--old N` also the
corpus-replicating zip of bench/make_bulk.py), measures the floor in this process (inflate and
CRC-check every entry once, one process, the same reader the pipeline uses, ISA-L; and the same
with the standard library's zipfile, the floor as first measured), then runs
`trialtrends refresh --source ZIP` in a fresh process and prints wall seconds, studies/s and
MB/s (of inflated JSON) end to end (zip to published warehouse), the peak resident memory of the
whole process tree (main process and workers, sampled from /proc), studies parsed vs scanned,
and the ratio to the floor. `--full N` also runs sizes <= N with the prefilter off
(TRIALTRENDS_BULK_PREFILTER=0, every study parsed) and prints the cell-therapy trials found
both ways. `--api N` times `trialtrends refresh` against N studies from the fake API.
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
import zipfile
from pathlib import Path

import duckdb
import make_bulk
import make_registry
from _shared import REPO, corpus_and_records

from trialtrends.extract.bulk import parts, read_part
from trialtrends.pipeline.bulk import PART_BYTES, PART_ENTRIES


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


def floor(source: Path) -> tuple[float, int, int]:
    """Seconds to inflate and CRC-check every entry once in one process, entries, JSON bytes
    (the pipeline's own reader: ISA-L inflate)."""
    start = time.perf_counter()
    entries = inflated = 0
    for part in parts(source, PART_ENTRIES, PART_BYTES):
        for _where, data in read_part(part):
            entries += 1
            inflated += len(data) if isinstance(data, bytes) else 0
    return time.perf_counter() - start, entries, inflated


def zlib_floor(source: Path) -> float:
    """The same with the standard library (zipfile's zlib inflate and CRC), the floor as it was
    first measured: seconds."""
    start = time.perf_counter()
    with zipfile.ZipFile(source) as archive:
        for info in archive.infolist():
            archive.read(info)
    return time.perf_counter() - start


def refresh_once(source: Path, prefilter: bool = True) -> tuple[float, float, dict, set[str]]:
    """Wall seconds, peak MB of the process tree, manifest, and the cell-therapy trials loaded."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "TRIALTRENDS_DATA_DIR": tmp,
            "TRIALTRENDS_BULK_PREFILTER": "1" if prefilter else "0",
        }
        seconds, peak_mb, _stdout = run_child(["-q", "refresh", "--source", str(source)], env)
        manifest = json.loads(next(Path(tmp, "raw").glob("*/manifest.json")).read_text())
        with duckdb.connect(str(Path(tmp, "warehouse", "trialtrends.duckdb")), read_only=True) as con:
            trials = {
                r[0] for r in con.execute("select nct_id from trial_flags where is_cell_therapy").fetchall()
            }
    return seconds, peak_mb, manifest, trials


def bench_bulk(label: str, source: Path, full: bool) -> None:
    floor_s, entries, inflated = floor(source)
    zlib_s = zlib_floor(source)
    seconds, peak_mb, manifest, trials = refresh_once(source)
    q = manifest["quality"]
    print(
        f"{label:>18}: {entries:>7} studies, {inflated / 1e6:6.0f} MB JSON | end to end {seconds:6.1f} s, "
        f"{entries / seconds:7.0f} studies/s, {inflated / 1e6 / seconds:5.0f} MB/s, peak {peak_mb:5.0f} MB "
        f"(all processes) | floor {floor_s:5.1f} s ({inflated / 1e6 / floor_s:4.0f} MB/s), ratio "
        f"{seconds / floor_s:4.2f}; zlib floor {zlib_s:5.1f} s, ratio {seconds / zlib_s:4.2f} | "
        f"parsed {q['parsed']} of {q['scanned']} scanned, {q['classified_trials']} cell-therapy trials",
        flush=True,
    )
    if full:
        f_seconds, f_peak, f_manifest, f_trials = refresh_once(source, prefilter=False)
        print(
            f"{'(prefilter off)':>18}: end to end {f_seconds:6.1f} s, {entries / f_seconds:7.0f} studies/s, "
            f"peak {f_peak:5.0f} MB | parsed {f_manifest['quality']['parsed']} | cell-therapy trials "
            f"{len(f_trials)} parsing all vs {len(trials)} prefiltered; identical: {f_trials == trials}",
            flush=True,
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

    source = make_registry.build(n, out)
    with tempfile.TemporaryDirectory() as tmp:
        profiler = cProfile.Profile()
        profiler.enable()
        refresh(Settings.from_env(data_dir=Path(tmp)), source=source)
        profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


def compile_bytecode() -> None:
    """Compile the environment's and the package's bytecode once. With PYTHONDONTWRITEBYTECODE
    set (as on this project's machines) every process, each bulk worker included, would compile
    Polars, pandera and DuckDB from source at start (~2 s each); anywhere else the first run
    writes the .pyc files and every later night reads them, which is what is measured here."""
    import compileall
    import sysconfig

    for folder in {sysconfig.get_paths()["purelib"], str(REPO / "src")}:
        compileall.compile_dir(folder, quiet=1, workers=os.cpu_count() or 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--studies", type=int, nargs="*", default=[100_000, 600_000])
    parser.add_argument(
        "--old", type=int, nargs="*", default=[], help="also the make_bulk.py zip of N studies"
    )
    parser.add_argument(
        "--full", type=int, default=0, help="also run registry sizes <= N with the prefilter off"
    )
    parser.add_argument("--api", type=int, default=0, help="also time the API path with N studies")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    args = parser.parse_args()
    compile_bytecode()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}", flush=True)
    for n in sorted(args.old):
        bench_bulk(f"old generator {n}", make_bulk.build(n, args.out), False)
    for n in sorted(args.studies):
        bench_bulk(f"registry {n}", make_registry.build(n, args.out), n <= args.full)
    if args.api:
        bench_api(args.api)
    if args.profile:
        profile(max(args.studies), args.out)


if __name__ == "__main__":
    main()
