"""Process a landed run: normalize, classify and validate it chunk by chunk into a warehouse
being built (in worker processes for large bulk inputs), with its data-quality summary.

No network and no publishing here: `pipeline` gates and publishes what this stages.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import resource
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from trialtrends.extract.bulk import bulk_raw, bulk_studies, payloads_for
from trialtrends.extract.raw import RawRun, select_studies
from trialtrends.extract.records import nct_id_of, parse_record
from trialtrends.load.warehouse import WarehouseBuilder
from trialtrends.schemas import TrialProducts, polars_schema
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
# Smaller chunks for the parallel bulk path: several are in flight at once (raw bytes in the
# main process, parsed records in each worker), and peak memory grows with their size.
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

    @property
    def rejected_share(self) -> float:
        # Share of the studies read, not of those kept: the bulk path keeps only cell therapy.
        return self.rejected / max(self.scanned - self.duplicates, 1)


def records_run(run: RawRun) -> RawRun:
    """The run whose landed data a run reads: itself, or for a rebuild the run it rebuilds."""
    source = run.manifest().rebuild_of
    return RawRun.open(run.path.parent / source) if source else run


def run_records(run: RawRun) -> Iterator[Any]:
    """The study records of a landed run, streamed, whatever its kind (one copy per study)."""
    manifest = run.manifest()
    if manifest.kind == "bulk":
        return bulk_studies(Path(manifest.source or ""))
    return select_studies(records_run(run)).records()


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
    frames["trial_diseases"] = classify_diseases(tables.trial_text.filter(pl.col("nct_id").is_in(kept)))
    frames["trial_products"] = pl.DataFrame(schema=polars_schema(TrialProducts))
    validate_classified(frames)
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
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=die_with_parent, initargs=(os.getpid(),)
    ) as pool:
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
    conflicts: list[dict[str, Any]] = []
    try:
        if manifest.kind != "bulk":
            selection = select_studies(records_run(run))
            conflicts = selection.conflicts
            chunks = (process_chunk(b, run.run_id, False) for b in _batches(selection.records(), CHUNK_SIZE))
        else:
            source = Path(manifest.source or "")
            workers = settings.workers if (manifest.entries or 0) > BULK_CHUNK_SIZE else 1
            if workers > 1:
                batches = _batches(bulk_raw(source), BULK_CHUNK_SIZE)
                chunks = _parallel(batches, run.run_id, True, workers)
            else:
                chunks = (
                    process_chunk(b, run.run_id, True)
                    for b in _batches(bulk_studies(source), BULK_CHUNK_SIZE)
                )
        processed = stage(chunks, builder, payloads, on_chunk)
        if conflicts:
            log.warning("%d studies came back in different versions; kept the newest of each", len(conflicts))
        processed.quality["conflicting_duplicates"] = len(conflicts)
        processed.quality["conflicting_duplicate_examples"] = conflicts[:25]
        return processed
    except BaseException:
        builder.abort()
        raise
