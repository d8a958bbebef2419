"""The terminal side of the CLI: logging that cooperates with a live progress display.

On a terminal, log records and the progress display share one rich `Console` on stderr: a log
line is printed above the live progress lines (which are redrawn below it), so a log line never
lands on the end of a half-drawn `\\r` progress line. Off a terminal (a pipe, a file, cron,
Prefect) there is no progress display and logs are plain lines on stderr.

rich is imported only when stderr is a terminal (it costs a quarter of a second at start-up).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from trialtrends.output.render import printable

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(message)s"
LOG_DATEFMT = "%H:%M:%S"
_LEVEL_STYLES = {"WARNING": "yellow", "ERROR": "bold red", "CRITICAL": "bold red"}

_console: Console | None = None


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False


def stderr_is_terminal() -> bool:
    return _is_terminal(sys.stderr)


def stderr_console() -> Console:
    """The one Console on stderr that log lines and the progress display share."""
    global _console
    if _console is None:
        from rich.console import Console

        _console = Console(stderr=True, highlight=False)
    return _console


class _CurrentStderr(logging.StreamHandler):
    """Plain log lines to whatever sys.stderr is when the record is emitted (CliRunner swaps it)."""

    @property  # type: ignore[override]
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _value: IO[str]) -> None:
        pass


class ConsoleLogHandler(logging.Handler):
    """Log lines through the shared Console: above a live progress display, never inside it.

    The text is the same as off a terminal (time, level, message), printed with soft wrap so the
    terminal, not rich, wraps a long line: every record starts at column 0 of its own line.
    """

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        from rich.text import Text

        try:
            message = self.format(record)
            self.console.print(
                Text(message, style=_LEVEL_STYLES.get(record.levelname, "")),
                soft_wrap=True,
                markup=False,
                highlight=False,
            )
        except Exception:
            self.handleError(record)


class PrintableFormatter(logging.Formatter):
    """Log lines with control characters shown as escapes: a message quoting registry text
    (an unmapped country, a rejected title) must not recolour or retitle the terminal."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))


