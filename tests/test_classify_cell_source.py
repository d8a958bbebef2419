"""Cell source and its basis (trial_flags.cell_source, cell_source_basis): a table of texts.

The inference rules live in data/modality_rules.py (SOURCE_INFERENCES, CELL_SOURCE_BLOCKS);
these rows pin what each rule and each block does, and that stated wording and the product
dictionary come first.
"""

from __future__ import annotations

import pytest
from classify_cases import Cases

from trialtrends.data import modality_rules as R
from trialtrends.schemas.derived import CELL_SOURCE_BASES
from trialtrends.transform.classify import roles

CASES = Cases()
TABLE: list[tuple[str, dict[str, str], tuple[str, str | None]]] = [
    # stated wording and the product dictionary come first
    ("stated_auto", {"intervention_names": "Autologous anti-CD19 CAR-T cells"}, ("autologous", "stated")),
    (
        "stated_allo",
        {"brief_summary": "Allogeneic CD7 CAR-T cells in T-ALL.", "intervention_names": "CD7 CAR-T"},
        ("allogeneic", "stated"),
    ),
    ("product_auto", {"intervention_names": "Tisagenlecleucel"}, ("autologous", "product")),
    ("product_allo", {"intervention_names": "ALLO-501A"}, ("allogeneic", "product")),
    (
        "in_vivo_text",
        {
            "brief_title": "In vivo CAR-T generation by LNP-mRNA targeting CD19",
            "intervention_names": "LNP-CD19 CAR mRNA",
        },
        ("in_vivo", "stated"),
    ),
    # inference: a cue naming the patient's cells
    (
        "cue_apheresis_item",
        {"intervention_names": "BCMA CAR-T cells | Leukapheresis"},
        ("autologous", "inferred"),
    ),
    (
        "cue_subjects_cells",
        {
            "intervention_names": "CD30.CAR-T",
            "brief_summary": "The subject's T cells will be modified to recognise CD30.",
        },
        ("autologous", "inferred"),
    ),
    (
        "cue_pbmc",
        {
            "intervention_names": "TCR-T cells targeting NY-ESO-1",
            "brief_summary": "PBMCs are collected from each patient to make the TCR-T cells.",
        },
        ("autologous", "inferred"),
    ),
    (
        "cue_autologous_in_arms",
        {"intervention_names": "CD19 CAR-NK", "arm_groups": "autologous cells"},
        ("unclear", None),
    ),  # a CAR-NK has no default and the cue rule does not cover NK products
    # inference: the ex vivo CAR-T / TIL default
    ("default_car_t", {"intervention_names": "CD19 CAR-T cells"}, ("autologous", "inferred")),
    (
        "default_til",
        {"intervention_names": "Tumor infiltrating lymphocytes (TIL)"},
        ("autologous", "inferred"),
    ),
    (
        "transplant_only",
        {
            "brief_title": "CD19 CAR-T Before Allogeneic Stem Cell Transplantation",
            "intervention_names": "CD19 CAR-T cells",
        },
        ("autologous", "inferred"),
    ),
    # blocks: a donor, gene editing or healthy volunteers leave the source unclear
    (
        "block_donor",
        {
            "intervention_names": "CD7 CAR-T cells",
            "brief_summary": "Patients without a suitable donor receive CAR-T cells.",
        },
        ("unclear", None),
    ),
    (
        "block_mixed_arms",
        {"intervention_names": "CD5 CAR-T (autologous) | CD5 CAR-T (donor-derived)"},
        ("unclear", None),
    ),
    ("block_crispr", {"intervention_names": "CRISPR-edited CD19 CAR-T cells"}, ("unclear", None)),
    (
        "block_trac",
        {"brief_summary": "CAR inserted into the TRAC locus.", "intervention_names": "CD19 CAR-T"},
        ("unclear", None),
    ),
    (
        "block_in_vivo_wording",
        {
            "intervention_names": "CRT-402",
            "brief_summary": "CRT-402 is an in vivo Cluster of differentiation 19 (CD19)-targeted CAR-T cell therapy.",
        },
        ("unclear", None),
    ),
    (
        "block_vector_drug",
        {"intervention_names": "CD19/BCMA-targeted CAR-T lentiviral vector drug"},
        ("unclear", None),
    ),
    (
        "cue_reinfusion_tcr",
        {
            "intervention_names": "KRAS TCR-T cells",
            "brief_summary": "Toxicity within one month after the reinfusion of TCR-T cells.",
        },
        ("autologous", "inferred"),
    ),
    (
        "cue_lymphocytes_collected",
        {
            "intervention_names": "MAGE-A4 TCR-T",
            "brief_summary": "Peripheral blood lymphocytes will be collected after enrolment.",
        },
        ("autologous", "inferred"),
    ),
    ("tcr_t_no_cue", {"intervention_names": "KRAS TCR-T cells"}, ("unclear", None)),
    # no default for NK-type cells, and mixed CAR-T + CAR-NK trials
    ("nk_no_default", {"intervention_names": "CD19 CAR-NK cells"}, ("unclear", None)),
    ("car_t_with_nk", {"intervention_names": "CD19 CAR-T cells | CD19 CAR-NK cells"}, ("unclear", None)),
]
for _key, _fields, _ in TABLE:
    CASES.add(_key, **_fields)


@pytest.fixture(scope="module")
def batch() -> Cases:
    return CASES.run()


@pytest.mark.parametrize(("key", "expected"), [(k, e) for k, _, e in TABLE], ids=[k for k, _, _ in TABLE])
def test_source_and_basis(batch, key, expected):
    f = batch.flags(key)
    assert (f["cell_source"], f["cell_source_basis"]) == expected


def test_non_cell_trials_have_no_basis(batch):
    flags = batch.result.flags
    assert (
        flags.filter(~flags["is_cell_therapy"])["cell_source_basis"].null_count()
        == flags.filter(~flags["is_cell_therapy"]).height
    )


def test_bases_agree_with_the_schema():
    assert roles.CELL_SOURCE_BASES == CELL_SOURCE_BASES


def test_every_inference_rule_is_documented_and_compiles():
    from trialtrends.transform.classify.compiled import compiled

    rx = compiled().rx
    for rule in R.SOURCE_INFERENCES:
        assert rule.reason and rule.source in {"autologous", "allogeneic"}
        assert rule.cue is None or rule.cue in rx
    assert all(name in rx for name in R.CELL_SOURCE_BLOCKS)
