"""The refresh, stage by stage: land -> process (normalize, classify, validate) -> gates -> publish.

`trialtrends refresh` calls `refresh`; the Prefect flow calls the same stage functions as
tasks. Each stage records what it did in the run's manifest, so `runs` tells the whole story of
every night, failed ones included.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import resource
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from trialtrends import __version__, gates
from trialtrends.classify import CLASSIFIER_VERSION, REPORT_GROUPS, classify
from trialtrends.errors import TrialtrendsError
from trialtrends.extract import Progress, pull
from trialtrends.load import WarehouseBuilder
from trialtrends.normalize import UNMAPPED_CODE, Rows, Tables, build_tables, flatten_studies
from trialtrends.raw import FAILED, RUNNING, SUCCEEDED, RawRun, list_runs, new_run_id, utc_now
from trialtrends.settings import Settings
from trialtrends.sources import (
    bulk_raw,
    bulk_studies,
    count_entries,
    file_sha256,
    nct_id_of,
    parse_record,
    payloads_for,
    run_studies,
    source_kind,
)
from trialtrends.validate import validate_tables

log = logging.getLogger(__name__)


def _peak_mb() -> float:
    """This process's peak resident memory so far (for debug logs of each stage)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# Studies normalised per chunk: bounds memory on registry-sized inputs.
CHUNK_SIZE = 20_000
# Smaller chunks for the parallel bulk path: several are in flight at once (raw bytes in the
# main process, parsed records in each worker), and peak memory grows with their size.
BULK_CHUNK_SIZE = 10_000
# The data-quality gate tolerates this many distinct unmapped country strings.
MAX_UNMAPPED_COUNTRIES = 0


class RefreshError(TrialtrendsError):
    """A refresh that failed; the message is one sentence for the user."""


@dataclass
class Processed:
    """A run's staged (validated, classified) tables in a warehouse being built, and the facts
    the gates need."""

    builder: WarehouseBuilder
    scanned: int
    duplicates: int
    trials: int
    classified: int
    rejected: int
    quality: dict[str, Any]

    @property
    def rejected_share(self) -> float:
        # Share of the studies read, not of those kept: the bulk path keeps only cell therapy.
        return self.rejected / max(self.scanned - self.duplicates, 1)


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


def run_records(run: RawRun) -> Iterator[Any]:
    """The study records of a landed run, streamed, whatever its kind."""
    manifest = run.manifest()
    if manifest.get("kind") == "bulk":
        return bulk_studies(Path(manifest["source"]))
    return run_studies(run)


# ---- process ---------------------------------------------------------------------------------


@dataclass
class Chunk:
    """One chunk of records, normalized, classified and validated (ready to stage)."""

    frames: dict[str, pl.DataFrame]
    scanned: int
    duplicates: int


def process_chunk(records: Iterable[Any], run_id: str, cell_therapy_only: bool) -> Chunk:
    """Normalize, classify and validate one bounded chunk of records (pure; runs in workers).

    With `cell_therapy_only` (the bulk path) only trials the classifier recognises are kept:
    a whole-registry scan keeps its cell-therapy trials, not 600k rows.
    """
    seen: set[str] = set()
    counts = {"scanned": 0, "duplicates": 0}

    def first_copies() -> Iterator[Any]:
        # A generator, so each parsed record is flattened and freed before the next is parsed.
        for record in records:
            counts["scanned"] += 1
            nct_id = nct_id_of(record)
            if nct_id is not None:
                if nct_id in seen:
                    counts["duplicates"] += 1
                    continue
                seen.add(nct_id)
            yield record

    tables = build_tables(flatten_studies(first_copies(), run_id, Rows()))
    result = classify(tables.trial_text)
    flags = result.flags
    if cell_therapy_only:
        keep = flags.filter(pl.col("is_cell_therapy"))["nct_id"]
        tables = tables.filter_trials(keep)
        flags = flags.filter(pl.col("nct_id").is_in(keep.implode()))
    # Quarantined studies get their raw payload later (see stage): it is not kept here.
    tables = validate_tables(tables, run_id).tables
    kept = tables.trials["nct_id"].implode()
    frames = {name: frame for name, frame in tables.all_frames().items() if name != "trial_text"}
    frames["trial_modalities"] = result.modalities.filter(pl.col("nct_id").is_in(kept))
    frames["trial_flags"] = flags.filter(pl.col("nct_id").is_in(kept))
    return Chunk(frames, counts["scanned"], counts["duplicates"])


