"""The normalised tables built from each study record: one pandera model per table."""

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


#: The normalised tables built from each study record.
TABLE_MODELS: dict[str, type[pa.DataFrameModel]] = {
    "trials": Trials,
    "trial_countries": TrialCountries,
    "trial_sponsors": TrialSponsors,
    "trial_sites": TrialSites,
    "trial_conditions": TrialConditions,
    "trial_interventions": TrialInterventions,
}
