"""Flatten: walk each API v2 study record once into plain rows (pure; no I/O).

The only per-study Python work of the pipeline: every field the tables need is read here (see
data/required_fields.txt); a record that cannot be read is quarantined with its reasons.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

from trialtrends.extract.records import Malformed, canonical_nct_id, dumps_safe, nct_id_of
from trialtrends.schemas import (
    AGENCY_CLASSES,
    INTERVENTION_TYPES,
    MAX_YEAR,
    MIN_YEAR,
    OVERALL_STATUSES,
    PHASE_CODES,
)
from trialtrends.transform.study_text import text_row

# API-NOTES: enrollmentInfo.count 99999999 means "unknown".
ENROLLMENT_SENTINEL = 99999999
# Larger counts are data-entry slips or attacks (an integer beyond 64 bits fails the frame).
MAX_ENROLLMENT = 10**9
UNMAPPED_CODE = "ZZ"

_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_STATUSES = frozenset(OVERALL_STATUSES)
_PHASES = frozenset(PHASE_CODES)
_CLASSES = frozenset(AGENCY_CLASSES)
_INTERVENTION_TYPES = frozenset(INTERVENTION_TYPES)

# Phase codes (as a sorted tuple) -> readable label. API-NOTES: ["PHASE1","PHASE2"] is Phase 1/2.
PHASE_LABEL = {
    ("EARLY_PHASE1",): "Early Phase 1",
    ("PHASE1",): "Phase 1",
    ("PHASE1", "PHASE2"): "Phase 1/2",
    ("PHASE2",): "Phase 2",
    ("PHASE2", "PHASE3"): "Phase 2/3",
    ("PHASE3",): "Phase 3",
    ("PHASE4",): "Phase 4",
    ("NA",): "Not Applicable",
}


class StudyError(ValueError):
    """A record that cannot be normalised; the message becomes its rejection reason."""


def parse_partial_date(raw: Any, what: str) -> tuple[date | None, str | None]:
    """`yyyy`, `yyyy-MM` or `yyyy-MM-dd` -> (first day of the period, precision).

    API-NOTES: partial dates are common (start dates especially); never null a `2022-03`.
    """
    if raw is None:
        return None, None
    if not isinstance(raw, str):
        raise StudyError(f"{what} is not a string: {raw!r:.60}")
    match = _DATE.match(raw.strip())
    if not match:
        raise StudyError(f"{what} is not a date: {raw!r:.60}")
    year, month, day = match.groups()
    try:
        value = date(int(year), int(month or 1), int(day or 1))
    except ValueError as exc:
        raise StudyError(f"{what} is not a valid date: {raw!r}") from exc
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise StudyError(f"{what} is outside {MIN_YEAR}-{MAX_YEAR}: {raw!r}")
    return value, ("day" if day else "month" if month else "year")


def phase_label(codes: list[str], study_type: str | None) -> str:
    """The readable phase for a record's phase codes (see PHASE_LABEL)."""
    if not codes:
        # The API omits `phases` for observational studies: phase does not apply to them.
        return "Not Applicable" if study_type == "OBSERVATIONAL" else "Not Provided"
    key = tuple(sorted(set(codes), key=PHASE_CODES.index))
    label = PHASE_LABEL.get(key)
    if label is None:
        raise StudyError(f"unsupported phase combination {list(key)}")
    return label


def _module(parent: Any, name: str) -> dict:
    value = parent.get(name) if isinstance(parent, dict) else None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise StudyError(f"{name} is not an object")
    return value


def _list(parent: dict, name: str) -> list:
    value = parent.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise StudyError(f"{name} is not a list")
    return value


def _str(parent: dict, name: str, *, required: bool = False, where: str = "") -> str | None:
    value = parent.get(name)
    label = f"{where}.{name}" if where else name
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise StudyError(f"{label} is missing")
        return None
    if not isinstance(value, str):
        raise StudyError(f"{label} is not a string")
    return value.strip()


def _enum(parent: dict, name: str, allowed: frozenset[str], *, required: bool = False) -> str | None:
    value = _str(parent, name, required=required)
    if value is not None and value not in allowed:
        raise StudyError(f"unknown {name} value {value!r:.40}")
    return value


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


@dataclass
class Rows:
    """Plain row lists collected while walking records, one list per table."""

    trials: list[tuple] = field(default_factory=list)
    sponsors: list[tuple] = field(default_factory=list)
    sites: list[tuple] = field(default_factory=list)
    countries: list[tuple] = field(default_factory=list)
    conditions: list[tuple] = field(default_factory=list)
    interventions: list[tuple] = field(default_factory=list)
    text: list[dict] = field(default_factory=list)
    rejected: list[tuple] = field(default_factory=list)


