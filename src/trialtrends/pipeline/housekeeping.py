"""Before and after a run: one writer per data folder, the truth about runs that died, retention.

`exclusive` holds the data folder's lock for a refresh, a rebuild or the nightly flow, and first
settles what dead runs left: a run whose data is live in the published warehouse is recorded as
published (it was killed right after the swap), one that recorded its failure only in its status
record (a full disk) as failed, any other as abandoned; half-written files go.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from trialtrends.extract.raw import RawRun, list_runs, stale_temp_files
from trialtrends.lock import data_dir_lock
from trialtrends.manifest import (
    ABANDONED,
    BASELINE,
    DELTA,
    FAILED,
    PUBLISHING,
    RUNNING,
    SUCCEEDED,
    ManifestError,
    RunManifest,
    utc_now,
)
from trialtrends.settings import Settings

log = logging.getLogger(__name__)


@contextmanager
def exclusive(settings: Settings, command: str | None = None) -> Iterator[None]:
    """Hold the data folder's writer lock (refresh, rebuild, the flow), then settle what dead
    runs left (see tidy)."""
    with data_dir_lock(settings.data_dir, wait=settings.lock_wait, command=command):
        tidy(settings)
        yield


def readable_runs(settings: Settings, skip: str | None = None) -> Iterator[tuple[RawRun, RunManifest]]:
    """Every landed run with its manifest, oldest first (but `skip`, the run in progress, whose
    manifest its context holds); an unreadable manifest is skipped with a warning (one damaged
    folder must not stop every later night)."""
    for run in list_runs(settings.raw_dir):
        if run.run_id == skip:
            continue
        try:
            yield run, run.manifest()
        except ManifestError as exc:
            log.warning("skipping run %s: %s", run.run_id, exc)


def published_run_ids(warehouse: Path) -> set[str]:
    """Runs the published warehouse's own `runs` table shows as published: the truth about a
    run killed after its swap, whatever its manifest says. Empty when there is no readable
    warehouse."""
    if not warehouse.is_file():
        return set()
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return {row[0] for row in con.execute("select run_id from runs where published").fetchall()}
    except duckdb.Error:
        return set()


def tidy(settings: Settings) -> None:
    """With the lock held nobody else is running: whatever says `running` or `publishing` died.

    A run is marked from the best evidence there is: published when its data is live, failed
    with its reason when its status record says so (written when the manifest could not be),
    abandoned otherwise.
    """
    live: set[str] | None = None
    for run, manifest in readable_runs(settings):
        if manifest.status not in (RUNNING, PUBLISHING):
            continue
        if live is None:
            live = published_run_ids(settings.warehouse_path)
        recorded = run.recorded_status()
        manifest.finished_at = manifest.finished_at or utc_now()
        if run.run_id in live:
            manifest.status, manifest.published, manifest.error = SUCCEEDED, True, None
            log.warning("run %s died after publishing: its data is live, marked succeeded", run.run_id)
        elif recorded.startswith(f"{FAILED}:"):
            manifest.mark_failed(recorded.removeprefix(f"{FAILED}:").strip())
            log.warning("run %s failed and could not say so in its manifest: marked failed", run.run_id)
        else:
            manifest.status, manifest.published = ABANDONED, False
            manifest.error = "the process running it ended before it finished"
            if manifest.landed:
                manifest.error += " (all its raw data had landed: `trialtrends rebuild --run` can process it)"
            log.warning("run %s was left running by a process that died: marked abandoned", run.run_id)
        run.write_manifest(manifest)
    for stale in stale_temp_files(settings.raw_dir):
        log.info("removing %s, a half-written file of a killed run", stale)
        stale.unlink(missing_ok=True)


# ---- retention ---------------------------------------------------------------------------------

#: Published baselines whose landed data is kept, with the deltas on top of them.
KEEP_BASELINES = 2


Runs = list[tuple[RawRun, RunManifest]]


def registry_chain(history: Iterable[tuple[RawRun, RunManifest]]) -> tuple[RawRun, RunManifest, Runs] | None:
    """The published state's registry chain among `history` (runs oldest first): the newest
    published baseline and the published deltas after it; None when no baseline was published.
    A rebuild of a run stands for that run (its data is read from the run it rebuilds)."""
    runs = [(r, m) for r, m in history if m.published and m.mode in (BASELINE, DELTA)]
    baselines = [i for i, (_r, m) in enumerate(runs) if m.mode == BASELINE]
    if not baselines:
        return None
    base, base_manifest = runs[baselines[-1]]
    return base, base_manifest, [(r, m) for r, m in runs[baselines[-1] + 1 :] if m.mode == DELTA]


def prune(runs: Runs) -> list[str]:
    """Remove the landed data of registry runs no kept state needs (`runs`: every run, oldest
    first, as they stand now): everything older than the KEEP_BASELINES newest published
    baselines (their manifests stay, marked `pruned`, so the run history is whole). Never touches
    a run the published state or a kept baseline rests on. Returns the pruned run ids."""
    baselines = [i for i, (_r, m) in enumerate(runs) if m.mode == BASELINE and m.published and not m.pruned]
    if len(baselines) <= KEEP_BASELINES:
        return []
    keep_from = baselines[-KEEP_BASELINES]
    pruned = []
    for run, manifest in runs[:keep_from]:
        if manifest.pruned or manifest.mode not in (BASELINE, DELTA):
            continue
        freed = 0
        for file in run.path.iterdir():
            if file.name in ("manifest.json",) or file.name.startswith("."):
                continue
            freed += file.stat().st_size
            file.chmod(0o644)
            file.unlink() if file.is_file() else shutil.rmtree(file)
        manifest.pruned = True
        run.write_manifest(manifest)
        pruned.append(run.run_id)
        log.info("retention: removed the landed data of run %s (%.0f MB)", run.run_id, freed / 1e6)
    return pruned
