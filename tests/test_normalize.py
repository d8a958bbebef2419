"""Normalisation rules, one test per rule, on hand-written records."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from builders import DELETE, study, with_path

from trialtrends.transform.flatten import StudyError, parse_partial_date, phase_label
from trialtrends.transform.normalize import normalize_studies
from trialtrends.validate.quarantine import validate_tables


def trials_of(*records):
    return normalize_studies(list(records), "run-test")


def one_trial(record) -> dict:
    tables = trials_of(record)
    assert tables.rejected_studies.height == 0, tables.rejected_studies["reason"].to_list()
    return tables.trials.row(0, named=True)


@pytest.mark.parametrize(
    ("raw", "expected", "precision"),
    [
        ("2022", date(2022, 1, 1), "year"),
        ("2022-03", date(2022, 3, 1), "month"),
        ("2022-03-15", date(2022, 3, 15), "day"),
    ],
)
def test_partial_dates_keep_their_precision(raw, expected, precision):
    assert parse_partial_date(raw, "d") == (expected, precision)
    row = one_trial(study(start=raw))
    assert (row["start_date"], row["start_date_precision"], row["start_date_raw"]) == (
        expected,
        precision,
        raw,
    )
    assert row["start_year"] == expected.year


def test_missing_date_type_is_kept_as_null():
    row = one_trial(study(start="2021-07", start_type=None))
    assert row["start_date_type"] is None
    assert row["start_date"] == date(2021, 7, 1)


def test_missing_start_date_is_null_not_rejected():
    row = one_trial(study(start=None))
    assert row["start_date"] is None and row["start_year"] is None


@pytest.mark.parametrize("raw", ["2022-13", "2022-02-30", "22-03", "soon", "1066-10-14", "2999-01-01"])
def test_absurd_dates_are_errors(raw):
    with pytest.raises(StudyError):
        parse_partial_date(raw, "startDateStruct.date")


@pytest.mark.parametrize(
    ("codes", "label"),
    [
        (["EARLY_PHASE1"], "Early Phase 1"),
        (["PHASE1"], "Phase 1"),
        (["PHASE1", "PHASE2"], "Phase 1/2"),
        (["PHASE2", "PHASE1"], "Phase 1/2"),
        (["PHASE2", "PHASE3"], "Phase 2/3"),
        (["PHASE4"], "Phase 4"),
        (["NA"], "Not Applicable"),
    ],
)
def test_phase_labels(codes, label):
    assert phase_label(codes, "INTERVENTIONAL") == label
    row = one_trial(study(phases=codes))
    assert row["phase"] == label
    assert row["phase_codes"] == codes


def test_no_phases_observational_vs_unknown():
    assert one_trial(study(phases=[], study_type="OBSERVATIONAL"))["phase"] == "Not Applicable"
    assert one_trial(study(phases=[], study_type=None))["phase"] == "Not Provided"


def test_observational_study_is_kept():
    row = one_trial(study(study_type="OBSERVATIONAL", phases=[]))
    assert row["study_type"] == "OBSERVATIONAL"


def test_enrollment_sentinel_becomes_null():
    assert one_trial(study(enrollment=99999999))["enrollment_count"] is None
    assert one_trial(study(enrollment=0))["enrollment_count"] == 0


def test_no_locations_counts_as_not_provided():
    tables = trials_of(study(countries=[]))
    assert tables.trials["has_locations"].to_list() == [False]
    rows = tables.trial_countries.to_dicts()
    assert rows == [
        {"nct_id": "NCT90000001", "country_code": "XX", "country": "Not provided",
         "country_raw": None, "site_count": 0, "is_removed": False}
    ]  # fmt: skip


def test_country_repeated_across_sites_counts_once_with_site_count():
    tables = trials_of(study(countries=["China", "China", "United States", "China"]))
    got = {r["country_code"]: r["site_count"] for r in tables.trial_countries.to_dicts()}
    assert got == {"CN": 3, "US": 1}
    assert tables.trial_sites.height == 4


def test_historical_spellings_and_mojibake_map_to_one_country():
    tables = trials_of(study(countries=["Korea, Republic of", "South Korea", "TÃ¼rkiye", "Turkey (Türkiye)"]))
    rows = {r["country_code"]: r for r in tables.trial_countries.to_dicts()}
    assert set(rows) == {"KR", "TR"}
    assert rows["KR"]["site_count"] == 2 and rows["TR"]["site_count"] == 2


def test_removed_countries_are_flagged_and_not_sites():
    tables = trials_of(study(countries=["Germany"], removed=["Czech Republic", "Swaziland"]))
    rows = {r["country_code"]: r for r in tables.trial_countries.to_dicts()}
    assert rows["DE"]["is_removed"] is False
    assert rows["CZ"]["is_removed"] is True and rows["CZ"]["site_count"] == 0
    assert rows["SZ"]["is_removed"] is True


def test_only_removed_countries_also_counts_not_provided():
    tables = trials_of(study(countries=[], removed=["France"]))
    codes = sorted(tables.trial_countries["country_code"].to_list())
    assert codes == ["FR", "XX"]


def test_unmapped_country_kept_under_raw_name():
    tables = trials_of(study(countries=["Atlantis"]))
    row = tables.trial_countries.row(0, named=True)
    assert (row["country_code"], row["country"], row["country_raw"]) == ("ZZ", "Atlantis", "Atlantis")


def test_sponsors_lead_and_collaborators_deduplicated():
    record = study(
        lead="Novartis Pharmaceuticals",
        collaborators=[("Novartis", "INDUSTRY"), ("National Cancer Institute (NCI)", "NIH")],
    )
    tables = trials_of(record)
    rows = tables.trial_sponsors.to_dicts()
    roles = {r["sponsor"]: r["role"] for r in rows}
    # Both Novartis spellings are one organisation: kept once, as lead.
    assert len(rows) == 2
    assert "lead" in roles.values() and "collaborator" in roles.values()
    assert tables.trials["lead_sponsor"].to_list() == [next(s for s, r in roles.items() if r == "lead")]


def test_interventions_and_conditions_tables():
    record = study(
        conditions=["Lymphoma", "Leukemia"],
        interventions=[
            {"type": "GENETIC", "name": "CD19 CAR-T", "otherNames": ["CTL019"], "description": "cells"},
            {"type": "DRUG", "name": "Fludarabine"},
        ],
    )
    tables = trials_of(record)
    assert tables.trial_conditions["condition"].to_list() == ["Lymphoma", "Leukemia"]
    first = tables.trial_interventions.row(0, named=True)
    assert first["other_names"] == ["CTL019"] and first["intervention_type"] == "GENETIC"


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        ("protocolSection.identificationModule.nctId", DELETE, "nctId is missing"),
        ("protocolSection.identificationModule.nctId", "NCT123", "not NCT + 8 digits"),
        # The identity rule: the JSON value itself, nothing stripped or folded (issue 20).
        ("protocolSection.identificationModule.nctId", "NCT90000002\n", "not NCT + 8 digits"),
        ("protocolSection.identificationModule.nctId", " NCT90000002", "not NCT + 8 digits"),
        ("protocolSection.identificationModule.nctId", "nct90000002", "not NCT + 8 digits"),
        ("protocolSection.identificationModule.nctId", "NCT９０００００02", "not NCT + 8 digits"),
        ("protocolSection.identificationModule.nctId", 90000002, "not NCT + 8 digits"),
        ("protocolSection.designModule.enrollmentInfo.count", 10**30, "out of range"),
        ("protocolSection.identificationModule.briefTitle", 42, "briefTitle is not a string"),
        ("protocolSection.statusModule.overallStatus", "HALF_DONE", "unknown overallStatus"),
        ("protocolSection.designModule.phases", ["PHASE9"], "unknown phase code"),
        ("protocolSection.designModule.enrollmentInfo.count", "lots", "not an integer"),
        ("protocolSection.statusModule.startDateStruct.date", "2022-02-30", "not a valid date"),
        ("protocolSection.statusModule.studyFirstSubmitDate", "1850-01-01", "outside"),
        ("protocolSection.contactsLocationsModule.locations", "everywhere", "not a list"),
        ("protocolSection.sponsorCollaboratorsModule", DELETE, "name is missing"),
    ],
)
def test_malformed_records_are_quarantined(path, value, reason):
    good = study("NCT90000002")
    bad = with_path(study("NCT90000003"), path, value)
    tables = trials_of(good, bad, "not a record")
    assert tables.trials["nct_id"].to_list() == ["NCT90000002"]
    reasons = tables.rejected_studies["reason"].to_list()
    assert len(reasons) == 2
    assert reason in reasons[0]
    assert tables.rejected_studies["payload"][0].startswith("{")


def test_huge_title_is_capped_not_a_crash():
    # Issue 20: every free-text column is capped at normalisation (text_hygiene.TITLE), so a
    # 100 kB title no longer costs the study; the cut is marked and counted.
    good = study("NCT90000002")
    huge = study("NCT90000004", title="CAR-T " * 20_000)  # ~100 kB
    tables = trials_of(good, huge)
    validated = validate_tables(tables, "run-test", payloads=lambda ids: {i: "{}" for i in ids})
    assert validated.tables.trials["nct_id"].to_list() == ["NCT90000002", "NCT90000004"]
    title = validated.tables.trials["brief_title"][1]
    assert len(title) == 1000 and title.endswith("…")
    assert tables.hygiene.capped["trials.brief_title"] == 1


def test_valid_tables_pass_validation_unchanged():
    tables = trials_of(study("NCT90000002"), study("NCT90000005", countries=[]))
    validated = validate_tables(tables, "run-test")
    assert validated.rejected == 0
    assert validated.tables.trials.equals(tables.trials)


def test_year_columns_follow_dates():
    row = one_trial(study(submitted="2021-12-28", posted="2022-01-05", start="2022"))
    assert (row["first_submitted_year"], row["first_posted_year"], row["start_year"]) == (2021, 2022, 2022)
    assert isinstance(tables_dtype := trials_of(study()).trials.schema["first_posted_year"], pl.DataType)
    assert tables_dtype == pl.Int32