def _flatten_one(study: Any, run_id: str) -> Rows:
    """All rows of one record, or StudyError saying why it cannot be used."""
    if isinstance(study, Malformed):
        raise StudyError(study.reason)
    if not isinstance(study, dict):
        raise StudyError("record is not a JSON object")
    protocol = _module(study, "protocolSection")
    ident = _module(protocol, "identificationModule")
    nct_id = canonical_nct_id(ident.get("nctId"))
    if nct_id is None:
        raw_id = ident.get("nctId")
        if raw_id is None:
            raise StudyError("identificationModule.nctId is missing")
        raise StudyError(f"nctId {raw_id!r:.40} is not NCT + 8 digits exactly")
    status = _module(protocol, "statusModule")
    design = _module(protocol, "designModule")
    spons = _module(protocol, "sponsorCollaboratorsModule")
    conds = _module(protocol, "conditionsModule")
    arms = _module(protocol, "armsInterventionsModule")
    locs = _module(protocol, "contactsLocationsModule")
    misc = _module(_module(study, "derivedSection"), "miscInfoModule")

    study_type = _enum(design, "studyType", frozenset(("EXPANDED_ACCESS", "INTERVENTIONAL", "OBSERVATIONAL")))
    codes = _list(design, "phases")
    for code in codes:
        if code not in _PHASES:
            raise StudyError(f"unknown phase code {code!r:.40}")
    enrollment = _module(design, "enrollmentInfo").get("count")
    if enrollment is not None and (isinstance(enrollment, bool) or not isinstance(enrollment, int)):
        raise StudyError(f"enrollmentInfo.count is not an integer: {enrollment!r:.40}")
    if enrollment is not None and not 0 <= enrollment <= MAX_ENROLLMENT:
        raise StudyError(f"enrollmentInfo.count is out of range: {str(enrollment)[:40]}")
    if enrollment == ENROLLMENT_SENTINEL:
        enrollment = None

    start_struct = _module(status, "startDateStruct")
    start_raw = _str(start_struct, "date")
    start, precision = parse_partial_date(start_raw, "startDateStruct.date")
    start_type = _enum(start_struct, "type", frozenset(("ACTUAL", "ESTIMATED")))
    submitted, _ = parse_partial_date(_str(status, "studyFirstSubmitDate"), "studyFirstSubmitDate")
    posted, _ = parse_partial_date(
        _str(_module(status, "studyFirstPostDateStruct"), "date"), "studyFirstPostDateStruct.date"
    )
    updated, _ = parse_partial_date(
        _str(_module(status, "lastUpdatePostDateStruct"), "date"), "lastUpdatePostDateStruct.date"
    )

    lead = _module(spons, "leadSponsor")
    lead_name = _str(lead, "name", required=True, where="sponsorCollaboratorsModule.leadSponsor")
    lead_class = _enum(lead, "class", _CLASSES)

    rows = Rows()
    rows.sponsors.append((nct_id, "lead", lead_name, lead_class))
    for collab in _list(spons, "collaborators"):
        if not isinstance(collab, dict):
            raise StudyError("a collaborator is not an object")
        name = _str(collab, "name")
        if name:
            rows.sponsors.append((nct_id, "collaborator", name, _enum(collab, "class", _CLASSES)))

    locations = _list(locs, "locations")
    for seq, loc in enumerate(locations, start=1):
        if not isinstance(loc, dict):
            raise StudyError("a location is not an object")
        geo = loc.get("geoPoint") if isinstance(loc.get("geoPoint"), dict) else {}
        rows.sites.append(
            (nct_id, seq, _str(loc, "facility"), _str(loc, "city"), _str(loc, "state"),
             _str(loc, "zip"), _str(loc, "country"), _str(loc, "status"),
             _num(geo.get("lat")), _num(geo.get("lon")))
        )  # fmt: skip
    for raw in _list(misc, "removedCountries"):
        if isinstance(raw, str) and raw.strip():
            rows.countries.append((nct_id, raw.strip(), True))

    seq = 0
    for kind, items in (
        ("condition", _list(conds, "conditions")),
        ("keyword", _list(conds, "keywords")),
    ):
        for item in items:
            if isinstance(item, str) and item.strip():
                seq += 1
                rows.conditions.append((nct_id, seq, kind, item.strip()))
    for seq, item in enumerate(_list(arms, "interventions"), start=1):
        if not isinstance(item, dict):
            raise StudyError("an intervention is not an object")
        others = [o.strip() for o in _list(item, "otherNames") if isinstance(o, str) and o.strip()]
        rows.interventions.append(
            (nct_id, seq, _enum(item, "type", _INTERVENTION_TYPES),
             _str(item, "name") or "(unnamed)", _joined_list(others), _str(item, "description"))
        )  # fmt: skip

    rows.trials.append(
        (nct_id, _str(ident, "briefTitle", required=True), _str(ident, "officialTitle"),
         _str(ident, "acronym"), _enum(status, "overallStatus", _STATUSES, required=True),
         study_type, phase_label(codes, study_type), _joined_list(codes), enrollment,
         start, precision, start_raw, start_type, submitted, posted, updated,
         lead_name, lead_class, bool(locations), run_id)
    )  # fmt: skip
    rows.text.append(text_row(study))
    return rows


def flatten_studies(studies: Iterable[Any], run_id: str, rows: Rows | None = None) -> Rows:
    """Walk records into row lists; an unreadable record is quarantined, never fatal."""
    rows = rows or Rows()
    for study in studies:
        try:
            one = _flatten_one(study, run_id)
        except StudyError as exc:
            rows.rejected.append((nct_id_of(study), run_id, str(exc), _payload(study)))
            continue
        except Exception as exc:  # one record's content must never stop the run: quarantine it
            reason = f"flatten: {type(exc).__name__}: {exc}"[:300]
            rows.rejected.append((nct_id_of(study), run_id, reason, _payload(study)))
            continue
        for f in fields(Rows):
            getattr(rows, f.name).extend(getattr(one, f.name))
    return rows


def _payload(study: Any) -> str:
    return dumps_safe(study.text if isinstance(study, Malformed) else study)


LIST_SEP = "\x1f"


def _joined_list(values: list[str]) -> str | None:
    return LIST_SEP.join(values) if values else None
