"""The derived tables: the classifiers' outputs, the reviewed lookup tables and the run
history, one pandera model per table, and the full list of warehouse tables."""

from __future__ import annotations

from typing import Optional

import pandera.polars as pa
import polars as pl

from trialtrends.schemas.fields import Described, doc
from trialtrends.schemas.registry import MAX_YEAR, SPONSOR_TYPES, TABLE_MODELS, RejectedStudies, _nct, _Strict

MODALITIES = ("CAR-T", "CAR-NK", "NK", "TCR-T", "TIL", "CAR-NKT", "CAR-gdT", "CAR-M", "OTHER-CELL")
MODALITY_ROLES = ("investigational", "combination", "follow_up")
CELL_SOURCES = ("autologous", "allogeneic", "in_vivo", "unclear")
CELL_SOURCE_BASES = ("stated", "product", "inferred")
DISEASE_AREAS = (
    "haematological malignancy", "solid tumour", "autoimmune / immune-mediated", "infectious disease",
    "other non-oncology", "unknown",
)  # fmt: skip
REPORT_GROUP_NAMES = ("CAR-T", "TCR-T", "TIL", "NK", "ALL")
RUN_STATUSES = ("running", "publishing", "succeeded", "failed", "abandoned")
CHANGES = ("added", "removed", "changed")
RUN_MODES = ("baseline", "delta", "search")

#: The values a field (schemas/fields.py) may take wherever a view has it: tests/test_views.py
#: checks every view column that is, or points at, one of these names.
ACCEPTED_VALUES: dict[str, tuple[str, ...]] = {
    "report_group": REPORT_GROUP_NAMES,
    "basis": ("first_posted", "first_submitted", "start"),
    "sponsor_role": ("lead", "any"),
    "sponsor_type": SPONSOR_TYPES,
    "change": CHANGES,
    "area": DISEASE_AREAS,
    "source_basis": (*CELL_SOURCE_BASES, "unknown"),
}


class TrialModalities(Described):
    """One row per trial and cell-therapy modality the classifier found (no row: no cell product)."""

    nct_id: str = _nct()
    modality: str = pa.Field(isin=MODALITIES)
    role: str = pa.Field(isin=MODALITY_ROLES, description=doc("modality_role"))
    evidence: str = pa.Field()
    classifier_version: str = pa.Field()

    class Config(_Strict):
        unique = ["nct_id", "modality"]


class TrialFlags(Described):
    """One row per trial: classifier flags, cell source and targets."""

    nct_id: str = _nct()
    is_cell_therapy: bool = pa.Field()
    is_long_term_follow_up: bool = pa.Field()
    is_in_vivo_car: bool = pa.Field()
    is_expanded_access: bool = pa.Field()
    cell_source: str = pa.Field(isin=CELL_SOURCES)
    cell_source_basis: Optional[str] = pa.Field(nullable=True, isin=CELL_SOURCE_BASES)
    targets: pl.List(pl.Utf8) = pa.Field()
    classifier_version: str = pa.Field()

    class Config(_Strict):
        unique = ["nct_id"]


class TrialDiseases(Described):
    """One row per trial and disease entity (a trial naming nothing known has one 'unknown' row)."""

    nct_id: str = _nct()
    area: str = pa.Field(isin=DISEASE_AREAS)
    category: Optional[str] = pa.Field(nullable=True)
    entity: Optional[str] = pa.Field(nullable=True)
    evidence: Optional[str] = pa.Field(nullable=True)

    class Config(_Strict):
        unique = ["nct_id", "area", "category", "entity"]


class Products(Described):
    """One row per cell-therapy product in the reviewed product dictionary (data/products.csv)."""

    product_id: str = pa.Field()
    name: str = pa.Field()
    inn: Optional[str] = pa.Field(nullable=True)
    brand_names: pl.List(pl.Utf8) = pa.Field()
    aliases: pl.List(pl.Utf8) = pa.Field()
    modality: str = pa.Field(isin=MODALITIES)
    targets: pl.List(pl.Utf8) = pa.Field()
    cell_source: Optional[str] = pa.Field(nullable=True, isin=CELL_SOURCES)
    developer: Optional[str] = pa.Field(nullable=True)
    developer_country: Optional[str] = pa.Field(nullable=True)
    source: str = pa.Field(description=doc("product_source"))

    class Config(_Strict):
        unique = ["product_id"]


class ProductApprovals(Described):
    """One row per regulatory approval of a product (agency and year)."""

    product_id: str = pa.Field()
    agency: str = pa.Field()
    year: pl.Int32 = pa.Field(ge=2009, le=MAX_YEAR, description=doc("approval_year"))
    indication: str = pa.Field()

    class Config(_Strict):
        unique = ["product_id", "agency"]


