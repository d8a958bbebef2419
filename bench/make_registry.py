"""Build a registry-shaped bulk input: the size mix and cell-therapy share of the real zip.

    uv run python bench/make_registry.py --studies 600000 [--out bench/out]

Writes `bench/out/ctg-registry-<N>.json.zip`: one pretty-printed JSON file per study, as
/studies/download?format=json.zip serves it. About 1% of the studies are cell-therapy trials
from the shared corpus and 99% are the 64 real shared records; every entry has its own nctId
(NCT3xxxxxxx) and orgStudyIdInfo id. Sizes follow the registry's mix: 96% log-uniform over
5-30 kB (the records padded with eligibility text and secondary outcomes taken from the other
records, fields the classifier does not read), 3% with a results section of 50-400 kB, and one
multi-MB record per 100k studies: a mean of ~20 kB a study, ~12 GB of JSON at 600k (the
registry: ~10 GB). Bodies are deflated at zlib's default level, as zip tools do. Reuses an
existing file of the same size.

Fast at 600k: each distinct body is deflated once; an entry is its own small deflate block
(nctId and org id, full-flushed) followed by the body's shared compressed bytes, which makes a
valid deflate stream (only the last block is final). Only the CRC is computed per entry.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import random
import struct
import time
import zlib
from pathlib import Path

from _shared import REPO, shared_ctgov

CT_SHARE = 0.01
RESULTS_SHARE = 0.03
HUGE_EVERY = 100_000
NORMAL_KB = (5, 30)
RESULTS_KB = (50, 400)
HUGE_KB = 3_000
_ID = "NCT00000000"
_ORG = "@@ORG@@"


def _load() -> tuple[list[dict], list[dict]]:
    base = shared_ctgov()
    with gzip.open(base / "corpus" / "celltherapy-2026-08.jsonl.gz", "rt") as fh:
        corpus = [json.loads(line) for line in fh if line.strip()]
    records = [json.loads(p.read_text()) for p in sorted((base / "records").glob("NCT*.json"))]
    return corpus, records


def _pools(records: list[dict]) -> tuple[list[str], list[dict], list[dict]]:
    """Eligibility paragraphs, secondary outcomes and results sections of the real records."""
    eligibility, outcomes, results = [], [], []
    for r in records:
        p = r["protocolSection"]
        text = (p.get("eligibilityModule") or {}).get("eligibilityCriteria")
        if text:
            eligibility += [t for t in text.split("\n\n") if len(t) > 40]
        outcomes += (p.get("outcomesModule") or {}).get("secondaryOutcomes") or []
        if r.get("resultsSection"):
            results.append(r["resultsSection"])
    return eligibility, outcomes, results


def _text(study: dict) -> str:
    return json.dumps(study, indent=2, ensure_ascii=False)


def _padded(
    study: dict, target: int, pools: tuple[list[str], list[dict], list[dict]], rng: random.Random
) -> dict:
    """The study with eligibility text and secondary outcomes added until it is ~target bytes."""
    eligibility, outcomes, _ = pools
    study = copy.deepcopy(study)
    p = study["protocolSection"]
    elig = p.setdefault("eligibilityModule", {})
    out = p.setdefault("outcomesModule", {})
    size = len(_text(study))
    extra_text, extra_outcomes = [], []
    while size < target:
        if rng.random() < 0.6:
            piece = rng.choice(eligibility)
            extra_text.append(piece)
            size += len(piece) + 4
        else:
            piece = rng.choice(outcomes)
            extra_outcomes.append(piece)
            size += len(json.dumps(piece, indent=2)) + 10
    if extra_text:
        elig["eligibilityCriteria"] = "\n\n".join(
            [elig.get("eligibilityCriteria") or "", *extra_text]
        ).strip()
    if extra_outcomes:
        out["secondaryOutcomes"] = [*(out.get("secondaryOutcomes") or []), *extra_outcomes]
    return study


def _with_results(
    study: dict, target: int, pools: tuple[list[str], list[dict], list[dict]], rng: random.Random
) -> dict:
    study = copy.deepcopy(study)
    study["resultsSection"] = copy.deepcopy(rng.choice(pools[2]))
    study["hasResults"] = True
    while len(_text(study)) > target and study["resultsSection"].get("adverseEventsModule"):
        study["resultsSection"].pop("adverseEventsModule")
    return _padded(study, target, pools, rng)


class Template:
    """One distinct body, split around its nctId and org id; the tail is deflated once."""

    def __init__(self, study: dict) -> None:
        study = copy.deepcopy(study)
        ident = study["protocolSection"]["identificationModule"]
        org = (ident.get("orgStudyIdInfo") or {}).get("id") or ident.get("nctId") or "X"
        rest = {k: v for k, v in ident.items() if k not in ("nctId", "orgStudyIdInfo")}
        study["protocolSection"]["identificationModule"] = {
            "nctId": _ID,
            "orgStudyIdInfo": {"id": _ORG},
            **rest,
        }
        # protocolSection first, as the API serves it.
        study = {"protocolSection": study.pop("protocolSection"), **study}
        text = _text(study).encode()
        cut = text.index(_ORG.encode()) + len(_ORG)
        self.head, self.org, self.tail = text[: text.index(_ID.encode())], org, text[cut:]
        self.middle = text[text.index(_ID.encode()) + len(_ID) : text.index(_ORG.encode())]
        # The default level, as zip tools (and the registry's download) use: each body is deflated
        # once, so it costs little here.
        packer = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.tail_deflated = packer.compress(self.tail) + packer.flush(zlib.Z_FINISH)

    def entry(self, nct: str, i: int) -> tuple[bytes, bytes, int, int]:
        """(deflated bytes, first bytes, crc, size) of this body as study `nct`."""
        first = self.head + nct.encode() + self.middle + f"{self.org}-{i}".encode()
        packer = zlib.compressobj(1, zlib.DEFLATED, -15)
        deflated = packer.compress(first) + packer.flush(zlib.Z_FULL_FLUSH) + self.tail_deflated
        crc = zlib.crc32(self.tail, zlib.crc32(first))
        return deflated, first, crc, len(first) + len(self.tail)


class ZipWriter:
    """A minimal zip64-capable writer of already-deflated entries (zipfile can only deflate)."""

    def __init__(self, path: Path) -> None:
        self.fh = open(path, "wb")  # noqa: SIM115 - held across add() calls, closed in close()
        self.central: list[bytes] = []
        self.offset = 0

    def add(self, name: str, deflated: bytes, crc: int, size: int) -> None:
        raw = name.encode()
        header = struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x5A21, crc, len(deflated), size, len(raw), 0
        )
        self.fh.write(header + raw)
        self.fh.write(deflated)
        big = self.offset >= 0xFFFFFFFF
        extra = struct.pack("<HHQ", 1, 8, self.offset) if big else b""
        entry = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45 if big else 20, 0, 8, 0, 0x5A21, crc,
                            len(deflated), size, len(raw), len(extra), 0, 0, 0, 0,
                            0xFFFFFFFF if big else self.offset)  # fmt: skip
        self.central.append(entry + raw + extra)
        self.offset += len(header) + len(raw) + len(deflated)

    def close(self) -> None:
        start = self.offset
        directory = b"".join(self.central)
        self.fh.write(directory)
        n, end = len(self.central), start + len(directory)
        self.fh.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, len(directory), start))
        self.fh.write(struct.pack("<IIQI", 0x07064B50, 0, end, 1))
        self.fh.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, min(n, 0xFFFF), min(n, 0xFFFF),
                                  min(len(directory), 0xFFFFFFFF), min(start, 0xFFFFFFFF), 0))  # fmt: skip
        self.fh.close()


def build(n: int, out: Path, seed: int = 20261201) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"ctg-registry-{n}.json.zip"
    if target.is_file():
        return target
    start = time.perf_counter()
    rng = random.Random(seed)
    corpus, records = _load()
    pools = _pools(records)
    small = [r for r in records if not r.get("resultsSection") and len(_text(r)) < NORMAL_KB[1] * 1000]
    # Log-uniform sizes over 5-30 kB (registry sizes are skewed to the small end: ~10 GB for
    # ~600k studies). Each size class holds the records small enough for it (at least three),
    # padded to its size, so a class's entries really are about that size.
    sizes = [int(1000 * NORMAL_KB[0] * (NORMAL_KB[1] / NORMAL_KB[0]) ** (k / 5)) for k in range(6)]
    by_size = sorted(small, key=lambda r: len(_text(r)))

    def fitting(size: int) -> list[dict]:
        fit = [r for r in by_size if len(_text(r)) <= size]
        return fit if len(fit) >= 3 else by_size[:3]

    normal = [[Template(_padded(r, size, pools, rng)) for r in fitting(size)] for size in sizes]
    large = [r for r in records if len(_text(r)) >= NORMAL_KB[1] * 1000]
    results = [Template(r) for r in large if len(_text(r)) < RESULTS_KB[1] * 1000] + [
        Template(_with_results(r, 1000 * kb, pools, rng))
        for r in small[:12]
        for kb in (60, 90, 140, 220, 380)
    ]
    huge = Template(_padded(max(records, key=lambda r: len(_text(r))), HUGE_KB * 1000, pools, rng))
    cell = [Template(_padded(s, int(rng.uniform(*NORMAL_KB) * 1000), pools, rng)) for s in corpus]
    print(
        f"{len(cell) + len(results) + sum(map(len, normal)) + 1} bodies in {time.perf_counter() - start:.0f} s"
    )
    tmp = target.with_suffix(".tmp")
    writer = ZipWriter(tmp)
    mix = {"cell": 0, "results": 0, "huge": 0, "normal": 0}
    raw_bytes = 0
    for i in range(n):
        r = rng.random()
        if i % HUGE_EVERY == HUGE_EVERY // 2:
            kind, template = "huge", huge
        elif r < CT_SHARE:
            kind, template = "cell", rng.choice(cell)
        elif r < CT_SHARE + RESULTS_SHARE:
            kind, template = "results", rng.choice(results)
        else:
            kind, template = "normal", rng.choice(rng.choice(normal))  # a size class, then a record
        mix[kind] += 1
        nct = f"NCT{30000000 + i:08d}"
        deflated, _first, crc, size = template.entry(nct, i)
        writer.add(f"{nct}.json", deflated, crc, size)
        raw_bytes += size
    writer.close()
    tmp.replace(target)
    seconds = time.perf_counter() - start
    print(
        f"wrote {target} ({target.stat().st_size / 1e6:.0f} MB zipped, {raw_bytes / 1e6:.0f} MB of JSON, "
        f"{n} studies: {mix}) in {seconds:.0f} s"
    )
    return target


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--studies", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    args = parser.parse_args()
    print(build(args.studies, args.out))


if __name__ == "__main__":
    main()
