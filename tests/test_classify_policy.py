"""classify: the counting policy (roles, expanded access, cell source, product dictionary).

Roles: investigational (the product is tested), combination (a standard product is the backbone
of a combination, bridging, lymphodepletion or augmentation design), follow_up (nothing given;
treated patients followed). Supportive care around a standard product gives no row.
"""

from __future__ import annotations

import pytest
from classify_cases import Cases

CASES = Cases()
add = CASES.add


@pytest.fixture(scope="module")
def batch() -> Cases:
    return CASES.run()


# ---- combination ----------------------------------------------------------------------------

add(
    "axi_utomilumab",
    brief_title="Axicabtagene Ciloleucel in Combination With Utomilumab in Refractory LBCL",
    intervention_names=["Axicabtagene Ciloleucel", "Utomilumab", "Cyclophosphamide", "Fludarabine"],
)
add(
    "liso_nktr",
    brief_title="NKTR-255 in Combination With CAR-T Cell Therapy for the Treatment of LBCL",
    intervention_names=["NKTR-255", "Lisocabtagene Maraleucel", "Cyclophosphamide"],
)
add(
    "pembro_plus",
    brief_title="Pembro Plus CAR T-cell Therapy in R/R PMBCL",
    intervention_names=["Chimeric Antigen Receptor (CAR) Therapy Infusion", "Leukapheresis", "Pembrolizumab"],
)


def test_agent_added_to_a_standard_car_t_is_a_combination(batch):
    assert batch.roles("axi_utomilumab") == {"CAR-T": "combination"}
    assert batch.roles("liso_nktr") == {"CAR-T": "combination"}
    assert batch.roles("pembro_plus") == {"CAR-T": "combination"}


add(
    "talquetamab_bridging",
    brief_title="Talquetamab Bridging Therapy Followed by Ciltacabtagene Autoleucel in Myeloma",
    intervention_names=["Talquetamab", "Ciltacabtagene Autoleucel"],
)
add(
    "bridging_rt",
    brief_title="Evaluation of Bridging Radiation Therapy Before CAR T-Cell Infusion for LBCL",
    intervention_names=["Chimeric Antigen Receptor T-Cell Therapy", "External Beam Radiation Therapy"],
)
add(
    "bispecific_bridging",
    brief_title="BCMA/CD3 Bispecific Antibody as Bridging Therapy Before CAR-T Cell Infusion in RRMM",
    intervention_names="CM336 (BCMA/CD3 bispecific antibody)",
)
add(
    "tbi_lymphodepletion",
    brief_title="Lymphodepletion With Low Dose Total Body Irradiation Before Standard of Care Tisagenlecleucel",
    intervention_names=["Cyclophosphamide", "Fludarabine", "Total Body Irradiation", "Tisagenlecleucel"],
)


def test_bridging_and_lymphodepletion_designs_are_combinations(batch):
    for key in ("talquetamab_bridging", "bridging_rt", "bispecific_bridging", "tbi_lymphodepletion"):
        assert batch.roles(key) == {"CAR-T": "combination"}, key


add(
    "nt_i7",
    brief_title="NT-I7, a Long-acting Human IL-7, Post-Axicabtagene Ciloleucel in LBCL",
    intervention_names=["CAR T-cell therapy", "NT-I7"],
)


def test_augmentation_drug_given_with_the_car_t_is_a_combination(batch):
    assert batch.roles("nt_i7") == {"CAR-T": "combination"}


add(
    "investigational_plus_drug",
    brief_title="CD19/BCMA CAR-T Cells Combined With Dasatinib",
    intervention_names=["CD19/BCMA Targeted CAR T-cells", "Dasatinib"],
)


def test_an_investigational_product_with_a_drug_stays_investigational(batch):
    assert batch.roles("investigational_plus_drug") == {"CAR-T": "investigational"}


# ---- no row: supportive care, maintenance after the course, history ------------------------

add(
    "crs_prophylaxis",
    brief_title="Itacitinib for the Prevention of Cytokine Release Syndrome Induced by CAR-T",
    intervention_names=["Itacitinib", "Placebo", "Yescarta"],
)
add(
    "maintenance",
    brief_title="Selinexor Maintenance Post CAR-T Cell Therapy for Multiple Myeloma",
    intervention_names="Selinexor",
)
add(
    "after_failure",
    brief_title="Glofitamab for Lymphoma Relapsed After CAR T-cell Therapy",
    intervention_names=["Glofitamab", "Obinutuzumab"],
)
add(
    "prior_exposure_listed",
    brief_title="A Multicenter Study of Belantamab Mafodotin and Mezigdomide in Relapsed Myeloma",
    intervention_names=["BCMA bispecific", "CAR-T cells"],
)


