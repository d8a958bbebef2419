"""A run, stage by stage: acquire -> judge -> merge -> gate -> publish (see `stages`).

The modules read in the order a run flows: `context` (the one typed run context), `acquire`
(download, pull or read the night's studies), `chunks` and `bulk` (normalise, classify and
validate records; the bulk path's scan, judge and normalise tasks), `index` (registry mode's
index rows), `judge`, `merge`, `gate`, `publish`, `housekeeping` (the data-folder lock, the truth
about dead runs, retention) and `stages` (the stage list and its failure contract).
"""

from trialtrends.pipeline.context import Progress, Request, RunContext
from trialtrends.pipeline.housekeeping import exclusive
from trialtrends.pipeline.stages import (
    STAGES,
    RefreshError,
    Stage,
    build_landed,
    rebuild,
    refresh,
    run_stages,
)

__all__ = [
    "STAGES",
    "Progress",
    "RefreshError",
    "Request",
    "RunContext",
    "Stage",
    "build_landed",
    "exclusive",
    "rebuild",
    "refresh",
    "run_stages",
]
