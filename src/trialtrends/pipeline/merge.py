"""The merge stage: what a partial run adds to the published warehouse.

A baseline, a bulk file and a full search are whole: they publish what they staged, nothing else.
A registry delta brings every study updated since the last registry run: each replaces its rows
(a cell-therapy study its trial rows, every study its index row) and the rest of the published
warehouse is carried over, so a study that stopped being cell therapy leaves the trial tables. A
search since a date carries over every trial it did not bring.
"""

from __future__ import annotations

import logging

from trialtrends.manifest import DELTA
from trialtrends.pipeline.context import RunContext

log = logging.getLogger(__name__)


def change_scope(ctx: RunContext) -> str:
    """What this run's change log may call removed (load.warehouse.CHANGE_SCOPES)."""
    _run, manifest = ctx.require_run
    if manifest.mode == DELTA:
        return "delta"
    if manifest.since:
        return "batch"
    return "all"


def merge(ctx: RunContext) -> None:
    """Carry the published warehouse's unchanged studies into the one being built."""
    scope = change_scope(ctx)
    if scope == "all":
        return
    judged = ctx.require_judged
    ctx.carried_over = judged.builder.carry_over(scope)
    log.info(
        "merged into the published warehouse: %d trials carried over unchanged", ctx.carried_over.trials
    )
