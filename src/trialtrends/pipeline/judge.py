"""The judge stage: read the run's landed studies, classify them, stage what counts.

Three shapes of input, one staging: a search run's studies are all normalised (the searches
chose them); a registry delta's and a bulk baseline's are judged first (byte prefilter, then the
classifier) and only the cell-therapy ones are normalised, while every study gets a row in the
registry index. Each chunk goes straight into the warehouse being built.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import polars as pl

from trialtrends.extract.bulk import parts
from trialtrends.extract.raw import select_studies
from trialtrends.load.warehouse import WarehouseBuilder
from trialtrends.manifest import BASELINE, DELTA
from trialtrends.pipeline.bulk import (
    PARALLEL_MIN_ENTRIES,
    PART_BYTES,
    PART_ENTRIES,
    BulkTally,
    bulk_chunks,
    record_chunks,
)
from trialtrends.pipeline.chunks import CHUNK_SIZE, Chunk, _batches, _peak_mb, _records_chunk
from trialtrends.pipeline.context import Judged, Quality, RunContext
from trialtrends.pipeline.index import IndexRows
from trialtrends.transform.classify import CLASSIFIER_VERSION
from trialtrends.transform.flatten import UNMAPPED_CODE
from trialtrends.transform.normalize import Tables
from trialtrends.transform.text_hygiene import HygieneCounts

log = logging.getLogger(__name__)


def judge(ctx: RunContext) -> None:
    """Stage the run's studies into a new warehouse being built (`ctx.judged`)."""
    run, manifest = ctx.require_run
    data_run = ctx.data_run or run
    builder = WarehouseBuilder(ctx.settings.warehouse_path, run.run_id)
    on_chunk = (lambda scanned: ctx.event("scan", {"studies": scanned})) if ctx.progress else None
    registry = manifest.mode in (BASELINE, DELTA)
    index = IndexRows() if registry else None
    try:
        if manifest.kind == "bulk":
            source = Path(manifest.source or "")
            workers = ctx.settings.workers if (manifest.entries or 0) >= PARALLEL_MIN_ENTRIES else 1
            tally = BulkTally(index=index)
            chunks = bulk_chunks(
                parts(source, PART_ENTRIES, PART_BYTES),
                run.run_id,
                workers,
                ctx.settings.bulk_prefilter,
                tally,
            )
            judged = stage(chunks, builder, on_chunk)
            judged.quality.prefilter = ctx.settings.bulk_prefilter
            judged.quality.parsed = tally.candidates
            judged.quality.skipped_unparsed = tally.skipped
            judged.quality.inflated_bytes = tally.inflated_bytes
            judged.quality.conflicting_duplicates = tally.conflicts
            judged.quality.conflicting_duplicate_examples = tally.conflict_examples
            if tally.conflicts:
                log.warning("%d studies came in differing copies; kept the newest of each", tally.conflicts)
            log.info(
                "bulk scan: %d entries, %d parsed, %d skipped unparsed, %d repeats",
                tally.entries, tally.candidates, tally.skipped, tally.repeats,
            )  # fmt: skip
        else:
            # A rebuild reads another run's pages: that run's manifest lists them.
            selection = select_studies(data_run, manifest if data_run is run else None)
            chunks_of: Iterable[Chunk]
            if registry:
                chunks_of = record_chunks(selection.records(), run.run_id, index)
            else:
                batches = _batches(selection.records(), CHUNK_SIZE)
                chunks_of = (_records_chunk(b, run.run_id, False) for b in batches)
            judged = stage(chunks_of, builder, on_chunk)
            conflicts = selection.conflicts
            if conflicts:
                log.warning(
                    "%d studies came back in different versions; kept the newest of each", len(conflicts)
                )
            judged.quality.conflicting_duplicates = len(conflicts)
            judged.quality.conflicting_duplicate_examples = conflicts[:25]
        if index is not None:
            builder.append("registry_studies", index.frame(run.run_id, CLASSIFIER_VERSION))
            judged.index_rows = len(index)
    except BaseException:
        builder.abort()
        raise
    ctx.judged = judged
    manifest.scanned = judged.scanned
    manifest.rejected_studies = judged.rejected
    manifest.quality = judged.quality.to_dict()
    manifest.classifier_version = CLASSIFIER_VERSION
    if registry:
        manifest.index_rows = judged.index_rows


