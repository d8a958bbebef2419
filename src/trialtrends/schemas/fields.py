"""Every warehouse column described once, by name (PUDL's `metadata/fields.py`).

A table column takes the entry of its own name: the pandera models below get their
descriptions from here (`Described`), the DDL writes them as `COMMENT ON COLUMN`, the view
headers list their columns by name (`load/views.py`) and the data dictionary (docs/) prints
them. Where one column name carries a narrower concept in one table, the column points at a
differently named entry (`role` of trial_modalities is `modality_role`; the views' `modality` is
`report_group`), so each concept still has one wording.

The values a concept may take are declared with the models (`isin`, and `ACCEPTED_VALUES` in
`derived.py` for the views' tests).
"""

from __future__ import annotations

import inspect
from typing import Any

import pandera.polars as pa
from pandera.api.dataframe.model_components import FieldInfo

_SPONSOR = {
    "sponsor": "Canonical organisation name (reviewed alias table plus deterministic normalisation).",
    "sponsor_raw": "Organisation name exactly as registered.",
    "agency_class": "Registry agency class, raw API code (INDUSTRY, NIH, OTHER, ...).",
    "sponsor_parent": "Parent organisation through the reviewed parent mapping (a university for its "
    "affiliated hospital); the organisation itself when none.",
    "sponsor_country": "Home country of the organisation, where known.",
}

