"""Benchmark: a full pull of the shared corpus + records from the fake API, pacing off.

    uv run python bench/bench_pull.py [--repeat 3]

Prints requests, bytes received and wall seconds per run, and the median.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from _shared import corpus_and_records
from fakeapi import FakeCtgov

from trialtrends.extract.api_pull import pull
from trialtrends.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    studies = corpus_and_records()
    times = []
    with FakeCtgov(studies) as fake:
        for i in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                settings = Settings.from_env(data_dir=Path(tmp), api_url=fake.url, max_rps=0)
                start = time.perf_counter()
                result = pull(settings)
                seconds = time.perf_counter() - start
                m = result.manifest
                times.append(seconds)
                print(
                    f"run {i + 1}: {m.requests} requests, {m.bytes_received / 1e6:.1f} MB, "
                    f"{m.pages} pages, {m.unique_studies} unique studies, {seconds:.2f} s"
                )
    print(f"served {len(studies)} studies; median {statistics.median(times):.2f} s over {len(times)} runs")


if __name__ == "__main__":
    main()
