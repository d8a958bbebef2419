"""The publish stage: finish the staged warehouse, swap it in, record the outcome.

The manifest says `publishing` before the swap and `succeeded` after it; a run killed between the
two is settled by the next run from the published warehouse's own `runs` row (housekeeping.tidy),
so a run whose data is live is never shown as abandoned.
"""

from __future__ import annotations

import copy
import logging

import polars as pl

from trialtrends.manifest import BASELINE, DELTA, PUBLISHING, SUCCEEDED, RunManifest, utc_now
from trialtrends.pipeline.chunks import _peak_mb
from trialtrends.pipeline.context import RunContext
from trialtrends.pipeline.housekeeping import Runs, prune
from trialtrends.pipeline.merge import change_scope
from trialtrends.transform.classify import REPORT_GROUPS
from trialtrends.transform.products import product_frames

log = logging.getLogger(__name__)


def report_groups_frame() -> pl.DataFrame:
    rows = [(m, group) for group, mods in REPORT_GROUPS.items() for m in mods]
    return pl.DataFrame(rows, schema={"modality": pl.Utf8, "report_group": pl.Utf8}, orient="row")


def run_rows(history: Runs, current: RunManifest) -> list[dict[str, object]]:
    """Rows for `runs`: every other landed run's manifest, and the current run (held in memory)
    as it will publish."""
    rows = [m.runs_row() for _run, m in history]
    return sorted([*rows, current.runs_row()], key=lambda row: str(row["run_id"]))


def publish(ctx: RunContext) -> None:
    """Swap the staged warehouse in and mark the run succeeded (see the module docstring)."""
    _run, manifest = ctx.require_run
    builder = ctx.require_judged.builder
    builder.append("report_groups", report_groups_frame())
    for name, frame in product_frames().items():
        builder.append(name, frame)
    manifest.trials_loaded = builder.query("select count(*) from trials")[0][0]
    if manifest.mode in (BASELINE, DELTA):
        manifest.index_rows = builder.query("select count(*) from registry_studies")[0][0]
    manifest.status = PUBLISHING
    ctx.save()
    # The runs table shows this run as it stands once the swap is done: what a reader sees.
    final = copy.deepcopy(manifest)
    final.status, final.published, final.finished_at = SUCCEEDED, True, utc_now()
    builder.publish(run_rows(ctx.history, final), changes=change_scope(ctx))
    ctx.manifest = manifest = final
    if builder.recovered is not None:
        manifest.recovered_warehouse = str(builder.recovered)
        log.warning("published as a first load: the previous warehouse was unreadable")
    ctx.save()
    log.debug("published; peak RSS %.0f MB", _peak_mb())
    if manifest.mode in (BASELINE, DELTA):
        prune([*ctx.history, (ctx.require_run[0], manifest)])
