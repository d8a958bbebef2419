"""classify: modality rules on small hand-written text rows, one test per trap."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from trialtrends.data import modality_rules as R
from trialtrends.transform import classify as C
from trialtrends.transform.classify import (
    CLASSIFIER_VERSION,
    MODALITIES,
    REPORT_GROUPS,
    Classification,
    classify,
)
from trialtrends.transform.study_text import TEXT_COLUMNS, text_frame, text_row

# ---- helpers ---------------------------------------------------------------------------------


def row(nct: str = "NCT00000001", **fields: str | None) -> dict[str, str | None]:
    """A text row; interventions given as a list are joined like study_text does."""
    out: dict[str, str | None] = {c: None for c in TEXT_COLUMNS}
    out["nct_id"] = nct
    for key, value in fields.items():
        assert key in TEXT_COLUMNS, key
        out[key] = " | ".join(value) if isinstance(value, list) else value
    return out


def run(*rows: dict) -> Classification:
    return classify(text_frame(rows))


def mods(*rows: dict) -> list[str]:
    """Modalities of the first row."""
    result = run(*rows)
    nct = rows[0]["nct_id"]
    return result.modalities.filter(pl.col("nct_id") == nct)["modality"].to_list()


def flags(*rows: dict) -> dict:
    """Flag row of the first row."""
    return run(*rows).flags.row(0, named=True)


# ---- interface -------------------------------------------------------------------------------


def test_public_constants():
    assert MODALITIES == (
        "CAR-T", "CAR-NK", "NK", "TCR-T", "TIL", "CAR-NKT", "CAR-gdT", "CAR-M", "OTHER-CELL",
    )  # fmt: skip
    assert REPORT_GROUPS == {
        "CAR-T": ("CAR-T",),
        "TCR-T": ("TCR-T",),
        "TIL": ("TIL",),
        "NK": ("NK", "CAR-NK"),
        "ALL": ("CAR-T", "TCR-T", "TIL", "NK", "CAR-NK"),
    }
    assert re.fullmatch(r"\d{4}\.\d+\.\d+", CLASSIFIER_VERSION)


def test_output_schemas_and_one_flag_row_per_input():
    result = run(
        row("NCT1", brief_title="CD19 CAR-T cells for ALL", intervention_names="CD19 CAR-T"),
        row("NCT2", brief_title="Aspirin for headache", intervention_names="Aspirin"),
        row("NCT3"),
    )
    assert result.modalities.schema == pl.Schema(C.MODALITIES_SCHEMA)
    assert result.flags.schema == pl.Schema(C.FLAGS_SCHEMA)
    assert result.flags["nct_id"].to_list() == ["NCT1", "NCT2", "NCT3"]
    assert result.flags["is_cell_therapy"].to_list() == [True, False, False]


def test_version_stamped_on_every_row():
    result = run(
        row("NCT1", brief_title="CAR-T and CAR-NK cells", intervention_names=["CAR-T", "CAR-NK"]),
        row("NCT2", brief_title="Aspirin", intervention_names="Aspirin"),
    )
    assert result.modalities.height == 2
    assert set(result.modalities["classifier_version"]) == {CLASSIFIER_VERSION}
    assert set(result.flags["classifier_version"]) == {CLASSIFIER_VERSION}


def test_evidence_names_rule_field_and_quotes_text():
    result = run(row(brief_title="Anti-CD19 CAR-T cells in lymphoma", intervention_names="Aspirin"))
    (evidence,) = result.modalities["evidence"].to_list()
    assert re.fullmatch(r'rule [a-z_]+: "\.\.\..*CAR-T.*\.\.\." \(brief_title\)', evidence)
    assert len(evidence) < 200


def test_lazy_input_missing_columns_and_empty_frame():
    lazy = pl.LazyFrame(
        {"nct_id": ["NCT1"], "brief_title": ["CART19 for CLL"], "study_type": ["INTERVENTIONAL"]}
    )
    result = classify(lazy)
    assert result.modalities["modality"].to_list() == ["CAR-T"]
    empty = classify(text_frame([]))
    assert empty.modalities.height == 0 and empty.flags.height == 0


def test_text_row_output_feeds_classify():
    study = {
        "protocolSection": {
            "identificationModule": {"nctId": "NCT9", "briefTitle": "Lifileucel in melanoma"},
            "armsInterventionsModule": {"interventions": [{"name": "Lifileucel"}]},
        }
    }
    assert classify(text_frame([text_row(study)])).modalities["modality"].to_list() == ["TIL"]


def test_no_cell_product_gets_no_row():
    result = run(
        row(
            brief_title="Pembrolizumab in NSCLC",
            brief_summary="Patients receive pembrolizumab every 3 weeks until progression.",
            intervention_names="Pembrolizumab",
        )
    )
    assert result.modalities.height == 0
    f = result.flags.row(0, named=True)
    assert f == {
        "nct_id": "NCT00000001",
        "is_cell_therapy": False,
        "is_long_term_follow_up": False,
        "is_in_vivo_car": False,
        "is_expanded_access": False,
        "cell_source": "unclear",
        "targets": [],
        "classifier_version": CLASSIFIER_VERSION,
    }


# ---- spellings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "CART19",
        "CART-BCMA cells",
        "huCART19",
        "CAR T cells",
        "CAR-T cells",
        "Anti-CD19 CAR-T-cell infusion",
        "CAR+ T cells",
        "Car-t cells",
        "UCART19",
        "mesoCAR-T cells",
        "Chimeric antigen receptor T cells targeting CD19",
        "Chimeric Antigen Receptor (CAR)-Modified T Cells",
        "T cells expressing an anti-GD2 chimeric antigen receptor",
        "CD19-targeted T cells injection",
        "anti-BCMA CAR",
        "Tisagenlecleucel",
        "axicabtagene ciloleucel",
        "Kymriah",
        "cilta-cel",
        "CD19-STAR-T cells",
        "CD19CAR-28-zeta T cells",
        "CARCIK-CD19",
    ],
)
def test_car_t_spellings(name):
    assert mods(row(intervention_names=name)) == ["CAR-T"]


@pytest.mark.parametrize(
    "title",
    [
        "Autologous Cartilage Implantation for Knee Defects",
        "Shopping cart use and physical activity",
        "CARTITUDE: patient preferences survey",
        "Oncolytic adenovirus targeting the coxsackie and adenovirus receptor (CAR)",
    ],
)
def test_car_look_alikes_are_not_car_t(title):
    assert mods(row(brief_title=title, intervention_names="Procedure")) == []


# ---- conditions and NK -----------------------------------------------------------------------


def test_nk_t_cell_lymphoma_condition_is_not_nk():
    result = mods(
        row(
            brief_title="CD7 CAR-T in Extranodal NK/T-cell Lymphoma",
            conditions="Extranodal NK-T-cell Lymphoma, Nasal Type | NK/T-cell lymphoma",
            intervention_names="CD7 CAR-T cells",
        )
    )
    assert result == ["CAR-T"]


@pytest.mark.parametrize(
    "title",
    [
        "Chidamide Plus P-GemOx for Extranodal NK/T-cell Lymphoma",
        "Safety Evaluation Study for Patients With Aggressive NK-cell Leukemia",
        "Pembrolizumab in Relapsed Natural Killer/T Cell Malignancies",
    ],
)
def test_nk_diseases_in_titles_are_not_nk(title):
    assert mods(row(brief_title=title, intervention_names="PPMX-T003")) == []


def test_nk_cells_without_car_are_nk():
    assert mods(row(intervention_names="Haploidentical NK cell infusion")) == ["NK"]
    title = "Memory-like natural killer cells for AML"
    assert mods(row(brief_title=title, study_type="INTERVENTIONAL")) == ["NK"]


@pytest.mark.parametrize(
    "name",
    [
        "anti-CD19 CAR-NK cells",
        "CAR NK cells targeting BCMA",
        "NK-92 cells expressing an anti-CD33 CAR",
        "CAR.CD19-CD28-zeta-2A-iCasp9-IL15-Transduced Cord Blood NK Cells",
        "TAK-007",
    ],
)
def test_car_nk_is_not_car_t_nor_nk(name):
    assert mods(row(intervention_names=name)) == ["CAR-NK"]


def test_nk_engager_and_nk_activity_are_not_nk():
    title = "AFM13, an NK cell engager, and exercise effects on NK cell activity"
    assert mods(row(brief_title=title, intervention_names="AFM13")) == []


# ---- TCR -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Anti-CD19 attached to TCRz and 4-1BB signaling domains CAR-T",
        "αCD19-TCRz-CD28 CAR-T cells",
        "CD123 CAR TCR/4-1BB-expressing T-lymphocytes",
        "TCR knock-out allogeneic CD19 CAR-T cells",
        "TCR-like CAR T cells targeting AFP",
        "TCRαβ-depleted UCART19",
    ],
)
def test_tcr_inside_a_car_construct_is_not_tcr_t(name):
    assert mods(row(intervention_names=name)) == ["CAR-T"]


@pytest.mark.parametrize(
    "name",
    [
        "Anti-NY-ESO-1 TCR transduced T cells",
        "E7 TCR-T cells",
        "afamitresgene autoleucel",
        "KK-LC-1 TCR-T cells",
        "T cell receptor-engineered T cells",
    ],
)
def test_tcr_t(name):
    assert mods(row(intervention_names=name)) == ["TCR-T"]


def test_soluble_tcr_drug_is_not_tcr_t():
    assert mods(row(brief_title="Tebentafusp in uveal melanoma", intervention_names="Kimmtrak")) == []


def test_car_t_and_tcr_t_together():
    title = "Autologous CAR-T/TCR-T Cell Immunotherapy for Malignancies"
    assert mods(row(brief_title=title, intervention_names="Cell infusion")) == ["CAR-T", "TCR-T"]


# ---- TIL -------------------------------------------------------------------------------------


def test_til_and_until():
    assert mods(row(intervention_names="Tumor infiltrating lymphocytes (TIL)")) == ["TIL"]
    assert mods(row(brief_title="TIL Therapy in Cervical Cancer", intervention_names="TIL")) == ["TIL"]
    until = row(
        brief_title="Nivolumab until progression",
        brief_summary="Treatment continues until disease progression or unacceptable toxicity.",
        intervention_names="Nivolumab",
    )
    assert mods(until) == []


def test_til_scored_as_biomarker_is_not_til():
    summary = "Stromal TILs and tumor-infiltrating lymphocytes density will be assessed."
    assert mods(row(brief_summary=summary, intervention_names="ABC-123")) == []


# ---- CAR-T as background ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "interventions"),
    [
        ("Tocilizumab for Cytokine Release Syndrome After CAR-T", ["Tocilizumab"]),
        (
            "Anakinra for the Prevention of CAR-T Cell Mediated Neurotoxicity",
            ["Anakinra", "Axicabtagene Ciloleucel"],
        ),
        ("Siltuximab in ICANS Related to CAR-T Cell Therapy", ["Siltuximab"]),
        ("Defibrotide Prophylaxis of CAR-T Associated Neurotoxicity", ["Defibrotide"]),
        (
            "Glofitamab for Lymphoma Relapsed After CAR T-cell Therapy",
            ["Glofitamab", "Obinutuzumab"],
        ),
        ("Teclistamab in Myeloma Patients Previously Exposed to BCMA CAR-T", ["Teclistamab"]),
        ("RSV Vaccine Response in CAR-T Therapy Recipients", ["RSV vaccine"]),
        ("PET/CT Imaging in Patients Treated With CD19 CAR-T Cells", ["68Ga-NOTA tracer"]),
        ("Quality of Life After CAR-T Cell Therapy", ["Questionnaires"]),
        ("Exercise Program During CAR-T Therapy", ["Exercise"]),
        ("Biomarkers of Response in Patients Receiving CAR-T", ["Blood draw"]),
        ("Mezigdomide Maintenance Post Idecabtagene Vicleucel", ["Mezigdomide"]),
        (
            "NKTR-255 in Combination With CAR-T Cell Therapy for LBCL",
            ["NKTR-255", "Lisocabtagene Maraleucel", "Cyclophosphamide"],
        ),
    ],
)
def test_car_t_as_background_gives_no_modality(title, interventions):
    summary = "Patients receiving standard of care CAR-T cell therapy are eligible."
    assert mods(row(brief_title=title, brief_summary=summary, intervention_names=interventions)) == []


def test_observational_cohort_of_car_t_recipients_is_none():
    assert mods(row(brief_title="Real-World Outcomes of Axicabtagene Ciloleucel")) == []
    study = row(
        brief_title="Relmacabtagene Autoleucel in Patients With LBCL",
        brief_summary="This is an observational, retrospective study of relma-cel.",
        intervention_names="Relmacabtagene Autoleucel",
    )
    assert mods(study) == []
    records = row(brief_title="CAR-T for lymphoma", study_type="OBSERVATIONAL", intervention_names="CAR-T")
    assert mods(records) == []


def test_no_intervention_listed_means_observational():
    # The corpus lacks studyType; a study listing no intervention gives nothing to anyone.
    assert mods(row(brief_title="CAR-T Cell Therapy in Hematological Malignancies")) == []
    declared = row(brief_title="CD19 CAR-T in ALL", study_type="INTERVENTIONAL")
    assert mods(declared) == ["CAR-T"]


def test_investigational_car_t_after_a_prior_car_t_is_kept():
    title = "CD22 CAR-T in Patients Relapsed After CD19 CAR-T Therapy"
    assert mods(row(brief_title=title, intervention_names="CD22 CAR-T cells")) == ["CAR-T"]


def test_comparison_with_a_drug_tests_the_product():
    title = "Tisagenlecleucel vs Blinatumomab or Inotuzumab in B-ALL"
    names = ["Blinatumomab", "Inotuzumab", "Tisagenlecleucel"]
    assert mods(row(brief_title=title, intervention_names=names)) == ["CAR-T"]


def test_summary_decides_for_code_named_products_only():
    summary = "XYZ-101 is an autologous anti-CD19 chimeric antigen receptor T-cell product."
    coded = row(brief_title="A Study of XYZ-101 in Lupus", brief_summary=summary,
                intervention_names="XYZ-101 injection")  # fmt: skip
    assert mods(coded) == ["CAR-T"]
    drug = row(
        brief_title="Zanubrutinib in DLBCL",
        brief_summary="CAR-T cell therapies have improved outcomes. We test zanubrutinib.",
        intervention_names="Zanubrutinib",
    )
    assert mods(drug) == []


# ---- follow-up and in vivo -------------------------------------------------------------------


def test_long_term_follow_up_keeps_modality_and_is_flagged():
    study = row(
        brief_title="Long-term Follow-up (LTFU) of Participants Who Received Azer-Cel",
        intervention_names="No Intervention",
    )
    assert mods(study) == ["CAR-T"]
    f = flags(study)
    assert f["is_long_term_follow_up"] and f["is_cell_therapy"]


def test_treatment_trial_mentioning_follow_up_is_not_flagged():
    study = row(
        brief_title="CD19 CAR-T Cells in B-ALL",
        brief_summary="Patients will then enter a separate 15-year long-term follow-up study.",
        intervention_names="CD19 CAR-T cells",
    )
    assert mods(study) == ["CAR-T"]
    assert not flags(study)["is_long_term_follow_up"]


def test_in_vivo_car():
    study = row(
        brief_title="KSV Injection in Lupus",
        brief_summary="KSV injection is an in vivo Chimeric Antigen Receptor T-Cell (CAR-T) product.",
        intervention_names="KSV injection",
    )
    assert mods(study) == ["CAR-T"]
    assert flags(study)["is_in_vivo_car"]
    lnp = row(intervention_names="LNP encapsulating circular RNA encoding a CD19 CAR")
    assert mods(lnp) == ["CAR-T"] and flags(lnp)["is_in_vivo_car"]


def test_in_vivo_expansion_of_ex_vivo_car_t_is_not_in_vivo_car():
    study = row(
        intervention_names="CD19 CAR-T cells",
        brief_summary="We measure in vivo expansion and persistence of CAR-T cells.",
    )
    assert mods(study) == ["CAR-T"]
    assert not flags(study)["is_in_vivo_car"]


# ---- other cell types ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Anti-CD19-CAR γδT cells", ["CAR-gdT"]),
        ("Allogeneic gamma delta (γδ) CAR T cells", ["CAR-gdT"]),
        ("Ex vivo expanded γδ T cell infusion", ["OTHER-CELL"]),
        ("GD2 CAR-NKT cells", ["CAR-NKT"]),
        ("CAR-macrophages (CT-0508)", ["CAR-M"]),
        ("DC-CIK cells", ["OTHER-CELL"]),
        ("EBV-specific cytotoxic T lymphocytes", ["OTHER-CELL"]),
        ("Polyclonal regulatory T cells", ["OTHER-CELL"]),
        ("Autologous dendritic cell vaccine", ["OTHER-CELL"]),
    ],
)
def test_other_cell_types(name, expected):
    assert mods(row(intervention_names=name)) == expected


def test_car_modified_virus_specific_t_cells_are_car_t_only():
    title = "CMV-specific Cytotoxic T Lymphocytes Expressing CAR Targeting HER2 in GBM"
    assert mods(row(brief_title=title, intervention_names="HER.CAR CMV-specific CTLs")) == ["CAR-T"]


def test_car_t_with_a_separate_dc_vaccine_has_both():
    names = ["CLDN18.2-targeted CAR-DCs", "CLDN18.2-targeted CAR-T cells"]
    assert mods(row(intervention_names=names)) == ["CAR-T", "OTHER-CELL"]


def test_car_treg_is_car_t():
    assert mods(row(intervention_names="Autologous CD6-CAR Treg cells")) == ["CAR-T"]


# ---- targets ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Claudin 18.2 CAR-T cells", ["CLDN18.2"]),
        ("CLDN18.2-targeted CAR-T", ["CLDN18.2"]),
        ("claudin18.2 CAR T", ["CLDN18.2"]),
        ("Anti-mesothelin CAR-T cells", ["MSLN"]),
        ("B7H3 CAR T cells", ["B7-H3"]),
        ("CD276 CAR-T", ["B7-H3"]),
        ("CD19/CD22 bispecific CAR-T", ["CD19", "CD22"]),
        ("CD19/22 CAR T cells", ["CD19", "CD22"]),
        ("CART19", ["CD19"]),
        ("Anti-BCMA CAR-T", ["BCMA"]),
        ("B-cell maturation antigen CAR T cells", ["BCMA"]),
        ("NKG2D CAR-NK cells", ["NKG2DL"]),
        ("CLL-1 CAR-T", ["CLL1"]),
        ("GPC3 CAR-T", ["GPC3"]),
        ("HER2 CAR-T cells", ["HER2"]),
        ("Idecabtagene vicleucel", ["BCMA"]),
        # Markers and context are not targets.
        ("CD19CAR-4-1BB-CD3zeta-EGFRt T cells", ["CD19"]),
        ("PSCA-CAR-4-1BB-CD19t T cells", ["PSCA"]),
    ],
)
def test_targets_are_canonical(name, expected):
    assert flags(row(intervention_names=name))["targets"] == expected


def test_targets_sorted_unique_and_empty_without_cell_therapy():
    f = flags(row(brief_title="BCMA and CD19 CAR-T", intervention_names="CD19 BCMA CAR-T"))
    assert f["targets"] == ["BCMA", "CD19"]
    assert flags(row(brief_title="Rituximab in CD20+ NHL", intervention_names="Rituximab"))["targets"] == []


def test_background_antigen_is_not_a_target():
    title = "CS1 CAR-T Cells for Myeloma Relapsed After BCMA CAR-T"
    assert flags(row(brief_title=title, intervention_names="CS1 CAR-T cells"))["targets"] == ["CS1"]


# ---- rule data integrity ---------------------------------------------------------------------


def test_every_rule_has_a_reason_and_known_class():
    names = [r.name for r in R.RULES]
    assert len(names) == len(set(names))
    for rule in R.RULES:
        assert rule.reason.strip(), rule.name
        assert rule.klass in R.RULE_CLASSES, rule.name
        assert rule.tiers <= R.ALL_TIERS and rule.tiers, rule.name
    patterns = [*R.MASKS, *R.BACKGROUND_MASKS, *R.IN_VIVO_CAR]
    patterns += [v for v in vars(R).values() if isinstance(v, R.Pattern)]
    assert len(patterns) > 20
    for pattern in patterns:
        assert pattern.reason.strip(), pattern.name
    assert set(C.MODALITY_CLASSES) == set(MODALITIES)


def test_mask_replacement_keeps_every_named_group():
    groups = {g for m in R.MASKS for g in re.findall(r"\(\?P<(\w+)>", m.pattern)}
    assert groups == set(re.findall(r"\$\{(\w+)\}", C._MASK_REPLACEMENT))


def test_all_patterns_compile_in_polars():
    comp = C._compiled()
    probe = pl.Series(["CD19 CAR-T cells | NK/T-cell lymphoma | TCRz"])
    patterns = [
        *comp.masks_lexical,
        *comp.masks_background,
        comp.prefilter,
        *[p for ps in comp.class_tier.values() for p in ps],
        *[q for rules in comp.evidence.values() for _, p, q in rules],
        comp.target_mention,
        *[p for _, p in comp.targets],
    ]
    for pattern in patterns:
        probe.str.contains(pattern)


# ---- shared material ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus_frame(corpus_studies: list[dict]) -> pl.DataFrame:
    return text_frame(text_row(s) for s in corpus_studies)


@pytest.mark.shared
def test_prefilter_covers_every_rule(corpus_frame: pl.DataFrame, shared_ctgov: Path):
    """A study the prefilter drops must not be one any rule would match."""
    comp = C._compiled()
    frame = C._ensure_columns(corpus_frame).with_row_index("_row").with_columns(pl.lit(False).alias("_ltfu"))
    hits = C._class_hits(C._mask(frame, C.SCAN_COLUMNS, comp), C.SCAN_COLUMNS, comp)
    any_hit = hits.select(
        pl.any_horizontal([c for c in hits.columns if c.startswith("h__")]).alias("hit"),
        C._joined(C.SCAN_COLUMNS).str.contains(comp.prefilter).alias("kept"),
        "nct_id",
    )
    missed = any_hit.filter(pl.col("hit") & ~pl.col("kept"))
    assert missed.height == 0, missed["nct_id"].to_list()


@pytest.mark.shared
def test_full_records_are_negative(corpus_studies: list[dict]):
    records = [s for s in corpus_studies if "officialTitle" in s["protocolSection"].get(
        "identificationModule", {})]  # fmt: skip
    assert len(records) >= 60
    result = classify(text_frame(text_row(s) for s in records))
    assert result.modalities.height == 0
    assert not result.flags["is_cell_therapy"].any()


@pytest.mark.shared
def test_corpus_is_mostly_cell_therapy(corpus_frame: pl.DataFrame):
    result = classify(corpus_frame)
    share = result.flags["is_cell_therapy"].mean()
    assert share is not None and share > 0.85
    assert (
        result.modalities.select(pl.len()).item() == result.modalities.unique(["nct_id", "modality"]).height
    )
