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
import statistics
import sys
import time
from pathlib import Path

import polars as pl

from trialtrends.data.targets import canonical_targets
from trialtrends.transform.classify import CLASSIFIER_VERSION, MODALITIES, REPORT_GROUPS, classify
from trialtrends.transform.study_text import text_frame, text_row

REPO = Path(__file__).resolve().parents[1]
LABELS = REPO / "bench" / "labelled" / "modalities.csv"


def shared_ctgov() -> Path | None:
    """The shared material (its one path setting: fakeapi.shared_ctgov_dir), or None when absent."""
    sys.path.insert(0, str(REPO / "tests"))
    from fakeapi import shared_ctgov_dir

    path = shared_ctgov_dir()
    return path if (path / "corpus").is_dir() else None


def load_studies(base: Path) -> list[dict]:
    """All corpus studies plus the full negative records."""
    with gzip.open(base / "corpus" / "celltherapy-2026-08.jsonl.gz", "rt") as fh:
        studies = [json.loads(line) for line in fh if line.strip()]
    studies += [json.loads(p.read_text()) for p in sorted((base / "records").glob("NCT*.json"))]
    return studies


GROUPS = {g: mods for g, mods in REPORT_GROUPS.items() if g != "ALL"}
COUNTED_ROLES = ("investigational", "combination")


def _set(col: str) -> pl.Expr:
    """Split a ';'-separated label column into a list (NONE and empty -> [])."""
    return (
        pl.when(pl.col(col).is_in(["NONE", ""]) | pl.col(col).is_null())
        .then(pl.lit([], dtype=pl.List(pl.String)))
        .otherwise(pl.col(col).str.split(";").list.eval(pl.element().str.strip_chars()))
    )


def predictions(studies: list[dict]) -> pl.DataFrame:
    """One row per study: predicted modalities, roles, flags, targets, cell source, evidence."""
    result = classify(text_frame(text_row(s) for s in studies))
    per_trial = result.modalities.group_by("nct_id", maintain_order=True).agg(
        pl.col("modality").alias("pred"), pl.col("role").alias("pred_role"), pl.col("evidence")
    )
    empty = pl.lit([], dtype=pl.List(pl.String))
    return (
        result.flags.join(per_trial, on="nct_id", how="left")
        .with_columns(pl.col("pred", "pred_role", "evidence").fill_null(empty))
        .unique("nct_id")
    )


def gold_frame(labels: pl.DataFrame) -> pl.DataFrame:
    """The labels, parsed (targets canonicalised with the reviewed synonym table)."""
    gold = labels.select(
        "nct_id",
        _set("modalities").alias("gold"),
        _set("role").alias("gold_role"),
        (pl.col("is_long_term_follow_up").str.to_lowercase() == "true").alias("gold_ltfu"),
        (pl.col("is_in_vivo_car").str.to_lowercase() == "true").alias("gold_in_vivo"),
        pl.col("cell_source").alias("gold_source"),
        _set("targets").alias("gold_targets"),
        "source",
        "note",
    )
    canon = gold["gold_targets"].map_elements(canonical_targets, return_dtype=pl.List(pl.String))
    return gold.with_columns(canon.alias("gold_targets"))


def _counts(frame: pl.DataFrame, g: pl.Expr, p: pl.Expr) -> tuple[int, int, int]:
    c = frame.select((g & p).sum().alias("tp"), (~g & p).sum().alias("fp"), (g & ~p).sum().alias("fn"))
    return tuple(c.row(0))  # type: ignore[return-value]


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    prec = tp / (tp + fp) if tp + fp else float("nan")
    rec = tp / (tp + fn) if tp + fn else float("nan")
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
    return prec, rec, f1


def _has(col: str, mods: tuple[str, ...], roles: str | None = None) -> pl.Expr:
    """The trial has one of `mods` (in the counted roles when `roles` names the role column)."""
    if roles is None:
        return pl.col(col).list.eval(pl.element().is_in(list(mods))).list.any()
    return pl.struct(col, roles).map_elements(
        lambda r: any(m in mods and rl in COUNTED_ROLES for m, rl in zip(r[col], r[roles], strict=False)),
        return_dtype=pl.Boolean,
    )


