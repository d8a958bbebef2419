"""classify: modality rules on small hand-written text rows, one test per trap.

Every row is registered at import time and the whole module is classified in one batch (the
`batch` fixture): the classifier's fixed cost is paid once, each test reads its row by key.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from classify_cases import Cases, row

from trialtrends.data import modality_rules as R
from trialtrends.transform.classify import (
    CLASSIFIER_VERSION,
    MODALITIES,
    REPORT_GROUPS,
    classify,
)
from trialtrends.transform.classify import compiled as K
from trialtrends.transform.classify import engine as E
from trialtrends.transform.classify import exprs as X
from trialtrends.transform.classify import guards as G
from trialtrends.transform.study_text import text_frame, text_row

CASES = Cases()
add = CASES.add


@pytest.fixture(scope="module")
def batch() -> Cases:
    return CASES.run()


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


def test_output_schemas_one_flag_row_per_input_and_version_on_every_row():
    result = classify(
        text_frame(
            [
                row("NCT1", brief_title="CD19 CAR-T cells for ALL", intervention_names="CD19 CAR-T"),
                row("NCT2", brief_title="Aspirin for headache", intervention_names="Aspirin"),
                row("NCT3"),
                row("NCT4", brief_title="CAR-T and CAR-NK cells", intervention_names=["CAR-T", "CAR-NK"]),
            ]
        )
    )
    assert result.modalities.schema == pl.Schema(E.MODALITIES_SCHEMA)
    assert result.flags.schema == pl.Schema(E.FLAGS_SCHEMA)
    assert result.flags["nct_id"].to_list() == ["NCT1", "NCT2", "NCT3", "NCT4"]
    assert result.flags["is_cell_therapy"].to_list() == [True, False, False, True]
    assert result.modalities.height == 3
    assert set(result.modalities["classifier_version"]) == {CLASSIFIER_VERSION}
    assert set(result.flags["classifier_version"]) == {CLASSIFIER_VERSION}


add("evidence", brief_title="Anti-CD19 CAR-T cells in lymphoma", intervention_names="Aspirin")


def test_evidence_names_rule_field_and_quotes_text(batch):
    (evidence,) = batch.evidence("evidence")
    assert re.fullmatch(r'rule [a-z_]+: "\.\.\..*CAR-T.*\.\.\." \(brief_title\)', evidence)
    assert len(evidence) < 200


def test_lazy_input_missing_columns_and_empty_frame():
    lazy = pl.LazyFrame(
        {"nct_id": ["NCT1"], "brief_title": ["CART19 for CLL"], "study_type": ["INTERVENTIONAL"]}
    )
    result = classify(lazy)
    assert result.modalities["modality"].to_list() == ["CAR-T"]
    empty = classify(text_frame([]))
    assert empty.modalities.height == 0 and empty.flags.height == 0 and empty.products.height == 0


def test_text_row_output_feeds_classify():
    study = {
        "protocolSection": {
            "identificationModule": {"nctId": "NCT9", "briefTitle": "Lifileucel in melanoma"},
            "armsInterventionsModule": {"interventions": [{"name": "Lifileucel"}]},
        }
    }
    assert classify(text_frame([text_row(study)])).modalities["modality"].to_list() == ["TIL"]


add(
    "pembrolizumab",
    brief_title="Pembrolizumab in NSCLC",
    brief_summary="Patients receive pembrolizumab every 3 weeks until progression.",
    intervention_names="Pembrolizumab",
)


def test_no_cell_product_gets_no_row(batch):
    assert batch.mods("pembrolizumab") == []
    f = batch.flags("pembrolizumab")
    assert f == {
        "nct_id": batch.nct("pembrolizumab"),
        "is_cell_therapy": False,
        "is_long_term_follow_up": False,
        "is_in_vivo_car": False,
        "is_expanded_access": False,
        "cell_source": "unclear",
        "cell_source_basis": None,
        "targets": [],
        "classifier_version": CLASSIFIER_VERSION,
    }


# ---- spellings -------------------------------------------------------------------------------

CAR_T_SPELLINGS = [
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
]
for _name in CAR_T_SPELLINGS:
    add(("car_t", _name), intervention_names=_name)


@pytest.mark.parametrize("name", CAR_T_SPELLINGS)
def test_car_t_spellings(batch, name):
    assert batch.mods(("car_t", name)) == ["CAR-T"]


LOOK_ALIKES = [
    "Autologous Cartilage Implantation for Knee Defects",
    "Shopping cart use and physical activity",
    "CARTITUDE: patient preferences survey",
    "Oncolytic adenovirus targeting the coxsackie and adenovirus receptor (CAR)",
]
for _title in LOOK_ALIKES:
    add(("look_alike", _title), brief_title=_title, intervention_names="Procedure")


@pytest.mark.parametrize("title", LOOK_ALIKES)
def test_car_look_alikes_are_not_car_t(batch, title):
    assert batch.mods(("look_alike", title)) == []


# ---- conditions and NK -----------------------------------------------------------------------

add(
    "nk_t_lymphoma",
    brief_title="CD7 CAR-T in Extranodal NK/T-cell Lymphoma",
    conditions="Extranodal NK-T-cell Lymphoma, Nasal Type | NK/T-cell lymphoma",
    intervention_names="CD7 CAR-T cells",
)


def test_nk_t_cell_lymphoma_condition_is_not_nk(batch):
    assert batch.mods("nk_t_lymphoma") == ["CAR-T"]


NK_DISEASE_TITLES = [
    "Chidamide Plus P-GemOx for Extranodal NK/T-cell Lymphoma",
    "Safety Evaluation Study for Patients With Aggressive NK-cell Leukemia",
    "Pembrolizumab in Relapsed Natural Killer/T Cell Malignancies",
]
for _title in NK_DISEASE_TITLES:
    add(("nk_disease", _title), brief_title=_title, intervention_names="PPMX-T003")


@pytest.mark.parametrize("title", NK_DISEASE_TITLES)
def test_nk_diseases_in_titles_are_not_nk(batch, title):
    assert batch.mods(("nk_disease", title)) == []


add("nk_haplo", intervention_names="Haploidentical NK cell infusion")
add("nk_memory", brief_title="Memory-like natural killer cells for AML", study_type="INTERVENTIONAL")


def test_nk_cells_without_car_are_nk(batch):
    assert batch.mods("nk_haplo") == ["NK"]
    assert batch.mods("nk_memory") == ["NK"]


CAR_NK_NAMES = [
    "anti-CD19 CAR-NK cells",
    "CAR NK cells targeting BCMA",
    "NK-92 cells expressing an anti-CD33 CAR",
    "CAR.CD19-CD28-zeta-2A-iCasp9-IL15-Transduced Cord Blood NK Cells",
    "TAK-007",
]
for _name in CAR_NK_NAMES:
    add(("car_nk", _name), intervention_names=_name)


@pytest.mark.parametrize("name", CAR_NK_NAMES)
def test_car_nk_is_not_car_t_nor_nk(batch, name):
    assert batch.mods(("car_nk", name)) == ["CAR-NK"]


add(
    "nk_engager",
    brief_title="AFM13, an NK cell engager, and exercise effects on NK cell activity",
    intervention_names="AFM13",
)


def test_nk_engager_and_nk_activity_are_not_nk(batch):
    assert batch.mods("nk_engager") == []


# ---- TCR -------------------------------------------------------------------------------------

TCR_IN_CAR = [
    "Anti-CD19 attached to TCRz and 4-1BB signaling domains CAR-T",
    "αCD19-TCRz-CD28 CAR-T cells",
    "CD123 CAR TCR/4-1BB-expressing T-lymphocytes",
    "TCR knock-out allogeneic CD19 CAR-T cells",
    "TCR-like CAR T cells targeting AFP",
    "TCRαβ-depleted UCART19",
]
for _name in TCR_IN_CAR:
    add(("tcr_in_car", _name), intervention_names=_name)


@pytest.mark.parametrize("name", TCR_IN_CAR)
def test_tcr_inside_a_car_construct_is_not_tcr_t(batch, name):
    assert batch.mods(("tcr_in_car", name)) == ["CAR-T"]


TCR_T_NAMES = [
    "Anti-NY-ESO-1 TCR transduced T cells",
    "E7 TCR-T cells",
    "afamitresgene autoleucel",
    "KK-LC-1 TCR-T cells",
    "T cell receptor-engineered T cells",
]
for _name in TCR_T_NAMES:
    add(("tcr_t", _name), intervention_names=_name)


@pytest.mark.parametrize("name", TCR_T_NAMES)
def test_tcr_t(batch, name):
    assert batch.mods(("tcr_t", name)) == ["TCR-T"]


add("tebentafusp", brief_title="Tebentafusp in uveal melanoma", intervention_names="Kimmtrak")
add(
    "car_and_tcr",
    brief_title="Autologous CAR-T/TCR-T Cell Immunotherapy for Malignancies",
    intervention_names="Cell infusion",
)


def test_soluble_tcr_drug_is_not_tcr_t(batch):
    assert batch.mods("tebentafusp") == []


def test_car_t_and_tcr_t_together(batch):
    assert batch.mods("car_and_tcr") == ["CAR-T", "TCR-T"]


# ---- TIL -------------------------------------------------------------------------------------

add("til_name", intervention_names="Tumor infiltrating lymphocytes (TIL)")
add("til_title", brief_title="TIL Therapy in Cervical Cancer", intervention_names="TIL")
add(
    "until",
    brief_title="Nivolumab until progression",
    brief_summary="Treatment continues until disease progression or unacceptable toxicity.",
    intervention_names="Nivolumab",
)
add(
    "til_biomarker",
    brief_summary="Stromal TILs and tumor-infiltrating lymphocytes density will be assessed.",
    intervention_names="ABC-123",
)


def test_til_and_until(batch):
    assert batch.mods("til_name") == ["TIL"]
    assert batch.mods("til_title") == ["TIL"]
    assert batch.mods("until") == []


def test_til_scored_as_biomarker_is_not_til(batch):
    assert batch.mods("til_biomarker") == []


# ---- CAR-T as background: supportive care, history, other products (no row) ----------------

BACKGROUND = [
    ("Tocilizumab for Cytokine Release Syndrome After CAR-T", ["Tocilizumab"]),
    (
        "Anakinra for the Prevention of CAR-T Cell Mediated Neurotoxicity",
        ["Anakinra", "Axicabtagene Ciloleucel"],
    ),
    ("Siltuximab in ICANS Related to CAR-T Cell Therapy", ["Siltuximab"]),
    ("Defibrotide Prophylaxis of CAR-T Associated Neurotoxicity", ["Defibrotide"]),
    ("Glofitamab for Lymphoma Relapsed After CAR T-cell Therapy", ["Glofitamab", "Obinutuzumab"]),
    ("Teclistamab in Myeloma Patients Previously Exposed to BCMA CAR-T", ["Teclistamab"]),
    ("RSV Vaccine Response in CAR-T Therapy Recipients", ["RSV vaccine"]),
    ("Exercise Program During CAR-T Therapy", ["Exercise"]),
    ("Mezigdomide Maintenance Post Idecabtagene Vicleucel", ["Mezigdomide"]),
    ("IVIG for Infection Prevention After CAR-T-Cell Therapy", ["Immune Globulin", "Anti-CD19 CAR T Cells"]),
]
for _title, _ivs in BACKGROUND:
    add(
        ("background", _title),
        brief_title=_title,
        brief_summary="Patients receiving standard of care CAR-T cell therapy are eligible.",
        intervention_names=_ivs,
    )


@pytest.mark.parametrize(("title", "interventions"), BACKGROUND)
def test_supportive_care_or_history_gives_no_row(batch, title, interventions):
    assert batch.mods(("background", title)) == []
    assert not batch.flags(("background", title))["is_cell_therapy"]


add(
    "no_iv_title",
    brief_title="CAR-T Cell Therapy in Hematological Malignancies",
    brief_summary="Outcomes of patients.",
)
add("declared", brief_title="CD19 CAR-T in ALL", study_type="INTERVENTIONAL")


def test_no_intervention_listed_means_an_exposure_study(batch):
    # The corpus lacks studyType; a study listing no intervention gives nothing to anyone:
    # its patients were treated elsewhere (follow_up).
    assert batch.roles("no_iv_title") == {"CAR-T": "follow_up"}
    assert batch.roles("declared") == {"CAR-T": "investigational"}


add(
    "after_prior",
    brief_title="CD22 CAR-T in Patients Relapsed After CD19 CAR-T Therapy",
    intervention_names="CD22 CAR-T cells",
)
add(
    "comparison",
    brief_title="Tisagenlecleucel vs Blinatumomab or Inotuzumab in B-ALL",
    intervention_names=["Blinatumomab", "Inotuzumab", "Tisagenlecleucel"],
)


def test_investigational_car_t_after_a_prior_car_t_is_kept(batch):
    assert batch.roles("after_prior") == {"CAR-T": "investigational"}
    assert batch.flags("after_prior")["targets"] == ["CD22"]


def test_comparison_with_a_drug_tests_the_product(batch):
    assert batch.roles("comparison") == {"CAR-T": "investigational"}


add(
    "coded",
    brief_title="A Study of XYZ-101 in Lupus",
    brief_summary="XYZ-101 is an autologous anti-CD19 chimeric antigen receptor T-cell product.",
    intervention_names="XYZ-101 injection",
)
add(
    "drug_summary",
    brief_title="Zanubrutinib in DLBCL",
    brief_summary="CAR-T cell therapies have improved outcomes. We test zanubrutinib.",
    intervention_names="Zanubrutinib",
)


def test_summary_decides_for_code_named_products_only(batch):
    assert batch.mods("coded") == ["CAR-T"]
    assert batch.mods("drug_summary") == []


# ---- in vivo -------------------------------------------------------------------------------

add(
    "ksv",
    brief_title="KSV Injection in Lupus",
    brief_summary="KSV injection is an in vivo Chimeric Antigen Receptor T-Cell (CAR-T) product.",
    intervention_names="KSV injection",
)
add("lnp", intervention_names="LNP encapsulating circular RNA encoding a CD19 CAR")
add(
    "expansion",
    intervention_names="CD19 CAR-T cells",
    brief_summary="We measure in vivo expansion and persistence of CAR-T cells.",
)


def test_in_vivo_car(batch):
    assert batch.mods("ksv") == ["CAR-T"]
    assert batch.flags("ksv")["is_in_vivo_car"]
    assert batch.mods("lnp") == ["CAR-T"] and batch.flags("lnp")["is_in_vivo_car"]
    assert batch.flags("lnp")["cell_source"] == "in_vivo"


def test_in_vivo_expansion_of_ex_vivo_car_t_is_not_in_vivo_car(batch):
    assert batch.mods("expansion") == ["CAR-T"]
    assert not batch.flags("expansion")["is_in_vivo_car"]


# ---- other cell types ------------------------------------------------------------------------

OTHER_TYPES = [
    ("Anti-CD19-CAR γδT cells", ["CAR-gdT"]),
    ("Allogeneic gamma delta (γδ) CAR T cells", ["CAR-gdT"]),
    ("Ex vivo expanded γδ T cell infusion", ["OTHER-CELL"]),
    ("GD2 CAR-NKT cells", ["CAR-NKT"]),
    ("CAR-macrophages (CT-0508)", ["CAR-M"]),
    ("DC-CIK cells", ["OTHER-CELL"]),
    ("EBV-specific cytotoxic T lymphocytes", ["OTHER-CELL"]),
    ("Polyclonal regulatory T cells", ["OTHER-CELL"]),
    ("Autologous dendritic cell vaccine", ["OTHER-CELL"]),
]
for _name, _ in OTHER_TYPES:
    add(("other", _name), intervention_names=_name)


@pytest.mark.parametrize(("name", "expected"), OTHER_TYPES)
def test_other_cell_types(batch, name, expected):
    assert batch.mods(("other", name)) == expected


add(
    "cmv_car",
    brief_title="CMV-specific Cytotoxic T Lymphocytes Expressing CAR Targeting HER2 in GBM",
    intervention_names="HER.CAR CMV-specific CTLs",
)
add("car_dc", intervention_names=["CLDN18.2-targeted CAR-DCs", "CLDN18.2-targeted CAR-T cells"])
add("car_treg", intervention_names="Autologous CD6-CAR Treg cells")


def test_car_modified_virus_specific_t_cells_are_car_t_only(batch):
    assert batch.mods("cmv_car") == ["CAR-T"]


def test_car_t_with_a_separate_dc_vaccine_has_both(batch):
    assert batch.mods("car_dc") == ["CAR-T", "OTHER-CELL"]


def test_car_treg_is_car_t(batch):
    assert batch.mods("car_treg") == ["CAR-T"]


# ---- targets ---------------------------------------------------------------------------------

TARGET_CASES = [
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
    ("NKG2D CAR-NK cells", ["NKG2D-L"]),
    ("CLL-1 CAR-T", ["CLL1"]),
    ("GPC3 CAR-T", ["GPC3"]),
    ("HER2 CAR-T cells", ["HER2"]),
    ("Idecabtagene vicleucel", ["BCMA"]),
    # Naming convention: SLAMF7 not CS1, L1CAM not CD171; ligand CARs name the receptors.
    ("CS1 CAR-T cells", ["SLAMF7"]),
    ("CD171-specific CAR T cells", ["L1CAM"]),
    ("APRIL-based CAR T cells", ["BCMA", "TACI"]),
    ("BAFF ligand CAR-T cells", ["BAFF-R", "BCMA", "TACI"]),
    ("IL13(EQ)BBzeta CAR T cells", ["IL13RA2"]),
    # Markers and context are not targets.
    ("CD19CAR-4-1BB-CD3zeta-EGFRt T cells", ["CD19"]),
    ("PSCA-CAR-4-1BB-CD19t T cells", ["PSCA"]),
    ("IL13Ralpha2 CAR Truncated CD19-expressing T-lymphocytes", ["IL13RA2"]),
]
for _name, _ in TARGET_CASES:
    add(("target", _name), intervention_names=_name)


@pytest.mark.parametrize(("name", "expected"), TARGET_CASES)
def test_targets_are_canonical(batch, name, expected):
    assert batch.flags(("target", name))["targets"] == expected


add("two_targets", brief_title="BCMA and CD19 CAR-T", intervention_names="CD19 BCMA CAR-T")
add("rituximab", brief_title="Rituximab in CD20+ NHL", intervention_names="Rituximab")
add(
    "bg_antigen",
    brief_title="CS1 CAR-T Cells for Myeloma Relapsed After BCMA CAR-T",
    intervention_names="CS1 CAR-T cells",
)
add(
    "bispecific_antigen",
    brief_title="BCMA CAR-T Followed by GPRC5D/CD3 Bispecific Maintenance",
    intervention_names=["BCMA CAR-T", "GPRC5D/CD3 bispecific antibody"],
)
add(
    "sequential",
    brief_title="CD22 CAR T Cells Following Tisagenlecleucel in B-ALL",
    intervention_names=["CD22CART infusion", "Tisagenlecleucel"],
)


def test_targets_sorted_unique_and_empty_without_cell_therapy(batch):
    assert batch.flags("two_targets")["targets"] == ["BCMA", "CD19"]
    assert batch.flags("rituximab")["targets"] == []


def test_background_and_antibody_antigens_are_not_targets(batch):
    assert batch.flags("bg_antigen")["targets"] == ["SLAMF7"]
    assert batch.flags("bispecific_antigen")["targets"] == ["BCMA"]


def test_sequential_design_lists_every_antigen(batch):
    assert batch.flags("sequential")["targets"] == ["CD19", "CD22"]


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
    assert set(K.MODALITY_CLASSES) == set(MODALITIES)


def test_guards_are_data_with_known_outcomes_and_features():
    engine_features = {
        "ltfu", "observational", "exposure", "title_names_product", "title_mentions_product", "title_background",
        "iv_names_product", "investigational_item", "standard_product", "has_interventions",
        "other_item", "assessment_only", "sampling_only", "named_standard_item", "add_on_title",
    }  # fmt: skip
    regex_features = {f.name for f in R.FEATURES}
    names = [g.name for g in R.GUARDS]
    assert len(names) == len(set(names))
    for guard in R.GUARDS:
        assert guard.outcome in R.GUARD_OUTCOMES, guard.name
        assert guard.reason.strip() and guard.when, guard.name
    assert G.features_used() <= engine_features | regex_features
    for feature in R.FEATURES:
        assert feature.on in G.feature_texts(K.compiled()), feature.name


def test_first_guard_wins():
    frame = pl.DataFrame({"_a": [True, True, False], "_b": [True, False, True]})
    guards = (
        R.Guard("first", R.FOLLOW_UP, ("a", "b"), "x"),
        R.Guard("second", R.NO_ROW, ("a",), "x"),
        R.Guard("third", R.COMBINATION, ("!a",), "x"),
    )
    out = frame.select(*G.guard_outcome(guards))
    assert out["_outcome"].to_list() == [R.FOLLOW_UP, R.NO_ROW, R.COMBINATION]
    assert out["_guard"].to_list() == ["first", "second", "third"]


def test_mask_replacement_keeps_every_named_group():
    groups = {g for m in R.MASKS for g in re.findall(r"\(\?P<(\w+)>", m.pattern)}
    assert groups == set(re.findall(r"\$\{(\w+)\}", X.MASK_REPLACEMENT))


def test_all_patterns_compile_in_polars():
    comp = K.compiled()
    probe = pl.Series(["CD19 CAR-T cells | NK/T-cell lymphoma | TCRz"])
    patterns = [
        *comp.masks_lexical,
        *comp.masks_background,
        comp.prefilter,
        *[p for ps in comp.class_tier.values() for p in ps],
        *[q for rules in comp.evidence.values() for _, p, q in rules],
        *comp.rx.values(),
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
    comp = K.compiled()
    frame = (
        E.ensure_columns(corpus_frame).with_row_index("_row").with_columns(pl.lit(False).alias("_exposure"))
    )
    hits = E.class_hits(E.mask(frame, X.SCAN_COLUMNS, comp), X.SCAN_COLUMNS, comp)
    any_hit = hits.select(
        pl.any_horizontal([c for c in hits.columns if c.startswith("h__")]).alias("hit"),
        X.joined(X.SCAN_COLUMNS).str.contains(comp.prefilter).alias("kept"),
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
