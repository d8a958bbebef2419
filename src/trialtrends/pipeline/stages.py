"""A run as a list of named stages over one context: acquire -> judge -> merge -> gate -> publish.

`trialtrends refresh` and `rebuild` walk `STAGES` with `run_stages`; the Prefect flow walks the
same list, each stage a task. Whatever goes wrong, the failure contract holds: the half-built
warehouse is dropped (the published one stays), the run is marked failed with a one-line reason
(with its gates and quality when it got that far) and the error propagates. Recording the
failure never hides it: if the manifest cannot be written (a full disk), the run's pre-allocated
status record says so, and the next run's tidy-up reads it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from trialtrends.errors import TrialtrendsError, termination_requested
from trialtrends.extract.raw import RawRun, list_runs
from trialtrends.manifest import BASELINE, FAILED
from trialtrends.pipeline.acquire import acquire, check_rebuildable, last_published
from trialtrends.pipeline.context import Progress, Request, RunContext
from trialtrends.pipeline.gate import gate
from trialtrends.pipeline.housekeeping import exclusive, readable_runs, registry_chain
from trialtrends.pipeline.judge import judge
from trialtrends.pipeline.merge import merge
from trialtrends.pipeline.publish import publish
from trialtrends.settings import Settings

log = logging.getLogger(__name__)


class RefreshError(TrialtrendsError):
    """A refresh that failed; the message is one sentence for the user."""


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[RunContext], None]


#: The one stage list: the CLI and the Prefect flow both walk it.
STAGES: tuple[Stage, ...] = (
    Stage("acquire", acquire),
    Stage("judge", judge),
    Stage("merge", merge),
    Stage("gate", gate),
    Stage("publish", publish),
)

# call(stage, ctx): how a stage is run (directly, or as a Prefect task).
StageCall = Callable[[Stage, RunContext], None]


def _direct(stage: Stage, ctx: RunContext) -> None:
    stage.run(ctx)


def run_stages(ctx: RunContext, stages: Sequence[Stage] = STAGES, call: StageCall = _direct) -> RunContext:
    """Walk the stages in order, writing the manifest at each boundary; on any failure (Ctrl-C
    and SIGTERM included) record it and re-raise."""
    try:
        for stage in stages:
            if stage.name != "acquire":  # the pull and the download have progress of their own
                ctx.event("stage", {"stage": stage.name})
            log.debug("stage %s", stage.name)
            call(stage, ctx)
            ctx.save()
    except BaseException as exc:
        record_failure(ctx, exc)
        raise
    return ctx


def record_failure(ctx: RunContext, exc: BaseException) -> None:
    """Drop the half-built warehouse and mark the run failed; never raises (it runs while an
    error is propagating, and must not replace it)."""
    if ctx.judged is not None:
        ctx.judged.builder.abort()
    if ctx.run is None or ctx.manifest is None:
        return  # nothing was opened (the acquire stage records its own landing failures)
    ctx.manifest.mark_failed("Terminated." if termination_requested() else exc)
    try:
        ctx.save()
    except Exception as write_error:
        log.error("could not record run %s as failed in its manifest: %s", ctx.run.run_id, write_error)
        if not ctx.run.record_status(f"{FAILED}: {ctx.manifest.error}"):
            log.error("could not record run %s as failed at all", ctx.run.run_id)


def refresh(
    settings: Settings,
    *,
    mode: str | None = None,
    full: bool = False,
    since: date | None = None,
    source: Path | None = None,
    progress: Progress | None = None,
    stages: Sequence[Stage] = STAGES,
    call: StageCall = _direct,
    command: str = "refresh",
) -> RunContext:
    """The whole refresh, one at a time per data folder (see README "Registry mode")."""
    mode = mode or ("search" if since else settings.mode)
    if since is not None and mode != "search":
        raise RefreshError("--since applies to search mode; registry mode pulls every update by itself.")
    request = Request(command=command, mode=mode, full=full, since=since, source=source)
    with exclusive(settings, command):
        return run_stages(RunContext(settings, request, progress), stages, call)


def build_landed(settings: Settings, run: RawRun, progress: Progress | None = None) -> RunContext:
    """Judge, merge, gate and publish a run whose input is already landed (every stage but
    acquire), one at a time per data folder; a run that did not land completely is refused."""
    with exclusive(settings, "build"):
        manifest = check_rebuildable(run)
        ctx = RunContext(settings, Request(command="build", mode=manifest.mode), progress, run=run)
        ctx.manifest, ctx.data_run = manifest, run
        ctx.history = list(readable_runs(settings, skip=run.run_id))
        ctx.previous = last_published(ctx.history)
        return run_stages(ctx, [s for s in STAGES if s.name != "acquire"])


def rebuild_targets(settings: Settings, run_id: str | None = None) -> list[RawRun]:
    """The landed runs to rebuild, in order: the one named; else the published registry chain
    (its baseline, then each delta on top of it); else the newest run that landed completely."""
    if run_id is not None:
        chosen = [r for r in list_runs(settings.raw_dir) if r.run_id == run_id]
        if not chosen:
            raise RefreshError(f"No landed run {run_id} under {settings.raw_dir} (see `trialtrends runs`).")
        return chosen
    chain = registry_chain(readable_runs(settings))
    if chain is not None:
        base, _manifest, deltas = chain
        return [_original(settings, base), *(_original(settings, run) for run, _m in deltas)]
    landed = [r for r, m in readable_runs(settings) if m.rebuild_of is None and m.landed and not m.pruned]
    if not landed:
        raise RefreshError(f"No completely landed run under {settings.raw_dir}: run `trialtrends refresh`.")
    return [landed[-1]]


def _original(settings: Settings, run: RawRun) -> RawRun:
    """A rebuild stands for the run it rebuilt: rebuild that one's data."""
    source = run.manifest().rebuild_of
    return RawRun(settings.raw_dir / source) if source else run


def rebuild(
    settings: Settings,
    run_id: str | None = None,
    progress: Progress | None = None,
    stages: Sequence[Stage] = STAGES,
    call: StageCall = _direct,
    command: str = "rebuild",
) -> RunContext:
    """Reprocess landed runs (after a rule change) as new runs, without the network: a registry
    chain is rebuilt baseline first, then each delta merged on top, so it publishes what a fresh
    baseline of the same data would."""
    with exclusive(settings, command):
        targets = rebuild_targets(settings, run_id)
        if len(targets) > 1:
            log.info("rebuilding the registry chain: a baseline and %d deltas", len(targets) - 1)
        ctx: RunContext | None = None
        for target in targets:
            mode = target.manifest().mode
            request = Request(
                command=command, mode="registry" if mode != "search" else "search", rebuild_of=target
            )
            ctx = run_stages(RunContext(settings, request, progress), stages, call)
            if mode == BASELINE:
                log.info("rebuilt baseline %s as run %s", target.run_id, ctx.run.run_id if ctx.run else "?")
        assert ctx is not None
        return ctx
