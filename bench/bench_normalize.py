"""Benchmark: normalize + validate throughput (studies/s) on the shared corpus and records.

    uv run python bench/bench_normalize.py [--repeat 5] [--scale 20]

`--scale` replicates the corpus under new NCT ids to measure at a larger size too.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

from _shared import corpus_and_records

from trialtrends.transform.normalize import normalize_studies
from trialtrends.validate.quarantine import validate_tables


def replicate(studies: list[dict], factor: int) -> list[dict]:
    out = []
    for k in range(factor):
        for i, s in enumerate(studies):
            c = copy.deepcopy(s)
            c["protocolSection"]["identificationModule"]["nctId"] = (
                f"NCT{20000000 + k * len(studies) + i:08d}"
            )
            out.append(c)
    return out


def measure(studies: list[dict], repeat: int) -> None:
    norm, total = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        tables = normalize_studies(studies, "bench")
        mid = time.perf_counter()
        validate_tables(tables, "bench")
        end = time.perf_counter()
        norm.append(mid - start)
        total.append(end - start)
    n = len(studies)
    print(
        f"{n:>7} studies: normalize {n / statistics.median(norm):8.0f} studies/s, "
        f"normalize+validate {n / statistics.median(total):8.0f} studies/s "
        f"(median of {repeat}: {statistics.median(total):.2f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--scale", type=int, default=20)
    args = parser.parse_args()
    studies = corpus_and_records()
    measure(studies, args.repeat)
    if args.scale > 1:
        measure(replicate(studies, args.scale), max(1, args.repeat // 2))


if __name__ == "__main__":
    main()
