"""The refresh, stage by stage: land -> process (normalize, classify, validate) -> gates -> publish.

`trialtrends refresh` calls `refresh`; the Prefect flow calls the same stage functions as
tasks. Each stage records what it did in the run's manifest, so `runs` tells the whole story of
every night, failed ones included.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from trialtrends.errors import TrialtrendsError
from trialtrends.extract.api_pull import Progress, pull
from trialtrends.extract.bulk import Checksum, file_sha256, source_facts, source_kind, zip_entries
from trialtrends.extract.raw import RawRun, list_runs, new_run_id, stale_temp_files
from trialtrends.lock import data_dir_lock
from trialtrends.manifest import ABANDONED, RUNNING, SUCCEEDED, ManifestError, RunManifest, utc_now
from trialtrends.process import Processed, _peak_mb, process_run, records_run
from trialtrends.settings import Settings
from trialtrends.transform.classify import CLASSIFIER_VERSION, REPORT_GROUPS
from trialtrends.transform.products import product_frames
from trialtrends.validate import gates

log = logging.getLogger(__name__)


class RefreshError(TrialtrendsError):
    """A refresh that failed; the message is one sentence for the user."""


@dataclass
class RefreshResult:
    run: RawRun
    manifest: RunManifest
    gate_results: list[gates.GateResult] = field(default_factory=list)


# ---- one writer at a time --------------------------------------------------------------------


@contextmanager
def exclusive(settings: Settings, command: str | None = None) -> Iterator[None]:
    """Hold the data folder's writer lock (refresh, rebuild, the flow), then tidy what dead
    runs left: runs still marked running are abandoned, half-written raw files go."""
    with data_dir_lock(settings.data_dir, wait=settings.lock_wait, command=command):
        tidy(settings)
        yield


def readable_runs(settings: Settings) -> Iterator[tuple[RawRun, RunManifest]]:
    """Every landed run with its manifest, oldest first; an unreadable manifest is skipped with
    a warning (one damaged folder must not stop every later night)."""
    for run in list_runs(settings.raw_dir):
        try:
            yield run, run.manifest()
        except ManifestError as exc:
            log.warning("skipping run %s: %s", run.run_id, exc)


def tidy(settings: Settings) -> None:
    """With the lock held nobody else is running: whatever says `running` was killed."""
    for run, manifest in readable_runs(settings):
        if manifest.status == RUNNING:
            manifest.status = ABANDONED
            manifest.published = False
            manifest.finished_at = manifest.finished_at or utc_now()
            manifest.error = "the process running it ended before it finished"
            if manifest.landed:
                manifest.error += " (all its raw data had landed: `trialtrends rebuild --run` can process it)"
            run.write_manifest(manifest)
            log.warning("run %s was left running by a process that died: marked abandoned", run.run_id)
    for stale in stale_temp_files(settings.raw_dir):
        log.info("removing %s, a half-written file of a killed run", stale)
        stale.unlink(missing_ok=True)


# ---- land ------------------------------------------------------------------------------------


def land_api(settings: Settings, since: date | None = None, progress: Progress | None = None) -> RawRun:
    """Pull from the API into a new raw run (see extract.pull)."""
    return pull(settings, since=since, progress=progress).run


def land_bulk(settings: Settings, source: Path) -> RawRun:
    """Record a bulk file as a run: its manifest names the file, its size, sha256 and entries.

    The file itself is not copied (a registry zip is gigabytes); its checksum pins the input.
    """
    run, finish = start_land_bulk(settings, source)
    finish()
    return run


def start_land_bulk(settings: Settings, source: Path) -> tuple[RawRun, Callable[[], None]]:
    """Start landing a bulk file; `finish()` records it as landed (call it before any gate).

    A zip's entries come from its central directory at once, and its sha256 from a thread that
    reads the file while the workers process it: on a registry zip the checksum is ~3 s of
    reading that no longer runs before processing. Folders and JSONL files land at once.
    """
    source = source.resolve()
    if not source.exists():
        raise RefreshError(f"{source} does not exist")
    run = RawRun.create(settings.raw_dir, new_run_id())
    manifest = RunManifest(run_id=run.run_id, kind="bulk", source=str(source))
    run.write_manifest(manifest)
    try:
        manifest.source_kind = source_kind(source)
        if manifest.source_kind == "zip":
            manifest.entries = zip_entries(source)
            run.write_manifest(manifest)
            checksum = Checksum(source)
        else:
            # One read of the file for its size, sha256 and entry count together.
            facts = source_facts(source)
            manifest.source_bytes, manifest.source_sha256 = facts.size, facts.sha256
            manifest.entries = facts.entries
            manifest.landed = True
            run.write_manifest(manifest)
            return run, lambda: None
    except BaseException as exc:
        manifest.mark_failed(exc)
        run.write_manifest(manifest)
        raise

    def finish() -> None:
        current = run.manifest()  # re-read: processing may have written it since
        try:
            current.source_bytes, current.source_sha256 = checksum.result()
        except BaseException as exc:
            current.mark_failed(exc)
            run.write_manifest(current)
            raise
        current.landed = True
        run.write_manifest(current)

    return run, finish


# ---- rebuild ---------------------------------------------------------------------------------


def rebuildable(settings: Settings, run_id: str | None = None) -> RawRun:
    """The landed run to rebuild: the one named, or the newest whose input landed completely."""
    runs = [r for r, m in readable_runs(settings) if m.rebuild_of is None and m.landed]
    if run_id is not None:
        chosen = [r for r in list_runs(settings.raw_dir) if r.run_id == run_id]
        if not chosen:
            raise RefreshError(f"No landed run {run_id} under {settings.raw_dir} (see `trialtrends runs`).")
        run = chosen[0]
    else:
        landed = runs
        if not landed:
            raise RefreshError(
                f"No completely landed run under {settings.raw_dir}: run `trialtrends refresh`."
            )
        run = landed[-1]
    check_rebuildable(run)
    return run


def check_landed(run: RawRun) -> None:
    """Refuse a run whose input did not land completely (a pull that stopped half-way)."""
    manifest = run.manifest()
    if not manifest.landed:
        raise RefreshError(
            f"Run {run.run_id} did not land completely (status {manifest.status}): its raw data is partial, "
            "so it cannot be built; rebuild another run or refresh."
        )


def check_rebuildable(run: RawRun) -> None:
    """Refuse a run whose input did not land completely, or a bulk file that has changed."""
    check_landed(run)
    manifest = run.manifest()
    if manifest.kind == "bulk" and manifest.source_sha256:
        source = Path(manifest.source or "")
        if not source.is_file():
            raise RefreshError(f"Run {run.run_id} read {source}, which is no longer there.")
        size = source.stat().st_size
        digest = file_sha256(source) if size == manifest.source_bytes else None
        if digest != manifest.source_sha256:
            raise RefreshError(
                f"{source} has changed since run {run.run_id} read it (sha256 {manifest.source_sha256[:12]}… "
                f"recorded, {(digest or 'size ' + str(size))[:12]}… now); refresh from it instead."
            )


def start_rebuild(settings: Settings, source: RawRun) -> RawRun:
    """A new run that reprocesses `source`'s landed data; `source`'s manifest is left as it is."""
    check_rebuildable(source)
    m = source.manifest()
    run = RawRun.create(settings.raw_dir, new_run_id())
    fresh = ("run_id", "started_at", "trialtrends_version")
    copied = {k: v for k, v in m.to_dict().items() if k not in fresh}
    manifest = RunManifest.from_dict({**copied, "run_id": run.run_id})
    manifest.status, manifest.error, manifest.finished_at = RUNNING, None, None
    manifest.published = False
    manifest.rebuild_of = m.rebuild_of or source.run_id
    manifest.files, manifest.crawls = [], []  # the data stays in (and is read from) the source run
    for name in ("gates", "quality", "rejected_studies", "trials_loaded", "scanned", "classifier_version"):
        setattr(manifest, name, None)
    run.write_manifest(manifest)
    return run


# ---- gates -----------------------------------------------------------------------------------


def last_good_unique(settings: Settings, run: RawRun) -> int | None:
    """Unique studies of the last published run of the same kind and mode, for the drop gate."""
    current = run.manifest()
    for other, m in reversed(list(readable_runs(settings))):
        if other.run_id == run.run_id:
            continue
        if m.published and m.kind == current.kind and m.mode == current.mode:
            return m.studies
    return None


def check_gates(settings: Settings, run: RawRun, processed: Processed) -> list[gates.GateResult]:
    """Every gate for this run (the caller publishes only if all passed)."""
    manifest = run.manifest()
    results = []
    if manifest.kind == "api":
        results.append(
            gates.reconciliation(
                manifest.queries,
                manifest.unique_studies or 0,
                last_good_unique(settings, run) if manifest.mode == "full" else None,
                settings.max_count_drop,
            )
        )
        data = records_run(run)
        metadata_entry = data.manifest().file_of_kind("metadata")
        metadata = json.loads(data.read_body(metadata_entry)) if metadata_entry else None
        results.append(gates.schema_drift(metadata))
    else:
        ok = manifest.entries == processed.scanned
        results.append(
            gates.GateResult(
                "reconciliation", ok, f"scanned {processed.scanned} of {manifest.entries} entries"
            )
        )
    results.append(
        gates.data_quality(
            processed.rejected_share,
            settings.max_rejected_share,
            processed.quality["unmapped_countries"],
            gates.unmapped_country_share(processed.builder.query, processed.trials),
            settings.max_unmapped_country_share,
        )
    )
    if manifest.kind == "api":
        results.append(
            gates.classifier_sanity(processed.trials, processed.classified, settings.max_unclassified_share)
        )
    else:
        results.append(
            gates.GateResult(
                "classifier_sanity",
                processed.classified > 0,
                f"{processed.classified} cell-therapy trials in {processed.scanned} scanned studies",
            )
        )
    return results


# ---- publish ---------------------------------------------------------------------------------


def report_groups_frame() -> pl.DataFrame:
    rows = [(m, group) for group, mods in REPORT_GROUPS.items() for m in mods]
    return pl.DataFrame(rows, schema={"modality": pl.Utf8, "report_group": pl.Utf8}, orient="row")


def run_rows(settings: Settings, current: RunManifest) -> list[dict[str, object]]:
    """Rows for `runs`: every landed run's manifest, with the current run as it will publish."""
    return [
        (current if run.run_id == current.run_id else manifest).runs_row()
        for run, manifest in readable_runs(settings)
    ]


