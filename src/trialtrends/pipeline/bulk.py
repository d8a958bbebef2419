"""Bulk sources in parallel: scan tasks over bounded parts, then judge and normalise tasks.

A *scan* task (`scan_part`) reads one part of the source by itself (a worker preads and
inflates its own zip entries), checks each record's bytes against the prefilter
(`transform.prefilter`) and sends back only the candidates. The main process drops repeated
nctIds and pools the candidates into *judge* tasks (`judge`), which classify them on their text
rows and send back the cell-therapy ones; those are pooled again into *normalise* tasks
(`normalise`), which normalise, classify and validate them. Most registry studies are counted
and CRC-checked but never parsed (README "Bulk ingest").
"""

from __future__ import annotations

import multiprocessing
import os
import re
from array import array
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from trialtrends.extract.bulk import Deflated, Malformed, Part, read_part_deflated
from trialtrends.extract.records import dumps_safe, nct_id_of, parse_record
from trialtrends.pipeline.chunks import (
    BULK_CHUNK_SIZE,
    Chunk,
    _batches,
    _with_payloads,
    die_with_parent,
    isolate_failures,
    process_chunk,
)
from trialtrends.pipeline.index import IndexRows, days, digest
from trialtrends.transform.classify import cell_therapy_ids
from trialtrends.transform.prefilter import scan
from trialtrends.transform.study_text import text_frame, text_row

# A bulk scan part: at most this many entries and this many uncompressed bytes (a record
# larger than that is a part of its own, up to bulk.MAX_RECORD_BYTES). Several parts are in
# flight at once, so peak memory grows with PART_BYTES, never with the input's size.
PART_ENTRIES = 4_000
PART_BYTES = 16 << 20
# Candidates per judge task: deciding costs ~0.5 s a call whatever its size (the classifier's
# regexes are compiled per call), so candidates are pooled across parts; bounded in bytes too.
# Zip records wait as their deflated bytes (`Deflated`, ~3.5x smaller), and a judge task holds
# those plus the text rows it classifies, inflating one record at a time.
JUDGE_ENTRIES = 6_000
JUDGE_BYTES = 24 << 20
# Cell-therapy records per normalise task: ~1% of a registry, so a whole night is a few tasks,
# each paying normalisation's fixed cost (classify, diseases, pandera) once. Bounded by bytes as
# held (deflated for a zip): a task parses all of its records at once.
NORMALISE_ENTRIES = 5_000
NORMALISE_BYTES = 16 << 20
PARALLEL_MIN_ENTRIES = 2 * BULK_CHUNK_SIZE

Raw = list[tuple[str, bytes | Deflated | Malformed]]


def _parsed(where: str, data: bytes | Deflated | Malformed) -> Any:
    if isinstance(data, Malformed):
        return data
    return parse_record(data.inflate() if isinstance(data, Deflated) else data, where)


# (nct_id, last update as days since 1970 or -1, sha256 of the record's bytes): an index row of a
# record its bytes did not name (judge, below).
IndexRow = tuple[str, int, bytes]


def judge(raw: Raw, unnamed: frozenset[str] = frozenset()) -> tuple[int, Raw, list[str], list[IndexRow]]:
    """The records among bulk candidates that the classifier finds cell therapy in, on the same
    text rows normalisation builds, plus those without a well-formed nctId (normalisation
    quarantines them): (how many were judged, those kept, the nctIds found cell therapy, and the
    index rows of the `unnamed` records, those whose bytes did not name one study). Only the
    text rows are held while classifying; the few kept records are parsed again when
    normalised."""
    rows: list[dict[str, Any]] = []
    ids: list[str | None] = []
    index_rows: list[IndexRow] = []
    for where, data in raw:
        text = data.inflate() if isinstance(data, Deflated) else data
        record = text if isinstance(text, Malformed) else parse_record(text, where)
        nct_id = nct_id_of(record) if isinstance(record, dict) else None
        if where in unnamed and nct_id is not None and isinstance(text, bytes):
            index_rows.append((nct_id, days(_last_update(record)), digest(text)))
        try:
            row = text_row(record) if nct_id is not None else None
        except Exception:  # kept: normalisation quarantines it with the reason
            row, nct_id = None, None
        ids.append(nct_id)
        if row is not None:
            rows.append(row)
    kept_ids = _cell_therapy(rows)
    kept = [entry for entry, nct_id in zip(raw, ids, strict=True) if nct_id is None or nct_id in kept_ids]
    return len(raw), kept, sorted(kept_ids), index_rows


