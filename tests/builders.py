"""Small hand-written API v2 study records for unit tests (shapes per API-NOTES.md)."""

from __future__ import annotations

import copy
from typing import Any


def study(
    nct_id: str = "NCT90000001",
    *,
    title: str = "Anti-CD19 CAR-T Cells in Relapsed B-cell Lymphoma",
    status: str = "RECRUITING",
    start: str | None = "2022-03",
    start_type: str | None = "ACTUAL",
    submitted: str = "2022-01-10",
    posted: str = "2022-01-20",
    updated: str = "2024-05-01",
    phases: list[str] | None = None,
    study_type: str | None = "INTERVENTIONAL",
    enrollment: int | None = 30,
    lead: str = "Novartis Pharmaceuticals",
    lead_class: str = "INDUSTRY",
    collaborators: list[tuple[str, str]] | None = None,
    countries: list[str] | None = None,
    removed: list[str] | None = None,
    conditions: list[str] | None = None,
    interventions: list[dict[str, Any]] | None = None,
    summary: str = "A phase 1 study of autologous anti-CD19 CAR-T cells.",
) -> dict[str, Any]:
    """One record; every argument maps to one API field, None leaves it out."""
    status_module: dict[str, Any] = {
        "overallStatus": status,
        "studyFirstSubmitDate": submitted,
        "studyFirstPostDateStruct": {"date": posted, "type": "ACTUAL"},
        "lastUpdatePostDateStruct": {"date": updated, "type": "ACTUAL"},
    }
    if start is not None:
        status_module["startDateStruct"] = {"date": start}
        if start_type is not None:
            status_module["startDateStruct"]["type"] = start_type
    design: dict[str, Any] = {}
    if study_type:
        design["studyType"] = study_type
    if phases is None:
        phases = ["PHASE1"]
    if phases:
        design["phases"] = phases
    if enrollment is not None:
        design["enrollmentInfo"] = {"count": enrollment, "type": "ESTIMATED"}
    record: dict[str, Any] = {
        "protocolSection": {
            "identificationModule": {"nctId": nct_id, "briefTitle": title},
            "statusModule": status_module,
            "sponsorCollaboratorsModule": {"leadSponsor": {"name": lead, "class": lead_class}},
            "descriptionModule": {"briefSummary": summary},
            "conditionsModule": {"conditions": conditions or ["B-cell Lymphoma"]},
            "designModule": design,
            "armsInterventionsModule": {
                "interventions": interventions
                if interventions is not None
                else [{"type": "BIOLOGICAL", "name": "anti-CD19 CAR-T cells"}]
            },
        },
        "hasResults": False,
    }
    if collaborators:
        record["protocolSection"]["sponsorCollaboratorsModule"]["collaborators"] = [
            {"name": n, "class": c} for n, c in collaborators
        ]
    if countries is None:
        countries = ["United States"]
    if countries:
        record["protocolSection"]["contactsLocationsModule"] = {
            "locations": [
                {"facility": f"Site {i}", "city": "City", "country": c}
                for i, c in enumerate(countries, start=1)
            ]
        }
    if removed:
        record["derivedSection"] = {"miscInfoModule": {"removedCountries": removed}}
    return record


def with_path(record: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `record` with one dotted path set (or deleted when value is DELETE)."""
    out = copy.deepcopy(record)
    node = out
    keys = path.split(".")
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    if value is DELETE:
        node.pop(keys[-1], None)
    else:
        node[keys[-1]] = value
    return out


DELETE = object()
