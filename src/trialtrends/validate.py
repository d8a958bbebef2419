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
from trialtrends.normalize import Tables
from trialtrends.schemas import TABLE_MODELS, RejectedStudies, polars_schema

log = logging.getLogger(__name__)

# payloads(nct_ids) -> {nct_id: raw JSON}: how the caller fetches raw records for quarantine.
PayloadLookup = Callable[[set[str]], dict[str, str]]


class ValidationFailed(TrialtrendsError):
    """A validation problem that is not one study's fault, or too many rejected studies."""


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
    """Tables that passed every check, plus the quarantine and what it cost."""

    tables: Tables
    rejected_share: float


def validate_tables(
    tables: Tables,
    run_id: str,
    payloads: PayloadLookup | None = None,
    max_rejected_share: float = 1.0,
) -> Validated:
    """Check every table; quarantine failing studies; fail if too many were rejected."""
    reasons: dict[str, list[str]] = defaultdict(list)
    for name, frame in tables.frames().items():
        for nct_id, problems in _failures(name, frame).items():
            reasons[nct_id].extend(problems)
    bad = set(reasons)
    if bad:
        log.warning("quarantining %d studies that failed validation", len(bad))
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
    considered = tables.trials.height + tables.rejected_studies.height
    share = tables.rejected_studies.height / considered if considered else 0.0
    if share > max_rejected_share:
        raise ValidationFailed(
            f"{tables.rejected_studies.height} of {considered} studies were rejected "
            f"({share:.1%}), above the {max_rejected_share:.1%} threshold"
        )
    return Validated(tables=tables, rejected_share=share)
