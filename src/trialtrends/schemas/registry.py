"""The normalised tables built from each study record: one pandera model per table."""

from __future__ import annotations

from typing import Optional

import pandera.polars as pa
import polars as pl

from trialtrends.schemas.fields import Described, doc

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


def _nct() -> object:
    return pa.Field(str_matches=NCT_PATTERN)


def _year() -> object:
    return pa.Field(nullable=True, ge=MIN_YEAR, le=MAX_YEAR)


class _Strict:
    strict = True
    coerce = False


class Trials(Described):
    """One row per trial."""

    nct_id: str = pa.Field(unique=True, str_matches=NCT_PATTERN)
    brief_title: str = pa.Field(str_length={"min_value": 1, "max_value": MAX_TITLE})
    official_title: Optional[str] = pa.Field(nullable=True, str_length={"max_value": MAX_TITLE})
    acronym: Optional[str] = pa.Field(nullable=True, str_length={"max_value": 200})
    overall_status: str = pa.Field(isin=OVERALL_STATUSES)
    study_type: Optional[str] = pa.Field(nullable=True, isin=STUDY_TYPES)
    phase: str = pa.Field(isin=PHASE_LABELS)
    phase_codes: pl.List(pl.Utf8) = pa.Field()
    enrollment_count: Optional[pl.Int64] = pa.Field(nullable=True, ge=0)
    start_date: Optional[pl.Date] = pa.Field(nullable=True)
    start_date_precision: Optional[str] = pa.Field(nullable=True, isin=PRECISIONS)
    start_date_raw: Optional[str] = pa.Field(nullable=True)
    start_date_type: Optional[str] = pa.Field(nullable=True, isin=DATE_TYPES)
    first_submitted_date: Optional[pl.Date] = pa.Field(nullable=True)
    first_posted_date: Optional[pl.Date] = pa.Field(nullable=True)
    last_update_posted_date: Optional[pl.Date] = pa.Field(nullable=True)
    first_posted_year: Optional[pl.Int32] = _year()
    first_submitted_year: Optional[pl.Int32] = _year()
    start_year: Optional[pl.Int32] = _year()
    lead_sponsor: str = pa.Field()
    lead_sponsor_raw: str = pa.Field()
    lead_sponsor_class: Optional[str] = pa.Field(nullable=True, isin=AGENCY_CLASSES)
    lead_sponsor_parent: str = pa.Field()
    lead_sponsor_country: Optional[str] = pa.Field(nullable=True)
    has_locations: bool = pa.Field()
    run_id: str = pa.Field()

    class Config(_Strict):
        pass


class TrialCountries(Described):
    """One row per trial and country (a trial counts once per country, whatever its sites)."""

    nct_id: str = _nct()
    country_code: str = pa.Field(str_length={"min_value": 2, "max_value": 2})
    country: str = pa.Field()
    country_raw: Optional[str] = pa.Field(nullable=True)
    site_count: pl.Int32 = pa.Field(ge=0)
    is_removed: bool = pa.Field()

    class Config(_Strict):
        unique = ["nct_id", "country"]


class TrialSponsors(Described):
    """One row per trial and organisation (lead sponsor or collaborator)."""

    nct_id: str = _nct()
    role: str = pa.Field(isin=ROLES)
    sponsor: str = pa.Field()
    sponsor_raw: str = pa.Field()
    agency_class: Optional[str] = pa.Field(nullable=True, isin=AGENCY_CLASSES)
    sponsor_parent: str = pa.Field()
    sponsor_country: Optional[str] = pa.Field(nullable=True)
    sponsor_type: str = pa.Field(isin=SPONSOR_TYPES)
    is_known_sponsor: bool = pa.Field()

    class Config(_Strict):
        unique = ["nct_id", "sponsor"]


class TrialSites(Described):
    """One row per listed site."""

    nct_id: str = _nct()
    site_seq: pl.Int32 = pa.Field(ge=1)
    facility: Optional[str] = pa.Field(nullable=True)
    city: Optional[str] = pa.Field(nullable=True)
    state: Optional[str] = pa.Field(nullable=True)
    zip: Optional[str] = pa.Field(nullable=True)
    country_raw: Optional[str] = pa.Field(nullable=True)
    country_code: Optional[str] = pa.Field(nullable=True)
    country: Optional[str] = pa.Field(nullable=True)
    site_status: Optional[str] = pa.Field(nullable=True)
    latitude: Optional[pl.Float64] = pa.Field(nullable=True, ge=-90, le=90)
    longitude: Optional[pl.Float64] = pa.Field(nullable=True, ge=-180, le=180)

    class Config(_Strict):
        unique = ["nct_id", "site_seq"]


class TrialConditions(Described):
    """One row per condition or keyword of a trial."""

    nct_id: str = _nct()
    condition_seq: pl.Int32 = pa.Field(ge=1)
    kind: str = pa.Field(isin=("condition", "keyword"), description=doc("condition_kind"))
    condition: str = pa.Field()

    class Config(_Strict):
        unique = ["nct_id", "condition_seq"]


class TrialInterventions(Described):
    """One row per intervention of a trial."""

    nct_id: str = _nct()
    intervention_seq: pl.Int32 = pa.Field(ge=1)
    intervention_type: Optional[str] = pa.Field(nullable=True, isin=INTERVENTION_TYPES)
    name: str = pa.Field(description=doc("intervention_name"))
    other_names: pl.List(pl.Utf8) = pa.Field()
    description: Optional[str] = pa.Field(nullable=True)

    class Config(_Strict):
        unique = ["nct_id", "intervention_seq"]


class RejectedStudies(Described):
    """One row per study quarantined by normalisation or validation."""

    nct_id: Optional[str] = pa.Field(nullable=True)
    run_id: str = pa.Field()
    reason: str = pa.Field()
    payload: str = pa.Field()

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