def configure_logging(level: int) -> None:
    """Route the root logger to stderr at `level` (replacing a handler set here before)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_trialtrends", False)]:
        root.removeHandler(handler)
    handler: logging.Handler
    handler = ConsoleLogHandler(stderr_console()) if stderr_is_terminal() else _CurrentStderr()
    handler.setFormatter(PrintableFormatter(LOG_FORMAT, datefmt=LOG_DATEFMT))
    # The level on the handler too: a logger given its own level elsewhere (flows/nightly.py sets
    # "trialtrends" to INFO) must not print INFO lines past -q.
    handler.setLevel(level)
    handler._trialtrends = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)


# What each stage of processing is doing, as the pipeline announces it ("stage" events).
_STAGE_TEXT = {
    "judge": "judging, normalising, validating",
    "merge": "merging into the published warehouse",
    "gate": "checking the gates",
    "publish": "loading and publishing",
}


class RefreshProgress:
    """A live display of a refresh's stages on the stderr terminal; use as the progress callback.

    Stages: pull (one step per query; the page and the unique studies so far), or read for a
    bulk file; then process / load / publish, an indeterminate spinner with the studies scanned
    (`scan` events) that turns to "gates, load, publish" once every pulled study is scanned.
    The pull's last event is known when the last query's last page landed (page x page size
    covers its totalCount) or, at the latest, at the first `scan` event.
    """

    def __init__(
        self,
        console: Console,
        *,
        queries: int | None = None,
        page_size: int | None = None,
        source: Path | None = None,
        api_url: str | None = None,
        rebuild_of: str | None = None,
    ) -> None:
        self.console = console
        self.queries = queries
        self.page_size = page_size
        self.source = source
        self.api_url = api_url
        self.rebuild_of = rebuild_of
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            SpinnerColumn(finished_text="[green]✓[/]"),
            TextColumn("{task.description:<8}"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console,
            redirect_stdout=_is_terminal(sys.stdout),
            redirect_stderr=True,
            refresh_per_second=8,
        )
        self._pull: TaskID | None = None
        self._process: TaskID | None = None
        self._queries_started = 0
        self._seen_queries: set[str] = set()
        self._studies = 0  # unique studies pulled so far
        self._scanned = 0

    # -- the callback ------------------------------------------------------------------------

    def __call__(self, event: str, detail: dict[str, Any]) -> None:
        if event == "query":
            self._on_query(detail)
        elif event == "page":
            self._on_page(detail)
        elif event == "scan":
            self._on_scan(detail)
        elif event == "stage":
            self._on_stage(detail)
        elif event == "download":
            self._on_download(detail)

    def _on_download(self, detail: dict[str, Any]) -> None:
        """The registry download: bytes so far of the total, the rate and the time left."""
        if self._pull is None:
            return
        done, total = detail.get("bytes", 0), detail.get("total")
        text = f"downloading the registry: {done / 1e6:,.0f} MB" + (
            f" of {total / 1e6:,.0f} MB" if total else ""
        )
        if detail.get("rate"):
            text += f", {detail['rate'] / 1e6:,.1f} MB/s"
        if detail.get("eta") is not None:
            minutes, seconds = divmod(round(detail["eta"]), 60)
            text += f", {minutes} min {seconds:02d} s left" if minutes else f", {seconds} s left"
        self.progress.update(self._pull, detail=text)

    def _on_stage(self, detail: dict[str, Any]) -> None:
        self._start_processing()
        assert self._process is not None
        text = _STAGE_TEXT.get(detail.get("stage", ""), str(detail.get("stage")))
        if self._scanned:
            text = f"{self._scanned} studies scanned; {text}"
        self.progress.update(self._process, detail=text)

    def _on_query(self, detail: dict[str, Any]) -> None:
        assert self._pull is not None
        if detail["query"] in self._seen_queries:
            # The pull restarted its crawl (the data changed mid-crawl): the queries start over.
            self._seen_queries.clear()
            self._queries_started = 0
            self.progress.reset(self._pull, total=self.queries)
            if self._process is not None and not self._scanned:
                self.progress.remove_task(self._process)
                self._process = None
        self._seen_queries.add(detail["query"])
        if self._queries_started:
            self.progress.advance(self._pull)
        self._queries_started += 1
        self.progress.update(
            self._pull, detail=f"query {detail['query']}: starting, {self._studies} unique studies so far"
        )

    def _on_page(self, detail: dict[str, Any]) -> None:
        assert self._pull is not None
        self._studies = detail.get("studies", self._studies)
        total = detail.get("total")
        text = f"query {detail['query']} page {detail['page']}: {self._studies} unique studies so far"
        if total is not None:
            text += f" (totalCount {total})"
        self.progress.update(self._pull, detail=text)
        last_query = self.queries is not None and self._queries_started >= self.queries
        last_page = (
            total is not None and self.page_size is not None and detail["page"] * self.page_size >= total
        )
        if last_query and last_page:
            self._start_processing()

    def _on_scan(self, detail: dict[str, Any]) -> None:
        self._start_processing()
        assert self._process is not None
        self._scanned = detail.get("studies", self._scanned)
        if self._studies and self._scanned >= self._studies:
            text = f"{self._scanned} studies scanned; gates, load, publish"
        elif self._studies:
            text = f"{self._scanned} of {self._studies} studies scanned"
        else:
            text = f"{self._scanned} studies scanned"
        self.progress.update(self._process, detail=text)

    def _start_processing(self) -> None:
        if self._process is not None:
            return
        if self._pull is not None:
            task = self.progress.tasks[self._pull]
            done = f"{self._studies} unique studies" if self.source is None else "source checked"
            self.progress.update(self._pull, total=task.total or 1, completed=task.total or 1, detail=done)
        self._process = self.progress.add_task(
            "process", total=None, detail="processing / loading / publishing"
        )

    # -- the display -------------------------------------------------------------------------

    def __enter__(self) -> RefreshProgress:
        if self.rebuild_of is not None:  # a rebuild lands nothing: it reads a landed run
            self._process = self.progress.add_task(
                "rebuild", total=None, detail=f"reading the raw data of {self.rebuild_of}"
            )
        elif self.source is not None:
            self._pull = self.progress.add_task(
                "read", total=None, detail=f"index the entries of {self.source.name}"
            )
        else:
            self._pull = self.progress.add_task(
                "pull", total=self.queries, detail=f"connecting to {self.api_url or 'the API'}"
            )
        self.progress.start()
        return self

    def finish(self) -> None:
        """Mark every stage done (the refresh published)."""
        self._start_processing()
        assert self._process is not None
        self.progress.update(self._process, total=1, completed=1, detail="published")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Stopping leaves the last frame on screen and the cursor at the start of a fresh line,
        # so what follows (the summary, or `Error: ...`) starts at column 0.
        self.progress.stop()
