"""Benchmark the disease-area classifier: agreement with the hand labels, and yearly counts.

Usage: uv run python bench/bench_diseases.py [--errors N] [--speed]

Reads the shared corpus (TRIALTRENDS_SHARED_CTGOV, default ../shared/ctgov) and
bench/labelled/diseases.csv; classifies every corpus study, then prints

- agreement with the hand labels (bench/labelled/diseases.csv, 200 trials the rules were
  developed against, and diseases_holdout.csv, 100 trials never used for tuning): precision /
  recall / support per disease_group and overall accuracy, and every disagreement with the
  classifier's evidence;
- trials per disease area per first-posted year 2018-2026 (a trial with entities in two
  areas counts in both), and trials per disease group per year (each trial once). These
  are modality-agnostic: every cell-therapy trial of the corpus counts;
- the disease groups of the 64 full `records/` (non-cell-therapy negatives, some with MeSH);
- with --speed: classification time for ~100k trials (the corpus replicated 39 times,
  once as is and once with every item made distinct so the per-item cache cannot help).

Exits 0 with a "skipped:" line when the shared material or the labels are absent.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path

import polars as pl

from trialtrends.data.disease_rules import AREAS, DISEASE_RULES_VERSION, RULES
from trialtrends.transform.diseases import (
    DISEASE_GROUPS,
    classify_diseases,
    disease_text_frame,
    trial_disease_summary,
)

REPO = Path(__file__).resolve().parents[1]
LABELS = REPO / "bench" / "labelled" / "diseases.csv"
#: A second, smaller random sample labelled after the rules were written but before the rules
#: were run on it, and never used to tune them: the fairer estimate (see diseases.md).
HOLDOUT = REPO / "bench" / "labelled" / "diseases_holdout.csv"
YEARS = range(2018, 2027)


def shared_ctgov() -> Path | None:
    """The shared ClinicalTrials.gov folder, or None when it is absent."""
    path = Path(os.environ.get("TRIALTRENDS_SHARED_CTGOV") or REPO.parent / "shared" / "ctgov")
    return path if (path / "corpus").is_dir() else None


def load_corpus(base: Path) -> list[dict]:
    with gzip.open(base / "corpus" / "celltherapy-2026-08.jsonl.gz", "rt") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_records(base: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((base / "records").glob("NCT*.json"))]


def first_posted(studies: list[dict]) -> pl.DataFrame:
    rows = []
    for s in studies:
        p = s.get("protocolSection") or {}
        date = ((p.get("statusModule") or {}).get("studyFirstPostDateStruct") or {}).get("date")
        rows.append({"nct_id": (p.get("identificationModule") or {}).get("nctId"), "date": date})
    return pl.DataFrame(rows, schema={"nct_id": pl.String, "date": pl.String}).with_columns(
        pl.col("date").str.slice(0, 4).cast(pl.Int32, strict=False).alias("year")
    )


def agreement(
    diseases: pl.DataFrame, summary: pl.DataFrame, path: Path, n_errors: int, title: str = ""
) -> None:
    labels = pl.read_csv(path, schema_overrides={"note": pl.String, "entities": pl.String})
    joined = labels.join(summary.rename({"disease_group": "pred"}), on="nct_id", how="left").with_columns(
        pl.col("pred").fill_null("missing")
    )
    n = joined.height
    correct = joined.filter(pl.col("disease_group") == pl.col("pred")).height
    print(f"\n## Agreement with {path.relative_to(REPO)} ({n} hand-labelled trials{title})\n")
    print(f"{'disease_group':<16}{'precision':>10}{'recall':>8}{'support':>9}{'predicted':>11}")
    for group in DISEASE_GROUPS:
        gold = joined.filter(pl.col("disease_group") == group).height
        pred = joined.filter(pl.col("pred") == group).height
        tp = joined.filter((pl.col("disease_group") == group) & (pl.col("pred") == group)).height
        if gold == 0 and pred == 0:
            continue
        prec = f"{tp / pred:.3f}" if pred else "-"
        rec = f"{tp / gold:.3f}" if gold else "-"
        print(f"{group:<16}{prec:>10}{rec:>8}{gold:>9}{pred:>11}")
    print(f"\noverall agreement: {correct}/{n} = {correct / n:.1%}")
    main = joined.filter(pl.col("disease_group").is_in(["haematological", "solid", "autoimmune", "basket"]))
    main_ok = main.filter(pl.col("disease_group") == pl.col("pred")).height
    if main.height:
        print(
            f"on haematological/solid/autoimmune/basket labels: {main_ok}/{main.height} = {main_ok / main.height:.1%}"
        )

    wrong = joined.filter(pl.col("disease_group") != pl.col("pred")).sort("nct_id")
    print(f"\n## Disagreements ({wrong.height}; label -> classifier, with the classifier's rows)\n")
    evidence = diseases.group_by("nct_id").agg(
        pl.concat_str(
            [
                pl.col("area").str.slice(0, 5),
                pl.lit("/"),
                pl.coalesce(pl.col("entity"), pl.col("category"), pl.lit("-")),
                pl.lit(" <"),
                pl.col("evidence").fill_null("-"),
                pl.lit(">"),
            ]
        ).alias("rows")
    )
    for row in wrong.join(evidence, on="nct_id", how="left").head(n_errors).iter_rows(named=True):
        print(f"{row['nct_id']}  {row['disease_group']} -> {row['pred']}   label note: {row['note'] or '-'}")
        for r in (row["rows"] or [])[:8]:
            print(f"    {r[:150]}")


def yearly(diseases: pl.DataFrame, summary: pl.DataFrame, dates: pl.DataFrame) -> None:
    years = [str(y) for y in YEARS]
    with_year = dates.filter(pl.col("year").is_between(YEARS.start, YEARS.stop - 1))
    by_area = (
        diseases.select("nct_id", "area").unique().join(with_year, on="nct_id").group_by("area", "year").len()
    )
    print(
        "\n## Trials per disease area per first-posted year (all modalities; a trial counts once per area)\n"
    )
    _table(by_area, "area", [a for a in AREAS], years)
    by_group = summary.join(with_year, on="nct_id").group_by("disease_group", "year").len()
    print("\n## Trials per disease group per first-posted year (each trial once)\n")
    _table(by_group, "disease_group", list(DISEASE_GROUPS), years)
    print(
        "\nFirst-posted dates in this corpus are ESTIMATED from the NCT sequence "
        "(see ../shared/ctgov/README.md)."
    )


def _table(counts: pl.DataFrame, key: str, order: list[str], years: list[str]) -> None:
    width = max(len(k) for k in order) + 2
    print(f"{key:<{width}}" + "".join(f"{y:>6}" for y in years) + f"{'total':>7}")
    lookup = {(r[key], str(r["year"])): r["len"] for r in counts.iter_rows(named=True)}
    totals = dict.fromkeys(years, 0)
    for k in order:
        cells = [lookup.get((k, y), 0) for y in years]
        for y, c in zip(years, cells, strict=True):
            totals[y] += c
        print(f"{k:<{width}}" + "".join(f"{c:>6}" for c in cells) + f"{sum(cells):>7}")
    print(f"{'(sum)':<{width}}" + "".join(f"{totals[y]:>6}" for y in years) + f"{sum(totals.values()):>7}")


def speed(frame: pl.DataFrame, copies: int = 39) -> None:
    def distinct(i: int) -> list[pl.Expr]:
        # A per-copy suffix on every item, so no condition string repeats across copies.
        lists = [
            pl.col(c).str.replace_all(r"\s*\|\s*", f" c{i} | ") + f" c{i}" for c in ("conditions", "keywords")
        ]
        titles = [pl.col(c) + f" c{i}" for c in ("brief_title", "official_title")]
        return [pl.col("nct_id") + f"_{i}", *lists, *titles]

    print("\n## Speed\n")
    for label, big in (
        ("replicated", pl.concat([frame.with_columns(pl.col("nct_id") + f"_{i}") for i in range(copies)])),
        ("every item distinct", pl.concat([frame.with_columns(distinct(i)) for i in range(copies)])),
    ):
        start = time.perf_counter()
        out = classify_diseases(big)
        trial_disease_summary(out)
        secs = time.perf_counter() - start
        print(f"{label:<22} {big.height:>7} trials  {secs:6.2f} s  ({big.height / secs:,.0f} trials/s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", type=int, default=100, help="disagreements to print")
    parser.add_argument("--speed", action="store_true", help="also time ~100k trials")
    args = parser.parse_args()

    base = shared_ctgov()
    if base is None:
        print("skipped: shared ClinicalTrials.gov material not found (set TRIALTRENDS_SHARED_CTGOV)")
        return 0
    if not LABELS.is_file():
        print(f"skipped: {LABELS} not found")
        return 0

    corpus = load_corpus(base)
    frame = disease_text_frame(corpus)
    start = time.perf_counter()
    diseases = classify_diseases(frame)
    summary = trial_disease_summary(diseases)
    secs = time.perf_counter() - start
    counts = {a: sum(r.area == a for r in RULES) for a in AREAS}
    print(f"# Disease classifier, rules {DISEASE_RULES_VERSION}: {len(RULES)} rules " + str(counts))
    print(f"classified {frame.height} corpus trials into {diseases.height} rows in {secs:.2f} s")
    print("\ndisease groups (corpus):", dict(summary.group_by("disease_group").len().iter_rows()))

    agreement(diseases, summary, LABELS, args.errors, "; the rules were developed against them")
    if HOLDOUT.is_file():
        agreement(diseases, summary, HOLDOUT, args.errors, "; held out, not used for tuning")
    yearly(diseases, summary, first_posted(corpus))

    records = load_records(base)
    rec_summary = trial_disease_summary(classify_diseases(disease_text_frame(records)))
    print(
        f"\n## The {len(records)} full records (non-cell-therapy negatives): "
        + str(dict(rec_summary.group_by("disease_group").len().sort("disease_group").iter_rows()))
    )
    if args.speed:
        speed(frame)
    return 0


if __name__ == "__main__":
    sys.exit(main())
