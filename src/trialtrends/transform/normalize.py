"""Normalize: API v2 study records -> the analyst tables (pure; no I/O).

`flatten.flatten_studies` walks each record once in plain Python; `build_tables` turns the
collected rows into typed Polars frames and applies the vectorised country and sponsor mappings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

import polars as pl

from trialtrends.schemas import (
    RejectedStudies,
    TrialConditions,
    TrialCountries,
    TrialInterventions,
    Trials,
    TrialSites,
    TrialSponsors,
    polars_schema,
)
from trialtrends.transform import countries, sponsors
from trialtrends.transform.flatten import LIST_SEP, UNMAPPED_CODE, Rows, flatten_studies
from trialtrends.transform.study_text import TEXT_COLUMNS
from trialtrends.transform.text_hygiene import (
    LONG,
    NAME,
    SHORT,
    TERM,
    TITLE,
    HygieneCounts,
    Kind,
    cap_items,
    clean_frame,
    safe_values,
)


@dataclass
class Tables:
    """The normalized frames of one run (before validation)."""

    trials: pl.DataFrame
    trial_countries: pl.DataFrame
    trial_sponsors: pl.DataFrame
    trial_sites: pl.DataFrame
    trial_conditions: pl.DataFrame
    trial_interventions: pl.DataFrame
    trial_text: pl.DataFrame
    rejected_studies: pl.DataFrame
    #: What text hygiene cleaned and capped while these tables were built (not a table).
    hygiene: HygieneCounts = field(default_factory=HygieneCounts)

    TABLES = (
        "trials", "trial_countries", "trial_sponsors", "trial_sites", "trial_conditions",
        "trial_interventions",
    )  # fmt: skip

    def frames(self) -> dict[str, pl.DataFrame]:
        """The analyst tables that are validated and loaded (not trial_text, not rejects)."""
        return {name: getattr(self, name) for name in self.TABLES}

    def all_frames(self) -> dict[str, pl.DataFrame]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "hygiene"}

    def filter_trials(self, nct_ids: pl.Series) -> Tables:
        """The same tables restricted to the given trials (rejects are kept as they are)."""
        keep = pl.col("nct_id").is_in(nct_ids.implode())
        return Tables(
            **{
                name: frame if name == "rejected_studies" else frame.filter(keep)
                for name, frame in self.all_frames().items()
            },
            hygiene=self.hygiene,
        )


_TRIAL_ROW_SCHEMA = {
    "nct_id": pl.Utf8, "brief_title": pl.Utf8, "official_title": pl.Utf8, "acronym": pl.Utf8,
    "overall_status": pl.Utf8, "study_type": pl.Utf8, "phase": pl.Utf8,
    "phase_codes": pl.List(pl.Utf8), "enrollment_count": pl.Int64, "start_date": pl.Date,
    "start_date_precision": pl.Utf8, "start_date_raw": pl.Utf8, "start_date_type": pl.Utf8,
    "first_submitted_date": pl.Date, "first_posted_date": pl.Date,
    "last_update_posted_date": pl.Date, "lead_sponsor_raw": pl.Utf8,
    "lead_sponsor_class": pl.Utf8, "has_locations": pl.Boolean, "run_id": pl.Utf8,
}  # fmt: skip
_SPONSOR_ROW_SCHEMA = {
    "nct_id": pl.Utf8,
    "role": pl.Utf8,
    "sponsor_raw": pl.Utf8,
    "agency_class": pl.Utf8,
}
_SITE_ROW_SCHEMA = {
    "nct_id": pl.Utf8, "site_seq": pl.Int32, "facility": pl.Utf8, "city": pl.Utf8,
    "state": pl.Utf8, "zip": pl.Utf8, "country_raw": pl.Utf8, "site_status": pl.Utf8,
    "latitude": pl.Float64, "longitude": pl.Float64,
}  # fmt: skip
_REMOVED_ROW_SCHEMA = {"nct_id": pl.Utf8, "country_raw": pl.Utf8, "is_removed": pl.Boolean}

# Free-text columns and how each is cleaned and capped (transform/text_hygiene.py): every
# registry string that reaches a table, the classifier or a terminal is in this list.
_TRIAL_TEXT = {
    "brief_title": TITLE, "official_title": TITLE, "acronym": SHORT, "lead_sponsor_raw": NAME,
    "start_date_raw": SHORT,
}  # fmt: skip
_SPONSOR_TEXT = {"sponsor_raw": NAME}
_SITE_TEXT = {
    "facility": NAME, "city": SHORT, "state": SHORT, "zip": SHORT, "country_raw": SHORT,
    "site_status": SHORT,
}  # fmt: skip
_REMOVED_TEXT = {"country_raw": SHORT}
_CONDITION_TEXT = {"condition": TERM}
_INTERVENTION_TEXT: dict[str, Kind] = {"name": NAME, "other_names": TERM, "description": LONG}
# The classifier's input: long text, kept for reading only (not loaded).
_CLASSIFIER_TEXT = dict.fromkeys((c for c in TEXT_COLUMNS if c != "nct_id"), LONG)


# List-valued cells travel as one string joined with this separator (None when empty) and are
# split back in Polars: building a list column from Python lists costs one Series per row.


def _series(name: str, values: tuple | list, dtype: pl.DataType) -> pl.Series:
    if isinstance(dtype, pl.List):
        joined = pl.Series(name, values, dtype=pl.Utf8)
        return joined.str.split(LIST_SEP).fill_null(pl.lit([], dtype)).cast(dtype)
    return pl.Series(name, values, dtype=dtype)


def _safe_series(
    name: str, values: tuple, dtype: pl.DataType, table: str, counts: HygieneCounts
) -> pl.Series:
    """The column, with lone surrogates replaced when Polars refuses them (UTF-8 has none)."""
    try:
        return _series(name, values, dtype)
    except UnicodeEncodeError:
        fixed, changed = safe_values(values)
        counts.cleaned[f"{table}.{name}"] += changed
        return _series(name, fixed, dtype)


def _frame(
    rows: list[tuple], schema: dict[str, pl.DataType], table: str, counts: HygieneCounts
) -> pl.DataFrame:
    # Transpose in C (zip) and build column by column: many times faster than Polars'
    # row-wise constructor.
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
    return pl.DataFrame(
        [
            _safe_series(name, values, dtype, table, counts)
            for (name, dtype), values in zip(schema.items(), columns, strict=True)
        ]
    )


def _text_frame(rows: list[dict], counts: HygieneCounts) -> pl.DataFrame:
    """The classifier's text rows as a frame (surrogates replaced as in `_safe_series`)."""
    schema = dict.fromkeys(TEXT_COLUMNS, pl.Utf8)
    try:
        return pl.DataFrame(rows, schema=schema)
    except UnicodeEncodeError:
        fixed, changed = safe_values(rows)
        counts.cleaned["trial_text"] += changed
        return pl.DataFrame(fixed, schema=schema)


