"""Pandera models: the contract of every normalized table, one model per table.

Each field's `description` is the single definition of that column: the warehouse writes it as
`COMMENT ON COLUMN`, and the README's table list is read from here.
"""

from __future__ import annotations

from typing import Optional

import pandera.polars as pa
import polars as pl

# Enumerations from the OpenAPI document (ctg-oas-v2.yaml, components.schemas).
OVERALL_STATUSES = (
    "ACTIVE_NOT_RECRUITING", "COMPLETED", "ENROLLING_BY_INVITATION", "NOT_YET_RECRUITING",
    "RECRUITING", "SUSPENDED", "TERMINATED", "WITHDRAWN", "AVAILABLE", "NO_LONGER_AVAILABLE",
    "TEMPORARILY_NOT_AVAILABLE", "APPROVED_FOR_MARKETING", "WITHHELD", "UNKNOWN",
)  # fmt: skip
STUDY_TYPES = ("EXPANDED_ACCESS", "INTERVENTIONAL", "OBSERVATIONAL")
PHASE_CODES = ("NA", "EARLY_PHASE1", "PHASE1", "PHASE2", "PHASE3", "PHASE4")
AGENCY_CLASSES = (
    "NIH", "FED", "OTHER_GOV", "INDIV", "INDUSTRY", "NETWORK", "AMBIG", "OTHER", "UNKNOWN",
)  # fmt: skip
INTERVENTION_TYPES = (
    "BEHAVIORAL", "BIOLOGICAL", "COMBINATION_PRODUCT", "DEVICE", "DIAGNOSTIC_TEST",
    "DIETARY_SUPPLEMENT", "DRUG", "GENETIC", "PROCEDURE", "RADIATION", "OTHER",
)  # fmt: skip
DATE_TYPES = ("ACTUAL", "ESTIMATED")
PHASE_LABELS = (
    "Early Phase 1", "Phase 1", "Phase 1/2", "Phase 2", "Phase 2/3", "Phase 3", "Phase 4",
    "Not Applicable", "Not Provided",
)  # fmt: skip
PRECISIONS = ("year", "month", "day")
SPONSOR_TYPES = ("academic", "hospital", "industry", "government", "other")
ROLES = ("lead", "collaborator")

NCT_PATTERN = r"^NCT\d{8}$"
# ClinicalTrials.gov caps brief titles at 300 and official titles at 600 characters; anything
# far beyond that is a broken record, not a long title.
MAX_TITLE = 1000
# Dates outside this window are absurd for a registry that opened in 1999 (old trials do
# report start dates from the 1980s; nothing real starts before 1950 or 30 years ahead).
MIN_YEAR, MAX_YEAR = 1950, 2060

NCT = pa.Field(str_matches=NCT_PATTERN, description="ClinicalTrials.gov identifier (NCT + 8 digits).")


def _nct(description: str = "ClinicalTrials.gov identifier (NCT + 8 digits).") -> object:
    return pa.Field(str_matches=NCT_PATTERN, description=description)


def _year(description: str) -> object:
    return pa.Field(nullable=True, ge=MIN_YEAR, le=MAX_YEAR, description=description)


class _Strict:
    strict = True
    coerce = False