class TrialProducts(Described):
    """One row per trial and known product it gives (from the product dictionary)."""

    nct_id: str = _nct()
    product_id: str = pa.Field()
    evidence: str = pa.Field()

    class Config(_Strict):
        unique = ["nct_id", "product_id"]


class ReportGroups(Described):
    """Which modalities each report group counts (NK = NK + CAR-NK; ALL = CAR-T, TCR-T, TIL, NK, CAR-NK)."""

    modality: str = pa.Field(isin=MODALITIES)
    report_group: str = pa.Field(isin=REPORT_GROUP_NAMES)

    class Config(_Strict):
        unique = ["modality", "report_group"]


class Runs(Described):
    """One row per refresh, from the raw landing manifests (failed and abandoned runs included)."""

    run_id: str = pa.Field()
    kind: str = pa.Field(isin=("api", "bulk"), description=doc("run_kind"))
    mode: Optional[str] = pa.Field(nullable=True, isin=RUN_MODES)
    since: Optional[str] = pa.Field(nullable=True)
    fallback: Optional[str] = pa.Field(nullable=True)
    baseline_run: Optional[str] = pa.Field(nullable=True)
    deltas_applied: Optional[pl.Int64] = pa.Field(nullable=True)
    index_rows: Optional[pl.Int64] = pa.Field(nullable=True)
    status: str = pa.Field(isin=RUN_STATUSES)
    published: bool = pa.Field()
    started_at: Optional[pl.Datetime] = pa.Field(nullable=True)
    finished_at: Optional[pl.Datetime] = pa.Field(nullable=True)
    api_url: Optional[str] = pa.Field(nullable=True)
    api_version: Optional[str] = pa.Field(nullable=True)
    data_timestamp: Optional[str] = pa.Field(nullable=True)
    source: Optional[str] = pa.Field(nullable=True, description=doc("run_source"))
    queries: Optional[str] = pa.Field(nullable=True)
    unique_studies: Optional[pl.Int64] = pa.Field(nullable=True)
    trials_loaded: Optional[pl.Int64] = pa.Field(nullable=True)
    rejected_studies: Optional[pl.Int64] = pa.Field(nullable=True)
    classifier_version: Optional[str] = pa.Field(nullable=True)
    gates: Optional[str] = pa.Field(nullable=True)
    quality: Optional[str] = pa.Field(nullable=True)
    error: Optional[str] = pa.Field(nullable=True)
    trialtrends_version: Optional[str] = pa.Field(nullable=True)

    class Config(_Strict):
        unique = ["run_id"]


class RegistryStudies(Described):
    """Registry mode's index: one row per study of the registry (cell therapy or not), as the
    last baseline or delta that brought it saw it. Studies the classifier does not count are
    only here, never in the trial tables."""

    nct_id: str = _nct()
    last_update_posted_date: Optional[pl.Date] = pa.Field(nullable=True)
    record_sha256: str = pa.Field()
    is_cell_therapy: bool = pa.Field(description=doc("is_registry_cell_therapy"))
    classifier_version: str = pa.Field()
    run_id: str = pa.Field()

    class Config(_Strict):
        unique = ["nct_id"]


class TrialChanges(Described):
    """Per run: trials added, removed or changed against the previously published warehouse."""

    run_id: str = pa.Field()
    nct_id: str = _nct()
    change: str = pa.Field(isin=CHANGES)
    changed_fields: pl.List(pl.Utf8) = pa.Field()

    class Config(_Strict):
        unique = ["run_id", "nct_id"]


#: The normalised tables built from each study record.
#: The classifiers' outputs, validated like the normalised tables.
CLASSIFIER_MODELS: dict[str, type[pa.DataFrameModel]] = {
    "trial_modalities": TrialModalities,
    "trial_flags": TrialFlags,
    "trial_diseases": TrialDiseases,
    "trial_products": TrialProducts,
}

#: Every warehouse table, in creation order, with its model: the single definition of its
#: columns (types, descriptions -> comments) and its key (Config.unique -> primary key).
WAREHOUSE_MODELS: dict[str, type[pa.DataFrameModel]] = {
    **TABLE_MODELS,
    **CLASSIFIER_MODELS,
    "products": Products,
    "product_approvals": ProductApprovals,
    "report_groups": ReportGroups,
    "rejected_studies": RejectedStudies,
    "runs": Runs,
    "trial_changes": TrialChanges,
    "registry_studies": RegistryStudies,
}
