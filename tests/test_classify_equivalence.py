"""The set-based engine gives exactly the verdicts of the engine it replaced.

The old engine is pinned in `tests/classify_reference` (a copy, reading the same rule data). Both
run on the shared corpus and the 64 records, and on a scrambled frame whose text columns come from
different studies (odd combinations reach guards and branches the real records may not), and
every output frame must be equal: flags (targets, cell source), modality rows (roles, evidence),
product links, the bulk path's cell-therapy ids and the disease rows and groups.
"""

from __future__ import annotations

import classify_reference
import polars as pl
import pytest
from classify_reference import diseases as reference_diseases
from polars.testing import assert_frame_equal

from trialtrends.transform.classify import cell_therapy_ids, classify
from trialtrends.transform.diseases import classify_diseases, trial_disease_summary
from trialtrends.transform.study_text import TEXT_COLUMNS, text_frame, text_row


@pytest.fixture(scope="session")
def corpus_text(corpus_studies: list[dict]) -> pl.DataFrame:
    return text_frame(text_row(s) for s in corpus_studies)


@pytest.fixture(scope="session")
def scrambled_text(corpus_text: pl.DataFrame) -> pl.DataFrame:
    """Each text column shifted by a different number of rows: every row mixes several studies."""
    return corpus_text.select(
        pl.col("nct_id"),
        *[
            pl.col(c).shift(7 * i, fill_value=None).alias(c)
            for i, c in enumerate(TEXT_COLUMNS)
            if c != "nct_id"
        ],
    ).select(TEXT_COLUMNS)


def _same_classification(text: pl.DataFrame) -> None:
    new, old = classify(text), classify_reference.classify(text)
    assert new.flags.height == text.height
    for name in ("flags", "modalities", "products"):
        got, want = getattr(new, name), getattr(old, name)
        assert got.columns == want.columns, name
        if name == "products":
            # The old engine left the order of a trial's products to an unstable sort; the rows
            # (keyed on nct_id, product_id) must be the same.
            got, want = got.sort("nct_id", "product_id"), want.sort("nct_id", "product_id")
        assert_frame_equal(got, want, check_exact=True)
    assert cell_therapy_ids(text) == classify_reference.cell_therapy_ids(text)


def test_classify_same_on_corpus_and_records(corpus_text: pl.DataFrame) -> None:
    _same_classification(corpus_text)


def test_classify_same_on_scrambled_text(scrambled_text: pl.DataFrame) -> None:
    _same_classification(scrambled_text)


@pytest.mark.parametrize("rows", [0, 1, 2, 40])
def test_classify_same_on_small_batches(corpus_text: pl.DataFrame, rows: int) -> None:
    """The per-record and delta sizes: empty, single studies and small batches."""
    _same_classification(corpus_text.sample(rows, seed=rows) if rows else corpus_text.clear())


@pytest.mark.parametrize("which", ["corpus", "scrambled", "empty", "one"])
def test_diseases_same(corpus_text: pl.DataFrame, scrambled_text: pl.DataFrame, which: str) -> None:
    text = {"corpus": corpus_text, "scrambled": scrambled_text, "empty": corpus_text.clear()}.get(
        which, corpus_text.sample(1, seed=3)
    )
    got, want = classify_diseases(text), reference_diseases.classify_diseases(text)
    assert want.height >= text.height
    assert_frame_equal(got, want, check_exact=True)
    assert_frame_equal(
        trial_disease_summary(got), reference_diseases.trial_disease_summary(want), check_exact=True
    )
