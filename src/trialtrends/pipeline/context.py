"""The one typed context of a run, carried in memory from stage to stage.

A run is a short list of named stages (acquire -> judge -> merge -> gate -> publish, see
`stages.STAGES`); each reads the context and adds what it made. The manifest is this context
written at stage boundaries (`RunContext.save`), never a store that a stage reads back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from trialtrends.extract.raw import RawRun
from trialtrends.load.warehouse import CarriedOver, WarehouseBuilder
from trialtrends.manifest import RunManifest
from trialtrends.settings import Settings
from trialtrends.validate import gates

# progress(event, detail): what the terminal display and logs follow (extract.api_pull.Progress).
Progress = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class Request:
    """What the user (or the nightly flow) asked of this run."""

    command: str = "refresh"
    #: registry or search (settings.MODES); a rebuild keeps the mode of the run it rebuilds.
    mode: str = "registry"
    #: Registry mode: download a new baseline tonight whatever its age.
    full: bool = False
    #: Search mode: only studies updated on or after this date.
    since: date | None = None
    #: A bulk file (a registry zip or JSONL) read as a baseline instead of the network.
    source: Path | None = None
    #: A landed run to reprocess without the network.
    rebuild_of: RawRun | None = None


@dataclass
class Quality:
    """The run's data-quality summary (the manifest's `quality`, the Prefect artifact)."""

    counts: dict[str, int] = field(default_factory=dict)
    unmapped_countries: list[str] = field(default_factory=list)
    unknown_sponsor_spellings: int = 0
    unknown_sponsor_examples: list[str] = field(default_factory=list)
    long_term_follow_up: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    scanned: int = 0
    duplicates: int = 0
    classified_trials: int = 0
    validated: int = 0
    conflicting_duplicates: int = 0
    conflicting_duplicate_examples: list[dict[str, Any]] = field(default_factory=list)
    #: Free-text values cleaned (control, zero-width, ANSI removed; NFC) and capped, per
    #: table.column, with the caps (transform/text_hygiene.py).
    text_hygiene: dict[str, Any] = field(default_factory=dict)
    # Bulk inputs: whether the byte prefilter ran, and what it parsed and skipped.
    prefilter: bool | None = None
    parsed: int | None = None
    skipped_unparsed: int | None = None
    inflated_bytes: int | None = None
    #: Facts added by later stages or newer versions (kept as they are).
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        extra = data.pop("extra")
        return {k: v for k, v in {**data, **extra}.items() if v is not None}


@dataclass
class Judged:
    """What the judge stage staged: the building warehouse and the facts the gates need."""

    builder: WarehouseBuilder
    scanned: int
    duplicates: int
    trials: int
    classified: int
    rejected: int
    quality: Quality
    #: Studies parsed and validated (first copies); the bulk prefilter skips the rest unparsed.
    validated: int = 0
    #: Rows staged in the registry index (registry mode), one per study judged.
    index_rows: int = 0

    @property
    def rejected_share(self) -> float:
        # Share of the studies validated, not of those kept (the bulk path keeps only cell
        # therapy) nor of those scanned (the prefilter never parses most of a registry zip).
        return self.rejected / max(self.validated, 1)


@dataclass
class RunContext:
    """Everything one run knows, in memory; stages fill it in order."""

    settings: Settings
    request: Request
    progress: Progress | None = None
    #: acquire: the run's landing folder and its manifest (this context's written form).
    run: RawRun | None = None
    manifest: RunManifest | None = None
    #: acquire: the run whose landed data this run reads (itself, or the run it rebuilds).
    data_run: RawRun | None = None
    #: acquire: every other landed run, oldest first, read once when the run begins (the data
    #: folder's lock keeps them still); the gates, the runs table and retention use it.
    history: list[tuple[RawRun, RunManifest]] = field(default_factory=list)
    #: acquire: the newest published run before this one (the gates and a delta compare to it).
    previous: RunManifest | None = None
    #: acquire (a zip being checksummed while it is judged): records the run as landed.
    finish_landing: Callable[[], None] | None = None
    #: judge -> merge -> gate -> publish.
    judged: Judged | None = None
    #: merge: what a delta or a search --since kept of the published warehouse (the trials
    #: carried over unchanged) and did to it (the cell-therapy trials it no longer calls so).
    carried_over: CarriedOver | None = None
    #: gate.
    results: list[gates.GateResult] = field(default_factory=list)

    def save(self) -> None:
        """Write the manifest (the stage boundaries call this)."""
        if self.run is not None and self.manifest is not None:
            self.run.write_manifest(self.manifest)

    def event(self, name: str, detail: dict[str, Any]) -> None:
        if self.progress is not None:
            self.progress(name, detail)

    @property
    def require_run(self) -> tuple[RawRun, RunManifest]:
        if self.run is None or self.manifest is None:
            raise RuntimeError("the acquire stage has not run")
        return self.run, self.manifest

    @property
    def require_judged(self) -> Judged:
        if self.judged is None:
            raise RuntimeError("the judge stage has not run")
        return self.judged
