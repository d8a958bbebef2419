"""Judging a batch of studies: the set-based engine beside the engine it replaced, in one run.

    uv run python bench/bench_judge.py [--registry 5000] [--runs 3] [--no-refresh]

Prints, old engine (the pinned copy in tests/classify_reference) beside the live one:
1. `classify` + `classify_diseases` on the shared corpus + records: wall and CPU seconds, and
   the number of Polars collects (each eager frame operation is one).
2. Judging registry-shaped studies (bench/make_registry.py, ~1% cell therapy): studies/s, and the
   per-call fixed cost (`classify` of one study).
3. A search-mode `trialtrends refresh` of the corpus from the fake API, cold (a fresh process, as
   the CLI and the nightly run it), against the pull floor: the same pages fetched with
   `requests` + `orjson` in one process.

Wall times on a loaded machine are noisy; the ratios within one run are what to compare.
Medians of --runs; CPU seconds (all threads) are printed beside wall seconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable

import orjson
import polars as pl
from _shared import REPO, corpus_and_records
from fakeapi import FakeCtgov

from trialtrends.transform import diseases
from trialtrends.transform.classify import classify
from trialtrends.transform.study_text import text_frame, text_row


def engines() -> dict[str, tuple[Callable, Callable]]:
    """(classify, classify_diseases) of each engine; the old one is the pinned copy in tests/
    (importable once _shared has put tests/ on sys.path)."""
    import classify_reference
    from classify_reference import diseases as reference_diseases

    return {
        "old": (classify_reference.classify, reference_diseases.classify_diseases),
        "new": (classify, diseases.classify_diseases),
    }


ENGINES = engines()


class Collects:
    """Counts Polars query executions: eager frame operations, lazy collects and collect_all."""

    def __init__(self) -> None:
        self.count = 0
        from polars.lazyframe.frame import LazyFrame

        for name in ("_collect_eager", "collect"):
            self._wrap(LazyFrame, name)
        self._wrap(pl, "collect_all")

    def _wrap(self, owner: object, name: str) -> None:
        original = getattr(owner, name)

        def counted(*args: object, **kwargs: object) -> object:
            self.count += 1
            return original(*args, **kwargs)

        setattr(owner, name, counted)


def timed(fns: dict[str, Callable[[], object]], runs: int) -> dict[str, tuple[float, float]]:
    """Median wall and CPU seconds of `runs` calls of each function, the functions interleaved
    (old, new, old, new...) so that load from other processes falls on both alike."""
    walls: dict[str, list[float]] = {name: [] for name in fns}
    cpus: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            walls[name].append(time.perf_counter() - wall)
            cpus[name].append(time.process_time() - cpu)
    return {name: (statistics.median(walls[name]), statistics.median(cpus[name])) for name in fns}


def judge(engine: str, text: pl.DataFrame) -> None:
    """What a run does with a batch: classify it, then the diseases of the cell-therapy trials."""
    classify_fn, diseases_fn = ENGINES[engine]
    flags = classify_fn(text).flags
    diseases_fn(text.filter(pl.col("nct_id").is_in(flags.filter("is_cell_therapy")["nct_id"].implode())))


def corpus_section(text: pl.DataFrame, runs: int, collects: Collects) -> None:
    print(
        f"\n1. classify + classify_diseases, shared corpus + records ({text.height} studies), median of {runs}"
    )
    print(f"{'engine':8} {'wall s':>8} {'cpu s':>8} {'collects':>9}")
    counts = {}
    for engine in ENGINES:
        judge(engine, text.head(50))  # imports, rule compilation, dictionary
        before = collects.count
        judge(engine, text)
        counts[engine] = collects.count - before
    results = timed({e: lambda e=e: judge(e, text) for e in ENGINES}, runs)
    for engine, (wall, cpu) in results.items():
        print(f"{engine:8} {wall:8.2f} {cpu:8.2f} {counts[engine]:9d}")
    (ow, oc), (nw, nc) = results["old"], results["new"]
    print(f"old/new: {ow / nw:.1f}x wall, {oc / nc:.1f}x cpu")


def registry_text(n: int) -> pl.DataFrame:
    """Text rows of `n` registry-shaped studies (built once by make_registry into bench/out)."""
    sys.path.insert(0, str(REPO / "bench"))
    from make_registry import build

    path = build(n, REPO / "bench" / "out")
    with zipfile.ZipFile(path) as zf:
        return text_frame(text_row(orjson.loads(zf.read(info))) for info in zf.infolist())


def registry_section(n: int, runs: int) -> None:
    text = registry_text(n)
    one = text.head(1)
    print(f"\n2. judging {text.height} registry-shaped studies (classify + diseases), median of {runs}")
    print(f"{'engine':8} {'wall s':>8} {'cpu s':>8} {'studies/s':>10} {'1 study, s':>11}")
    for engine in ENGINES:
        judge(engine, text.head(50))
    batch = timed({e: lambda e=e: judge(e, text) for e in ENGINES}, runs)
    single = timed({e: lambda e=e: judge(e, one) for e in ENGINES}, max(runs, 5))
    for engine, (wall, cpu) in batch.items():
        print(f"{engine:8} {wall:8.2f} {cpu:8.2f} {text.height / wall:10.0f} {single[engine][0]:11.3f}")
    (ow, _), (nw, _) = batch["old"], batch["new"]
    of, nf = single["old"][0], single["new"][0]
    print(f"old/new: {ow / nw:.1f}x for the batch, {of / nf:.1f}x per call")


# The refresh, cold, in a fresh process; "old" swaps the pinned engine into the processing step.
_REFRESH = """
import sys
sys.path.insert(0, {tests!r})
if {old!r}:
    import classify_reference, trialtrends.pipeline.chunks as chunks
    from classify_reference import diseases
    chunks.classify, chunks.classify_diseases = classify_reference.classify, diseases.classify_diseases
