"""Bulk sources in parallel: scan tasks over bounded parts, parse tasks over pooled candidates.

A *scan* task (`scan_part`) reads one part of the source by itself (a worker preads and
inflates its own zip entries), checks each record's bytes against the prefilter
(`transform.prefilter`) and sends back only the candidates. The main process drops repeated
nctIds and pools the candidates into *parse* tasks (`process_raw_chunk`), which classify them on
their text rows and normalise and validate the cell-therapy ones. Most registry studies are
counted and CRC-checked but never parsed (README "Bulk ingest").
"""

from __future__ import annotations

import multiprocessing
import os
import re
from array import array
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson
import polars as pl

from trialtrends.extract.bulk import Malformed, Part, read_part
from trialtrends.extract.records import nct_id_of, parse_record
from trialtrends.process import BULK_CHUNK_SIZE, Chunk, _with_payloads, die_with_parent, process_chunk
from trialtrends.transform.classify import classify
from trialtrends.transform.prefilter import scan
from trialtrends.transform.study_text import text_frame, text_row

# A bulk scan part: at most this many entries and this many uncompressed bytes (a record
# larger than that is a part of its own, up to bulk.MAX_RECORD_BYTES). Several parts are in
# flight at once, so peak memory grows with PART_BYTES, never with the input's size.
PART_ENTRIES = 4_000
PART_BYTES = 16 << 20
# Candidates per parse task: classifying costs ~1 s a call whatever its size, so candidates
# are pooled across parts; bounded in bytes too (a parse task holds its raw bytes, and the
# text rows of the candidates while it classifies them, never all of them parsed at once).
PARSE_ENTRIES = 5_000
PARSE_BYTES = 32 << 20
PARALLEL_MIN_ENTRIES = 2 * BULK_CHUNK_SIZE