def test_supportive_care_maintenance_and_history_give_no_row(batch):
    for key in ("crs_prophylaxis", "maintenance", "after_failure", "prior_exposure_listed"):
        assert batch.mods(key) == [], key
        assert not batch.flags(key)["is_long_term_follow_up"], key


# ---- follow-up --------------------------------------------------------------------------------

add(
    "ltfu",
    brief_title="Long-term Follow-up (LTFU) of Participants Who Received Azer-Cel",
    intervention_names="No Intervention",
)
add(
    "treatment_mentions_ltfu",
    brief_title="CD19 CAR-T Cells in B-ALL",
    brief_summary="In this long-term follow-up study, each subject will be followed for 15 years.",
    intervention_names="CD19 CAR-T cells",
)
add("real_world", brief_title="Real-World Outcomes of Axicabtagene Ciloleucel")
add(
    "retrospective",
    brief_title="Relmacabtagene Autoleucel in Patients With LBCL",
    brief_summary="This is an observational, retrospective study of relma-cel.",
    intervention_names="Relmacabtagene Autoleucel",
)
add(
    "claims",
    brief_title="CAR T Cells Real World Evidence Study Based on Claims Data",
    intervention_names=["KYMRIAH", "YESCARTA"],
)
add(
    "cognition",
    brief_title="Neurocognitive Assessment in Adults Undergoing CD19 Targeted CAR-T Cell Therapy",
    intervention_names="Chimeric Antigen Receptor T-cells (CAR-T) therapy",
)
add(
    "qol",
    brief_title="Quality of Life After CAR-T Cell Therapy",
    intervention_names=["Questionnaires", "Blood draw"],
)
add(
    "real_world_other_drug",
    brief_title="Real-World Study of Teclistamab in Patients Previously Treated With BCMA CAR-T",
)


def test_ltfu_protocol_is_follow_up_and_flagged(batch):
    assert batch.roles("ltfu") == {"CAR-T": "follow_up"}
    f = batch.flags("ltfu")
    assert f["is_long_term_follow_up"] and f["is_cell_therapy"]
    assert f["cell_source"] == "allogeneic"  # azer-cel, from the product dictionary


def test_treatment_trial_mentioning_a_separate_follow_up_study_is_not_flagged(batch):
    assert batch.roles("treatment_mentions_ltfu") == {"CAR-T": "investigational"}
    assert not batch.flags("treatment_mentions_ltfu")["is_long_term_follow_up"]


@pytest.mark.parametrize("key", ["real_world", "retrospective", "claims", "cognition", "qol"])
def test_real_world_registry_and_outcome_cohorts_are_follow_up(batch, key):
    assert batch.roles(key) == {"CAR-T": "follow_up"}
    assert batch.flags(key)["is_long_term_follow_up"]


def test_real_world_study_of_another_drug_gives_no_row(batch):
    assert batch.mods("real_world_other_drug") == []


def test_follow_up_keeps_the_product_target(batch):
    assert batch.flags("real_world")["targets"] == ["CD19"]
    assert batch.flags("cognition")["targets"] == ["CD19"]


# ---- expanded access ----------------------------------------------------------------------

add(
    "expanded_status",
    brief_title="Nonconforming Lisocabtagene Maraleucel Expanded Access Protocol",
    intervention_names="Nonconforming Lisocabtagene Maraleucel",
    overall_status="AVAILABLE",
)
add(
    "expanded_type",
    brief_title="Compassionate Use of CD19 CAR-T Cells",
    intervention_names="CD19 CAR-T cells",
    study_type="EXPANDED_ACCESS",
)
add(
    "withdrawn",
    brief_title="CD19 CAR-T Cells in B-ALL",
    intervention_names="CD19 CAR-T cells",
    overall_status="WITHDRAWN",
)


def test_expanded_access_is_flagged_and_keeps_its_modality(batch):
    for key in ("expanded_status", "expanded_type"):
        assert batch.flags(key)["is_expanded_access"], key
        assert batch.mods(key) == ["CAR-T"], key
    assert not batch.flags("withdrawn")["is_expanded_access"]


# ---- product dictionary ---------------------------------------------------------------------

add("bb2121", brief_title="Study of bb2121 in Multiple Myeloma", intervention_names="bb2121")
add("hy004", brief_title="Clinical Trial of HY004 Cell Injection in B-NHL", intervention_names="HY004")
add("code_variant", intervention_names="CT-053 injection")
add("product_as_history", brief_title="Iberdomide After Ide-cel", intervention_names="Iberdomide")


def test_a_record_naming_only_a_product_code_gets_its_modality_targets_and_source(batch):
    assert batch.mods("bb2121") == ["CAR-T"]
    assert batch.flags("bb2121")["targets"] == ["BCMA"]
    assert batch.flags("bb2121")["cell_source"] == "autologous"
    assert batch.products("bb2121") == ["ide-cel"]
    assert batch.mods("hy004") == ["CAR-T"]
    assert batch.evidence("hy004") == ["product: HY004"]
    assert batch.flags("hy004")["targets"] == ["CD19", "CD22"]
    assert batch.products("hy004") == ["hy004"]