def _cell_therapy(rows: list[dict[str, Any]]) -> set[str]:
    """The nctIds the classifier decides are cell therapy, plus those of rows it fails on alone
    (normalisation then quarantines them with the reason): one row cannot fail a judge task."""
    if not rows:
        return set()
    try:
        return cell_therapy_ids(text_frame(rows))
    except Exception as exc:  # pinned on its rows below
        error = exc
    decided, failed = isolate_failures(rows, lambda part: cell_therapy_ids(text_frame(part)), error)
    return set().union(*decided, (row["nct_id"] for row, _why in failed))


def normalise(raw: Raw, run_id: str) -> Chunk:
    """process_chunk over judged (where, bytes) records, parsed here; the quarantined studies get
    their raw payload from the bytes the task already holds (no second read of the input)."""
    chunk = process_chunk((_parsed(where, data) for where, data in raw), run_id, True)
    chunk.validated = chunk.scanned - chunk.duplicates

    def lookup(wanted: set[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for _where, data in raw:
            if isinstance(data, Malformed):
                continue
            text = data.inflate() if isinstance(data, Deflated) else data
            if (match := _NCT_BYTES.search(text)) and match[1].decode() in wanted:
                found.setdefault(match[1].decode(), dumps_safe(parse_record(text, _where)))
        return found

    return _with_payloads(chunk, lookup)


_NCT_BYTES = re.compile(rb'"nctId"\s*:\s*"(NCT\d{8})"')


# Conflicting copies whose later copy wins, held until the end; past this many (a zip made to
# hurt), the first copy wins and the conflict is still counted.
MAX_CONFLICTS = 10_000


def _replacing(
    winners: dict[int, tuple[str, bytes | Deflated | Malformed] | None], run_id: str, index: IndexRows | None
) -> Chunk:
    """The winning later copies of conflicting studies, judged and normalised here, as a chunk
    that replaces whatever their first copies staged (`Chunk.replaces`)."""
    entries = [entry for entry in winners.values() if entry is not None]
    _count, kept, cell, _rows = judge(entries) if entries else (0, [], [], [])
    if index is not None:
        index.cell.difference_update(winners)
        index.mark_cell_therapy(cell)
    chunk = normalise(kept, run_id) if kept else Chunk({}, 0, 0, parsed=False)
    chunk.scanned = 0  # every copy was counted when it was scanned
    chunk.replaces = {f"NCT{number:08d}" for number in winners}
    return chunk


def record_chunks(records: Iterable[Any], run_id: str, index: IndexRows | None) -> Iterator[Chunk]:
    """An API run's records judged the way a bulk source's are (registry mode's delta): the
    prefilter on their bytes, judge tasks, then normalise tasks for the cell-therapy ones; with
    `index`, every record's index row (its bytes are the record re-serialised with sorted keys,
    so the same record always gives the same checksum)."""
    for batch in _batches(records, JUDGE_ENTRIES):
        raw: Raw = []
        for record in batch:
            data = dumps_safe(record, sort_keys=True).encode()
            nct_id = nct_id_of(record)
            if index is not None and nct_id is not None:
                index.add(int(nct_id[3:]), days(_last_update(record)), digest(data))
            raw.append((nct_id or "record", data))
        decided = scan([data for _where, data in raw])
        candidates = [entry for entry, keep in zip(raw, decided.candidate, strict=True) if keep]
        _count, kept, cell, _rows = judge(candidates)
        if index is not None:
            index.mark_cell_therapy(cell)
        yield Chunk({}, len(raw) - len(kept), 0, parsed=False)
        if kept:
            yield normalise(kept, run_id)


def _last_update(record: Any) -> str | None:
    try:
        return record["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"]
    except (KeyError, TypeError):
        return None


# ---- bulk: scan parts, judge and normalise their candidates ---------------------------------


@dataclass
class Scanned:
    """What a scan task sends back: a tally of its part, and only the candidate records."""

    entries: int
    inflated_bytes: int
    #: NCT number of each entry in part order, -1 when its bytes show none.
    nct: array
    #: (entry position in the part, where, record) of the records to parse: a zip entry's
    #: deflated bytes, a file's or line's bytes, or Malformed.
    candidates: list[tuple[int, str, bytes | Deflated | Malformed]]
    #: Registry mode: each entry's last update (days since 1970, -1 unknown) and the sha256 of
    #: its bytes (32 bytes an entry), for the index.
    updated: array | None = None
    digests: bytes | None = None


def scan_part(part: Part, prefilter: bool, index: bool = False) -> Scanned:
    """Read (inflate, CRC-check) one part and keep what may be cell therapy (runs in workers);
    with `index`, also each entry's last update and checksum for registry mode's index."""
    raw, deflated = read_part_deflated(part)
    data = [d if isinstance(d, bytes) else b"" for _where, d in raw]
    decided = scan(data, prefilter, updated=index)
    candidates: list[tuple[int, str, bytes | Deflated | Malformed]] = [
        (i, where, d if not isinstance(d, bytes) or z is None else Deflated(bytes(z), len(d)))
        for i, ((where, d), z, keep) in enumerate(zip(raw, deflated, decided.candidate, strict=True))
        if keep or not isinstance(d, bytes)
    ]
    nct = array("q", (-1 if n is None else n for n in decided.nct_number))
    scanned = Scanned(len(raw), sum(len(d) for d in data), nct, candidates)
    if index:
        scanned.updated = array("i", (-1 if d is None else d for d in decided.updated or ()))
        scanned.digests = b"".join(digest(d) for d in data)
    return scanned


@dataclass
class BulkTally:
    """Facts of a bulk scan for the manifest's quality summary."""

    entries: int = 0
    inflated_bytes: int = 0
    skipped: int = 0
    candidates: int = 0
    repeats: int = 0
    #: Registry mode: the index rows of every study scanned (its winning copy).
    index: IndexRows | None = None
    #: Studies met in differing copies (the newest lastUpdatePostDate wins), with examples.
    conflicts: int = 0
    conflict_examples: list[dict[str, Any]] = field(default_factory=list)


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


class _Pool:
    """Records pooled into tasks of at most `entries` records and `max_bytes` raw bytes."""

    def __init__(self, entries: int, max_bytes: int) -> None:
        self.entries, self.max_bytes = entries, max_bytes
        self.batch: Raw = []
        self.bytes = 0

    def add(self, where: str, data: bytes | Deflated | Malformed) -> Raw | None:
        """Pool one record; the batch when it is full (bytes counted as held)."""
        self.batch.append((where, data))
        self.bytes += 0 if isinstance(data, Malformed) else len(data)
        return self.take() if len(self.batch) >= self.entries or self.bytes >= self.max_bytes else None

    def take(self) -> Raw:
        batch, self.batch, self.bytes = self.batch, [], 0
        return batch


def _split(batch: Raw, pieces: int) -> list[Raw]:
    """A batch as up to `pieces` consecutive pieces of about equal length (none empty)."""
    size = -(-len(batch) // max(pieces, 1))
    return [batch[i : i + size] for i in range(0, len(batch), size)] if batch else []


def bulk_chunks(
    source_parts: Iterable[Part],
    run_id: str,
    workers: int,
    prefilter: bool = True,
    tally: BulkTally | None = None,
) -> Iterator[Chunk]:
    """Chunks of a bulk source in input order, from three kinds of task in one pool of `workers`
    processes (or inline for one): scan tasks over its parts, judge tasks over the pooled
    candidates, normalise tasks over the pooled cell-therapy records.

    At most workers + 1 tasks of each kind are pending, and the main process holds only records
    (one judge and one normalise batch being filled, plus the pending results).
    """
    tally = tally if tally is not None else BulkTally()
    seen = _Seen()
    to_judge, to_normalise = _Pool(JUDGE_ENTRIES, JUDGE_BYTES), _Pool(NORMALISE_ENTRIES, NORMALISE_BYTES)
    scans: deque[Future[Scanned]] = deque()
    judges: deque[Future[tuple[int, Raw, list[str], list[IndexRow]]]] = deque()
    # Candidates whose bytes named no single study (no nctId key, or more than one: a linked
    # expanded-access record, or a record made to look like another): parsing names them.
    unnamed: set[str] = set()

    def submit_judge(batch: Raw) -> None:
        names = frozenset(w for w, _d in batch if w in unnamed) if index is not None else frozenset()
        unnamed.difference_update(names)
        judges.append(pool.submit(judge, batch, names))
    normalised: deque[Future[Chunk]] = deque()
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

    index = tally.index

    # A study met twice with different content keeps the copy with the newer lastUpdatePostDate
    # (the later one on a tie), as in a pull. The first copy is already on its way when a later
    # one wins, so the winners wait here and replace it at the end (rare: a registry zip has one
    # entry per study). The index's position of each study is looked up only once a repeat shows.
    winners: dict[int, tuple[str, bytes | Deflated | Malformed] | None] = {}
    positions: dict[int, int] = {}

    def repeated(number: int, updated: int, checksum: bytes, entry: Any) -> None:
        if index is None:
            return
        if not positions:
            positions.update((n, p) for p, n in enumerate(index.numbers))
        at = positions[number]
        if checksum == index.digest_at(at):
            return  # an identical copy: no conflict
        if number not in winners and len(tally.conflict_examples) < 25:
            tally.conflict_examples.append({"nct_id": f"NCT{number:08d}"})
        tally.conflicts += number not in winners
        if updated >= index.updated[at] and len(winners) < MAX_CONFLICTS:
            index.replace(at, updated, checksum)
            winners[number] = entry

    def scanned(result: Scanned) -> Iterator[Chunk]:
        tally.entries += result.entries
        tally.inflated_bytes += result.inflated_bytes
        keep = {i: (where, data) for i, where, data in result.candidates}
        repeats = 0
        for i, number in enumerate(result.nct):
            if number < 0:
                if i in keep and index is not None:
                    unnamed.add(keep[i][0])
                continue
            updated = result.updated[i] if result.updated is not None else -1
            checksum = result.digests[32 * i : 32 * i + 32] if result.digests else b""
            if seen.add(number):
                repeats += 1
                repeated(number, updated, checksum, keep.pop(i, None))
            elif index is not None and checksum:
                if positions:
                    positions[number] = len(index)
                index.add(number, updated, checksum)
        tally.repeats += repeats
        tally.candidates += len(keep)
        tally.skipped += result.entries - len(result.candidates)
        yield Chunk({}, result.entries - len(keep), repeats, parsed=False)
        for where, data in keep.values():
            if batch := to_judge.add(where, data):
                submit_judge(batch)

    def judged(result: tuple[int, Raw, list[str], list[IndexRow]]) -> Iterator[Chunk]:
        count, kept, cell, parsed_rows = result
        if index is not None:
            for nct_id, updated, checksum in parsed_rows:
                index.add(int(nct_id[3:]), updated, checksum, parsed=True)
            index.mark_cell_therapy(cell)
        yield Chunk({}, count - len(kept), 0, parsed=False)
        for where, data in kept:
            if batch := to_normalise.add(where, data):
                normalised.append(pool.submit(normalise, batch, run_id))

    def ready(final: bool = False) -> Iterator[Chunk]:
        """Results of judge and normalise tasks that are done (or over the pending bound)."""
        while judges and (final or judges[0].done() or len(judges) > workers):
            yield from judged(judges.popleft().result())
        while normalised and (final or normalised[0].done() or len(normalised) > workers):
            yield normalised.popleft().result()

    try:
        for part in source_parts:
            scans.append(pool.submit(scan_part, part, prefilter, index is not None))
            while len(scans) > workers:
                yield from scanned(scans.popleft().result())
                yield from ready()
        while scans:
            yield from scanned(scans.popleft().result())
            yield from ready()
        # The last batches are split across the workers: nothing else is left to overlap them.
        for piece in _split(to_judge.take(), workers):
            submit_judge(piece)
        while judges:
            yield from judged(judges.popleft().result())
        for piece in _split(to_normalise.take(), workers):
            normalised.append(pool.submit(normalise, piece, run_id))
        yield from ready(final=True)
        if winners:
            yield _replacing(winners, run_id, index)
    finally:
        for future in (*scans, *judges, *normalised):
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