def _map_country_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """Add country_code/country; an unmapped string keeps its raw text under code ZZ."""
    mapped = countries.map_countries(frame, raw_col="country_raw")
    return mapped.with_columns(
        pl.when(pl.col("country_raw").is_null())
        .then(None)
        .otherwise(pl.col("country_code").fill_null(UNMAPPED_CODE))
        .alias("country_code")
    )


def build_tables(rows: Rows) -> Tables:
    """Typed frames from collected rows, with clean text and canonical countries and sponsors."""
    counts = HygieneCounts()

    def clean(
        rows_: list[tuple], schema: dict[str, pl.DataType], table: str, text: dict[str, Kind]
    ) -> pl.DataFrame:
        return clean_frame(_frame(rows_, schema, table, counts), table, text, counts)

    trials = clean(rows.trials, _TRIAL_ROW_SCHEMA, "trials", _TRIAL_TEXT)
    # A collaborator whose name is nothing but control characters is no collaborator; a lead
    # sponsor's is kept (as null) so that validation quarantines the study.
    sponsor_rows = clean(rows.sponsors, _SPONSOR_ROW_SCHEMA, "trial_sponsors", _SPONSOR_TEXT).filter(
        pl.col("sponsor_raw").is_not_null() | (pl.col("role") == "lead")
    )
    # Cleaned before mapping: "Germany\u200b" or an ANSI-coloured name is Germany.
    sites = _map_country_columns(clean(rows.sites, _SITE_ROW_SCHEMA, "trial_sites", _SITE_TEXT))
    removed = clean(rows.countries, _REMOVED_ROW_SCHEMA, "trial_countries", _REMOVED_TEXT).filter(
        pl.col("country_raw").is_not_null()
    )
    conditions = clean(
        rows.conditions, polars_schema(TrialConditions), "trial_conditions", _CONDITION_TEXT
    ).filter(pl.col("condition").is_not_null())
    conditions = cap_items(conditions, "trial_conditions", "condition", ["nct_id", "kind"], TERM, counts)
    interventions = clean(
        rows.interventions, polars_schema(TrialInterventions), "trial_interventions", _INTERVENTION_TEXT
    ).with_columns(pl.col("name").fill_null("(unnamed)"))
    trial_text = clean_frame(_text_frame(rows.text, counts), "trial_text", _CLASSIFIER_TEXT, counts)

    canonical = sponsors.canonicalize_sponsors(sponsor_rows, raw_col="sponsor_raw", class_col="agency_class")
    # One row per trial and organisation: a collaborator that is also the lead (after
    # canonicalisation) or listed twice under two spellings is kept once, lead first.
    trial_sponsors = (
        canonical.with_row_index("_order")
        .sort(["nct_id", pl.col("role") != "lead", "_order"])
        .unique(subset=["nct_id", "sponsor"], keep="first", maintain_order=True)
        .drop("_order")
        .select(list(polars_schema(TrialSponsors)))
    )
    lead = canonical.filter(pl.col("role") == "lead").select(
        "nct_id",
        pl.col("sponsor").alias("lead_sponsor"),
        pl.col("sponsor_parent").alias("lead_sponsor_parent"),
        pl.col("sponsor_country").alias("lead_sponsor_country"),
    )
    trials = (
        trials.join(lead, on="nct_id", how="left", maintain_order="left")
        .with_columns(
            pl.col("first_posted_date").dt.year().cast(pl.Int32).alias("first_posted_year"),
            pl.col("first_submitted_date").dt.year().cast(pl.Int32).alias("first_submitted_year"),
            pl.col("start_date").dt.year().cast(pl.Int32).alias("start_year"),
        )
        .select(list(polars_schema(Trials)))
    )
    return Tables(
        trials=trials,
        trial_countries=trial_countries(sites, removed, trials),
        trial_sponsors=trial_sponsors,
        trial_sites=sites.select(list(polars_schema(TrialSites))),
        trial_conditions=conditions,
        trial_interventions=interventions,
        trial_text=trial_text,
        rejected_studies=_frame(rows.rejected, polars_schema(RejectedStudies), "rejected_studies", counts),
        hygiene=counts,
    )


