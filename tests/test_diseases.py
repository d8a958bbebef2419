"""Disease-area classifier: areas, baskets, traps, field policy, fallback, keys, rule data."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from trialtrends.data.disease_rules import (
    AREA_WIDE,
    AREAS,
    AUTO,
    HAEM,
    IGNORE,
    INFECT,
    OTHER,
    PAN_TUMOUR,
    RULES,
    SOLID,
    UNKNOWN,
)
from trialtrends.transform.diseases import (
    DISEASE_SCHEMA,
    classify_diseases,
    disease_text_frame,
    trial_disease_summary,
)


def frame(*rows: dict) -> pl.DataFrame:
    """Input rows; unspecified text columns are null, nct_ids default to T1, T2, ..."""
    cols = ("nct_id", "conditions", "keywords", "brief_title", "official_title", "condition_mesh")
    full = [
        {c: row.get(c) for c in cols} | {"nct_id": row.get("nct_id", f"T{i + 1}")}
        for i, row in enumerate(rows)
    ]
    return pl.DataFrame(full, schema=dict.fromkeys(cols, pl.String))


def classify(**row: str | None) -> pl.DataFrame:
    return classify_diseases(frame(row))


def entities(result: pl.DataFrame) -> set[str | None]:
    return set(result.get_column("entity").to_list())


def group(**row: str | None) -> str:
    summary = trial_disease_summary(classify(**row))
    assert summary.height == 1
    return summary.item(0, "disease_group")


# ---- one test per area ---------------------------------------------------------------------


def test_haematological_entity_with_evidence():
    out = classify(conditions="Diffuse Large B-Cell Lymphoma")
    assert out.rows() == [
        ("T1", HAEM, "B-cell lymphoma", "DLBCL", "conditions: Diffuse Large B-Cell Lymphoma"),
    ]
    assert dict(out.schema) == DISEASE_SCHEMA
    assert group(conditions="Diffuse Large B-Cell Lymphoma") == "haematological"


def test_solid_tumour():
    out = classify(conditions="Recurrent Glioblastoma | Glioma")
    assert set(out.select("area", "entity").rows()) == {(SOLID, "glioblastoma"), (SOLID, "glioma")}
    assert group(conditions="Recurrent Glioblastoma") == "solid"


def test_autoimmune():
    out = classify(conditions="Systemic Lupus Erythematosus | Lupus Nephritis")
    assert set(out.select("area", "entity").rows()) == {(AUTO, "SLE"), (AUTO, "lupus nephritis")}
    assert group(conditions="Refractory Myasthenia Gravis") == "autoimmune"


def test_infectious_disease():
    out = classify(conditions="HIV Infections")
    assert out.select("area", "entity").rows() == [(INFECT, "HIV")]
    assert group(conditions="COVID-19") == "other"


def test_other_non_oncology():
    out = classify(conditions="Chronic Graft Versus Host Disease")
    assert out.select("area", "category", "entity").rows() == [(OTHER, "transplantation", "GvHD")]
    assert group(conditions="Idiopathic Pulmonary Fibrosis") == "other"
    # GvHD prevention in AML patients stays haematological: the non-oncology row never wins.
    assert group(conditions="Acute Myeloid Leukemia | Graft-versus-host Disease") == "haematological"


def test_unknown_fallback_for_non_disease_text():
    out = classify(conditions="CAR-T Cell Therapy | Healthy Volunteers", brief_title="Manufacturing Study")
    assert out.rows() == [("T1", UNKNOWN, None, None, None)]
    assert group(conditions="Cytokine Release Syndrome") == "unknown"
    # A trial with no text at all still appears once.
    assert classify().rows() == [("T1", UNKNOWN, None, None, None)]


# ---- baskets -------------------------------------------------------------------------------


def test_basket_across_haem_and_solid_lists_every_entity():
    out = classify(
        conditions="Chronic Lymphocytic Leukemia | Mantle Cell Lymphoma | Triple Negative Breast Cancer"
    )
    assert entities(out) == {"CLL/SLL", "mantle cell lymphoma", "breast cancer"}
    assert group(conditions="Chronic Lymphocytic Leukemia | Triple Negative Breast Cancer") == "basket"


def test_oncology_and_autoimmune_in_one_trial_is_basket():
    out = classify(conditions="Primary Sjogren's Syndrome | Lymphoma")
    assert set(out.get_column("area").to_list()) == {AUTO, HAEM}
    assert group(conditions="Primary Sjogren's Syndrome | Lymphoma") == "basket"


def test_multi_histology_solid_basket_needs_three_organ_categories():
    gpc3 = (
        "Hepatocellular Carcinoma | Squamous Cell Carcinoma of the Lung | Merkel Cell Carcinoma | Liposarcoma"
    )
    assert group(conditions=gpc3) == "basket"
    # The oesophago-gastric junction is gastric/GEJ, not also oesophageal.
    assert entities(classify(conditions="Esophagogastric Junction Adenocarcinoma")) == {
        "gastric / GEJ cancer"
    }
    # Gastric + pancreatic are both GI: one category, so a solid trial, not a basket.
    assert group(conditions="Gastric Adenocarcinoma | Pancreatic Cancer") == "solid"
    # Generic "solid tumours" does not count as an organ category.
    assert group(conditions="Solid Tumor | Colorectal Cancer | Ovarian Cancer") == "solid"


def test_explicit_pan_tumour_design_is_basket():
    out = classify(conditions="Tumor-agnostic Solid Tumors")
    assert PAN_TUMOUR in entities(out)
    assert group(conditions="Tumor-agnostic Solid Tumors") == "basket"


# ---- traps ---------------------------------------------------------------------------------


def test_nk_t_cell_lymphoma_is_a_t_cell_malignancy():
    out = classify(conditions="Extranodal NK/T-cell Lymphoma, Nasal Type")
    assert out.select("area", "category", "entity").rows() == [
        (HAEM, "T-cell malignancies", "NK/T-cell lymphoma")
    ]
    # NK, NKT or "NK/T" products named in a title are not diseases.
    assert group(brief_title="Allogeneic NKT Cells and NK Cells: a Manufacturing Study") == "unknown"
    assert group(conditions="Malignant Tumor", brief_title="ROBO1 Specific BiCAR-NK/T Cells") == "unknown"


def test_hodgkin_versus_non_hodgkin():
    nhl = classify(conditions="Non-Hodgkin Lymphoma | Lymphoma, Non-Hodgkin | B-NHL | Non-Hodgkin's Lymphoma")
    assert "Hodgkin lymphoma" not in entities(nhl)
    assert classify(conditions="Classical Hodgkin Lymphoma").get_column("entity").to_list() == [
        "Hodgkin lymphoma"
    ]
    both = classify(conditions="Hodgkin and non-Hodgkin lymphoma")
    assert "Hodgkin lymphoma" in entities(both)


def test_b_cell_words_in_autoimmune_trials_are_not_malignancies():
    for text in ("B-cell Mediated Autoimmune Disorders", "Lupus | B-cell Depletion"):
        out = classify(conditions=text)
        assert set(out.get_column("area").to_list()) == {AUTO}, text


def test_word_boundaries_for_all_aml_and_small():
    assert entities(classify(conditions="Food Allergy")) == {"asthma / allergy"}
    assert entities(classify(conditions="Small Cell Lung Cancer")) == {"SCLC"}
    assert entities(classify(conditions="Non-small Cell Lung Cancer")) == {"NSCLC"}
    assert entities(classify(conditions="Relapsed Adult ALL")) == {None}  # ALL, lineage not stated
    assert classify(conditions="Relapsed Adult ALL").item(0, "category") == "acute lymphoblastic leukaemia"
    assert group(brief_title="A Streamlined Manufacturing Process for All Patients") == "unknown"
    # CLL-1 is an AML target, not chronic lymphocytic leukaemia.
    assert entities(classify(conditions="CLL-1 Positive AML")) == {"AML"}


def test_disease_words_inside_other_words_do_not_match():
    # "chewing" is not Ewing sarcoma; "aseptic" is not sepsis; "Melanoma (Skin Cancer)" is one melanoma.
    assert group(brief_title="Chewing and Swallowing after Stroke") == "unknown"
    assert group(conditions="Aseptic Technique") == "unknown"
    assert entities(classify(conditions="Melanoma (Skin Cancer)")) == {"melanoma"}
    # What a condition excludes is not in the population.
    assert entities(classify(conditions="Large B-cell Lymphoma (Excluding Richter Transformation)")) == {
        "DLBCL"
    }


def test_egfrviii_and_anti_gbm_are_not_glioblastoma_words():
    assert group(conditions="Anti-GBM Disease") == "autoimmune"
    assert entities(classify(conditions="EGFRvIII-positive Glioblastoma")) == {"glioblastoma"}


def test_rms_is_neither_multiple_sclerosis_nor_a_sarcoma_acronym():
    assert group(conditions="RMS") == "unknown"
    assert group(conditions="Relapsing Multiple Sclerosis") == "autoimmune"
    assert group(conditions="Rhabdomyosarcoma") == "solid"


def test_toxicities_and_mesh_headings_are_not_the_population_disease():
    out = classify(conditions="DLBCL | Cytokine Release Syndrome | ICANS | Neurotoxicity Syndromes")
    assert entities(out) == {"DLBCL"}
    # A myeloma trial that pastes MeSH tree headings is not also autoimmune.
    assert group(conditions="Multiple Myeloma | Immune System Diseases | Immunoproliferative Disorders") == (
        "haematological"
    )


def test_ebv_positive_lymphoma_is_a_malignancy_not_an_infection():
    out = classify(conditions="EBV-positive Diffuse Large B-cell Lymphoma, Not Otherwise Specified")
    assert set(out.get_column("area").to_list()) == {HAEM}
    assert set(classify(conditions="Epstein-Barr Virus Positive DLBCL, Nos").get_column("area")) == {HAEM}
    assert entities(classify(conditions="EBV-positive Nasopharyngeal Carcinoma")) == {
        "nasopharyngeal carcinoma"
    }
    assert classify(conditions="EBV Viremia").select("area", "entity").rows() == [(INFECT, "EBV infection")]


def test_mycosis_fungoides_is_ctcl_not_fungal():
    assert classify(conditions="Mycosis Fungoides").select("area", "entity").rows() == [(HAEM, "CTCL")]


def test_amyloidosis_decisions():
    al = classify(conditions="Light Chain (AL) Amyloidosis")
    assert al.select("area", "category", "entity").rows() == [
        (HAEM, "plasma-cell neoplasms", "AL amyloidosis")
    ]
    attr = classify(conditions="Transthyretin Amyloidosis")
    assert attr.select("area", "entity").rows() == [(OTHER, "non-AL amyloidosis")]


def test_generic_rows_yield_to_specific_ones():
    assert entities(classify(conditions="Lymphoma | Diffuse Large B-Cell Lymphoma")) == {"DLBCL"}
    # MeSH-style inverted generics keep their lineage.
    for text, category in (
        ("Lymphoma, B Cell", "B-cell lymphoma"),
        ("Leukemia, B-Cell", "B-cell malignancies (unspecified)"),
    ):
        assert classify(conditions=text).select("category", "entity").rows() == [(category, None)], text
    # The generic solid row stays when nothing more specific is named.
    solo = classify(conditions="Advanced Solid Tumors")
    assert solo.select("area", "category", "entity").rows() == [(SOLID, "solid tumours (unspecified)", None)]


# ---- field policy --------------------------------------------------------------------------


def test_titles_used_only_when_conditions_give_nothing():
    out = classify(conditions="Multiple Myeloma", brief_title="BCMA CAR-T after Glioblastoma Surgery")
    assert entities(out) == {"multiple myeloma"}
    fallback = classify(conditions="Safety and Efficacy", brief_title="CLL-1 CAR-T Cells in Relapsed AML")
    assert fallback.rows() == [("T1", HAEM, "AML", "AML", "brief_title: AML")]


def test_keywords_used_only_as_fallback():
    assert entities(classify(conditions=None, keywords="lupus | CD19")) == {"SLE"}
    assert entities(classify(conditions="Multiple Myeloma", keywords="lupus")) == {"multiple myeloma"}


def test_condition_mesh_is_read_with_conditions_and_is_optional():
    mesh = classify(conditions="Relapse", condition_mesh="Carcinoma, Non-Small-Cell Lung")
    assert mesh.select("entity", "evidence").rows() == [
        ("NSCLC", "condition_mesh: Carcinoma, Non-Small-Cell Lung")
    ]
    no_mesh = frame({"conditions": "Multiple Myeloma"}).drop("condition_mesh")
    assert classify_diseases(no_mesh).get_column("entity").to_list() == ["multiple myeloma"]


def test_missing_required_column_is_an_error():
    with pytest.raises(ValueError, match="brief_title"):
        classify_diseases(frame({"conditions": "AML"}).drop("brief_title"))


def test_no_duplicate_keys_and_every_trial_once_at_least():
    text = frame(
        {
            "conditions": "DLBCL | Diffuse Large B Cell Lymphoma | DLBCL",
            "condition_mesh": "Lymphoma, Large B-Cell, Diffuse",
        },
        {"conditions": "Healthy"},
        {"conditions": "SLE | Systemic Lupus Erythematosus (SLE) | Lupus Erythematosus, Systemic"},
    )
    out = classify_diseases(text)
    assert out.filter(pl.col("nct_id") == "T1").rows() == [
        ("T1", HAEM, "B-cell lymphoma", "DLBCL", "conditions: DLBCL"),
    ]
    assert out.select("nct_id", "area", "category", "entity").is_duplicated().sum() == 0
    assert set(out.get_column("nct_id").to_list()) == {"T1", "T2", "T3"}
    assert trial_disease_summary(out).get_column("disease_group").to_list() == [
        "haematological",
        "unknown",
        "autoimmune",
    ]


# ---- the rule data itself ------------------------------------------------------------------


def test_rule_data_is_complete_and_compiles():
    categories = {r.category for r in RULES}
    probe = pl.Series(["x"])
    for rule in RULES:
        assert rule.area in AREAS and rule.area != UNKNOWN
        assert rule.reason.strip() and "\n" not in rule.reason
        for pattern in (rule.pattern, rule.mask, rule.unless):
            if pattern:
                probe.str.contains(f"(?i){pattern}")  # raises on a pattern Polars cannot compile
        if rule.covers and rule.covers != AREA_WIDE:
            assert set(rule.covers) <= categories, rule.covers
    for pattern in IGNORE:
        probe.str.contains(f"(?i){pattern.pattern}")
    assert {r.area for r in RULES} == set(AREAS) - {UNKNOWN}


# ---- shared material (skipped without it) --------------------------------------------------


@pytest.mark.shared
def test_shared_corpus_and_records(shared_ctgov: Path, corpus_studies: list[dict]):
    text = disease_text_frame(corpus_studies)
    out = classify_diseases(text)
    assert out.select("nct_id", "area", "category", "entity").is_duplicated().sum() == 0
    assert set(out.get_column("nct_id").to_list()) == set(text.get_column("nct_id").to_list())
    summary = trial_disease_summary(out)
    assert summary.height == text.height
    # Real records with MeSH: the COVID vaccine trials are "other", NSCLC is solid.
    record = json.loads((shared_ctgov / "records" / "NCT05826366.json").read_text())
    assert group(**disease_text_frame([record]).row(0, named=True)) == "solid"
    covid = json.loads((shared_ctgov / "records" / "NCT05894525.json").read_text())
    assert group(**disease_text_frame([covid]).row(0, named=True)) == "other"
