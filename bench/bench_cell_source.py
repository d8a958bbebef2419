"""Benchmark the cell source (trial_flags.cell_source and cell_source_basis) on the shared corpus.

Usage: uv run python bench/bench_cell_source.py [--errors N]

Prints, for the counted CAR-T trials of the corpus (investigational or combination CAR-T rows):
how many have a known source, the share per basis and the autologous / allogeneic / in vivo split
per basis; then the agreement of each basis with two label sets, beside its floor:
- bench/labelled/modalities.csv (cell_source column; 'unclear' labels abstain and are skipped),
- bench/labelled/cell_source.csv (hand-judged inferred trials: a dev sample the rules were tuned
  on, and a held-out sample labelled after the last rule change; rows judged 'none' abstain).
Exits 1 when a figure is below its floor, 0 with a "skipped:" line without the shared material.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

import bench_classifier as B  # noqa: E402

from trialtrends.transform.classify import classify  # noqa: E402
from trialtrends.transform.study_text import text_frame, text_row  # noqa: E402

SOURCE_LABELS = REPO / "bench" / "labelled" / "cell_source.csv"
BASES = ("stated", "product", "inferred")
COUNTED_ROLES = ("investigational", "combination")

#: Measured with classifier 2026.12.2 (see the figures this script prints), minus 0.02; coverage
#: is the share of counted CAR-T trials with a known source. modalities.csv's inferred rows are
#: its stratified hard cases (in vivo and donor strata), not a random sample.
FLOORS = {
    "coverage": 0.95,
    "modalities.csv inferred": 0.71,
    "modalities.csv stated": 0.97,
    "modalities.csv product": 0.98,
    # about 20 judged rows each: these two floors allow two misses instead of "minus 0.02"
    "cell_source.csv inferred dev": 0.89,
    "cell_source.csv inferred holdout": 0.89,
}


def corpus_flags(studies: list[dict]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(flags of every study, flags of the counted CAR-T trials)."""
    result = classify(text_frame(text_row(s) for s in studies))
    car_t = result.modalities.filter((pl.col("modality") == "CAR-T") & pl.col("role").is_in(COUNTED_ROLES))[
        "nct_id"
    ]
    return result.flags, result.flags.filter(pl.col("nct_id").is_in(car_t.implode()))


def coverage(car_t: pl.DataFrame) -> dict[str, float]:
    """Print the known share and the split per basis; return the figures."""
    known = car_t.filter(pl.col("cell_source") != "unclear").height
    share = known / max(car_t.height, 1)
    print(f"counted CAR-T trials: {car_t.height}; cell source known {known} ({share:.1%})")
    table = (
        car_t.group_by("cell_source_basis", "cell_source")
        .len()
        .pivot(on="cell_source", index="cell_source_basis", values="len")
        .fill_null(0)
    )
    print(
        f"{'basis':<10}{'trials':>8}{'share':>8}"
        + "".join(f"{s:>12}" for s in ("autologous", "allogeneic", "in_vivo"))
    )
    for basis in (*BASES, None):
        row = table.filter(pl.col("cell_source_basis").eq_missing(pl.lit(basis, dtype=pl.String)))
        n = sum(int(row[c].sum()) for c in row.columns if c != "cell_source_basis")
        cells = "".join(
            f"{int(row[s].sum()) if s in row.columns else 0:>12,}"
            for s in ("autologous", "allogeneic", "in_vivo")
        )
        print(f"{basis or 'unknown':<10}{n:>8,}{n / max(car_t.height, 1):>8.1%}{cells}")
    return {"coverage": share}


def agreement(flags: pl.DataFrame, labels: pl.DataFrame, name: str, n_errors: int) -> dict[str, float]:
    """Agreement per basis with one label set (labels: nct_id, gold, group); abstentions skipped."""
    joined = labels.join(flags.select("nct_id", "cell_source", "cell_source_basis"), on="nct_id", how="inner")
    out: dict[str, float] = {}
    for (basis, group), part in sorted(
        joined.group_by("cell_source_basis", "group"), key=lambda kv: (str(kv[0][0]), str(kv[0][1]))
    ):
        if basis is None:
            continue
        judged = part.filter(pl.col("gold") != "unclear")
        agree = judged.filter(pl.col("gold") == pl.col("cell_source")).height
        rate = agree / judged.height if judged.height else float("nan")
        key = f"{name} {basis}" + (f" {group}" if group else "")
        floor = FLOORS.get(key)
        verdict = "" if floor is None else ("  ok" if rate >= floor else "  BELOW")
        print(f"  {key:<36} {agree:>4}/{judged.height:<4} {rate:6.1%}  (abstained {part.height - judged.height:>3})"
              + (f"  floor {floor:.0%}{verdict}" if floor is not None else ""))  # fmt: skip
        out[key] = rate
        for r in judged.filter(pl.col("gold") != pl.col("cell_source")).head(n_errors).iter_rows(named=True):
            print(f"      {r['nct_id']} label={r['gold']} ours={r['cell_source']}  {r['note'][:80]}")
    return out


def figures(studies: list[dict], n_errors: int = 0) -> dict[str, float]:
    """Coverage and agreement figures (printed), keyed like FLOORS."""
    flags, car_t = corpus_flags(studies)
    out = coverage(car_t)
    print("\nagreement with the labels (trials the label judges; 'unclear' labels abstain):")
    model = pl.read_csv(B.LABELS, infer_schema=False).filter(pl.col("modalities") != "NONE")
    out |= agreement(
        flags, model.select("nct_id", pl.col("cell_source").alias("gold"), pl.lit(None, pl.String).alias("group"), "note"),
        "modalities.csv", n_errors,
    )  # fmt: skip
    hand = pl.read_csv(SOURCE_LABELS, infer_schema=False)
    out |= agreement(
        flags, hand.select("nct_id", pl.col("cell_source").alias("gold"), pl.col("sample").alias("group"), "note"),
        "cell_source.csv", n_errors,
    )  # fmt: skip
    print("how the inferred sample was judged: " + ", ".join(
        f"{s} {j} {n}" for s, j, n in hand.group_by("sample", "judged_by").len().sort("sample", "judged_by").iter_rows()
    ))  # fmt: skip
    return out


def below_floor(measured: dict[str, float]) -> dict[str, tuple[float, float]]:
    """Figures under their floor: name -> (measured, floor)."""
    return {k: (measured.get(k, 0.0), f) for k, f in FLOORS.items() if not measured.get(k, 0.0) >= f}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", type=int, default=10, help="disagreements listed per basis")
    args = parser.parse_args()
    base = B.shared_ctgov()
    if base is None:
        print("skipped: shared ClinicalTrials.gov material not found (set TRIALTRENDS_SHARED_CTGOV)")
        return 0
    corpus = [
        s
        for s in B.load_studies(base)
        if "officialTitle" not in s["protocolSection"].get("identificationModule", {})
    ]
    low = below_floor(figures(corpus, args.errors))
    print("\nall figures at or above their floors" if not low else f"\nbelow floor (measured, floor): {low}")
    return 1 if low else 0


if __name__ == "__main__":
    sys.exit(main())