class Trials(pa.DataFrameModel):
    """One row per trial."""

    nct_id: str = pa.Field(
        unique=True,
        str_matches=NCT_PATTERN,
        description="ClinicalTrials.gov identifier (NCT + 8 digits); primary key.",
    )
    brief_title: str = pa.Field(
        str_length={"min_value": 1, "max_value": MAX_TITLE},
        description="Brief title as registered.",
    )
    official_title: Optional[str] = pa.Field(
        nullable=True,
        str_length={"max_value": MAX_TITLE},
        description="Official (scientific) title; null when not given.",
    )
    acronym: Optional[str] = pa.Field(
        nullable=True,
        str_length={"max_value": 200},
        description="Study acronym; null when not given.",
    )
    overall_status: str = pa.Field(
        isin=OVERALL_STATUSES,
        description="Overall recruitment status, raw API code (e.g. RECRUITING, COMPLETED).",
    )
    study_type: Optional[str] = pa.Field(
        nullable=True,
        isin=STUDY_TYPES,
        description="INTERVENTIONAL, OBSERVATIONAL or EXPANDED_ACCESS; null when not given.",
    )
    phase: str = pa.Field(
        isin=PHASE_LABELS,
        description="Readable phase: Early Phase 1, Phase 1, Phase 1/2, Phase 2, Phase 2/3, Phase 3, Phase 4, Not Applicable (API code NA, or observational with no phase), Not Provided (no phase given).",
    )
    phase_codes: pl.List(pl.Utf8) = pa.Field(
        description="Raw API phase codes as registered (e.g. [PHASE1, PHASE2]); empty when none."
    )
    enrollment_count: Optional[pl.Int64] = pa.Field(
        nullable=True,
        ge=0,
        description="Enrollment (actual or anticipated); null when not given or the 99999999 'unknown' sentinel.",
    )
    start_date: Optional[pl.Date] = pa.Field(
        nullable=True,
        description="Start date; a partial date is stored as its first day (see start_date_precision).",
    )
    start_date_precision: Optional[str] = pa.Field(
        nullable=True,
        isin=PRECISIONS,
        description="Precision of the registered start date: year, month or day.",
    )
    start_date_raw: Optional[str] = pa.Field(
        nullable=True,
        description="Start date string exactly as registered (yyyy, yyyy-MM or yyyy-MM-dd).",
    )
    start_date_type: Optional[str] = pa.Field(
        nullable=True,
        isin=DATE_TYPES,
        description="ACTUAL or ESTIMATED; null on old records that omit it.",
    )
    first_submitted_date: Optional[pl.Date] = pa.Field(
        nullable=True, description="Date the sponsor first submitted the record."
    )
    first_posted_date: Optional[pl.Date] = pa.Field(
        nullable=True,
        description="Date the record was first posted publicly (the default 'registered' date).",
    )
    last_update_posted_date: Optional[pl.Date] = pa.Field(
        nullable=True, description="Date the latest update was posted."
    )
    first_posted_year: Optional[pl.Int32] = _year(
        "Calendar year of first_posted_date (year basis first_posted)."
    )
    first_submitted_year: Optional[pl.Int32] = _year(
        "Calendar year of first_submitted_date (year basis first_submitted)."
    )
    start_year: Optional[pl.Int32] = _year(
        "Calendar year of the start date (year basis start); start dates are often estimated."
    )
    lead_sponsor: str = pa.Field(
        description="Canonical lead sponsor name (alias table plus deterministic normalisation)."
    )
    lead_sponsor_raw: str = pa.Field(description="Lead sponsor name exactly as registered.")
    lead_sponsor_class: Optional[str] = pa.Field(
        nullable=True,
        isin=AGENCY_CLASSES,
        description="Registry agency class of the lead sponsor (INDUSTRY, NIH, OTHER, ...).",
    )
    lead_sponsor_parent: str = pa.Field(
        description="Parent organisation of the lead sponsor (e.g. a university for its affiliated hospital); the sponsor itself when none."
    )
    lead_sponsor_country: Optional[str] = pa.Field(
        nullable=True, description="Home country of the lead sponsor, where known."
    )
    has_locations: bool = pa.Field(description="True when the record lists at least one site.")
    run_id: str = pa.Field(description="Run that loaded this row.")

    class Config(_Strict):
        pass


class TrialCountries(pa.DataFrameModel):
    """One row per trial and country (a trial counts once per country, whatever its sites)."""

    nct_id: str = _nct()
    country_code: str = pa.Field(
        str_length={"min_value": 2, "max_value": 2},
        description="ISO 3166-1 alpha-2 code; XX = Not provided (the trial lists no location), ZZ = a string not yet mapped (its raw text is kept in country).",
    )
    country: str = pa.Field(
        description="One canonical English country name; 'Not provided' for trials without locations."
    )
    country_raw: Optional[str] = pa.Field(
        nullable=True,
        description="Country string as registered (the first spelling seen for this trial).",
    )
    site_count: pl.Int32 = pa.Field(
        ge=0,
        description="Number of listed sites of the trial in this country (0 for removed countries and 'Not provided').",
    )
    is_removed: bool = pa.Field(
        description="True when the country comes from removedCountries: every site there was withdrawn."
    )

    class Config(_Strict):
        unique = ["nct_id", "country"]