def test_product_codes_match_with_or_without_separators(batch):
    assert batch.products("code_variant") == ["zevor-cel"]
    assert batch.flags("code_variant")["targets"] == ["BCMA"]


def test_a_product_named_only_as_history_is_not_linked(batch):
    assert batch.mods("product_as_history") == []
    assert batch.products("product_as_history") == []


# ---- cell source --------------------------------------------------------------------------

add("autologous", intervention_names="Autologous CD22 CAR T cells")
add("ucart", intervention_names="Anti-CD7 UCAR-T cells")
add("cord_nk", intervention_names="Cord blood-derived CD19 CAR-NK cells")
add("ipsc_nk", intervention_names="iPSC-derived CD33 CAR-NK cells")
add("allogenic", intervention_names="Allogenic CD19 CAR-T cells")
add("off_the_shelf", brief_title="Off-the-shelf CD123 CAR-NK for AML", intervention_names="JD123 injection")
add(
    "transplant_words",
    brief_title="CD19 CAR-T Cells Followed by Allogeneic Stem Cell Transplantation",
    intervention_names="CD19 CAR-T cells",
)
add("unknown_source", intervention_names="CD19 CAR-T cells")
add(
    "leukapheresis",
    intervention_names="anti-BCMA/FcRL5 CAR T",
    brief_summary="A leukapheresis procedure will be performed to manufacture the CAR T cells.",
)
add("autoleucel", intervention_names="Anbalcabtagene Autoleucel")


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("autologous", ("autologous", "stated")),
        ("ucart", ("allogeneic", "stated")),
        ("cord_nk", ("allogeneic", "stated")),
        ("ipsc_nk", ("allogeneic", "stated")),
        ("allogenic", ("allogeneic", "stated")),
        ("off_the_shelf", ("allogeneic", "stated")),
        # Transplant words say nothing about the product; the ex vivo CAR-T default decides.
        ("transplant_words", ("autologous", "inferred")),
        ("unknown_source", ("autologous", "inferred")),
        ("leukapheresis", ("autologous", "stated")),
        ("autoleucel", ("autologous", "stated")),
    ],
)
def test_cell_source(batch, key, expected):
    f = batch.flags(key)
    assert (f["cell_source"], f["cell_source_basis"]) == expected


# ---- what is not a combination ----------------------------------------------------------

add(
    "oos_expanded_access",
    brief_title="Expanded Access Study for Patients With Commercially Out-of-Specification Axicabtagene Ciloleucel",
    intervention_names="Axicabtagene Ciloleucel",
    overall_status="AVAILABLE",
)
add(
    "second_line_acronym",
    brief_title="Lisocabtagene Maraleucel (JCAR017) as Second-Line Therapy (TRANSCEND-PILOT-017006)",
    intervention_names="Lisocabtagene Maraleucel",
)
add(
    "point_of_care_comparison",
    brief_title="Comparison of Point-of-care Produced CAR T-cell With Commercial CAR T-cells in LBCL",
    intervention_names=["ARI-0001 CAR T-cells", "Axicabtagene Ciloleucel"],
)
add(
    "treatment_with",
    brief_title="Treatment of Relapsed B-cell Lymphoma With Chimeric Antigen Receptor T-cell Therapy",
    intervention_names="CAR-T cells therapy",
)


@pytest.mark.parametrize(
    "key", ["oos_expanded_access", "second_line_acronym", "point_of_care_comparison", "treatment_with"]
)
def test_patients_with_study_acronyms_and_comparisons_are_not_combinations(batch, key):
    assert batch.roles(key) == {"CAR-T": "investigational"}


add(
    "named_product_listed",
    brief_title="Duvelisib Exposure to Enhance Immune Profiles of T Cells in Patients With DLBCL",
    intervention_names=["Duvelisib", "Tisagenlecleucel"],
)
add(
    "product_first",
    brief_title="Study of Brexucabtagene Autoleucel Plus Dasatinib in Adults With ALL",
    intervention_names="Dasatinib",
)
add("plus_sign", brief_title="Axatilimab + CAR-T for High-Risk Lymphoma", intervention_names="Axatilimab")
add(
    "bridging_named_item",
    brief_title="Low Dose Radiation as Bridging Therapy in Relapsed B-Cell Non-Hodgkin Lymphoma",
    intervention_names=["Bridging radiation therapy", "Liso-cel"],
)


@pytest.mark.parametrize("key", ["named_product_listed", "product_first", "plus_sign", "bridging_named_item"])
def test_agent_with_a_named_or_joined_standard_product_is_a_combination(batch, key):
    assert batch.roles(key) == {"CAR-T": "combination"}
