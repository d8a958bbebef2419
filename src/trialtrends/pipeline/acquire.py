"""The acquire stage: get tonight's studies onto disk and open the run (`ctx.run`, `ctx.manifest`).

What a run acquires depends on what was asked and what is published (README "Registry mode"):
- a rebuild: nothing new, it reads a landed run's data again;
- `--source FILE`: a bulk file (a registry zip or JSONL), read as a baseline;
- search mode: the keyword searches (all studies, or those updated since a date);
- registry mode: a whole-registry download (a *baseline*) when none is published, when the last
  one is older than TRIALTRENDS_FULL_EVERY_DAYS or with `--full`; otherwise a *delta*, every
  study updated since the last registry run's data date minus one day (an overlap on purpose).
  A download endpoint that is gone makes the night a search run, with a warning, recorded in the
  manifest; the next night tries the download again.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from trialtrends.errors import TrialtrendsError
from trialtrends.extract.api_pull import pull
from trialtrends.extract.bulk import Checksum, file_sha256, source_facts, source_kind, zip_entries
from trialtrends.extract.client import CtgovClient
from trialtrends.extract.download import (
    FILE_NAME,
    DownloadUnavailable,
    download_registry,
    registry_study_count,
)
from trialtrends.extract.raw import RawRun, new_run_id
from trialtrends.extract.searches import QUERIES, UPDATES
from trialtrends.manifest import BASELINE, DELTA, RUNNING, SEARCH, RunManifest
from trialtrends.pipeline.context import RunContext
from trialtrends.pipeline.housekeeping import Runs, readable_runs, registry_chain

log = logging.getLogger(__name__)


class AcquireError(TrialtrendsError):
    """Tonight's studies could not be acquired (one sentence)."""


def acquire(ctx: RunContext) -> None:
    """Open tonight's run and land its input (see the module's docstring for which)."""
    request = ctx.request
    ctx.history = list(readable_runs(ctx.settings))
    ctx.previous = last_published(ctx.history)
    if request.rebuild_of is not None:
        _rebuild(ctx, request.rebuild_of)
    elif request.source is not None:
        _bulk_file(ctx, request.source)
    elif request.mode == "search":
        _search(ctx, since=request.since)
    else:
        why = baseline_due(ctx)
        if why:
            log.info("registry mode: downloading a baseline (%s)", why)
            _baseline(ctx)
        else:
            _delta(ctx)
    if ctx.data_run is None:
        ctx.data_run = ctx.run


def last_published(history: Runs) -> RunManifest | None:
    """The newest published run's manifest (what the warehouse holds now)."""
    published = [m for _r, m in history if m.published]
    return published[-1] if published else None


def baseline_due(ctx: RunContext) -> str | None:
    """Why tonight must download a baseline, or None when a delta will do."""
    if ctx.request.full:
        return "asked for with --full"
    chain = registry_chain(ctx.history)
    if chain is None:
        return "no baseline has been published yet"
    _base, base_manifest, deltas = chain
    newest = deltas[-1][1] if deltas else base_manifest
    if ctx.previous is None or ctx.previous.run_id != newest.run_id:
        return "the published warehouse did not come from the registry chain (a search or file run since)"
    age = _age_days(base_manifest.started_at)
    if age is None or age >= ctx.settings.full_every_days:
        limit = ctx.settings.full_every_days
        return f"the last baseline is {age:.1f} days old (TRIALTRENDS_FULL_EVERY_DAYS={limit:g})"
    return None