class TrialSponsors(pa.DataFrameModel):
    """One row per trial and organisation (lead sponsor or collaborator)."""

    nct_id: str = _nct()
    role: str = pa.Field(isin=ROLES, description="lead (the lead sponsor) or collaborator.")
    sponsor: str = pa.Field(description="Canonical organisation name.")
    sponsor_raw: str = pa.Field(description="Organisation name exactly as registered.")
    agency_class: Optional[str] = pa.Field(
        nullable=True,
        isin=AGENCY_CLASSES,
        description="Registry agency class (INDUSTRY, NIH, OTHER, ...).",
    )
    sponsor_parent: str = pa.Field(
        description="Parent organisation through the reviewed parent mapping; the sponsor itself when none."
    )
    sponsor_country: Optional[str] = pa.Field(
        nullable=True, description="Home country of the organisation, where known."
    )
    sponsor_type: str = pa.Field(
        isin=SPONSOR_TYPES, description="academic, hospital, industry, government or other."
    )
    is_known_sponsor: bool = pa.Field(description="True when the name matched the reviewed alias table.")

    class Config(_Strict):
        unique = ["nct_id", "sponsor"]


class TrialSites(pa.DataFrameModel):
    """One row per listed site."""

    nct_id: str = _nct()
    site_seq: pl.Int32 = pa.Field(ge=1, description="Position of the site in the record (1-based).")
    facility: Optional[str] = pa.Field(nullable=True, description="Facility name as registered.")
    city: Optional[str] = pa.Field(nullable=True, description="City.")
    state: Optional[str] = pa.Field(nullable=True, description="State or province.")
    zip: Optional[str] = pa.Field(nullable=True, description="Postal code.")
    country_raw: Optional[str] = pa.Field(nullable=True, description="Country string as registered.")
    country_code: Optional[str] = pa.Field(
        nullable=True,
        description="ISO 3166-1 alpha-2 code of the site's country (ZZ when unmapped).",
    )
    country: Optional[str] = pa.Field(nullable=True, description="Canonical English country name.")
    site_status: Optional[str] = pa.Field(nullable=True, description="Site recruitment status, raw API code.")
    latitude: Optional[pl.Float64] = pa.Field(
        nullable=True, ge=-90, le=90, description="Site latitude (geoPoint)."
    )
    longitude: Optional[pl.Float64] = pa.Field(
        nullable=True, ge=-180, le=180, description="Site longitude (geoPoint)."
    )

    class Config(_Strict):
        unique = ["nct_id", "site_seq"]


class TrialConditions(pa.DataFrameModel):
    """One row per condition or keyword of a trial."""

    nct_id: str = _nct()
    condition_seq: pl.Int32 = pa.Field(
        ge=1, description="Position in the record (1-based), conditions first then keywords."
    )
    kind: str = pa.Field(
        isin=("condition", "keyword"),
        description="condition (conditionsModule.conditions) or keyword (conditionsModule.keywords).",
    )
    condition: str = pa.Field(description="Condition or keyword text as registered.")

    class Config(_Strict):
        unique = ["nct_id", "condition_seq"]


class TrialInterventions(pa.DataFrameModel):
    """One row per intervention of a trial."""

    nct_id: str = _nct()
    intervention_seq: pl.Int32 = pa.Field(ge=1, description="Position in the record (1-based).")
    intervention_type: Optional[str] = pa.Field(
        nullable=True,
        isin=INTERVENTION_TYPES,
        description="Raw API intervention type (BIOLOGICAL, GENETIC, DRUG, ...); null when not given.",
    )
    name: str = pa.Field(description="Intervention name as registered.")
    other_names: pl.List(pl.Utf8) = pa.Field(
        description="Other names (synonyms, product codes) as registered."
    )
    description: Optional[str] = pa.Field(nullable=True, description="Intervention description.")

    class Config(_Strict):
        unique = ["nct_id", "intervention_seq"]