def report(joined: pl.DataFrame, title: str) -> dict[str, float]:
    """Print the figures of one labelled subset; return the headline numbers."""
    print(f"\n=== {title}: {joined.height} labelled studies ===")
    print(
        f"{'modality':<11} {'prec':>6} {'recall':>6} {'f1':>6} {'support':>8} {'tp':>4} {'fp':>4} {'fn':>4}"
    )
    for m in (*MODALITIES, "ANY-CELL"):
        mods = MODALITIES if m == "ANY-CELL" else (m,)
        tp, fp, fn = _counts(joined, _has("gold", mods), _has("pred", mods))
        prec, rec, f1 = _prf(tp, fp, fn)
        print(f"{m:<11} {prec:6.3f} {rec:6.3f} {f1:6.3f} {tp + fn:8d} {tp:4d} {fp:4d} {fn:4d}")
    out: dict[str, float] = {}
    for basis, roles in (("any role", None), ("counted (investigational+combination)", "role")):
        print(f"report groups, {basis}:")
        f1s = []
        for g, mods in GROUPS.items():
            gold = _has("gold", mods, None if roles is None else "gold_role")
            pred = _has("pred", mods, None if roles is None else "pred_role")
            tp, fp, fn = _counts(joined, gold, pred)
            prec, rec, f1 = _prf(tp, fp, fn)
            f1s.append(f1)
            print(
                f"  {g:<6} prec {prec:6.3f} recall {rec:6.3f} f1 {f1:6.3f} (support {tp + fn}, fp {fp}, fn {fn})"
            )
            key = "any" if roles is None else "counted"
            out[f"{key}_{g}_recall"], out[f"{key}_{g}_f1"] = rec, f1
        valid = [f for f in f1s if f == f]  # NaN (no support) left out
        macro = sum(valid) / len(valid) if valid else float("nan")
        out["any_macro_f1" if roles is None else "counted_macro_f1"] = macro
        print(f"  macro-F1 over {len(valid)} groups with support: {macro:.3f}")
    exact = joined.select((pl.col("gold").list.sort() == pl.col("pred").list.sort()).mean()).item()
    print(f"exact modality-set match: {exact:.3f}")
    # Role: per (trial, modality) found by both.
    pairs = joined.select(
        "nct_id", pl.col("gold"), pl.col("gold_role"), pl.col("pred"), pl.col("pred_role")
    ).filter(pl.col("gold_role").list.len() == pl.col("gold").list.len())
    role_ok = role_n = 0
    role_wrong = []
    for r in pairs.iter_rows(named=True):
        pred = dict(zip(r["pred"], r["pred_role"], strict=False))
        for m, rl in zip(r["gold"], r["gold_role"], strict=False):
            if m in pred:
                role_n += 1
                role_ok += pred[m] == rl
                if pred[m] != rl:
                    role_wrong.append((r["nct_id"], m, rl, pred[m]))
    out["role_accuracy"] = role_ok / max(role_n, 1)
    print(f"role accuracy (modality found by both): {out['role_accuracy']:.3f} ({role_ok}/{role_n})")
    both = joined.filter((pl.col("gold").list.len() > 0) & (pl.col("pred").list.len() > 0))
    # A label of 'unclear' abstains where the record does not say; an inferred source (basis
    # 'inferred') is not an error against an abstention. bench/bench_cell_source.py measures the
    # inferred values against labels that judge them.
    src = both.filter(
        pl.col("gold_source").is_in(["autologous", "allogeneic", "in_vivo", "unclear"])
        & ~((pl.col("gold_source") == "unclear") & (pl.col("cell_source_basis") == "inferred"))
    )
    out["cell_source_accuracy"] = (
        src.select((pl.col("gold_source") == pl.col("cell_source")).mean()).item() or 0.0
    )
    known = src.filter(pl.col("gold_source") != "unclear")
    out["cell_source_known_recall"] = (
        known.select((pl.col("gold_source") == pl.col("cell_source")).mean()).item() or 0.0
    )
    print(f"cell source accuracy: {out['cell_source_accuracy']:.3f} over {src.height}; "
          f"known sources found {out['cell_source_known_recall']:.3f} over {known.height}")  # fmt: skip
    for flag, gold_col in (("is_long_term_follow_up", "gold_ltfu"), ("is_in_vivo_car", "gold_in_vivo")):
        acc = joined.select((pl.col(flag) == pl.col(gold_col)).mean()).item()
        print(f"{flag}: accuracy {acc:.3f}")
    with_targets = both.filter(pl.col("gold_targets").list.len() > 0)
    t = both.select(
        (pl.col("gold_targets").list.sort() == pl.col("targets").list.sort()).mean().alias("exact"),
        pl.col("gold_targets").list.set_intersection("targets").list.len().sum().alias("hit"),
        pl.col("targets").list.len().sum().alias("pred_n"),
        pl.col("gold_targets").list.len().sum().alias("gold_n"),
    ).row(0, named=True)
    out["target_exact"] = t["exact"] or 0.0
    out["target_exact_labelled"] = (
        with_targets.select(
            (pl.col("gold_targets").list.sort() == pl.col("targets").list.sort()).mean()
        ).item()
        or 0.0
    )
    print(f"targets (cell trials found by both, {both.height}): exact set {t['exact']:.3f}, "
          f"precision {t['hit'] / max(t['pred_n'], 1):.3f}, recall {t['hit'] / max(t['gold_n'], 1):.3f}; "
          f"exact on the {with_targets.height} with labelled targets {out['target_exact_labelled']:.3f}")  # fmt: skip
    return out | {"_role_wrong": role_wrong}  # type: ignore[dict-item]


