"""Build a registry-sized bulk input by replicating the shared corpus and records.

    uv run python bench/make_bulk.py --studies 600000 [--out bench/out]

Writes `bench/out/ctg-studies-<N>.json.zip`, one JSON file per study as the API's
/studies/download?format=json.zip serves it, each copy under a new NCT id (NCT2xxxxxxx), so
nothing in it collides with a real id. Reuses an existing file of the same size.
"""

from __future__ import annotations

import argparse
import json
import time
import zipfile
from pathlib import Path

from _shared import REPO, corpus_and_records


def build(n: int, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"ctg-studies-{n}.json.zip"
    if target.is_file():
        return target
    base = corpus_and_records()
    templates = []
    for s in base:
        old = s["protocolSection"]["identificationModule"]["nctId"]
        templates.append((old, json.dumps(s, ensure_ascii=False)))
    tmp = target.with_suffix(".tmp")
    start = time.perf_counter()
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for i in range(n):
            old, text = templates[i % len(templates)]
            new = f"NCT{20000000 + i:08d}"
            archive.writestr(f"{new}.json", text.replace(old, new))
    tmp.replace(target)
    seconds = time.perf_counter() - start
    print(f"wrote {target} ({target.stat().st_size / 1e6:.0f} MB, {n} studies) in {seconds:.0f} s")
    return target


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--studies", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    args = parser.parse_args()
    print(build(args.studies, args.out))


if __name__ == "__main__":
    main()