class RejectedStudies(pa.DataFrameModel):
    """One row per study quarantined by normalisation or validation."""

    nct_id: Optional[str] = pa.Field(
        nullable=True, description="Identifier when the record has a usable one."
    )
    run_id: str = pa.Field(description="Run that rejected the study.")
    reason: str = pa.Field(description="Why the study was rejected (every failed check, '; '-separated).")
    payload: str = pa.Field(description="The raw study record as JSON, for inspection.")

    class Config(_Strict):
        pass


MODALITIES = ("CAR-T", "CAR-NK", "NK", "TCR-T", "TIL", "CAR-NKT", "CAR-gdT", "CAR-M", "OTHER-CELL")
MODALITY_ROLES = ("investigational", "combination", "follow_up")
CELL_SOURCES = ("autologous", "allogeneic", "in_vivo", "unclear")
DISEASE_AREAS = (
    "haematological malignancy", "solid tumour", "autoimmune / immune-mediated", "infectious disease",
    "other non-oncology", "unknown",
)  # fmt: skip
REPORT_GROUP_NAMES = ("CAR-T", "TCR-T", "TIL", "NK", "ALL")
RUN_STATUSES = ("running", "succeeded", "failed", "abandoned")


class TrialModalities(pa.DataFrameModel):
    """One row per trial and cell-therapy modality the classifier found (no row: no cell product)."""

    nct_id: str = _nct()
    modality: str = pa.Field(isin=MODALITIES, description="CAR-T, CAR-NK, NK, TCR-T, TIL, CAR-NKT, CAR-gdT, CAR-M or OTHER-CELL.")
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
    is_in_vivo_car: bool = pa.Field(description="The CAR is generated in the patient (in vivo CAR), not ex vivo.")
    is_expanded_access: bool = pa.Field(
        description="Expanded access or compassionate use (study type EXPANDED_ACCESS, or status AVAILABLE, "
        "NO_LONGER_AVAILABLE, TEMPORARILY_NOT_AVAILABLE, APPROVED_FOR_MARKETING); excluded from the default counts."
    )
    cell_source: str = pa.Field(
        isin=CELL_SOURCES,
        description="autologous, allogeneic (off-the-shelf, donor-derived) or in_vivo, from explicit wording, "
        "then the product dictionary; unclear otherwise.",
    )
    targets: pl.List(pl.Utf8) = pa.Field(description="Antigens targeted, canonical names (CD19, BCMA, SLAMF7, B7-H3, ...).")
    classifier_version: str = pa.Field(description="Version of the classifier rules.")

    class Config(_Strict):
        unique = ["nct_id"]


class TrialDiseases(pa.DataFrameModel):
    """One row per trial and disease entity (a trial naming nothing known has one 'unknown' row)."""

    nct_id: str = _nct()
    area: str = pa.Field(isin=DISEASE_AREAS, description="Disease area: haematological malignancy, solid tumour, autoimmune / immune-mediated, infectious disease, other non-oncology or unknown.")
    category: Optional[str] = pa.Field(nullable=True, description="Disease category within the area (B-cell lymphoma, multiple myeloma, CNS tumours, SLE, ...).")
    entity: Optional[str] = pa.Field(nullable=True, description="Disease entity (DLBCL, glioblastoma, lupus nephritis, ...); null when only the category is named.")
    evidence: Optional[str] = pa.Field(nullable=True, description="Field and text that matched (e.g. 'conditions: Diffuse Large B-Cell Lymphoma'); null for 'unknown'.")

    class Config(_Strict):
        unique = ["nct_id", "area", "category", "entity"]