def disagreements(joined: pl.DataFrame, role_wrong: list, n_errors: int) -> None:
    """List modality, role, cell-source and target disagreements with the evidence."""

    def show(title: str, frame: pl.DataFrame) -> None:
        print(f"\n{title} ({frame.height})")
        for r in frame.head(n_errors).iter_rows(named=True):
            ev = " || ".join(r["evidence"])[:240] or "-"
            print(f"  {r['nct_id']} gold={';'.join(r['gold']) or 'NONE'} pred={';'.join(r['pred']) or 'NONE'}\n"
                  f"      evidence: {ev}\n      label note: {r['note']}")  # fmt: skip

    for m in MODALITIES:
        fp = joined.filter(pl.col("pred").list.contains(m) & ~pl.col("gold").list.contains(m))
        fn = joined.filter(~pl.col("pred").list.contains(m) & pl.col("gold").list.contains(m))
        if fp.height:
            show(f"false positives {m}", fp)
        if fn.height:
            show(f"false negatives {m}", fn)
    print(f"\nrole disagreements ({len(role_wrong)}): (nct_id, modality, gold, predicted)")
    for item in role_wrong[:n_errors]:
        print("  ", *item)
    both = joined.filter((pl.col("gold").list.len() > 0) & (pl.col("pred").list.len() > 0))
    wrong_src = both.filter(
        pl.col("gold_source").is_not_null()
        & (pl.col("gold_source") != pl.col("cell_source"))
        & ~((pl.col("gold_source") == "unclear") & (pl.col("cell_source_basis") == "inferred"))
    )
    print(f"\ncell source disagreements ({wrong_src.height})")
    for r in wrong_src.head(n_errors).iter_rows(named=True):
        print(f"  {r['nct_id']} gold={r['gold_source']} pred={r['cell_source']} ({r['cell_source_basis']})  "
              f"({r['note'][:80]})")  # fmt: skip
    wrong_t = both.filter(pl.col("gold_targets").list.sort() != pl.col("targets").list.sort())
    print(f"\ntarget disagreements ({wrong_t.height})")
    for r in wrong_t.head(n_errors).iter_rows(named=True):
        print(
            f"  {r['nct_id']} gold={';'.join(r['gold_targets'])} pred={';'.join(r['targets'])}  ({r['note'][:70]})"
        )


