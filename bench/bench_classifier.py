"""Benchmark the modality classifier: accuracy against the hand labels, and throughput.

Usage: uv run python bench/bench_classifier.py [--errors N] [--runs 3] [--replicate-to 100000]

Reads the shared corpus + records (TRIALTRENDS_SHARED_CTGOV, default ../shared/ctgov) and
bench/labelled/modalities.csv; prints per-modality precision/recall/support, the false positives
and negatives with their evidence, flag accuracy, target agreement and studies/s. Exits 0 with a
"skipped:" line when the shared material or the labels are absent.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import time
from pathlib import Path

import polars as pl

from trialtrends.transform.classify import CLASSIFIER_VERSION, MODALITIES, classify
from trialtrends.transform.study_text import text_frame, text_row

REPO = Path(__file__).resolve().parents[1]
LABELS = REPO / "bench" / "labelled" / "modalities.csv"

# Spellings the labels use for antigens the classifier writes differently (or vice versa).
TARGET_ALIASES = {"CD276": "B7-H3", "GCC": "GUCY2C", "CLEC12A": "CLL1", "NKG2D": "NKG2DL"}


def shared_ctgov() -> Path | None:
    """The shared ClinicalTrials.gov folder, or None when it is absent."""
    path = Path(os.environ.get("TRIALTRENDS_SHARED_CTGOV") or REPO.parent / "shared" / "ctgov")
    return path if (path / "corpus").is_dir() else None


def load_studies(base: Path) -> list[dict]:
    """All corpus studies plus the full negative records."""
    with gzip.open(base / "corpus" / "celltherapy-2026-08.jsonl.gz", "rt") as fh:
        studies = [json.loads(line) for line in fh if line.strip()]
    studies += [json.loads(p.read_text()) for p in sorted((base / "records").glob("NCT*.json"))]
    return studies


def _set(col: str) -> pl.Expr:
    """Split a ';'-separated label column into a list (NONE and empty -> [])."""
    return (
        pl.when(pl.col(col).is_in(["NONE", ""]) | pl.col(col).is_null())
        .then(pl.lit([], dtype=pl.List(pl.String)))
        .otherwise(pl.col(col).str.split(";").list.eval(pl.element().str.strip_chars()))
    )


def accuracy(studies: list[dict], labels: pl.DataFrame, n_errors: int) -> None:
    """Print precision/recall per modality, errors with evidence, flag and target agreement."""
    frame = text_frame(text_row(s) for s in studies)
    result = classify(frame)
    pred = (
        result.flags.join(
            result.modalities.group_by("nct_id").agg(pl.col("modality").alias("pred"), pl.col("evidence")),
            on="nct_id",
            how="left",
        )
        .with_columns(
            pl.col("pred").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            pl.col("evidence").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        )
        .unique("nct_id")
    )
    gold = labels.select(
        "nct_id",
        _set("modalities").alias("gold"),
        (pl.col("is_long_term_follow_up").cast(pl.String).str.to_lowercase() == "true").alias("gold_ltfu"),
        (pl.col("is_in_vivo_car").cast(pl.String).str.to_lowercase() == "true").alias("gold_in_vivo"),
        _set("targets").alias("gold_targets"),
        "source",
        "note",
    )
    joined = gold.join(pred, on="nct_id", how="left")
    missing = joined.filter(pl.col("is_cell_therapy").is_null()).height
    if missing:
        print(f"warning: {missing} labelled ids not found in the shared material")
    joined = joined.filter(pl.col("is_cell_therapy").is_not_null())
    print(f"classifier {CLASSIFIER_VERSION}: {joined.height} labelled studies\n")

    print(f"{'modality':<11} {'prec':>6} {'recall':>6} {'f1':>6} {'support':>8} {'tp':>4} "
          f"{'fp':>4} {'fn':>4}")  # fmt: skip
    rows = []
    for m in (*MODALITIES, "ANY-CELL"):
        if m == "ANY-CELL":
            g = pl.col("gold").list.len() > 0
            p = pl.col("pred").list.len() > 0
        else:
            g = pl.col("gold").list.contains(m)
            p = pl.col("pred").list.contains(m)
        c = joined.select(
            (g & p).sum().alias("tp"), (~g & p).sum().alias("fp"), (g & ~p).sum().alias("fn")
        ).row(0, named=True)
        tp, fp, fn = c["tp"], c["fp"], c["fn"]
        prec = tp / (tp + fp) if tp + fp else float("nan")
        rec = tp / (tp + fn) if tp + fn else float("nan")
        f1 = 2 * prec * rec / (prec + rec) if tp else 0.0
        rows.append((m, prec, rec, f1, tp + fn, tp, fp, fn))
        print(f"{m:<11} {prec:6.3f} {rec:6.3f} {f1:6.3f} {tp + fn:8d} {tp:4d} {fp:4d} {fn:4d}")

    exact = joined.select((pl.col("gold").list.sort() == pl.col("pred").list.sort()).mean()).item()
    print(f"\nexact modality-set match: {exact:.3f}")

    for flag, gold_col in (("is_long_term_follow_up", "gold_ltfu"), ("is_in_vivo_car", "gold_in_vivo")):
        c = joined.select(
            (pl.col(flag) == pl.col(gold_col)).mean().alias("acc"),
            (pl.col(flag) & pl.col(gold_col)).sum().alias("tp"),
            (pl.col(flag) & ~pl.col(gold_col)).sum().alias("fp"),
            (~pl.col(flag) & pl.col(gold_col)).sum().alias("fn"),
        ).row(0, named=True)
        print(f"{flag}: accuracy {c['acc']:.3f} (tp {c['tp']}, fp {c['fp']}, fn {c['fn']})")

    both = joined.filter((pl.col("gold").list.len() > 0) & (pl.col("pred").list.len() > 0))
    both = both.with_columns(
        pl.col("gold_targets").list.eval(pl.element().replace(TARGET_ALIASES)).list.unique().list.sort(),
        pl.col("targets").list.sort(),
    )
    t = both.select(
        (pl.col("gold_targets") == pl.col("targets")).mean().alias("exact"),
        pl.col("gold_targets").list.set_intersection("targets").list.len().sum().alias("hit"),
        pl.col("targets").list.len().sum().alias("pred_n"),
        pl.col("gold_targets").list.len().sum().alias("gold_n"),
    ).row(0, named=True)
    print(
        f"targets (cell trials found by both): exact set {t['exact']:.3f}, "
        f"precision {t['hit'] / max(t['pred_n'], 1):.3f}, recall {t['hit'] / max(t['gold_n'], 1):.3f}"
    )

    def show(title: str, frame: pl.DataFrame) -> None:
        print(f"\n{title} ({frame.height})")
        for r in frame.head(n_errors).iter_rows(named=True):
            ev = " || ".join(r["evidence"])[:300] or "-"
            print(f"  {r['nct_id']} gold={';'.join(r['gold']) or 'NONE'} "
                  f"pred={';'.join(r['pred']) or 'NONE'}\n      evidence: {ev}\n"
                  f"      label note: {r['note']}")  # fmt: skip

    for m in (*MODALITIES, "ANY-CELL"):
        if m == "ANY-CELL":
            continue
        fp = joined.filter(pl.col("pred").list.contains(m) & ~pl.col("gold").list.contains(m))
        fn = joined.filter(~pl.col("pred").list.contains(m) & pl.col("gold").list.contains(m))
        if fp.height:
            show(f"false positives {m}", fp)
        if fn.height:
            show(f"false negatives {m}", fn)
    for flag, gold_col in (("is_long_term_follow_up", "gold_ltfu"), ("is_in_vivo_car", "gold_in_vivo")):
        wrong = joined.filter(pl.col(flag) != pl.col(gold_col))
        if wrong.height:
            show(f"{flag} disagreements", wrong)
    return None


def throughput(studies: list[dict], runs: int, replicate_to: int) -> None:
    """Print text_row cost and classify studies/s (median of runs) on three inputs.

    The corpus is the worst case (nearly every study is a candidate and goes through every
    rule); the full records replicated stand for the registry bulk run, where most studies are
    dropped by the prefilter.
    """
    t0 = time.perf_counter()
    rows = [text_row(s) for s in studies]
    per_study = (time.perf_counter() - t0) / len(studies)
    print(f"\ntext_row: {per_study * 1e6:.1f} µs/study")
    frame = text_frame(rows)
    records = frame.filter(pl.col("official_title").is_not_null())
    classify(frame)  # warm-up
    copies = max(1, round(replicate_to / frame.height))
    record_copies = max(1, round(replicate_to / max(records.height, 1)))
    inputs = (
        ("corpus+records", frame),
        (f"corpus+records x{copies}", pl.concat([frame] * copies)),
        (f"full records x{record_copies} (registry-like)", pl.concat([records] * record_copies)),
    )
    for label, data in inputs:
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            classify(data)
            times.append(time.perf_counter() - t)
        med = statistics.median(times)
        print(f"classify {label}: {data.height} studies, median {med:.2f}s over {runs} runs, "
              f"{data.height / med:,.0f} studies/s")  # fmt: skip
    print("(a call has ~0.2 s of fixed regex-compilation cost: classify large batches)")


def main() -> int:
    """Run the accuracy report and the throughput measurement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", type=int, default=15, help="errors listed per kind")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--replicate-to", type=int, default=100_000)
    parser.add_argument("--no-throughput", action="store_true")
    args = parser.parse_args()

    base = shared_ctgov()
    if base is None:
        print("skipped: shared ClinicalTrials.gov material not found "
              "(set TRIALTRENDS_SHARED_CTGOV)")  # fmt: skip
        return 0
    studies = load_studies(base)
    if LABELS.is_file():
        labels = pl.read_csv(LABELS, infer_schema=False)
        accuracy(studies, labels, args.errors)
    else:
        print(f"skipped accuracy: labels not found at {LABELS}")
    if not args.no_throughput:
        throughput(studies, args.runs, args.replicate_to)
    return 0


if __name__ == "__main__":
    sys.exit(main())
