"""DuckDB DDL for the warehouse, derived from the pandera models plus the run-history tables.

Column comments come from the models' descriptions (one definition per column).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from trialtrends.schemas import TABLE_MODELS, RejectedStudies, descriptions, polars_schema


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    nullable: bool
    comment: str


@dataclass(frozen=True)
class Table:
    name: str
    comment: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()

    def ddl(self) -> str:
        cols = [f"{c.name} {c.sql_type}{'' if c.nullable else ' not null'}" for c in self.columns]
        if self.primary_key:
            cols.append(f"primary key ({', '.join(self.primary_key)})")
        return f"create table {self.name} (\n    " + ",\n    ".join(cols) + "\n)"


_SQL_TYPES = {
    pl.Utf8: "varchar",
    pl.Int64: "bigint",
    pl.Int32: "integer",
    pl.Date: "date",
    pl.Boolean: "boolean",
    pl.Float64: "double",
}


def _sql_type(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.List):
        return _sql_type(dtype.inner) + "[]"
    for polars_type, sql in _SQL_TYPES.items():
        if dtype == polars_type:
            return sql
    raise TypeError(f"no DuckDB type for {dtype}")


def _from_model(name: str, model: type, primary_key: tuple[str, ...]) -> Table:
    schema = model.to_schema()
    notes = descriptions(model)
    return Table(
        name=name,
        comment=(model.__doc__ or "").strip(),
        columns=tuple(
            Column(col, _sql_type(dtype), schema.columns[col].nullable, notes[col])
            for col, dtype in polars_schema(model).items()
        ),
        primary_key=primary_key,
    )


def _table(name: str, comment: str, key: tuple[str, ...], *cols: tuple[str, str, bool, str]) -> Table:
    return Table(name, comment, tuple(Column(*c) for c in cols), key)


_KEYS = {
    "trials": ("nct_id",),
    "trial_countries": ("nct_id", "country"),
    "trial_sponsors": ("nct_id", "sponsor"),
    "trial_sites": ("nct_id", "site_seq"),
    "trial_conditions": ("nct_id", "condition_seq"),
    "trial_interventions": ("nct_id", "intervention_seq"),
}

TABLES: tuple[Table, ...] = (
    *(_from_model(name, model, _KEYS[name]) for name, model in TABLE_MODELS.items()),
    _table(
        "trial_modalities",
        "One row per trial and cell-therapy modality the classifier found (no row: no cell product).",
        ("nct_id", "modality"),
        ("nct_id", "varchar", False, "ClinicalTrials.gov identifier."),
        (
            "modality",
            "varchar",
            False,
            "CAR-T, CAR-NK, NK, TCR-T, TIL, CAR-NKT, CAR-gdT, CAR-M or OTHER-CELL.",
        ),
        ("evidence", "varchar", False, "The rule that matched and the text it matched."),
        (
            "classifier_version",
            "varchar",
            False,
            "Version of the classifier rules that produced the row.",
        ),
    ),
    _table(
        "trial_flags",
        "One row per trial: classifier flags and targets.",
        ("nct_id",),
        ("nct_id", "varchar", False, "ClinicalTrials.gov identifier."),
        (
            "is_cell_therapy",
            "boolean",
            False,
            "True when the trial tests at least one cell product (has a trial_modalities row).",
        ),
        (
            "is_long_term_follow_up",
            "boolean",
            False,
            "Follow-up or registry study of patients already treated; excluded from the default counts.",
        ),
        (
            "is_in_vivo_car",
            "boolean",
            False,
            "The CAR is generated in the patient (in vivo CAR), not ex vivo.",
        ),
        (
            "targets",
            "varchar[]",
            False,
            "Antigens targeted, canonical upper case (CD19, BCMA, ...).",
        ),
        ("classifier_version", "varchar", False, "Version of the classifier rules."),
    ),
    _table(
        "report_groups",
        "Which modalities each report group counts (NK = NK + CAR-NK; ALL = CAR-T, TCR-T, TIL, NK, CAR-NK).",
        ("modality", "report_group"),
        ("modality", "varchar", False, "Classifier modality."),
        (
            "report_group",
            "varchar",
            False,
            "Report group used by the views: CAR-T, TCR-T, TIL, NK or ALL.",
        ),
    ),
    _from_model("rejected_studies", RejectedStudies, ()),
    _table(
        "runs",
        "One row per refresh, from the raw landing manifests (failed runs included).",
        ("run_id",),
        (
            "run_id",
            "varchar",
            False,
            "Run identifier (UTC start time + suffix); names the raw folder.",
        ),
        ("kind", "varchar", False, "api (paged search) or bulk (a downloaded file)."),
        ("mode", "varchar", True, "full or incremental (--since)."),
        ("status", "varchar", False, "running, succeeded or failed."),
        (
            "published",
            "boolean",
            False,
            "True when this run's data was published to the warehouse.",
        ),
        ("started_at", "timestamp", True, "Start (UTC)."),
        ("finished_at", "timestamp", True, "End (UTC)."),
        ("api_url", "varchar", True, "API base URL (api runs)."),
        ("api_version", "varchar", True, "apiVersion from GET /version."),
        (
            "data_timestamp",
            "varchar",
            True,
            "dataTimestamp from GET /version: the registry snapshot.",
        ),
        ("source", "varchar", True, "Bulk source file (bulk runs)."),
        (
            "queries",
            "varchar",
            True,
            "JSON: every query with its parameters, totalCount, pages and unique studies.",
        ),
        ("unique_studies", "bigint", True, "Unique studies pulled or scanned."),
        ("trials_loaded", "bigint", True, "Trials in the published trials table after this run."),
        ("rejected_studies", "bigint", True, "Studies quarantined by this run."),
        ("classifier_version", "varchar", True, "Classifier version used."),
        ("gates", "varchar", True, "JSON: every gate with its result and reason."),
        ("quality", "varchar", True, "JSON: the data-quality summary."),
        ("error", "varchar", True, "Why the run failed (one sentence)."),
        ("trialtrends_version", "varchar", True, "trialtrends version."),
    ),
    _table(
        "trial_changes",
        "Per run: trials added, removed or changed against the previously published warehouse.",
        ("run_id", "nct_id"),
        ("run_id", "varchar", False, "Run that published the change."),
        ("nct_id", "varchar", False, "ClinicalTrials.gov identifier."),
        ("change", "varchar", False, "added, removed or changed."),
        (
            "changed_fields",
            "varchar[]",
            False,
            "For changed trials: which of status, phase, sponsor, countries, modality changed.",
        ),
    ),
)

TABLES_BY_NAME = {t.name: t for t in TABLES}


def quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"