def process_raw_chunk(
    raw: list[tuple[str, bytes | Malformed]], run_id: str, cell_therapy_only: bool
) -> Chunk:
    """process_chunk over unparsed (where, bytes) records: parsing happens in the worker, and the
    quarantined studies get their raw payload here, from the bytes the chunk already holds.

    With `cell_therapy_only` the records are classified on their text rows first and only the
    cell-therapy ones (and those without a usable nctId, for quarantine) are normalised and
    validated: the prefilter's candidates are mostly other studies that name an anchor word.
    """
    scanned = len(raw)
    if cell_therapy_only:
        raw = _cell_therapy_or_unreadable(raw)
    chunk = process_chunk(
        (data if isinstance(data, Malformed) else parse_record(data, where) for where, data in raw),
        run_id,
        cell_therapy_only,
    )
    chunk.validated = chunk.scanned - chunk.duplicates
    chunk.scanned = scanned

    def lookup(wanted: set[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for _where, data in raw:
            if isinstance(data, bytes) and (match := _NCT_BYTES.search(data)) and match[1].decode() in wanted:
                found.setdefault(match[1].decode(), orjson.dumps(orjson.loads(data)).decode())
        return found

    return _with_payloads(chunk, lookup)


def _cell_therapy_or_unreadable(
    raw: list[tuple[str, bytes | Malformed]],
) -> list[tuple[str, bytes | Malformed]]:
    """The records the classifier finds cell therapy in, on the same text rows normalisation
    builds, plus those without a well-formed nctId (normalisation quarantines them). Only the
    text rows are kept while classifying; the few kept records are parsed again later."""
    rows: list[dict[str, Any]] = []
    ids: list[str | None] = []
    for where, data in raw:
        record = data if isinstance(data, Malformed) else parse_record(data, where)
        nct_id = nct_id_of(record) if isinstance(record, dict) else None
        ids.append(nct_id)
        if nct_id is not None:
            rows.append(text_row(record))
    if not rows:
        return raw
    flags = classify(text_frame(rows)).flags
    cell = set(flags.filter(pl.col("is_cell_therapy"))["nct_id"])
    return [entry for entry, nct_id in zip(raw, ids, strict=True) if nct_id is None or nct_id in cell]


_NCT_BYTES = re.compile(rb'"nctId"\s*:\s*"(NCT\d{8})"')


# ---- bulk: scan parts, parse candidates --------------------------------------------------------


@dataclass
class Scanned:
    """What a scan task sends back: a tally of its part, and only the candidate records."""

    entries: int
    inflated_bytes: int
    #: NCT number of each entry in part order, -1 when its bytes show none.
    nct: array
    #: (entry position in the part, where, bytes or Malformed) of the records to parse.
    candidates: list[tuple[int, str, bytes | Malformed]]


def scan_part(part: Part, prefilter: bool) -> Scanned:
    """Read (inflate, CRC-check) one part and keep what may be cell therapy (runs in workers)."""
    raw = read_part(part)
    data = [d if isinstance(d, bytes) else b"" for _where, d in raw]
    decided = scan(data, prefilter)
    candidates = [
        (i, where, d)
        for i, ((where, d), keep) in enumerate(zip(raw, decided.candidate, strict=True))
        if keep or not isinstance(d, bytes)
    ]
    nct = array("q", (-1 if n is None else n for n in decided.nct_number))
    return Scanned(len(raw), sum(len(d) for d in data), nct, candidates)


@dataclass
class BulkTally:
    """Facts of a bulk scan for the manifest's quality summary."""

    entries: int = 0
    inflated_bytes: int = 0
    skipped: int = 0
    candidates: int = 0
    repeats: int = 0


class _Seen:
    """nctIds seen so far, as one bit per NCT number (12.5 MB whatever the input's size)."""

    def __init__(self) -> None:
        self.bits = bytearray(100_000_000 // 8 + 1)

    def add(self, number: int) -> bool:
        """Mark a number; True when it was already marked."""
        byte, bit = divmod(number, 8)
        mask = 1 << bit
        seen = bool(self.bits[byte] & mask)
        self.bits[byte] |= mask
        return seen


class _Inline(Executor):
    """An executor that runs each task at submit (the small-input path: no worker start-up)."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def,override]
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


def bulk_chunks(
    source_parts: Iterable[Part],
    run_id: str,
    workers: int,
    prefilter: bool = True,
    tally: BulkTally | None = None,
) -> Iterator[Chunk]:
    """Chunks of a bulk source in input order: scan tasks over its parts, parse tasks over the
    pooled candidates, all in one pool of `workers` processes (or inline for one).

    At most workers + 1 scan tasks and workers + 1 parse tasks are pending, and the main
    process holds only candidates (one parse batch being filled plus the pending results).
    """
    tally = tally if tally is not None else BulkTally()
    seen = _Seen()
    batch: list[tuple[str, bytes | Malformed]] = []
    batch_bytes = 0
    scans: deque[Future[Scanned]] = deque()
    parses: deque[Future[Chunk]] = deque()
    # spawn, not fork: Polars' thread pool does not survive a fork.
    pool: Executor = (
        ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=die_with_parent,
            initargs=(os.getpid(),),
        )
        if workers > 1
        else _Inline()
    )

    def take(result: Scanned) -> Iterator[Chunk]:
        nonlocal batch, batch_bytes
        tally.entries += result.entries
        tally.inflated_bytes += result.inflated_bytes
        keep = {i: (where, data) for i, where, data in result.candidates}
        repeats = 0
        for i, number in enumerate(result.nct):
            # First copy wins, in input order, whether or not it is a candidate.
            if number >= 0 and seen.add(number):
                repeats += 1
                keep.pop(i, None)
        tally.repeats += repeats
        tally.candidates += len(keep)
        tally.skipped += result.entries - len(result.candidates)
        yield Chunk({}, result.entries - len(keep), repeats, parsed=False)
        for where, data in keep.values():
            batch.append((where, data))
            batch_bytes += len(data) if isinstance(data, bytes) else 0
            if len(batch) >= PARSE_ENTRIES or batch_bytes >= PARSE_BYTES:
                parses.append(pool.submit(process_raw_chunk, batch, run_id, True))
                batch, batch_bytes = [], 0

    def ready(final: bool = False) -> Iterator[Chunk]:
        while parses and (final or parses[0].done() or len(parses) > workers):
            yield parses.popleft().result()

    try:
        for part in source_parts:
            scans.append(pool.submit(scan_part, part, prefilter))
            while len(scans) > workers:
                yield from take(scans.popleft().result())
                yield from ready()
        while scans:
            yield from take(scans.popleft().result())
            yield from ready()
        if batch:
            parses.append(pool.submit(process_raw_chunk, batch, run_id, True))
            batch = []
        yield from ready(final=True)
    finally:
        for future in (*scans, *parses):
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