class Products(pa.DataFrameModel):
    """One row per cell-therapy product in the reviewed product dictionary (data/products.csv)."""

    product_id: str = pa.Field(description="Stable product identifier (slug).")
    name: str = pa.Field(description="Canonical product name (INN short form, or the development code).")
    inn: Optional[str] = pa.Field(nullable=True, description="International nonproprietary name, when one exists.")
    brand_names: pl.List(pl.Utf8) = pa.Field(description="Brand names.")
    aliases: pl.List(pl.Utf8) = pa.Field(description="Development codes, former codes and spellings found in trial records.")
    modality: str = pa.Field(isin=MODALITIES, description="Modality of the product.")
    targets: pl.List(pl.Utf8) = pa.Field(description="Antigens targeted, canonical names.")
    cell_source: Optional[str] = pa.Field(nullable=True, isin=CELL_SOURCES, description="autologous, allogeneic or in_vivo; null when no public statement says.")
    developer: Optional[str] = pa.Field(nullable=True, description="Developer (current owner).")
    developer_country: Optional[str] = pa.Field(nullable=True, description="Developer's home country (canonical English name).")
    source: str = pa.Field(description="Where the facts come from: NCT ids with the text that states them, or the public label.")

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
    report_group: str = pa.Field(isin=REPORT_GROUP_NAMES, description="Report group used by the views: CAR-T, TCR-T, TIL, NK or ALL.")

    class Config(_Strict):
        unique = ["modality", "report_group"]


class Runs(pa.DataFrameModel):
    """One row per refresh, from the raw landing manifests (failed and abandoned runs included)."""

    run_id: str = pa.Field(description="Run identifier (UTC start time + suffix); names the raw folder.")
    kind: str = pa.Field(isin=("api", "bulk"), description="api (paged search) or bulk (a downloaded file).")
    mode: Optional[str] = pa.Field(nullable=True, description="full or incremental (--since).")
    status: str = pa.Field(isin=RUN_STATUSES, description="running, succeeded, failed or abandoned (its process died).")
    published: bool = pa.Field(description="True when this run's data was published to the warehouse.")
    started_at: Optional[pl.Datetime] = pa.Field(nullable=True, description="Start (UTC).")
    finished_at: Optional[pl.Datetime] = pa.Field(nullable=True, description="End (UTC).")
    api_url: Optional[str] = pa.Field(nullable=True, description="API base URL (api runs).")
    api_version: Optional[str] = pa.Field(nullable=True, description="apiVersion from GET /version.")
    data_timestamp: Optional[str] = pa.Field(nullable=True, description="dataTimestamp from GET /version: the registry snapshot the run pulled (one generation per run).")
    source: Optional[str] = pa.Field(nullable=True, description="Bulk source file (bulk runs).")
    queries: Optional[str] = pa.Field(nullable=True, description="JSON: every query with its parameters, totalCount, pages and unique studies.")
    unique_studies: Optional[pl.Int64] = pa.Field(nullable=True, description="Unique studies pulled or scanned.")
    trials_loaded: Optional[pl.Int64] = pa.Field(nullable=True, description="Trials in the published trials table after this run.")
    rejected_studies: Optional[pl.Int64] = pa.Field(nullable=True, description="Studies quarantined by this run.")
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
    changed_fields: pl.List(pl.Utf8) = pa.Field(description="For changed trials: which of status, phase, sponsor, countries, modality changed.")

    class Config(_Strict):
        unique = ["run_id", "nct_id"]


#: The normalised tables built from each study record.
TABLE_MODELS: dict[str, type[pa.DataFrameModel]] = {
    "trials": Trials,
    "trial_countries": TrialCountries,
    "trial_sponsors": TrialSponsors,
    "trial_sites": TrialSites,
    "trial_conditions": TrialConditions,
    "trial_interventions": TrialInterventions,
}

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


def polars_schema(model: type[pa.DataFrameModel]) -> dict[str, pl.DataType]:
    """The Polars dtypes a model declares, in column order (used to build empty frames)."""
    return {name: col.dtype.type for name, col in model.to_schema().columns.items()}


def descriptions(model: type[pa.DataFrameModel]) -> dict[str, str]:
    """Column -> description, the text the warehouse writes as column comments."""
    return {name: col.description or "" for name, col in model.to_schema().columns.items()}


def primary_key(model: type[pa.DataFrameModel]) -> tuple[str, ...]:
    """The model's key (its Config.unique): pandera checks it, the DDL declares it."""
    schema = model.to_schema()
    if schema.unique:
        return tuple(schema.unique)
    return tuple(name for name, col in schema.columns.items() if col.unique)
