"""study_text: one API v2 study dict -> the classifier's text row, robust to odd input."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from trialtrends.transform.study_text import SEP, TEXT_COLUMNS, text_frame, text_row

FULL = {
    "protocolSection": {
        "identificationModule": {
            "nctId": "NCT01234567",
            "briefTitle": "CD19 CAR-T Cells in B-ALL",
            "officialTitle": "A Phase 1 Study of Autologous CD19 CAR-T Cells",
            "acronym": "CART19",
        },
        "statusModule": {"overallStatus": "RECRUITING"},
        "descriptionModule": {"briefSummary": "Summary.", "detailedDescription": "Details."},
        "conditionsModule": {"conditions": ["B-ALL", "NHL"], "keywords": ["CAR-T", "CD19"]},
        "designModule": {"studyType": "INTERVENTIONAL"},
        "armsInterventionsModule": {
            "armGroups": [
                {
                    "label": "Arm A",
                    "type": "EXPERIMENTAL",
                    "description": "CAR-T infusion",
                    "interventionNames": ["Biological: CD19 CAR-T", "Drug: Fludarabine"],
                }
            ],
            "interventions": [
                {
                    "type": "BIOLOGICAL",
                    "name": "CD19 CAR-T",
                    "description": "Autologous T cells",
                    "otherNames": ["CART19", "huCART19"],
                },
                {"type": "DRUG", "name": "Fludarabine"},
            ],
        },
    },
    "derivedSection": {
        "interventionBrowseModule": {
            "meshes": [{"id": "D1", "term": "Fludarabine"}],
            "ancestors": [{"id": "D2", "term": "Antimetabolites"}],
        }
    },
}


def test_full_record_fields():
    row = text_row(FULL)
    assert list(row) == list(TEXT_COLUMNS)
    assert row["nct_id"] == "NCT01234567"
    assert row["official_title"].startswith("A Phase 1")
    assert row["acronym"] == "CART19"
    assert row["conditions"] == "B-ALL | NHL"
    assert row["keywords"] == "CAR-T | CD19"
    assert row["intervention_names"] == "CD19 CAR-T | Fludarabine"
    assert row["intervention_other_names"] == "CART19 | huCART19"
    assert row["intervention_types"] == "BIOLOGICAL | DRUG"
    assert row["intervention_descriptions"] == "Autologous T cells"
    assert row["arm_groups"] == (
        "Arm A : EXPERIMENTAL : CAR-T infusion : Biological: CD19 CAR-T; Drug: Fludarabine"
    )
    # Only the meshes, not their ancestors.
    assert row["intervention_mesh"] == "Fludarabine"
    assert row["study_type"] == "INTERVENTIONAL"
    assert row["overall_status"] == "RECRUITING"


@pytest.mark.parametrize(
    "study",
    [
        {},
        {"protocolSection": None},
        {"protocolSection": "oops"},
        {"protocolSection": {"identificationModule": []}},
        {"derivedSection": {"interventionBrowseModule": {"meshes": "x"}}},
    ],
)
def test_missing_or_odd_modules_give_all_none(study):
    row = text_row(study)
    assert list(row) == list(TEXT_COLUMNS)
    assert all(v is None for v in row.values())


def test_non_dict_input_never_raises():
    for value in (None, [], "NCT1", 42):
        row = text_row(value)  # type: ignore[arg-type]
        assert all(v is None for v in row.values())


def test_weird_types_are_skipped():
    study = {
        "protocolSection": {
            "identificationModule": {"nctId": "NCT00000001", "briefTitle": 12, "acronym": "  "},
            "conditionsModule": {"conditions": "Lymphoma", "keywords": [None, 3, "kw", ""]},
            "descriptionModule": {"briefSummary": ["not", "a", "string"]},
            "armsInterventionsModule": {
                "interventions": [
                    "not a dict",
                    None,
                    {"name": None, "type": 7, "otherNames": "CART19"},
                    {"name": "NK cells", "otherNames": [None, "SNK01", 5], "description": ""},
                ],
                "armGroups": [None, {"label": "A", "interventionNames": "Biological: X"}, {}],
            },
        },
        "derivedSection": {"interventionBrowseModule": {"meshes": [None, {"term": 5}, {}]}},
    }
    row = text_row(study)
    assert row["nct_id"] == "NCT00000001"
    assert row["brief_title"] is None
    assert row["acronym"] is None  # blank strings are missing
    assert row["conditions"] == "Lymphoma"  # a lone string is kept
    assert row["keywords"] == "kw"
    assert row["brief_summary"] is None
    assert row["intervention_names"] == "NK cells"
    assert row["intervention_other_names"] == "SNK01"
    assert row["intervention_types"] is None
    assert row["intervention_descriptions"] is None
    assert row["arm_groups"] == "A : Biological: X"
    assert row["intervention_mesh"] is None
    assert all(v is None or isinstance(v, str) for v in row.values())


def test_list_separator_is_pipe():
    assert SEP == " | "


def test_text_frame_schema_and_order():
    frame = text_frame([text_row(FULL), text_row({})])
    assert frame.columns == list(TEXT_COLUMNS)
    assert all(dtype == pl.String for dtype in frame.dtypes)
    assert frame.height == 2
    assert frame["nct_id"].to_list() == ["NCT01234567", None]


def test_text_frame_empty_and_generator():
    empty = text_frame([])
    assert empty.height == 0 and empty.columns == list(TEXT_COLUMNS)
    assert all(dtype == pl.String for dtype in empty.dtypes)
    frame = text_frame(text_row(s) for s in (FULL, FULL))
    assert frame.height == 2


def test_text_frame_ignores_extra_keys_and_fills_missing():
    frame = text_frame([{"nct_id": "NCT1", "extra": 1}])
    assert frame.row(0, named=True)["nct_id"] == "NCT1"
    assert frame.row(0, named=True)["brief_title"] is None


@pytest.mark.shared
def test_real_records_and_corpus(corpus_studies: list[dict], shared_ctgov: Path):
    rows = [text_row(s) for s in corpus_studies]
    assert all(list(r) == list(TEXT_COLUMNS) for r in rows)
    assert all(r["nct_id"] and r["nct_id"].startswith("NCT") for r in rows)
    assert all(v is None or isinstance(v, str) for r in rows for v in r.values())
    # The full records carry what the corpus lacks.
    full = [r for r in rows if r["official_title"]]
    assert full and any(r["intervention_types"] for r in full)
    assert any(r["arm_groups"] for r in full)
    assert text_frame(rows).height == len(corpus_studies)