FIELDS: dict[str, str] = {
    "acronym": "Study acronym; null when not given.",
    "agency": "Regulator: FDA, EMA, NMPA, PMDA, CDSCO, ...",
    "aliases": "Development codes, former codes and spellings found in trial records.",
    "api_url": "API base URL (api runs).",
    "api_version": "apiVersion from GET /version.",
    "approval_year": "Year of the first approval by that agency.",
    "approvals": "Each agency's first approval as 'AGENCY YEAR', '; '-separated by year; null when none.",
    "approved_products": "Of these products, those approved by any agency.",
    "area": "Disease area: haematological malignancy, solid tumour, autoimmune / immune-mediated, "
    "infectious disease, other non-oncology or unknown (a trial naming no known disease).",
    "basis": "Year basis: first_posted (date first posted, the default meaning of 'registered in a "
    "year'), first_submitted (date first submitted) or start (start date, often estimated).",
    "brand_names": "Brand names.",
    "brief_title": "Brief title as registered (null in latest_changes for a removed trial).",
    "category": "Disease category within the area (B-cell lymphoma, multiple myeloma, CNS tumours, SLE, ...).",
    "cell_source": "Where the cells come from: autologous, allogeneic (off-the-shelf, donor-derived) or "
    "in_vivo (the CAR is made in the patient). For a trial: explicit wording first, then the products "
    "it names, then a documented inference (cell_source_basis says which), else unclear. For a "
    "product: null when no public statement says.",
    "cell_source_basis": "What decided a trial's cell_source: stated (the record's own wording), product "
    "(the product dictionary), inferred (a rule in data/modality_rules.py SOURCE_INFERENCES, e.g. an ex "
    "vivo CAR-T with no donor, allogeneic, off-the-shelf, iPSC, gene-editing or in vivo signal is "
    "autologous); null when cell_source is unclear. Filter to stated and product to exclude inferences.",
    "cell_therapy": "Trials the classifier found giving a cell-therapy product "
    "(trial_flags.is_cell_therapy).",
    "change": "added, removed or changed, against the previously published warehouse.",
    "changed_fields": "For changed trials: which of status, phase, sponsor, countries, modality changed; "
    "for removed ones in registry mode, why: 'not cell therapy' (its record changed) or 'not in "
    "registry' (absent from the new baseline).",
    "city": "City.",
    "classifier_version": "Version of the classifier rules (CLASSIFIER_VERSION) that produced the row; in "
    "runs, the version the run used.",
    "condition": "Condition or keyword text as registered.",
    "condition_kind": "condition (conditionsModule.conditions) or keyword (conditionsModule.keywords).",
    "condition_seq": "Position in the record (1-based), conditions first then keywords.",
    "country": "Canonical English country name; 'Not provided' for a trial without locations.",
    "country_code": "ISO 3166-1 alpha-2 code; XX = Not provided (the trial lists no location), ZZ = a "
    "country string not yet mapped (its raw text is kept in country).",
    "country_raw": "Country string as registered (in trial_countries, the first spelling seen for the trial).",
    "data_timestamp": "dataTimestamp from GET /version: the registry snapshot the run pulled (one "
    "generation per run).",
    "description": "Intervention description.",
    "developer": "Developer (current owner).",
    "developer_country": "Developer's home country (canonical English name); in products_by_country "
    "'Unknown' when not known.",
    "enrollment_count": "Enrollment (actual or anticipated); null when not given or the 99999999 "
    "'unknown' sentinel.",
    "entity": "Disease entity (DLBCL, glioblastoma, lupus nephritis, ...); null when only the category "
    "is named.",
    "error": "Why the run failed (one sentence).",
    "evidence": "Why the row exists: the field and text that matched (for modalities the rule that "
    "matched, or 'product: <name>'); null for a disease row 'unknown'.",
    "expanded_access_count": "Trials of a report group that are expanded-access or compassionate-use "
    "records.",
    "expanded_access_not_follow_up": "Trials of a report group that are expanded access and not "
    "follow-up studies (what the default flow excludes as expanded access: follow-up studies are "
    "excluded first).",
    "facility": "Facility name as registered.",
    "finished_at": "End (UTC).",
    "first_approval_year": "Year of the product's first approval anywhere; null when none.",
    "first_posted_date": "Date the record was first posted publicly (the default 'registered' date).",
    "first_posted_year": "Calendar year of first_posted_date (year basis first_posted).",
    "first_submitted_date": "Date the sponsor first submitted the record.",
    "first_submitted_year": "Calendar year of first_submitted_date (year basis first_submitted).",
    "first_trial_year": "Earliest first_posted year among the product's counted trials.",
    "follow_up_count": "Trials of a report group that only follow up earlier recipients "
    "(long-term follow-up).",
    "gates": "JSON: every gate with its result and reason.",
    "has_locations": "True when the record lists at least one site.",
    "highest_phase": "Highest phase reached by the product's counted trials (Early Phase 1 < Phase 1 < "
    "Phase 1/2 < Phase 2 < Phase 2/3 < Phase 3 < Phase 4); in product_table null when none has a phase, "
    "in products_by_phase 'No phase given' or 'No counted trial' then.",
    "highest_phase_order": "Sort key of highest_phase (1 = Early Phase 1 ... 7 = Phase 4).",
    "in_report_groups": "Trials in a report group (CAR-T, TCR-T, TIL or NK: a row in "
    "trial_report_groups group ALL).",
    "in_warehouse": "Trials in the warehouse: the candidate studies loaded.",
    "indication": "Indication approved (short).",
    "inn": "International nonproprietary name, when one exists.",
    "intervention_name": "Intervention name as registered.",
    "intervention_seq": "Position in the record (1-based).",
    "intervention_type": "Raw API intervention type (BIOLOGICAL, GENETIC, DRUG, ...); null when not given.",
    "is_approved": "True when any agency has approved the product.",
    "is_cell_therapy": "True when the trial has at least one trial_modalities row.",
    "is_expanded_access": "Expanded access or compassionate use (study type EXPANDED_ACCESS, or status "
    "AVAILABLE, NO_LONGER_AVAILABLE, TEMPORARILY_NOT_AVAILABLE, APPROVED_FOR_MARKETING); excluded from "
    "the default counts.",
    "is_in_vivo_car": "The CAR is generated in the patient (in vivo CAR), not ex vivo.",
    "is_known_sponsor": "True when the name matched the reviewed alias table.",
    "is_long_term_follow_up": "True when every modality row of the trial (in trial_report_groups: of that "
    "group) has role follow_up: LTFU protocols, registries, real-world studies, no product given; "
    "excluded from the default counts.",
    "is_removed": "True when the country comes from removedCountries: every site there was withdrawn.",
    "landscape_key": "The row's item in its view (section): phase, country_code, sponsor, target, area, "
    "sponsor_type or cell_source; null for the trend (yearly).",
    "landscape_label": "The item's second column where its view has one: country (countries), "
    "sponsor_country (sponsors) or source_basis (cell_sources); else null.",
    "landscape_order": "phase_order for a phases row; else null.",
    "landscape_section": "The view a row comes from: yearly (yearly_counts), phases "
    "(phase_distribution), countries (country_table), sponsors (sponsor_table), targets (target_table), disease_areas "
    "(disease_area_table), sponsor_types (sponsor_type_table) or cell_sources (cell_source_table).",
    "last_update_posted_date": "Date the latest update was posted (in registry_studies: of the record as "
    "last brought; null when it has none).",
    "record_sha256": "sha256 of the record's JSON as landed: the zip entry's bytes for a baseline, the "
    "record re-serialised with sorted keys for a delta (compare within one source kind).",
    "is_registry_cell_therapy": "True when the classifier found a cell-therapy modality in the record "
    "(the study is then in the trial tables, unless quarantined).",
    "latitude": "Site latitude (geoPoint).",
    "longitude": "Site longitude (geoPoint).",
    "modality": "Cell-therapy modality: CAR-T, CAR-NK, NK, TCR-T, TIL, CAR-NKT, CAR-gdT, CAR-M or OTHER-CELL.",
    "modality_role": "What the trial does with the product: investigational (the product is what it "
    "tests), combination (the product is the backbone of a combination, bridging, consolidation or "
    "augmentation design), follow_up (no product given; treated patients followed: LTFU, registries, "
    "real-world studies). Default counts are investigational + combination.",
    "registry_studies": "Rows of registry_studies: every registry study in registry mode, 0 otherwise.",
    "since": "The run asked for studies updated on or after this date (a registry delta, or a search "
    "with --since); null for a whole pull.",
    "fallback": "Why a registry night ran the searches instead (its download was unavailable); null "
    "otherwise.",
    "baseline_run": "Registry mode: the baseline run this run's registry state rests on (a delta's "
    "baseline; null for the baseline itself).",
    "deltas_applied": "Registry mode: deltas published on that baseline before this run.",
    "index_rows": "Registry mode: rows of registry_studies (one per registry study) after this run.",
    "mode": "How the run got its studies: baseline (the whole registry downloaded), delta (every study "
    "updated since the last registry run) or search (the keyword searches).",
    "name": "Canonical product name (INN short form, or the development code).",
    "nct_id": "ClinicalTrials.gov identifier (NCT + 8 digits); in rejected_studies null when the record "
    "has no usable one.",
    "official_title": "Official (scientific) title; null when not given.",
    "other_names": "Other names (synonyms, product codes) as registered.",
    "overall_status": "Overall recruitment status, raw API code (e.g. RECRUITING, COMPLETED).",
    "payload": "The raw study record as JSON, for inspection.",
    "phase": "Readable phase: Early Phase 1, Phase 1, Phase 1/2, Phase 2, Phase 2/3, Phase 3, Phase 4, "
    "Not Applicable (API code NA, or observational with no phase), Not Provided (no phase given).",
    "phase_codes": "Raw API phase codes as registered (e.g. [PHASE1, PHASE2]); empty when none.",
    "phase_order": "Sort key of the phase: 1 = Early Phase 1 ... 7 = Phase 4, then 8 = Not Applicable "
    "(products_by_phase: No phase given), 9 = Not Provided (products_by_phase: No counted trial).",
    "product_id": "Product identifier of the reviewed dictionary (products.product_id, a stable slug).",
    "product_source": "Where the facts come from: NCT ids with the text that states them, or the public label.",
    "products": "Products of the dictionary in the row (by modality and highest phase, or by developer "
    "country and modality).",
    "products_in_trials": "Of these products, those with at least one counted trial ('in clinical development').",
    "products_section": "What a row of report.products is: product (a product approved or given in a "
    "trial), product_group (a modality and a report group it counts in, from report_groups), "
    "by_phase (a products_by_phase row) or by_country (a products_by_country row).",
    "published": "True when this run's data was published to the warehouse.",
    "quality": "JSON: the data-quality summary.",
    "queries": "JSON: every query with its parameters, totalCount, pages and unique studies.",
    "rank": "Competition rank by trials within the row's group, basis and year (and role): ties share a "
    "rank and the next skips (1, 2, 2, 4); null for the 'Not provided' / 'Not named' row.",
    "reason": "Why the study was rejected (every failed check, '; '-separated).",
    "rejected_studies": "Studies quarantined by this run.",
    "report_group": "Report group: CAR-T, TCR-T, TIL, NK (NK + CAR-NK) or ALL (any of those).",
    "role": "lead (the lead sponsor) or collaborator.",
    "run_id": "Run identifier: UTC start time to the microsecond plus a random suffix, so ids sort by "
    "time; names the raw folder. Outside runs: the run that loaded, rejected or published the row.",
    "run_kind": "api (paged search) or bulk (a downloaded file).",
    "run_source": "Bulk source file (bulk runs).",
    "share": "trials / all trials of the report group, basis and year; a trial counted in several rows "
    "(countries, sponsors, areas, targets, types) makes shares add up to more than 1; 0 when the year "
    "has no trial.",
    "site_count": "Number of listed sites of the trial in this country (0 for removed countries and "
    "'Not provided').",
    "site_seq": "Position of the site in the record (1-based).",
    "site_status": "Site recruitment status, raw API code.",
    **_SPONSOR,
    "source_basis": "What decided the cell source of these trials: stated, product or inferred "
    "(trial_flags.cell_source_basis), or unknown where the cell source is unclear.",
    "sponsor_role": "lead (the lead sponsor only) or any (the lead sponsor or any collaborator: a trial "
    "counts once for each).",
    "sponsor_type": "academic, hospital, industry, government or other.",
    "start_date": "Start date; a partial date is stored as its first day (see start_date_precision).",
    "start_date_precision": "Precision of the registered start date: year, month or day.",
    "start_date_raw": "Start date string exactly as registered (yyyy, yyyy-MM or yyyy-MM-dd).",
    "start_date_type": "ACTUAL or ESTIMATED; null on old records that omit it.",
    "start_year": "Calendar year of the start date (year basis start); start dates are often estimated.",
    "started_at": "Start (UTC).",
    "state": "State or province.",
    "status": "running, publishing (swapping the warehouse in), succeeded, failed or abandoned (its "
    "process died before publishing).",
    "study_type": "INTERVENTIONAL, OBSERVATIONAL or EXPANDED_ACCESS; null when not given.",
    "target": "Canonical antigen name (CD19, BCMA, ...); 'Not named' for trials naming no target.",
    "targets": "Antigens targeted, canonical names (CD19, BCMA, SLAMF7, B7-H3, ...).",
    "trials": "Trials counted in the row (once each; 0 in a filled zero year). The view's comment says "
    "what puts a trial in the row.",
    "trials_loaded": "Trials in the published trials table after this run.",
    "trialtrends_version": "trialtrends version.",
    "unique_studies": "Unique studies pulled or scanned.",
    "withdrawn": "Trials of a report group that were withdrawn before enrolling (overall_status "
    "WITHDRAWN; the views count them).",
    "year": "Calendar year of the trial under the row's basis.",
    "zip": "Postal code.",
    # The lead sponsor's copy of the organisation fields (trials): one wording, derived.
    "lead_sponsor": "Of the lead sponsor: " + _SPONSOR["sponsor"],
    "lead_sponsor_raw": "Of the lead sponsor: " + _SPONSOR["sponsor_raw"],
    "lead_sponsor_class": "Of the lead sponsor: " + _SPONSOR["agency_class"],
    "lead_sponsor_parent": "Of the lead sponsor: " + _SPONSOR["sponsor_parent"],
    "lead_sponsor_country": "Of the lead sponsor: " + _SPONSOR["sponsor_country"],
}


class UndescribedField(KeyError):
    """A column whose name (or the entry it points at) has no description in FIELDS."""


def doc(name: str) -> str:
    """The description of one field; a missing one names the file to add it to."""
    try:
        return FIELDS[name]
    except KeyError:
        raise UndescribedField(f"{name!r} has no description in src/trialtrends/schemas/fields.py") from None


class Described(pa.DataFrameModel):
    """A model whose columns take their descriptions from FIELDS, by column name.

    A field that sets `description=doc("other")` keeps it (a narrower concept under a shared name);
    any other field gets `FIELDS[<its name>]`, so a column added without a description fails at import.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        for name in inspect.get_annotations(cls):
            value = cls.__dict__.get(name)
            if value is None:
                # setattr on a class does not call __set_name__, which names the field.
                field = pa.Field(description=doc(name))
                field.__set_name__(cls, name)
                setattr(cls, name, field)
            elif isinstance(value, FieldInfo) and value.description is None:
                value.description = doc(name)
        super().__init_subclass__(**kwargs)