def stage(
    chunks: Iterable[Chunk],
    builder: WarehouseBuilder,
    on_chunk: Callable[[int], None] | None = None,
) -> Judged:
    """Stage chunks into the building warehouse. A study staged twice (by its parsed id, in two
    chunks) keeps the copy with the newer lastUpdatePostDate, the later one on a tie, as a pull
    does: the bulk scan resolves repeats it can see in the bytes, this what only parsing shows."""
    staged: dict[str, Any] = {}  # nct_id -> last update of the staged copy
    scanned = duplicates = trials = classified = rejected = validated = 0
    replaced = False
    hygiene = HygieneCounts()
    for chunk in chunks:
        scanned += chunk.scanned
        duplicates += chunk.duplicates
        if chunk.replaces:
            replaced = True
            builder.delete_studies(chunk.replaces)
            for nct_id in chunk.replaces:
                staged.pop(nct_id, None)
        if not chunk.parsed:
            if on_chunk:
                on_chunk(scanned)
            continue
        validated += chunk.scanned - chunk.duplicates if chunk.validated is None else chunk.validated
        hygiene += chunk.hygiene
        frames = chunk.frames
        updates = dict(frames["trials"].select("nct_id", "last_update_posted_date").iter_rows())
        repeated = staged.keys() & updates.keys()
        newer: set[str] = set()
        if repeated:
            duplicates += len(repeated)
            newer = {i for i in repeated if _newer_or_same(updates[i], staged[i])}
            if newer:
                replaced = True
                builder.delete_studies(newer)
            drop = ~pl.col("nct_id").is_in(list(repeated - newer))
            frames = {n: f if n == "rejected_studies" else f.filter(drop) for n, f in frames.items()}
        staged.update((i, d) for i, d in updates.items() if i not in repeated - newer)
        for name, frame in frames.items():
            builder.append(name, frame)
        trials += frames["trials"].height
        classified += int(frames["trial_flags"]["is_cell_therapy"].sum())
        rejected += frames["rejected_studies"].height
        if on_chunk:
            on_chunk(scanned)
    if replaced:
        # Later copies replaced staged rows: count what is staged now.
        trials = builder.query("select count(*) from trials")[0][0]
        classified = builder.query("select count(*) from trial_flags where is_cell_therapy")[0][0]
    log.debug("staged %d scanned studies; peak RSS %.0f MB", scanned, _peak_mb())
    quality = quality_summary(builder)
    quality.scanned, quality.duplicates = scanned, duplicates
    quality.classified_trials, quality.validated = classified, validated
    quality.text_hygiene = hygiene.as_dict()
    return Judged(builder, scanned, duplicates, trials, classified, rejected, quality, validated)


def _newer_or_same(new: Any, old: Any) -> bool:
    """A copy's update date against the staged copy's (a missing date is the oldest)."""
    return old is None or (new is not None and new >= old)


def quality_summary(builder: WarehouseBuilder) -> Quality:
    """The run's data-quality summary, read from the staged tables."""

    def column(sql: str) -> list[Any]:
        return [row[0] for row in builder.query(sql)]

    counts = {
        name: builder.query(f"select count(*) from {name}")[0][0]
        for name in (*Tables.TABLES, "trial_modalities", "rejected_studies")
    }
    unknown = column("select distinct sponsor_raw from trial_sponsors where not is_known_sponsor order by 1")
    return Quality(
        counts=counts,
        unmapped_countries=column(
            f"select distinct country_raw from trial_countries where country_code = '{UNMAPPED_CODE}' "
            "and country_raw is not null order by 1"
        ),
        unknown_sponsor_spellings=len(unknown),
        unknown_sponsor_examples=unknown[:25],
        long_term_follow_up=column("select count(*) from trial_flags where is_long_term_follow_up")[0],
        rejected=[
            {"nct_id": nct_id, "reason": reason[:300]}
            for nct_id, reason in builder.query("select nct_id, reason from rejected_studies limit 50")
        ],
    )
