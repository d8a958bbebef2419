"""Cell source floors on the shared corpus (bench/bench_cell_source.py prints the figures).

Skipped without the shared corpus: coverage of the counted CAR-T trials and the agreement of each
basis with the hand labels must stay at or above bench_cell_source.FLOORS.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

import bench_cell_source as S  # noqa: E402


@pytest.mark.shared
def test_cell_source_meets_the_floors(corpus_studies: list[dict]):
    corpus = [
        s
        for s in corpus_studies
        if "officialTitle" not in s["protocolSection"].get("identificationModule", {})
    ]
    assert not S.below_floor(S.figures(corpus))


def test_cell_source_labels_are_consistent():
    labels = pl.read_csv(S.SOURCE_LABELS, infer_schema=False)
    assert labels["nct_id"].n_unique() == labels.height
    assert set(labels["cell_source"].unique()) <= {"autologous", "allogeneic", "in_vivo", "unclear"}
    assert set(labels["judged_by"].unique()) <= {"text", "knowledge", "none"}
    assert set(labels["sample"].unique()) == {"dev", "holdout"}
    # 'none' means the labeller could not judge: it must carry the abstaining label.
    assert (labels.filter(pl.col("judged_by") == "none")["cell_source"] == "unclear").all()