def trial_countries(sites: pl.DataFrame, removed: pl.DataFrame, trials: pl.DataFrame) -> pl.DataFrame:
    """One row per trial and country: sites counted per country, removed countries flagged,
    and a 'Not provided' row for a trial with no current site country (API-NOTES: about one
    study in nine has no location; it must still be counted)."""
    current = (
        sites.filter(pl.col("country_raw").is_not_null())
        .group_by("nct_id", "country", maintain_order=True)
        .agg(
            pl.col("country_code").first(),
            pl.col("country_raw").first(),
            pl.len().cast(pl.Int32).alias("site_count"),
        )
        .with_columns(pl.lit(False).alias("is_removed"))
    )
    gone = (
        _map_country_columns(removed)
        .unique(subset=["nct_id", "country"], keep="first", maintain_order=True)
        .join(current.select("nct_id", "country"), on=["nct_id", "country"], how="anti")
        .with_columns(pl.lit(0, pl.Int32).alias("site_count"))
    )
    columns = list(polars_schema(TrialCountries))
    not_provided = (
        trials.select("nct_id")
        .join(current.select("nct_id").unique(), on="nct_id", how="anti")
        .with_columns(
            pl.lit(countries.NOT_PROVIDED_CODE).alias("country_code"),
            pl.lit(countries.NOT_PROVIDED_NAME).alias("country"),
            pl.lit(None, pl.Utf8).alias("country_raw"),
            pl.lit(0, pl.Int32).alias("site_count"),
            pl.lit(False).alias("is_removed"),
        )
    )
    return pl.concat(
        [current.select(columns), gone.select(columns), not_provided.select(columns)],
        how="vertical",
    ).sort("nct_id", maintain_order=True)


def normalize_studies(studies: Iterable[Any], run_id: str) -> Tables:
    """Records in, normalized tables out (convenience for small inputs and tests)."""
    return build_tables(flatten_studies(studies, run_id))
