"""Validate: pandera checks at the normalize -> load boundary, with per-study quarantine.

A study whose rows fail a check is removed from every table and recorded in `rejected_studies`
with each failed check as its reason; the run goes on. A failure that cannot be pinned to a
study (a wrong dtype, a missing column) is a bug in trialtrends and fails the run.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace

import pandera.errors
import polars as pl

from trialtrends.errors import TrialtrendsError
from trialtrends.schemas import CLASSIFIER_MODELS, TABLE_MODELS, RejectedStudies, polars_schema
from trialtrends.transform.normalize import Tables
from trialtrends.words import plural

log = logging.getLogger(__name__)

# payloads(nct_ids) -> {nct_id: raw JSON}: how the caller fetches raw records for quarantine.
PayloadLookup = Callable[[set[str]], dict[str, str]]


class ValidationFailed(TrialtrendsError):
    """A validation problem that is not one study's fault: a bug in trialtrends, not bad data."""


def _failures(name: str, frame: pl.DataFrame) -> dict[str, list[str]]:
    """nct_id -> failed checks for one table (empty when the table is valid)."""
    model = TABLE_MODELS[name]
    try:
        model.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return {}
    reasons: dict[str, list[str]] = defaultdict(list)
    unpinned = cases.filter(pl.col("index").is_null())
    if unpinned.height:
        raise ValidationFailed(
            f"{name} fails checks that no single study explains: "
            + "; ".join(f"{r['column']}: {r['check']}" for r in unpinned.head(5).iter_rows(named=True))
        )
    ids = frame["nct_id"]
    for row in cases.iter_rows(named=True):
        nct_id = ids[row["index"]]
        value = str(row["failure_case"])
        shown = value if len(value) <= 60 else value[:57] + "..."
        reasons[nct_id].append(f"{name}.{row['column']} failed {row['check']} ({shown!r})")
    return reasons


@dataclass(frozen=True)
class Validated:
    """Tables that passed every check, with the failing studies moved to rejected_studies."""

    tables: Tables
    rejected: int


def validate_tables(tables: Tables, run_id: str, payloads: PayloadLookup | None = None) -> Validated:
    """Check every table and quarantine failing studies (the data-quality gate judges how many).

    `payloads` fetches the raw records of the quarantined studies; without it their payload is
    JSON null until the caller fills it in (the pipeline does, after its last chunk).
    """
    reasons: dict[str, list[str]] = defaultdict(list)
    for name, frame in tables.frames().items():
        for nct_id, problems in _failures(name, frame).items():
            reasons[nct_id].extend(problems)
    bad = set(reasons)
    if bad:
        log.warning("quarantining %s that failed validation", plural(len(bad), "study", "studies"))
        raw = payloads(bad) if payloads else {}
        quarantined = pl.DataFrame(
            [
                (nct_id, run_id, "; ".join(dict.fromkeys(reasons[nct_id])), raw.get(nct_id, "null"))
                for nct_id in sorted(bad)
            ],
            schema=polars_schema(RejectedStudies),
            orient="row",
        )
        keep = ~pl.col("nct_id").is_in(list(bad))
        tables = replace(
            tables,
            **{name: frame.filter(keep) for name, frame in tables.frames().items()},
            trial_text=tables.trial_text.filter(keep),
            rejected_studies=pl.concat([tables.rejected_studies, quarantined]),
        )
    RejectedStudies.validate(tables.rejected_studies, lazy=True)
    return Validated(tables=tables, rejected=len(bad))


def validate_classified(frames: dict[str, pl.DataFrame]) -> None:
    """Check the classifiers' output frames against their contracts.

    The classifiers compute every value from rule data, so a failure here is a bug in a rule or
    the engine, never one study's fault: it fails the run instead of quarantining.
    """
    for name, model in CLASSIFIER_MODELS.items():
        if name not in frames:
            continue
        try:
            model.validate(frames[name], lazy=True)
        except pandera.errors.SchemaErrors as exc:
            cases = exc.failure_cases.head(5).iter_rows(named=True)
            raise ValidationFailed(
                f"classifier output {name} breaks its contract: "
                + "; ".join(f"{r['column']}: {r['check']} ({r['failure_case']!r})" for r in cases)
            ) from exc
