"""The gate stage: every check a run must pass before it may publish (validate.gates)."""

from __future__ import annotations

import json
import logging

from trialtrends.manifest import BASELINE, DELTA
from trialtrends.pipeline.context import RunContext
from trialtrends.validate import gates

log = logging.getLogger(__name__)


def gate(ctx: RunContext) -> None:
    """Record every gate's result (`ctx.results`, the manifest) and raise GateFailed unless all
    passed. A zip still being checksummed must have landed first (every published run is pinned)."""
    run, manifest = ctx.require_run
    judged = ctx.require_judged
    if ctx.finish_landing is not None:
        ctx.finish_landing()
        ctx.finish_landing = None
    if not manifest.landed:
        raise gates.GateFailed([gates.GateResult("landed", False, "the run's input did not land completely")])
    if manifest.kind == "bulk" and manifest.unique_studies is None:
        manifest.unique_studies = judged.scanned - judged.duplicates
    results = []
    if manifest.kind == "api":
        previous = _previous_unique(ctx) if manifest.mode != DELTA and not manifest.since else None
        results.append(
            gates.reconciliation(
                manifest.queries, manifest.unique_studies or 0, previous, ctx.settings.max_count_drop
            )
        )
        data = ctx.data_run or run
        metadata_entry = (
            data.manifest().file_of_kind("metadata") if data is not run else manifest.file_of_kind("metadata")
        )
        metadata = json.loads(data.read_body(metadata_entry)) if metadata_entry else None
        results.append(gates.schema_drift(metadata))
    else:
        ok = manifest.entries == judged.scanned
        results.append(
            gates.GateResult("reconciliation", ok, f"scanned {judged.scanned} of {manifest.entries} entries")
        )
    if manifest.mode == BASELINE:
        results.append(
            gates.baseline_size(
                judged.scanned - judged.duplicates,
                manifest.registry_total,
                _previous_baseline_entries(ctx),
                ctx.settings.max_count_drop,
            )
        )
    if manifest.mode == DELTA:
        results.append(
            gates.delta_share(judged.index_rows, _published_index_size(ctx), ctx.settings.max_delta_share)
        )
    results.append(
        gates.data_quality(
            judged.rejected_share,
            ctx.settings.max_rejected_share,
            judged.quality.unmapped_countries,
            gates.unmapped_country_share(judged.builder.query, judged.trials),
            ctx.settings.max_unmapped_country_share,
        )
    )
    if manifest.kind == "api" and manifest.mode != DELTA:
        results.append(
            gates.classifier_sanity(judged.trials, judged.classified, ctx.settings.max_unclassified_share)
        )
    elif manifest.mode == DELTA and ctx.carried_over is not None:
        # A delta can bring no cell therapy at all on a quiet day, but the cell-therapy trials it
        # re-judges stay cell therapy but for a few.
        carried = ctx.carried_over
        results.append(
            gates.delta_classifier_sanity(
                carried.replaced_cell_therapy, carried.dropped_cell_therapy, ctx.settings.max_dropped_share
            )
        )
    elif manifest.mode != DELTA:
        # A baseline or a bulk file always holds cell therapy.
        results.append(
            gates.GateResult(
                "classifier_sanity",
                judged.classified > 0,
                f"{judged.classified} cell-therapy trials in {judged.scanned} scanned studies",
            )
        )
    ctx.results = results
    manifest.gates = [r.as_dict() for r in results]
    for result in results:
        (log.info if result.passed else log.error)("gate %s: %s", result.name, result.detail)
    if not all(r.passed for r in results):
        raise gates.GateFailed(results)


def _previous_unique(ctx: RunContext) -> int | None:
    """Unique studies of the last published full search, for the drop gate."""
    _run, manifest = ctx.require_run
    for _other, m in reversed(ctx.history):
        if (
            m.published
            and m.kind == manifest.kind
            and m.mode == manifest.mode
            and not m.since
        ):
            return m.studies
    return None


def _previous_baseline_entries(ctx: RunContext) -> int | None:
    """Studies of the last published registry download (a file given with --source is the user's
    choice of input, so only downloads are compared with downloads)."""
    _run, manifest = ctx.require_run
    if manifest.registry_total is None:
        return None
    for _other, m in reversed(ctx.history):
        if (
            m.published
            and m.mode == BASELINE
            and m.registry_total is not None
        ):
            return m.studies
    return None


def _published_index_size(ctx: RunContext) -> int | None:
    """Rows of the published registry index (the delta gate's denominator)."""
    previous = ctx.previous
    return previous.index_rows if previous is not None and previous.mode in (BASELINE, DELTA) else None