from trialtrends.cli import main
main(["refresh"])
"""


def pull_floor(url: str) -> tuple[float, int]:
    """Fetch every page a search-mode refresh fetches, with requests + orjson in this process."""
    import requests

    from trialtrends.extract.searches import QUERIES, search_params

    start, pages = time.perf_counter(), 0
    with requests.Session() as session:
        for query in QUERIES:
            params = search_params(query)
            while True:
                data = orjson.loads(session.get(f"{url}/studies", params=params, timeout=60).content)
                pages += 1
                token = data.get("nextPageToken")
                if not token or not data.get("studies"):
                    break
                params = {**search_params(query), "pageToken": token}
    return time.perf_counter() - start, pages


def refresh_section(studies: list[dict], runs: int) -> None:
    print(f"\n3. search-mode refresh of the corpus, cold process, vs the pull floor, median of {runs}")
    with FakeCtgov(studies) as fake:
        walls: dict[str, list[float]] = {engine: [] for engine in ENGINES}
        floors, pages = [], 0
        for _ in range(runs):  # floor, old, new interleaved, like `timed`
            seconds, pages = pull_floor(fake.url)
            floors.append(seconds)
            for engine in ENGINES:
                with tempfile.TemporaryDirectory() as tmp:
                    env = {**os.environ, "TRIALTRENDS_DATA_DIR": tmp, "TRIALTRENDS_API_URL": fake.url,
                           "TRIALTRENDS_MAX_RPS": "0", "TRIALTRENDS_MODE": "search"}  # fmt: skip
                    code = _REFRESH.format(tests=str(REPO / "tests"), old=engine == "old")
                    start = time.perf_counter()
                    proc = subprocess.run(
                        [sys.executable, "-c", code], env=env, capture_output=True, text=True
                    )
                    walls[engine].append(time.perf_counter() - start)
                    if proc.returncode != 0:
                        sys.exit(f"refresh failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
        floor = statistics.median(floors)
        print(f"pull floor (requests + orjson, {pages} pages): {floor:.2f} s")
        for engine in ENGINES:
            wall = statistics.median(walls[engine])
            print(f"refresh, {engine} engine: {wall:.2f} s = {wall / floor:.1f}x the pull floor")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--registry", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-refresh", action="store_true")
    args = parser.parse_args()
    studies = corpus_and_records()
    collects = Collects()
    print(
        f"Polars {pl.__version__}, {os.cpu_count()} cores, POLARS_MAX_THREADS={os.environ.get('POLARS_MAX_THREADS', '-')}"
    )
    corpus_section(text_frame(text_row(s) for s in studies), args.runs, collects)
    registry_section(args.registry, args.runs)
    if not args.no_refresh:
        refresh_section(studies, args.runs)


if __name__ == "__main__":
    main()
