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
from typing import Any

import polars as pl

from trialtrends import __version__
from trialtrends.errors import TrialtrendsError
from trialtrends.extract.api_pull import Progress, pull
from trialtrends.extract.bulk import count_entries, file_sha256, source_kind
from trialtrends.extract.raw import FAILED, RUNNING, SUCCEEDED, RawRun, list_runs, new_run_id, utc_now
from trialtrends.process import Processed, _peak_mb, process_run
from trialtrends.settings import Settings
from trialtrends.transform.classify import CLASSIFIER_VERSION, REPORT_GROUPS
from trialtrends.validate import gates

log = logging.getLogger(__name__)


# The data-quality gate tolerates this many distinct unmapped country strings.
MAX_UNMAPPED_COUNTRIES = 0


class RefreshError(TrialtrendsError):
    """A refresh that failed; the message is one sentence for the user."""


@dataclass
class RefreshResult:
    run: RawRun
    manifest: dict[str, Any]
    gate_results: list[gates.GateResult] = field(default_factory=list)


# ---- land ------------------------------------------------------------------------------------


def land_api(settings: Settings, since: date | None = None, progress: Progress | None = None) -> RawRun:
    """Pull from the API into a new raw run (see extract.pull)."""
    return pull(settings, since=since, progress=progress).run


def land_bulk(settings: Settings, source: Path) -> RawRun:
    """Record a bulk file as a run: its manifest names the file, its size, sha256 and entries.

    The file itself is not copied (a registry zip is gigabytes); its checksum pins the input.
    """
    source = source.resolve()
    if not source.exists():
        raise RefreshError(f"{source} does not exist")
    run = RawRun.create(settings.raw_dir, new_run_id())
    manifest: dict[str, Any] = {
        "run_id": run.run_id,
        "kind": "bulk",
        "status": RUNNING,
        "error": None,
        "started_at": utc_now(),
        "finished_at": None,
        "trialtrends_version": __version__,
        "mode": "full",
        "source": str(source),
        "source_kind": None,
        "source_bytes": None,
        "source_sha256": None,
        "entries": None,
        "files": [],
    }
    run.write_manifest(manifest)
    try:
        manifest["source_kind"] = source_kind(source)
        if source.is_file():
            manifest["source_bytes"] = source.stat().st_size
            manifest["source_sha256"] = file_sha256(source)
        manifest["entries"] = count_entries(source)
        manifest["landed"] = True
    except Exception as exc:
        record_failure(run, exc)
        raise
    run.write_manifest(manifest)
    return run


# ---- gates -----------------------------------------------------------------------------------


def last_good_unique(settings: Settings, run: RawRun) -> int | None:
    """Unique studies of the last published run of the same kind and mode, for the drop gate."""
    current = run.manifest()
    for other in reversed(list_runs(settings.raw_dir)):
        if other.run_id == run.run_id:
            continue
        m = other.manifest()
        if (
            m.get("published")
            and m.get("kind") == current.get("kind")
            and m.get("mode") == current.get("mode")
        ):
            return m.get("unique_studies")
    return None


def check_gates(settings: Settings, run: RawRun, processed: Processed) -> list[gates.GateResult]:
    """Every gate for this run (the caller publishes only if all passed)."""
    manifest = run.manifest()
    results = []
    if manifest.get("kind") == "api":
        results.append(
            gates.reconciliation(
                manifest.get("queries", []),
                manifest.get("unique_studies", 0),
                last_good_unique(settings, run) if manifest.get("mode") == "full" else None,
                settings.max_count_drop,
            )
        )
        metadata_entry = next((f for f in manifest.get("files", []) if f.get("kind") == "metadata"), None)
        metadata = json.loads(run.read_body(metadata_entry)) if metadata_entry else None
        results.append(gates.schema_drift(metadata))
    else:
        entries = manifest.get("entries")
        ok = entries == processed.scanned
        results.append(
            gates.GateResult("reconciliation", ok, f"scanned {processed.scanned} of {entries} entries")
        )
    results.append(
        gates.data_quality(
            processed.rejected_share,
            settings.max_rejected_share,
            processed.quality["unmapped_countries"],
            MAX_UNMAPPED_COUNTRIES,
        )
    )
    if manifest.get("kind") == "api":
        results.append(
            gates.classifier_sanity(
                processed.trials,
                processed.classified,
                settings.max_unclassified_share,
            )
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


def run_rows(settings: Settings, current: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows for `runs`: every landed run's manifest, with the current run as it will publish."""
    rows = []
    for run in list_runs(settings.raw_dir):
        m = current if run.run_id == current["run_id"] else run.manifest()
        rows.append(
            {
                **m,
                "published": bool(m.get("published")),
                "started_at": (m.get("started_at") or "").replace("Z", "") or None,
                "finished_at": (m.get("finished_at") or "").replace("Z", "") or None,
                "trials_loaded": m.get("trials_loaded"),
                "rejected_studies": m.get("rejected_studies"),
                "unique_studies": m.get("unique_studies", m.get("entries")),
                "source": m.get("source"),
            }
        )
    return rows


def publish(
    settings: Settings, run: RawRun, processed: Processed, results: list[gates.GateResult]
) -> dict[str, Any]:
    """Finish and publish the staged warehouse; record the outcome in the manifest."""
    manifest = run.manifest()
    incremental = manifest.get("mode") == "incremental"
    processed.builder.append("report_groups", report_groups_frame())
    manifest.update(
        status=SUCCEEDED,
        published=True,
        finished_at=utc_now(),
        classifier_version=CLASSIFIER_VERSION,
        gates=[r.as_dict() for r in results],
        quality=processed.quality,
        rejected_studies=processed.rejected,
        scanned=processed.scanned,
        # After an incremental merge the table also holds trials carried over from before.
        trials_loaded=None if incremental else processed.trials,
    )
    if manifest.get("kind") == "bulk":
        manifest["unique_studies"] = processed.scanned - processed.duplicates
    processed.builder.publish(run_rows(settings, manifest), incremental=incremental)
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
    manifest.update(
        status=FAILED,
        published=False,
        finished_at=utc_now(),
        error=str(exc) or type(exc).__name__,
    )
    if results is not None:
        manifest["gates"] = [r.as_dict() for r in results]
    if processed is not None:
        manifest["quality"] = processed.quality
        manifest["classifier_version"] = CLASSIFIER_VERSION
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
    settings: Settings, run: RawRun, on_chunk: Callable[[int], None] | None = None
) -> RefreshResult:
    """Process, gate and publish an already landed run; a failure is recorded, never published."""
    with failure_recorded(run) as attempt:
        attempt.processed = process_run(settings, run, on_chunk=on_chunk)
        attempt.results = check_gates(settings, run, attempt.processed)
        require_gates(attempt.results)
        manifest = publish(settings, run, attempt.processed, attempt.results)
    return RefreshResult(run=run, manifest=manifest, gate_results=attempt.results)


def refresh(
    settings: Settings,
    *,
    since: date | None = None,
    source: Path | None = None,
    progress: Progress | None = None,
) -> RefreshResult:
    """The whole refresh: land (API or bulk file), process, gate, publish."""
    run = land_bulk(settings, source) if source is not None else land_api(settings, since, progress)
    on_chunk = (lambda scanned: progress("scan", {"studies": scanned})) if progress else None
    return build_from_run(settings, run, on_chunk=on_chunk)