def process_raw_chunk(raw: list[tuple[str, bytes]], run_id: str, cell_therapy_only: bool) -> Chunk:
    """process_chunk over unparsed (where, bytes) records: parsing happens in the worker."""
    return process_chunk((parse_record(data, where) for where, data in raw), run_id, cell_therapy_only)


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _parallel(
    batches: Iterable[list[tuple[str, bytes]]], run_id: str, cell_therapy_only: bool, workers: int
) -> Iterator[Chunk]:
    """Chunks processed by a pool of worker processes, in input order, few in flight at once.

    The main process only reads (and inflates) raw records and stages results; parsing,
    normalising, classifying and validating run in the workers. At most workers + 1 chunks are
    pending, so memory stays bounded whatever the input size.
    """
    # spawn, not fork: Polars' thread pool does not survive a fork.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: deque[Future[Chunk]] = deque()
        for batch in batches:
            pending.append(pool.submit(process_raw_chunk, batch, run_id, cell_therapy_only))
            if len(pending) > workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def stage(
    chunks: Iterable[Chunk],
    builder: WarehouseBuilder,
    payloads: Callable[[set[str]], dict[str, str]] | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> Processed:
    """Stage chunks into the building warehouse, keeping the first copy of a repeated study."""
    seen: set[str] = set()
    scanned = duplicates = trials = classified = rejected = 0
    for chunk in chunks:
        scanned += chunk.scanned
        duplicates += chunk.duplicates
        frames = chunk.frames
        ids = frames["trials"]["nct_id"].to_list()
        repeated = seen.intersection(ids)
        seen.update(ids)
        if repeated:
            duplicates += len(repeated)
            drop = ~pl.col("nct_id").is_in(list(repeated))
            frames = {n: f if n == "rejected_studies" else f.filter(drop) for n, f in frames.items()}
        for name, frame in frames.items():
            builder.append(name, frame)
        trials += frames["trials"].height
        classified += int(frames["trial_flags"]["is_cell_therapy"].sum())
        rejected += frames["rejected_studies"].height
        if on_chunk:
            on_chunk(scanned)
    log.debug("staged %d scanned studies; peak RSS %.0f MB", scanned, _peak_mb())
    missing = {r[0] for r in builder.query(
        "select nct_id from rejected_studies where payload = 'null' and nct_id is not null")}  # fmt: skip
    if missing and payloads is not None:
        builder.set_payloads(payloads(missing))
    quality = quality_summary(builder)
    quality.update(scanned=scanned, duplicates=duplicates, classified_trials=classified)
    return Processed(builder, scanned, duplicates, trials, classified, rejected, quality)


def quality_summary(builder: WarehouseBuilder) -> dict[str, Any]:
    """The run's data-quality summary, read from the staged tables."""

    def column(sql: str) -> list[Any]:
        return [row[0] for row in builder.query(sql)]

    counts = {
        name: builder.query(f"select count(*) from {name}")[0][0]
        for name in (*Tables.TABLES, "trial_modalities", "rejected_studies")
    }
    unknown = column("select distinct sponsor_raw from trial_sponsors where not is_known_sponsor order by 1")
    return {
        "counts": counts,
        "unmapped_countries": column(
            f"select distinct country_raw from trial_countries where country_code = '{UNMAPPED_CODE}' "
            "and country_raw is not null order by 1"
        ),
        "unknown_sponsor_spellings": len(unknown),
        "unknown_sponsor_examples": unknown[:25],
        "long_term_follow_up": column("select count(*) from trial_flags where is_long_term_follow_up")[0],
        "rejected": [
            {"nct_id": nct_id, "reason": reason[:300]}
            for nct_id, reason in builder.query("select nct_id, reason from rejected_studies limit 50")
        ],
    }


def process_run(settings: Settings, run: RawRun, on_chunk: Callable[[int], None] | None = None) -> Processed:
    """Process a landed run from its raw data into a warehouse being built (no network:
    reclassifying needs no new pull). The caller publishes or aborts `processed.builder`."""
    manifest = run.manifest()
    payloads = lambda wanted: payloads_for(run_records(run), wanted)  # noqa: E731
    builder = WarehouseBuilder(settings.warehouse_path, run.run_id)
    try:
        if manifest.get("kind") != "bulk":
            chunks = (process_chunk(b, run.run_id, False) for b in _batches(run_studies(run), CHUNK_SIZE))
        else:
            source = Path(manifest["source"])
            workers = settings.workers if (manifest.get("entries") or 0) > BULK_CHUNK_SIZE else 1
            if workers > 1:
                batches = _batches(bulk_raw(source), BULK_CHUNK_SIZE)
                chunks = _parallel(batches, run.run_id, True, workers)
            else:
                chunks = (
                    process_chunk(b, run.run_id, True)
                    for b in _batches(bulk_studies(source), BULK_CHUNK_SIZE)
                )
        return stage(chunks, builder, payloads, on_chunk)
    except BaseException:
        builder.abort()
        raise


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


def build_from_run(
    settings: Settings, run: RawRun, on_chunk: Callable[[int], None] | None = None
) -> RefreshResult:
    """Process, gate and publish an already landed run; a failure is recorded, never published."""
    results: list[gates.GateResult] = []
    processed: Processed | None = None
    try:
        processed = process_run(settings, run, on_chunk=on_chunk)
        results = check_gates(settings, run, processed)
        if not all(r.passed for r in results):
            raise gates.GateFailed(results)
        manifest = publish(settings, run, processed, results)
    except BaseException as exc:
        if processed is not None:
            processed.builder.abort()  # the half-built warehouse goes; the published one stays
        record_failure(run, exc, results or None, processed)
        raise
    return RefreshResult(run=run, manifest=manifest, gate_results=results)


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


def run_summary_markdown(settings: Settings, run: RawRun) -> str:
    """The run's gates, data-quality summary and change log as markdown (Prefect artifact)."""
    m = run.manifest()
    lines = [f"# trialtrends run {m['run_id']}: {m.get('status')}", ""]
    if m.get("error"):
        lines += [f"**Error:** {m['error']}", ""]
    lines += ["## Gates", "", "| gate | passed | detail |", "|---|---|---|"]
    lines += [
        f"| {g['name']} | {'yes' if g['passed'] else '**no**'} | {g['detail']} |"
        for g in m.get("gates") or []
    ]
    quality = m.get("quality") or {}
    if quality:
        lines += ["", "## Data quality", "", "| table | rows |", "|---|---:|"]
        lines += [f"| {name} | {count} |" for name, count in quality.get("counts", {}).items()]
        lines += [
            "",
            f"- studies scanned: {quality.get('scanned')}, cell-therapy trials: "
            f"{quality.get('classified_trials')}, long-term follow-up: {quality.get('long_term_follow_up')}",
            f"- unmapped country strings: {', '.join(quality.get('unmapped_countries') or []) or 'none'}",
            f"- sponsor spellings not in the alias table: {quality.get('unknown_sponsor_spellings')}",
            f"- rejected studies: {len(quality.get('rejected') or [])}",
        ]
    if m.get("published") and settings.warehouse_path.is_file():
        from trialtrends.query import run_query

        _, rows = run_query(
            settings.warehouse_path,
            "select change, count(*) from trial_changes where run_id = ? group by change order by change",
            [m["run_id"]],
        )
        lines += ["", "## Changes", ""]
        lines += [f"- {change}: {count}" for change, count in rows] or ["- no changes"]
    return "\n".join(lines) + "\n"