def publish(
    settings: Settings, run: RawRun, processed: Processed, results: list[gates.GateResult]
) -> RunManifest:
    """Finish and publish the staged warehouse; record the outcome in the manifest."""
    manifest = run.manifest()
    incremental = manifest.mode == "incremental"
    processed.builder.append("report_groups", report_groups_frame())
    for name, frame in product_frames().items():
        processed.builder.append(name, frame)
    manifest.status = SUCCEEDED
    manifest.published = True
    manifest.finished_at = utc_now()
    manifest.classifier_version = CLASSIFIER_VERSION
    manifest.gates = [r.as_dict() for r in results]
    manifest.quality = processed.quality
    manifest.rejected_studies = processed.rejected
    manifest.scanned = processed.scanned
    # After an incremental merge the table also holds trials carried over from before.
    manifest.trials_loaded = None if incremental else processed.trials
    if manifest.kind == "bulk":
        manifest.unique_studies = processed.scanned - processed.duplicates
    # The manifest is final before the swap, so `runs` in the new warehouse shows it published;
    # an unreadable previous warehouse is moved aside by the builder (recorded below).
    processed.builder.publish(run_rows(settings, manifest), incremental=incremental)
    if processed.builder.recovered is not None:
        manifest.recovered_warehouse = str(processed.builder.recovered)
        log.warning("published as a first load: the previous warehouse was unreadable")
    run.write_manifest(manifest)
    log.debug("published; peak RSS %.0f MB", _peak_mb())
    return manifest


