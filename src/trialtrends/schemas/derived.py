"""The derived tables: the classifiers' outputs, the reviewed lookup tables and the run
history, one pandera model per table, and the full list of warehouse tables."""

from __future__ import annotations

from typing import Optional

import pandera.polars as pa
import polars as pl

from trialtrends.schemas.registry import MAX_YEAR, TABLE_MODELS, RejectedStudies, _nct, _Strict

MODALITIES = ("CAR-T", "CAR-NK", "NK", "TCR-T", "TIL", "CAR-NKT", "CAR-gdT", "CAR-M", "OTHER-CELL")
MODALITY_ROLES = ("investigational", "combination", "follow_up")
CELL_SOURCES = ("autologous", "allogeneic", "in_vivo", "unclear")
CELL_SOURCE_BASES = ("stated", "product", "inferred")
DISEASE_AREAS = (
    "haematological malignancy", "solid tumour", "autoimmune / immune-mediated", "infectious disease",
    "other non-oncology", "unknown",
)  # fmt: skip
REPORT_GROUP_NAMES = ("CAR-T", "TCR-T", "TIL", "NK", "ALL")
RUN_STATUSES = ("running", "succeeded", "failed", "abandoned")


class TrialModalities(pa.DataFrameModel):
    """One row per trial and cell-therapy modality the classifier found (no row: no cell product)."""

    nct_id: str = _nct()
    modality: str = pa.Field(
        isin=MODALITIES, description="CAR-T, CAR-NK, NK, TCR-T, TIL, CAR-NKT, CAR-gdT, CAR-M or OTHER-CELL."
    )
    role: str = pa.Field(
        isin=MODALITY_ROLES,
        description="What the trial does with the product: investigational (the product is what it tests), "
        "combination (the product is the backbone of a combination, bridging, consolidation or augmentation "
        "design), follow_up (no product given; treated patients followed: LTFU, registries, real-world studies). "
        "Default counts are investigational + combination.",
    )
    evidence: str = pa.Field(description="The rule that matched and the text it matched.")
    classifier_version: str = pa.Field(description="Version of the classifier rules that produced the row.")

    class Config(_Strict):
        unique = ["nct_id", "modality"]


class TrialFlags(pa.DataFrameModel):
    """One row per trial: classifier flags, cell source and targets."""

    nct_id: str = _nct()
    is_cell_therapy: bool = pa.Field(description="True when the trial has at least one trial_modalities row.")
    is_long_term_follow_up: bool = pa.Field(
        description="Follow-up or observational exposure: every modality row of the trial is follow_up "
        "(LTFU protocols, registries, real-world studies); excluded from the default counts."
    )
    is_in_vivo_car: bool = pa.Field(
        description="The CAR is generated in the patient (in vivo CAR), not ex vivo."
    )
    is_expanded_access: bool = pa.Field(
        description="Expanded access or compassionate use (study type EXPANDED_ACCESS, or status AVAILABLE, "
        "NO_LONGER_AVAILABLE, TEMPORARILY_NOT_AVAILABLE, APPROVED_FOR_MARKETING); excluded from the default counts."
    )
    cell_source: str = pa.Field(
        isin=CELL_SOURCES,
        description="autologous, allogeneic (off-the-shelf, donor-derived) or in_vivo, from explicit wording, "
        "then the product dictionary, then a documented inference (cell_source_basis says which); unclear "
        "otherwise.",
    )
    cell_source_basis: Optional[str] = pa.Field(
        nullable=True,
        isin=CELL_SOURCE_BASES,
        description="What decided cell_source: stated (the record's own wording), product (the product "
        "dictionary), inferred (a rule in data/modality_rules.py SOURCE_INFERENCES: e.g. an ex vivo CAR-T "
        "with no donor, allogeneic, off-the-shelf, iPSC or gene-editing signal is autologous); null when "
        "cell_source is unclear. Filter to stated and product to exclude inferred values.",
    )
    targets: pl.List(pl.Utf8) = pa.Field(
        description="Antigens targeted, canonical names (CD19, BCMA, SLAMF7, B7-H3, ...)."
    )
    classifier_version: str = pa.Field(description="Version of the classifier rules.")

    class Config(_Strict):
        unique = ["nct_id"]


class TrialDiseases(pa.DataFrameModel):
    """One row per trial and disease entity (a trial naming nothing known has one 'unknown' row)."""

    nct_id: str = _nct()
    area: str = pa.Field(
        isin=DISEASE_AREAS,
        description="Disease area: haematological malignancy, solid tumour, autoimmune / immune-mediated, infectious disease, other non-oncology or unknown.",
    )
    category: Optional[str] = pa.Field(
        nullable=True,
        description="Disease category within the area (B-cell lymphoma, multiple myeloma, CNS tumours, SLE, ...).",
    )
    entity: Optional[str] = pa.Field(
        nullable=True,
        description="Disease entity (DLBCL, glioblastoma, lupus nephritis, ...); null when only the category is named.",
    )
    evidence: Optional[str] = pa.Field(
        nullable=True,
        description="Field and text that matched (e.g. 'conditions: Diffuse Large B-Cell Lymphoma'); null for 'unknown'.",
    )

    class Config(_Strict):
        unique = ["nct_id", "area", "category", "entity"]


