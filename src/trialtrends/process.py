"""Process a landed run: normalize, classify and validate it chunk by chunk into a warehouse
being built (in worker processes for large bulk inputs), with its data-quality summary.

A bulk source runs as scan and parse tasks in `trialtrends.bulk_tasks` (README "Bulk ingest"):
most registry studies are counted and CRC-checked there but never parsed.

No network and no publishing here: `pipeline` gates and publishes what this stages.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import resource
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from trialtrends.extract.bulk import parts
from trialtrends.extract.raw import RawRun, select_studies
from trialtrends.extract.records import dumps_safe, nct_id_of
from trialtrends.load.warehouse import WarehouseBuilder
from trialtrends.settings import Settings
from trialtrends.transform.classify import classify
from trialtrends.transform.diseases import classify_diseases
from trialtrends.transform.flatten import UNMAPPED_CODE, Rows, flatten_studies
from trialtrends.transform.normalize import Tables, build_tables
from trialtrends.validate.quarantine import validate_classified, validate_tables

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _peak_mb() -> float:
    """This process's peak resident memory so far (for debug logs of each stage)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# Studies normalised per chunk: bounds memory on registry-sized inputs.
CHUNK_SIZE = 20_000
# Bulk inputs below two of these run in this process: starting workers costs seconds.
BULK_CHUNK_SIZE = 10_000


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
    #: Studies parsed and validated (first copies); the bulk prefilter skips the rest unparsed.
    validated: int = 0

    @property
    def rejected_share(self) -> float:
        # Share of the studies validated, not of those kept (the bulk path keeps only cell
        # therapy) nor of those scanned (the prefilter never parses most of a registry zip).
        return self.rejected / max(self.validated, 1)


def records_run(run: RawRun) -> RawRun:
    """The run whose landed data a run reads: itself, or for a rebuild the run it rebuilds."""
    source = run.manifest().rebuild_of
    return RawRun.open(run.path.parent / source) if source else run


# ---- process ---------------------------------------------------------------------------------


@dataclass
class Chunk:
    """One chunk of records, normalized, classified and validated (ready to stage)."""

    frames: dict[str, pl.DataFrame]
    scanned: int
    duplicates: int
    #: False for the bulk scan's tally of records it skipped or dropped as repeats (no frames).
    parsed: bool = True
    #: Records normalised and validated (default: the first copies among those scanned).
    validated: int | None = None