def record_failure(
    run: RawRun,
    exc: BaseException,
    results: list[gates.GateResult] | None = None,
    processed: Processed | None = None,
) -> None:
    """Mark a run failed in its manifest with a one-line reason, plus the gates and the
    data-quality summary when the run got that far."""
    manifest = run.manifest()
    manifest.mark_failed(exc)
    if results is not None:
        manifest.gates = [r.as_dict() for r in results]
    if processed is not None:
        manifest.quality = processed.quality
        manifest.classifier_version = CLASSIFIER_VERSION
    run.write_manifest(manifest)


@dataclass
class Attempt:
    """What a build got to before it failed: the staged warehouse and the gate results."""

    processed: Processed | None = None
    results: list[gates.GateResult] = field(default_factory=list)


@contextmanager
def failure_recorded(run: RawRun) -> Iterator[Attempt]:
    """The one failure contract of a build, for the CLI and the flow alike: whatever goes wrong
    inside, the half-built warehouse is dropped (the published one stays), the run is marked
    failed with a one-line reason (plus gates and quality when it got that far), and the error
    propagates."""
    attempt = Attempt()
    try:
        yield attempt
    except BaseException as exc:
        if attempt.processed is not None:
            attempt.processed.builder.abort()
        record_failure(run, exc, attempt.results or None, attempt.processed)
        raise