class Products(pa.DataFrameModel):
    """One row per cell-therapy product in the reviewed product dictionary (data/products.csv)."""

    product_id: str = pa.Field(description="Stable product identifier (slug).")
    name: str = pa.Field(description="Canonical product name (INN short form, or the development code).")
    inn: Optional[str] = pa.Field(
        nullable=True, description="International nonproprietary name, when one exists."
    )
    brand_names: pl.List(pl.Utf8) = pa.Field(description="Brand names.")
    aliases: pl.List(pl.Utf8) = pa.Field(
        description="Development codes, former codes and spellings found in trial records."
    )
    modality: str = pa.Field(isin=MODALITIES, description="Modality of the product.")
    targets: pl.List(pl.Utf8) = pa.Field(description="Antigens targeted, canonical names.")
    cell_source: Optional[str] = pa.Field(
        nullable=True,
        isin=CELL_SOURCES,
        description="autologous, allogeneic or in_vivo; null when no public statement says.",
    )
    developer: Optional[str] = pa.Field(nullable=True, description="Developer (current owner).")
    developer_country: Optional[str] = pa.Field(
        nullable=True, description="Developer's home country (canonical English name)."
    )
    source: str = pa.Field(
        description="Where the facts come from: NCT ids with the text that states them, or the public label."
    )

    class Config(_Strict):
        unique = ["product_id"]


class ProductApprovals(pa.DataFrameModel):
    """One row per regulatory approval of a product (agency and year)."""

    product_id: str = pa.Field(description="Product approved (products.product_id).")
    agency: str = pa.Field(description="Regulator: FDA, EMA, NMPA, PMDA, CDSCO, ...")
    year: pl.Int32 = pa.Field(ge=2009, le=MAX_YEAR, description="Year of the first approval by that agency.")
    indication: str = pa.Field(description="Indication approved (short).")

    class Config(_Strict):
        unique = ["product_id", "agency"]


class TrialProducts(pa.DataFrameModel):
    """One row per trial and known product it gives (from the product dictionary)."""

    nct_id: str = _nct()
    product_id: str = pa.Field(description="Product named by the trial (products.product_id).")
    evidence: str = pa.Field(description="Field and text that named the product.")

    class Config(_Strict):
        unique = ["nct_id", "product_id"]


class ReportGroups(pa.DataFrameModel):
    """Which modalities each report group counts (NK = NK + CAR-NK; ALL = CAR-T, TCR-T, TIL, NK, CAR-NK)."""

    modality: str = pa.Field(isin=MODALITIES, description="Classifier modality.")
    report_group: str = pa.Field(
        isin=REPORT_GROUP_NAMES, description="Report group used by the views: CAR-T, TCR-T, TIL, NK or ALL."
    )

    class Config(_Strict):
        unique = ["modality", "report_group"]


class Runs(pa.DataFrameModel):
    """One row per refresh, from the raw landing manifests (failed and abandoned runs included)."""

    run_id: str = pa.Field(description="Run identifier (UTC start time + suffix); names the raw folder.")
    kind: str = pa.Field(isin=("api", "bulk"), description="api (paged search) or bulk (a downloaded file).")
    mode: Optional[str] = pa.Field(nullable=True, description="full or incremental (--since).")
    status: str = pa.Field(
        isin=RUN_STATUSES, description="running, succeeded, failed or abandoned (its process died)."
    )
    published: bool = pa.Field(description="True when this run's data was published to the warehouse.")
    started_at: Optional[pl.Datetime] = pa.Field(nullable=True, description="Start (UTC).")
    finished_at: Optional[pl.Datetime] = pa.Field(nullable=True, description="End (UTC).")
    api_url: Optional[str] = pa.Field(nullable=True, description="API base URL (api runs).")
    api_version: Optional[str] = pa.Field(nullable=True, description="apiVersion from GET /version.")
    data_timestamp: Optional[str] = pa.Field(
        nullable=True,
        description="dataTimestamp from GET /version: the registry snapshot the run pulled (one generation per run).",
    )
    source: Optional[str] = pa.Field(nullable=True, description="Bulk source file (bulk runs).")
    queries: Optional[str] = pa.Field(
        nullable=True,
        description="JSON: every query with its parameters, totalCount, pages and unique studies.",
    )
    unique_studies: Optional[pl.Int64] = pa.Field(
        nullable=True, description="Unique studies pulled or scanned."
    )
    trials_loaded: Optional[pl.Int64] = pa.Field(
        nullable=True, description="Trials in the published trials table after this run."
    )
    rejected_studies: Optional[pl.Int64] = pa.Field(
        nullable=True, description="Studies quarantined by this run."
    )
    classifier_version: Optional[str] = pa.Field(nullable=True, description="Classifier version used.")
    gates: Optional[str] = pa.Field(nullable=True, description="JSON: every gate with its result and reason.")
    quality: Optional[str] = pa.Field(nullable=True, description="JSON: the data-quality summary.")
    error: Optional[str] = pa.Field(nullable=True, description="Why the run failed (one sentence).")
    trialtrends_version: Optional[str] = pa.Field(nullable=True, description="trialtrends version.")

    class Config(_Strict):
        unique = ["run_id"]


class TrialChanges(pa.DataFrameModel):
    """Per run: trials added, removed or changed against the previously published warehouse."""

    run_id: str = pa.Field(description="Run that published the change.")
    nct_id: str = _nct()
    change: str = pa.Field(isin=("added", "removed", "changed"), description="added, removed or changed.")
    changed_fields: pl.List(pl.Utf8) = pa.Field(
        description="For changed trials: which of status, phase, sponsor, countries, modality changed."
    )

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
}