def process_chunk(records: Iterable[Any], run_id: str, cell_therapy_only: bool) -> Chunk:
    """Normalize, classify and validate one bounded chunk of records (pure; runs in workers).

    With `cell_therapy_only` (the bulk path) only trials the classifier recognises are kept:
    a whole-registry scan keeps its cell-therapy trials, not 600k rows. A record that breaks
    any step is quarantined with the step and the reason; the rest of the chunk goes on.
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

    rows = flatten_studies(first_copies(), run_id, Rows())
    frames = _frames_isolating(rows, run_id, cell_therapy_only)
    return Chunk(frames, counts["scanned"], counts["duplicates"])


class _StepFailed(Exception):
    """A step of the frame work failed (the step's name travels into the quarantine reason)."""

    def __init__(self, step: str, exc: Exception) -> None:
        super().__init__(f"{step}: {type(exc).__name__}: {exc}"[:300])
        self.step = step


def _frames(rows: Rows, run_id: str, cell_therapy_only: bool) -> dict[str, pl.DataFrame]:
    """The staged frames of flattened rows: normalise, classify, validate."""
    step = "normalise"
    try:
        tables = build_tables(rows)
        step = "classify"
        result = classify(tables.trial_text)
        flags = result.flags
        if cell_therapy_only:
            keep = flags.filter(pl.col("is_cell_therapy"))["nct_id"]
            tables = tables.filter_trials(keep)
            flags = flags.filter(pl.col("nct_id").is_in(keep.implode()))
        step = "validate"
        # Quarantined studies get their raw payload later (see stage): it is not kept here.
        tables = validate_tables(tables, run_id).tables
        kept = tables.trials["nct_id"].implode()
        frames = {name: frame for name, frame in tables.all_frames().items() if name != "trial_text"}
        step = "classify"
        frames["trial_modalities"] = result.modalities.filter(pl.col("nct_id").is_in(kept))
        frames["trial_flags"] = flags.filter(pl.col("nct_id").is_in(kept))
        frames["trial_diseases"] = classify_diseases(tables.trial_text.filter(pl.col("nct_id").is_in(kept)))
        frames["trial_products"] = result.products.filter(pl.col("nct_id").is_in(kept))
        step = "validate"
        validate_classified(frames)
    except Exception as exc:
        raise _StepFailed(step, exc) from exc
    return frames


# How many times failing work may be re-run in halves to pin the failure on its studies: one
# poison study in 20,000 costs about 2 x 15 re-runs; a failure that no few studies explain (a
# bug, not data) fails the run instead of quarantining everything.
MAX_ISOLATION_RUNS = 64

T = TypeVar("T")
R = TypeVar("R")


def isolate_failures(
    items: list[T], work: Callable[[list[T]], R], error: Exception, budget: int = MAX_ISOLATION_RUNS
) -> tuple[list[R], list[tuple[T, Exception]]]:
    """After `work(items)` raised `error`: `work` over halves until the items that fail alone
    are found. Returns the results of the parts that worked and (item, its error) for each item
    that fails alone; re-raises `error` when no single items explain it within `budget` re-runs.
    """
    done: list[R] = []
    failed: list[tuple[T, Exception]] = []
    left = [budget]

    def split(part: list[T], why: Exception) -> None:
        if len(part) <= 1:
            if not part:
                raise error
            failed.append((part[0], why))
            return
        for half in (part[: len(part) // 2], part[len(part) // 2 :]):
            if left[0] <= 0:
                raise error
            left[0] -= 1
            try:
                done.append(work(half))
            except Exception as again:  # pin the failure on its studies
                split(half, again)

    split(items, error)
    return done, failed


def _frames_isolating(rows: Rows, run_id: str, cell_therapy_only: bool) -> dict[str, pl.DataFrame]:
    """`_frames`; when it fails, the studies that fail alone are quarantined with the step and
    the reason and the rest of the chunk goes on (see isolate_failures)."""
    try:
        return _frames(rows, run_id, cell_therapy_only)
    except _StepFailed as exc:
        error = exc
    log.warning("a chunk failed at %s; finding the studies responsible", error.step)
    parts, failed = isolate_failures(
        [row[0] for row in rows.trials],
        lambda ids: _frames(_rows_of(rows, set(ids)), run_id, cell_therapy_only),
        error,
    )
    log.warning("quarantined %d studies whose processing failed", len(failed))
    poisoned = [(nct_id, run_id, str(why), "null") for nct_id, why in failed]
    parts.append(_frames(Rows(rejected=[*rows.rejected, *poisoned]), run_id, cell_therapy_only))
    return {name: pl.concat([p[name] for p in parts], how="vertical_relaxed") for name in parts[0]}


def _rows_of(rows: Rows, ids: set[str]) -> Rows:
    """The rows of some of a chunk's studies (rejects stay with the chunk, added once)."""
    return Rows(
        trials=[r for r in rows.trials if r[0] in ids],
        sponsors=[r for r in rows.sponsors if r[0] in ids],
        sites=[r for r in rows.sites if r[0] in ids],
        countries=[r for r in rows.countries if r[0] in ids],
        conditions=[r for r in rows.conditions if r[0] in ids],
        interventions=[r for r in rows.interventions if r[0] in ids],
        text=[r for r in rows.text if r["nct_id"] in ids],
    )


def _records_chunk(records: list[Any], run_id: str, cell_therapy_only: bool) -> Chunk:
    """process_chunk over parsed records, with the quarantined ones' payloads from the batch."""
    chunk = process_chunk(records, run_id, cell_therapy_only)

    def lookup(wanted: set[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for record in records:
            if (nct_id := nct_id_of(record)) in wanted and nct_id not in found:
                found[nct_id] = dumps_safe(record)
        return found

    return _with_payloads(chunk, lookup)


def _with_payloads(chunk: Chunk, lookup: Callable[[set[str]], dict[str, str]]) -> Chunk:
    """Fill the payload of studies quarantined by validation (JSON null until now), so they
    travel with their chunk instead of a second read of the input."""
    rejected = chunk.frames["rejected_studies"]
    missing = set(rejected.filter((pl.col("payload") == "null") & pl.col("nct_id").is_not_null())["nct_id"])
    if missing:
        found = lookup(missing)
        payload = pl.col("nct_id").replace_strict(found, default=pl.col("payload"), return_dtype=pl.String)
        chunk.frames["rejected_studies"] = rejected.with_columns(
            pl.when(pl.col("payload") == "null").then(payload).otherwise(pl.col("payload")).alias("payload")
        )
    return chunk


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def die_with_parent(parent_pid: int) -> None:
    """Worker initializer: exit when the main process dies (kill -9 included), so no orphan
    keeps parsing (and holding memory) after its run is gone."""
    with contextlib.suppress(OSError, AttributeError):
        # Linux: the kernel signals the worker the moment its parent dies.
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:  # elsewhere (and as a fallback): poll for re-parenting
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def stage(
    chunks: Iterable[Chunk],
    builder: WarehouseBuilder,
    on_chunk: Callable[[int], None] | None = None,
) -> Processed:
    """Stage chunks into the building warehouse, keeping the first copy of a repeated study."""
    seen: set[str] = set()
    scanned = duplicates = trials = classified = rejected = validated = 0
    for chunk in chunks:
        scanned += chunk.scanned
        duplicates += chunk.duplicates
        if not chunk.parsed:
            if on_chunk:
                on_chunk(scanned)
            continue
        validated += chunk.scanned - chunk.duplicates if chunk.validated is None else chunk.validated
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
    quality = quality_summary(builder)
    quality.update(scanned=scanned, duplicates=duplicates, classified_trials=classified, validated=validated)
    return Processed(builder, scanned, duplicates, trials, classified, rejected, quality, validated)


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
    builder = WarehouseBuilder(settings.warehouse_path, run.run_id)
    conflicts: list[dict[str, Any]] = []
    try:
        if manifest.kind != "bulk":
            selection = select_studies(records_run(run))
            conflicts = selection.conflicts
            batches = _batches(selection.records(), CHUNK_SIZE)
            processed = stage((_records_chunk(b, run.run_id, False) for b in batches), builder, on_chunk)
        else:
            # Imported here: the bulk tasks build on process_chunk (a cycle at import time).
            from trialtrends.bulk_tasks import (
                PARALLEL_MIN_ENTRIES,
                PART_BYTES,
                PART_ENTRIES,
                BulkTally,
                bulk_chunks,
            )  # fmt: skip

            source = Path(manifest.source or "")
            workers = settings.workers if (manifest.entries or 0) >= PARALLEL_MIN_ENTRIES else 1
            tally = BulkTally()
            chunks = bulk_chunks(
                parts(source, PART_ENTRIES, PART_BYTES), run.run_id, workers, settings.bulk_prefilter, tally
            )
            processed = stage(chunks, builder, on_chunk)
            processed.quality.update(
                prefilter=settings.bulk_prefilter,
                parsed=tally.candidates,
                skipped_unparsed=tally.skipped,
                inflated_bytes=tally.inflated_bytes,
            )
            log.info(
                "bulk scan: %d entries, %d parsed, %d skipped unparsed, %d repeats",
                tally.entries, tally.candidates, tally.skipped, tally.repeats,
            )  # fmt: skip
        if conflicts:
            log.warning("%d studies came back in different versions; kept the newest of each", len(conflicts))
        processed.quality["conflicting_duplicates"] = len(conflicts)
        processed.quality["conflicting_duplicate_examples"] = conflicts[:25]
        return processed
    except BaseException:
        builder.abort()
        raise
