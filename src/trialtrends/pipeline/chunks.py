"""Chunks of records: normalised, classified and validated, a failing study quarantined alone.

The judge stage (`pipeline.judge`) stages these into the warehouse being built; bulk sources
and registry deltas reach them through the scan, judge and normalise tasks of `pipeline.bulk`.
Pure work on records: no network, no warehouse.
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
from dataclasses import dataclass, field
from typing import Any, TypeVar

import polars as pl

from trialtrends.extract.records import dumps_safe, nct_id_of
from trialtrends.transform.classify import classify
from trialtrends.transform.diseases import classify_diseases
from trialtrends.transform.flatten import Rows, flatten_studies
from trialtrends.transform.normalize import build_tables
from trialtrends.transform.text_hygiene import HygieneCounts
from trialtrends.validate.quarantine import validate_classified, validate_tables
from trialtrends.words import plural

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _peak_mb() -> float:
    """This process's peak resident memory so far (for debug logs of each stage)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# Studies normalised per chunk: bounds memory on registry-sized inputs.
CHUNK_SIZE = 20_000
# Bulk inputs below two of these run in this process: starting workers costs seconds.
BULK_CHUNK_SIZE = 10_000


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
    #: Studies whose staged rows this chunk replaces (a later, newer copy in a bulk source).
    replaces: set[str] = field(default_factory=set)
    #: What text hygiene cleaned and capped in this chunk (the quality summary adds them up).
    hygiene: HygieneCounts = field(default_factory=HygieneCounts)


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
    frames, hygiene = _frames_isolating(rows, run_id, cell_therapy_only)
    return Chunk(frames, counts["scanned"], counts["duplicates"], hygiene=hygiene)


class _StepFailed(Exception):
    """A step of the frame work failed (the step's name travels into the quarantine reason)."""

    def __init__(self, step: str, exc: Exception) -> None:
        super().__init__(f"{step}: {type(exc).__name__}: {exc}"[:300])
        self.step = step


def _frames(
    rows: Rows, run_id: str, cell_therapy_only: bool
) -> tuple[dict[str, pl.DataFrame], HygieneCounts]:
    """The staged frames of flattened rows (normalise, classify, validate), and what text
    hygiene cleaned and capped on the way."""
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
    return frames, tables.hygiene


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


def _frames_isolating(
    rows: Rows, run_id: str, cell_therapy_only: bool
) -> tuple[dict[str, pl.DataFrame], HygieneCounts]:
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
    log.warning("quarantined %s whose processing failed", plural(len(failed), "study", "studies"))
    poisoned = [(nct_id, run_id, str(why), "null") for nct_id, why in failed]
    parts.append(_frames(Rows(rejected=[*rows.rejected, *poisoned]), run_id, cell_therapy_only))
    frames = {name: pl.concat([p[0][name] for p in parts], how="vertical_relaxed") for name in parts[0][0]}
    return frames, sum((p[1] for p in parts), HygieneCounts())


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