def _age_days(started_at: str | None) -> float | None:
    try:
        started = datetime.strptime(started_at or "", "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    return (datetime.now(UTC) - started).total_seconds() / 86400


def delta_since(chain_last: RunManifest) -> date:
    """The first update date a delta asks for: the last registry run's data date minus a day
    (API-NOTES: AACT re-requests an overlap of a day or more; a study updated twice is simply
    brought again, and its newest copy wins)."""
    stamp = chain_last.data_timestamp or chain_last.started_at or ""
    try:
        day = date.fromisoformat(stamp[:10])
    except ValueError:
        day = datetime.now(UTC).date()
    return day - timedelta(days=1)


# ---- the kinds of acquisition -----------------------------------------------------------------


def _search(ctx: RunContext, since: date | None) -> None:
    result = pull(ctx.settings, since=since, queries=QUERIES, progress=ctx.progress, mode=SEARCH)
    ctx.run, ctx.manifest = result.run, result.manifest


def _delta(ctx: RunContext) -> None:
    chain = registry_chain(ctx.history)
    assert chain is not None  # baseline_due said a delta will do
    base, base_manifest, deltas = chain
    since = delta_since(deltas[-1][1] if deltas else base_manifest)
    log.info(
        "registry mode: pulling every study updated since %s (a delta on baseline %s)", since, base.run_id
    )
    result = pull(ctx.settings, since=since, queries=(UPDATES,), progress=ctx.progress, mode=DELTA)
    ctx.run, ctx.manifest = result.run, result.manifest
    ctx.manifest.baseline_run = base_manifest.rebuild_of or base.run_id
    ctx.manifest.deltas_applied = len(deltas)


def _baseline(ctx: RunContext) -> None:
    """Download the whole registry into a new run folder; a gone endpoint falls back to search."""
    settings = ctx.settings
    run = RawRun.create(settings.raw_dir, new_run_id())
    manifest = RunManifest(run_id=run.run_id, kind="bulk", mode=BASELINE, api_url=settings.api_url)
    ctx.run, ctx.manifest = run, manifest
    ctx.save()
    with CtgovClient(settings) as client:
        version = client.version().data
        if isinstance(version, dict):
            manifest.api_version = version.get("apiVersion")
            manifest.data_timestamp = version.get("dataTimestamp")
        try:
            manifest.registry_total = registry_study_count(client)
        except TrialtrendsError as exc:
            log.warning(
                "the registry's study count is unavailable (%s); the download is checked without it", exc
            )
        try:
            result = download_registry(
                settings,
                run.path / FILE_NAME,
                client=client,
                progress=ctx.progress,
                expected_studies=manifest.registry_total,
                # Every entry's CRC is checked by the judge stage as it reads the zip (a mismatch
                # fails the run before any gate): a second inflating pass here would double the
                # baseline's floor.
                check_crc=False,
            )
        except DownloadUnavailable as exc:
            why = f"the registry download is unavailable ({exc}); tonight runs the searches, tomorrow retries"
            log.warning(why)
            manifest.fallback = why
            ctx.save()
            _search_into(ctx, run, why)
            return
        after = client.version().data
        if isinstance(after, dict) and after.get("dataTimestamp") != manifest.data_timestamp:
            # The registry refreshed during the download; a changed file restarts it (its ETag),
            # so what landed is the newer generation.
            stamp = after.get("dataTimestamp")
            log.info("the registry refreshed during the download: data timestamp %s", stamp)
            manifest.data_timestamp = after.get("dataTimestamp")
    manifest.files.append(result.manifest_entry())
    manifest.source, manifest.source_kind = str(result.path), "zip"
    manifest.source_bytes, manifest.source_sha256 = result.bytes, result.sha256
    manifest.entries = result.entries
    manifest.bytes_received, manifest.requests = result.bytes, result.requests
    manifest.unique_studies = result.entries
    manifest.landed = True


def _search_into(ctx: RunContext, run: RawRun, why: str) -> None:
    """The fallback of a registry night: this run folder becomes a search run's (its manifest
    rewritten by the pull, which never overwrites a landed file)."""
    manifest = RunManifest(
        run_id=run.run_id, kind="api", mode=SEARCH, api_url=ctx.settings.api_url, fallback=why
    )
    result = pull(ctx.settings, queries=QUERIES, progress=ctx.progress, run=run, manifest=manifest)
    ctx.run, ctx.manifest = result.run, result.manifest


def _bulk_file(ctx: RunContext, source: Path) -> None:
    """A bulk file as a baseline: its manifest names the file, its size, sha256 and entries.

    The file itself is not copied (a registry zip is gigabytes); its checksum pins the input.
    A zip's entries come from its central directory at once and its sha256 from a thread that
    reads the file while the judge stage works (`ctx.finish_landing`, called before the gates).
    """
    source = source.resolve()
    if not source.exists():
        raise AcquireError(f"{source} does not exist")
    run = RawRun.create(ctx.settings.raw_dir, new_run_id())
    manifest = RunManifest(run_id=run.run_id, kind="bulk", mode=BASELINE, source=str(source))
    ctx.run, ctx.manifest = run, manifest
    ctx.save()
    manifest.source_kind = source_kind(source)
    if manifest.source_kind == "zip":
        manifest.entries = zip_entries(source)
        checksum = Checksum(source)

        def finish() -> None:
            manifest.source_bytes, manifest.source_sha256 = checksum.result()
            manifest.landed = True

        ctx.finish_landing = finish
    else:
        # One read of the file for its size, sha256 and entry count together.
        facts = source_facts(source)
        manifest.source_bytes, manifest.source_sha256 = facts.size, facts.sha256
        manifest.entries = facts.entries
        manifest.landed = True
    manifest.unique_studies = None


# ---- rebuild ------------------------------------------------------------------------------------


def _rebuild(ctx: RunContext, source: RawRun) -> None:
    """A new run that reprocesses `source`'s landed data; `source`'s manifest is left as it is."""
    m = check_rebuildable(source)
    run = RawRun.create(ctx.settings.raw_dir, new_run_id())
    fresh = ("run_id", "started_at", "trialtrends_version", "finished_at", "error", "published", "status")
    copied = {k: v for k, v in m.to_dict().items() if k not in fresh}
    manifest = RunManifest.from_dict({**copied, "run_id": run.run_id, "status": RUNNING})
    manifest.rebuild_of = m.rebuild_of or source.run_id
    manifest.files, manifest.crawls = [], []  # the data stays in (and is read from) the source run
    for name in ("gates", "quality", "rejected_studies", "trials_loaded", "scanned", "classifier_version"):
        setattr(manifest, name, None)
    ctx.run, ctx.manifest = run, manifest
    ctx.data_run = RawRun.open(ctx.settings.raw_dir / manifest.rebuild_of)
    ctx.save()


def check_rebuildable(run: RawRun) -> RunManifest:
    """Refuse a run whose input did not land completely, was pruned, or a bulk file that has
    changed since; returns its manifest."""
    manifest = run.manifest()
    if not manifest.landed:
        raise AcquireError(
            f"Run {run.run_id} did not land completely (status {manifest.status}): its raw data is partial, "
            "so it cannot be built; rebuild another run or refresh."
        )
    if manifest.pruned:
        raise AcquireError(f"Run {run.run_id}'s landed data was removed by retention; rebuild a newer run.")
    if manifest.kind == "bulk" and manifest.source_sha256:
        source = Path(manifest.source or "")
        if not source.is_file():
            raise AcquireError(f"Run {run.run_id} read {source}, which is no longer there.")
        size = source.stat().st_size
        digest = file_sha256(source) if size == manifest.source_bytes else None
        if digest != manifest.source_sha256:
            raise AcquireError(
                f"{source} has changed since run {run.run_id} read it (sha256 {manifest.source_sha256[:12]}… "
                f"recorded, {(digest or 'size ' + str(size))[:12]}… now); refresh from it instead."
            )
    return manifest