def accuracy(studies: list[dict], labels: pl.DataFrame, n_errors: int) -> dict[str, dict[str, float]]:
    """Print the figures on the whole sample and on the blind random part; list disagreements."""
    joined = gold_frame(labels).join(predictions(studies), on="nct_id", how="left")
    missing = joined.filter(pl.col("is_cell_therapy").is_null()).height
    if missing:
        print(f"warning: {missing} labelled ids not found in the shared material")
    joined = joined.filter(pl.col("is_cell_therapy").is_not_null())
    print(f"classifier {CLASSIFIER_VERSION}")
    figures = {}
    for title, part in (
        ("whole labelled sample", joined),
        (
            "blind random part (source=random2, the honest estimate)",
            joined.filter(pl.col("source") == "random2"),
        ),
        ("stratified hard cases + records", joined.filter(pl.col("source") != "random2")),
    ):
        figures[title] = report(part, title)
    disagreements(joined, figures["whole labelled sample"].pop("_role_wrong"), n_errors)  # type: ignore[arg-type]
    for f in figures.values():
        f.pop("_role_wrong", None)
    return figures


def coverage(studies: list[dict]) -> None:
    """Product-dictionary coverage on the corpus: linked trials, sources known, approvals."""
    from trialtrends.transform.products import dictionary

    d = dictionary()
    corpus = [
        s for s in studies if "officialTitle" not in s["protocolSection"].get("identificationModule", {})
    ]
    result = classify(text_frame(text_row(s) for s in corpus))
    print(f"\nproduct dictionary: {d.products.height} products")
    for row in d.products.group_by("modality").len().sort("len", descending=True).iter_rows():
        print(f"  {row[0]:<10} {row[1]:>4}")
    approved = (
        d.approvals.group_by("agency")
        .agg(pl.col("product_id").n_unique())
        .sort("product_id", descending=True)
    )
    print(f"approved products: {d.approvals['product_id'].n_unique()} "
          f"({', '.join(f'{a} {n}' for a, n in approved.iter_rows())})")  # fmt: skip
    cell = result.flags.filter(pl.col("is_cell_therapy"))
    linked = result.products["nct_id"].n_unique()
    print(f"corpus trials linked to a product: {linked}/{len(corpus)} ({linked / len(corpus):.1%}); "
          f"of the cell-therapy trials {linked / max(cell.height, 1):.1%}")  # fmt: skip
    car_t = result.modalities.filter((pl.col("modality") == "CAR-T") & pl.col("role").is_in(COUNTED_ROLES))
    car_t = cell.filter(pl.col("nct_id").is_in(car_t["nct_id"].implode()))
    known = car_t.filter(pl.col("cell_source") != "unclear").height
    print(
        f"counted CAR-T trials with a known cell source: {known}/{car_t.height} ({known / max(car_t.height, 1):.1%})"
    )
    for row in car_t.group_by("cell_source").len().sort("len", descending=True).iter_rows():
        print(f"  {row[0]:<11} {row[1]:>5}")
    roles = result.modalities.group_by("role").len().sort("len", descending=True)
    print("roles of the corpus modality rows: " + ", ".join(f"{r} {n}" for r, n in roles.iter_rows()))


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
    one = frame.head(1)
    times = []
    for _ in range(max(runs, 3)):
        t = time.perf_counter()
        classify(one)
        times.append(time.perf_counter() - t)
    # Mostly regex compilation: Polars keeps only a few dozen compiled regexes, so each call
    # compiles the rules again. Classify large batches.
    print(f"fixed cost of a call (one study): median {statistics.median(times):.2f}s")


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
    coverage(studies)
    if not args.no_throughput:
        throughput(studies, args.runs, args.replicate_to)
    return 0


if __name__ == "__main__":
    sys.exit(main())