def require_gates(results: list[gates.GateResult]) -> None:
    """Raise GateFailed unless every gate passed."""
    if not all(r.passed for r in results):
        raise gates.GateFailed(results)


def build_from_run(
    settings: Settings,
    run: RawRun,
    on_chunk: Callable[[int], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
    landing: Callable[[], None] | None = None,
) -> RefreshResult:
    """Process, gate and publish a landed run; a failure is recorded, never published.

    Refuses a run whose input did not land completely (a pull that stopped half-way, a bulk
    file that changed since): publishing part of a night would look like a drop in trials.
    With `landing` (a bulk zip still being checksummed, see start_land_bulk) the run is
    processed first and must have landed before its gates.
    """
    stage = on_stage or (lambda _name: None)
    with failure_recorded(run) as attempt:
        if landing is None:
            check_landed(run)
        stage("process")
        attempt.processed = process_run(settings, run, on_chunk=on_chunk)
        if landing is not None:
            landing()
            check_landed(run)
        stage("gates")
        attempt.results = check_gates(settings, run, attempt.processed)
        require_gates(attempt.results)
        stage("publish")
        manifest = publish(settings, run, attempt.processed, attempt.results)
    return RefreshResult(run=run, manifest=manifest, gate_results=attempt.results)


def refresh(
    settings: Settings,
    *,
    since: date | None = None,
    source: Path | None = None,
    progress: Progress | None = None,
) -> RefreshResult:
    """The whole refresh: land (API or bulk file), process, gate, publish; one at a time."""
    with exclusive(settings, "refresh"):
        landing = None
        if source is not None:
            run, landing = start_land_bulk(settings, source)
        else:
            run = land_api(settings, since, progress)
        on_chunk = (lambda scanned: progress("scan", {"studies": scanned})) if progress else None
        on_stage = (lambda name: progress("stage", {"stage": name})) if progress else None
        return build_from_run(settings, run, on_chunk=on_chunk, on_stage=on_stage, landing=landing)


def rebuild(
    settings: Settings, run_id: str | None = None, on_chunk: Callable[[int], None] | None = None
) -> RefreshResult:
    """Reprocess a landed run (after a rule change) as a new run, without the network."""
    with exclusive(settings, "rebuild"):
        return build_from_run(settings, start_rebuild(settings, rebuildable(settings, run_id)), on_chunk)
