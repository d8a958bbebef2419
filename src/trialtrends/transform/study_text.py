"""Flatten one ClinicalTrials.gov API v2 study into the text row the modality classifier reads."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import polars as pl

logger = logging.getLogger(__name__)

#: Columns of a classifier input row, in order; every value is a string or None.
TEXT_COLUMNS: tuple[str, ...] = (
    "nct_id",
    "brief_title",
    "official_title",
    "acronym",
    "brief_summary",
    "detailed_description",
    "conditions",
    "keywords",
    "intervention_names",
    "intervention_other_names",
    "intervention_types",
    "intervention_descriptions",
    "arm_groups",
    "intervention_mesh",
    "condition_mesh",
    "study_type",
    "overall_status",
)

TEXT_SCHEMA: dict[str, pl.DataType] = {name: pl.String() for name in TEXT_COLUMNS}

# Lists are joined with " | " so that regexes can stop at an item boundary ("[^|]").
SEP = " | "
# Inside one arm group the parts are joined with " : " (not "|", which separates arms).
_ARM_SEP = " : "

_EMPTY: dict[str, Any] = {}


def _dict(value: Any) -> dict[str, Any]:
    """Return value if it is a dict, else an empty dict (API modules may be missing)."""
    return value if isinstance(value, dict) else _EMPTY


def _str(value: Any) -> str | None:
    """Return a non-blank string, else None (the API omits empty values; files may not)."""
    if isinstance(value, str) and value.strip():
        return value
    return None


def _join(values: Any, sep: str = SEP) -> str | None:
    """Join the non-blank strings of a list with sep; a lone string is kept, anything else None."""
    if not isinstance(values, list):
        return _str(values)
    kept = [v for v in values if isinstance(v, str) and v.strip()]
    return sep.join(kept) if kept else None


def _join_parts(parts: list[str | None], sep: str) -> str | None:
    """Join the non-None parts with sep, or None when nothing is left."""
    kept = [p for p in parts if p]
    return sep.join(kept) if kept else None


def text_row(study: dict) -> dict[str, str | None]:
    """Build the classifier's input row (TEXT_COLUMNS, str or None) from one API v2 study dict."""
    study = _dict(study)
    protocol = _dict(study.get("protocolSection"))
    ident = _dict(protocol.get("identificationModule"))
    status = _dict(protocol.get("statusModule"))
    desc = _dict(protocol.get("descriptionModule"))
    cond = _dict(protocol.get("conditionsModule"))
    design = _dict(protocol.get("designModule"))
    arms_mod = _dict(protocol.get("armsInterventionsModule"))
    derived = _dict(study.get("derivedSection"))
    browse = _dict(derived.get("interventionBrowseModule"))

    names: list[str] = []
    other_names: list[str] = []
    types: list[str] = []
    descriptions: list[str] = []
    interventions = arms_mod.get("interventions")
    if isinstance(interventions, list):
        for item in interventions:
            if not isinstance(item, dict):
                continue
            name = _str(item.get("name"))
            if name:
                names.append(name)
            kind = _str(item.get("type"))
            if kind:
                types.append(kind)
            text = _str(item.get("description"))
            if text:
                descriptions.append(text)
            others = item.get("otherNames")
            if isinstance(others, list):
                other_names.extend(o for o in others if isinstance(o, str) and o.strip())

    arms: list[str] = []
    arm_groups = arms_mod.get("armGroups")
    if isinstance(arm_groups, list):
        for arm in arm_groups:
            if not isinstance(arm, dict):
                continue
            arm_text = _join_parts(
                [
                    _str(arm.get("label")),
                    _str(arm.get("type")),
                    _str(arm.get("description")),
                    _join(arm.get("interventionNames"), "; "),
                ],
                _ARM_SEP,
            )
            if arm_text:
                arms.append(arm_text)

    meshes = browse.get("meshes")
    mesh_terms = (
        [_str(m.get("term")) for m in meshes if isinstance(m, dict)] if isinstance(meshes, list) else []
    )

    condition_meshes = _dict(derived.get("conditionBrowseModule")).get("meshes")
    condition_mesh = (
        [_str(m.get("term")) for m in condition_meshes if isinstance(m, dict)]
        if isinstance(condition_meshes, list)
        else []
    )

    return {
        "nct_id": _str(ident.get("nctId")),
        "brief_title": _str(ident.get("briefTitle")),
        "official_title": _str(ident.get("officialTitle")),
        "acronym": _str(ident.get("acronym")),
        "brief_summary": _str(desc.get("briefSummary")),
        "detailed_description": _str(desc.get("detailedDescription")),
        "conditions": _join(cond.get("conditions")),
        "keywords": _join(cond.get("keywords")),
        "intervention_names": SEP.join(names) if names else None,
        "intervention_other_names": SEP.join(other_names) if other_names else None,
        "intervention_types": SEP.join(types) if types else None,
        "intervention_descriptions": SEP.join(descriptions) if descriptions else None,
        "arm_groups": SEP.join(arms) if arms else None,
        "intervention_mesh": _join_parts(mesh_terms, SEP),
        # The study's own condition MeSH terms (not their ancestors): the disease rules read them.
        "condition_mesh": _join_parts(condition_mesh, SEP),
        "study_type": _str(design.get("studyType")),
        "overall_status": _str(status.get("overallStatus")),
    }


def text_frame(rows: Iterable[dict]) -> pl.DataFrame:
    """Collect text rows (from text_row) into a frame with an explicit all-String schema."""
    rows = list(rows)
    # Column-wise construction is several times faster than a list of dicts in Polars.
    columns = {name: [row.get(name) for row in rows] for name in TEXT_COLUMNS}
    return pl.DataFrame(columns, schema=TEXT_SCHEMA)
