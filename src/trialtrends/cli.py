"""The `trialtrends` command: thin commands that parse options, call the library, print.

Heavy modules (polars, prefect, matplotlib) are imported inside the commands that need them, so
`trialtrends report` and `trialtrends sql` start fast.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from trialtrends import __version__
from trialtrends.errors import TrialtrendsError
from trialtrends.settings import Settings
from trialtrends.terminal import RefreshProgress, configure_logging, stderr_console, stderr_is_terminal

# Exit codes (documented in the README).
EXIT_FAILED = 1  # the command ran and failed (API gave up, a gate failed, bad input data)
EXIT_USAGE = 2  # bad options or settings (click's own code for bad options)
EXIT_NO_WAREHOUSE = 3  # no warehouse yet: run `trialtrends refresh`
EXIT_NO_DATA = 4  # the warehouse has no trials for what was asked
EXIT_INTERRUPTED = 130

# The report's choices (output.report.GROUPS / BASES; a test keeps them equal). Spelled out here
# so `--help` and option parsing import no duckdb.
MODALITIES = ("CAR-T", "TCR-T", "TIL", "NK", "ALL")
BASES = ("first_posted", "first_submitted", "start")
NETWORK_HINT = "check the network, or use --api-url for a mirror or --source for a bulk file."
# An API answer that no mirror or network fix changes (a bad request, a missing page).
_NOT_NETWORK = re.compile(r"with HTTP 4(?!03|08|29)\d\d")


class CanonicalChoice(click.Choice):
    """A case-insensitive choice that passes on, lists and suggests the canonical spellings
    (click lists case-insensitive choices casefolded: 'car-t')."""

    def __init__(self, choices: tuple[str, ...]) -> None:
        super().__init__(choices, case_sensitive=False)

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "[" + "|".join(map(str, self.choices)) + "]"

    def get_invalid_choice_message(self, value: Any, ctx: click.Context | None) -> str:
        return f"{value!r} is not one of {', '.join(map(repr, self.choices))} (any case)."


def choice(*values: str) -> click.Choice:
    """Case-insensitive choice; the value passed on is the canonical spelling."""
    return CanonicalChoice(values)


class UserError(click.ClickException):
    """An error a user can cause: one sentence, no traceback, a chosen exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _level(verbose: int, quiet: bool) -> int:
    return logging.WARNING if quiet else logging.DEBUG if verbose > 1 else logging.INFO


def _set_verbosity(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """-v/-q before or after the subcommand: both add up, and logging follows at once."""
    if ctx.resilient_parsing:
        return
    meta = ctx.find_root().meta
    if param.name == "verbose":
        meta["trialtrends.verbose"] = meta.get("trialtrends.verbose", 0) + (value or 0)
    else:
        meta["trialtrends.quiet"] = meta.get("trialtrends.quiet", False) or bool(value)
    configure_logging(_level(meta.get("trialtrends.verbose", 0), meta.get("trialtrends.quiet", False)))


def verbosity_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "-q", "--quiet", is_flag=True, expose_value=False, callback=_set_verbosity,
        help="Only warnings and errors.",
    )(func)  # fmt: skip
    return click.option(
        "-v", "--verbose", count=True, expose_value=False, callback=_set_verbosity,
        help="More log output (-vv for debug).",
    )(func)  # fmt: skip


def _with_hint(exc: TrialtrendsError) -> str:
    """The error's sentence, plus what to try when the API could not be reached for good."""
    message = str(exc)
    client = sys.modules.get("trialtrends.extract.client")  # loaded only if the API was used
    api_error = getattr(client, "ApiError", None)
    network = api_error is not None and isinstance(exc, api_error) and not _NOT_NETWORK.search(message)
    if network and NETWORK_HINT not in message:
        message = f"{message.rstrip().rstrip('.')}; {NETWORK_HINT}"
    return message


def _one_line(message: str) -> str:
    """Errors print as one `Error: ...` line: DuckDB's multi-line messages are joined."""
    return " ".join(message.split())


def friendly_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the library's expected failures into one clear sentence and an exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except KeyboardInterrupt as exc:
            if stderr_is_terminal():
                # The terminal echoed ^C at the cursor (the start of a fresh line once a progress
                # display has stopped): wipe it so `Error: ...` starts at column 0 of its own line.
                click.echo("\r\x1b[K", err=True, nl=False)
            raise UserError("Interrupted.", EXIT_INTERRUPTED) from exc
        except TrialtrendsError as exc:
            raise UserError(_one_line(_with_hint(exc)), exc.exit_code) from exc
        except OSError as exc:
            # The file system said no (permissions, a file where a folder should be, disk full).
            where = f"{exc.filename}: " if exc.filename else ""
            raise UserError(_one_line(f"{where}{exc.strerror or exc}."), EXIT_FAILED) from exc
        except Exception as exc:
            # A DuckDB file that is not a trialtrends warehouse (another tool's database, one
            # from an incompatible version): the library reads it as one and DuckDB objects.
            duckdb = sys.modules.get("duckdb")
            if duckdb is None or not isinstance(exc, duckdb.Error):
                raise
            raise UserError(
                _one_line(f"The warehouse cannot be read as a trialtrends warehouse: {exc}"), EXIT_FAILED
            ) from exc

    return wrapper


def data_dir_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Data folder (raw/ and warehouse/ live here). Env: TRIALTRENDS_DATA_DIR; default ./data.",
    )(func)


def wait_lock_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--wait-lock",
        "lock_wait",
        type=float,
        default=None,
        metavar="SECONDS",
        help="Wait up to this long for another refresh or rebuild holding the data folder "
        "(default 0: fail at once). Env: TRIALTRENDS_LOCK_WAIT.",
    )(func)


# Which option set a setting, so a bad value is reported under the name the user typed.
OPTION_LABELS = {
    "api_url": "--api-url", "max_rps": "--max-rps", "lock_wait": "--wait-lock", "data_dir": "--data-dir",
}  # fmt: skip


def load_settings(**overrides: Any) -> Settings:
    """The settings of this invocation: environment plus options, validated once."""
    return Settings.from_env(labels=OPTION_LABELS, **overrides)


def _check_data_dir(settings: Settings, *, write: bool) -> None:
    """Refuse a data folder that cannot work before any work starts (a pull takes minutes)."""
    data_dir = settings.data_dir
    if write:
        for parent in [data_dir, *data_dir.parents]:
            if parent.exists():
                if not parent.is_dir():
                    raise UserError(
                        f"The data folder {data_dir} cannot be created: {parent} is a file, not a folder.",
                        EXIT_USAGE,
                    )
                if not os.access(parent, os.W_OK | os.X_OK):
                    raise UserError(f"The data folder {data_dir} is not writable ({parent} is read-only).")
                break
    # A folder where the warehouse file should be is the pipeline's to heal (a refresh moves it
    # aside) and output.sql's to name (`sql`, `report`): not refused here.


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="trialtrends")
@verbosity_options
def main() -> None:
    """trialtrends: landscape tables of CAR-T, TCR-T, TIL and NK cell therapy trials."""


@main.command()
@click.option("--api-url", default=None, help="API base URL. Env: TRIALTRENDS_API_URL.")
@data_dir_option
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Incremental: only studies updated on or after this date (YYYY-MM-DD).",
)
@click.option(
    "--source",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="Bulk: a ctg-studies.json.zip, a folder of study JSON files, or a .jsonl(.gz) file "
    "instead of the API.",
)
@click.option(
    "--max-rps",
    type=float,
    default=None,
    help="Requests per second (0 = unpaced). Env: TRIALTRENDS_MAX_RPS.",
)
@wait_lock_option
@verbosity_options
@friendly_errors
def refresh(
    api_url: str | None,
    data_dir: Path | None,
    since: Any,
    source: Path | None,
    max_rps: float | None,
    lock_wait: float | None,
) -> None:
    """Pull, land, normalize, validate, classify, load and publish the warehouse."""
    if since and source:
        raise UserError("--since applies to the API; a bulk --source is always read whole.", EXIT_USAGE)
    settings = load_settings(api_url=api_url, data_dir=data_dir, max_rps=max_rps, lock_wait=lock_wait)
    _check_data_dir(settings, write=True)
    from trialtrends.pipeline import refresh as run_refresh

    since_date = since.date() if since else None
    if stderr_is_terminal():
        from trialtrends.extract.client import PAGE_SIZE
        from trialtrends.extract.searches import QUERIES

        display = RefreshProgress(
            stderr_console(), queries=len(QUERIES), page_size=PAGE_SIZE, source=source,
            api_url=settings.api_url,
        )  # fmt: skip
        with display:
            result = run_refresh(settings, since=since_date, source=source, progress=display)
            display.finish()
    else:
        result = run_refresh(settings, since=since_date, source=source)
    click.echo(_published_line(settings, result.manifest))


@main.command()
@data_dir_option
@click.option(
    "--run",
    "run_id",
    default=None,
    help="Run id to rebuild from (default: the newest run whose input landed completely).",
)
@wait_lock_option
@verbosity_options
@friendly_errors
def rebuild(data_dir: Path | None, run_id: str | None, lock_wait: float | None) -> None:
    """Re-normalize, reclassify and republish from landed raw data (no network)."""
    settings = load_settings(data_dir=data_dir, lock_wait=lock_wait)
    _check_data_dir(settings, write=True)
    from trialtrends.pipeline import rebuild as run_rebuild

    # A rebuild is a new run that reads the chosen run's raw files; that run's record stays as it was.
    if stderr_is_terminal():
        with RefreshProgress(stderr_console(), rebuild_of=run_id or "the newest landed run") as display:
            result = run_rebuild(settings, run_id, on_chunk=lambda n: display("scan", {"studies": n}))
            display.finish()
    else:
        result = run_rebuild(settings, run_id)
    click.echo(
        f"{_published_line(settings, result.manifest)} (rebuilt from run {result.manifest.rebuild_of})"
    )


def _published_line(settings: Settings, m: Any) -> str:
    trials = m.trials_loaded if m.trials_loaded is not None else "merged"
    line = (
        f"run {m.run_id} published {settings.warehouse_path}: {trials} trials, "
        f"{(m.quality or {}).get('classified_trials')} cell-therapy, {m.rejected_studies} rejected"
    )
    if m.recovered_warehouse:
        line += f" (the previous warehouse could not be read: moved to {m.recovered_warehouse})"
    return line


@main.command()
@data_dir_option
@click.option(
    "--limit", type=click.IntRange(min=1), default=20, show_default=True, help="How many runs, newest first."
)
@verbosity_options
@friendly_errors
def runs(data_dir: Path | None, limit: int) -> None:
    """List refresh runs and their status (from the raw manifests, failed runs included)."""
    from trialtrends.extract.raw import list_runs

    settings = load_settings(data_dir=data_dir)
    found = list_runs(settings.raw_dir)
    if not found:
        raise UserError(f"No runs in {settings.raw_dir}: run `trialtrends refresh` first.", EXIT_NO_WAREHOUSE)
    for run in reversed(found[-limit:]):
        try:
            m = run.manifest()
        except (OSError, ValueError, TypeError) as exc:
            # One damaged manifest (a disk error, a hand edit) must not hide the other runs.
            click.echo(f"{run.run_id}  unreadable manifest.json ({_one_line(str(exc))[:120]})")
            continue
        failed = m.failed_gates()
        line = (
            f"{m.run_id}  {m.status:9}  {m.kind:4} "
            f"{'published' if m.published else 'unpublished':11}  "
            f"studies={m.studies}  classifier={m.classifier_version or '-'}"
        )
        if m.rebuild_of:
            line += f"  rebuild of {m.rebuild_of}"
        if m.error:
            line += f"\n    error: {m.error}"
        elif failed:
            line += f"  failed gates: {', '.join(failed)}"
        click.echo(line)


def _read_query(query: str | None, file: Path | None) -> str:
    """The query text: the argument, stdin for `-`, or the --file."""
    if query is not None and file is not None:
        raise UserError("Give the query as an argument or with --file, not both.", EXIT_USAGE)
    if query is None and file is None:
        raise UserError('Give a query: `trialtrends sql "select ..."`, `-` for stdin, or --file.', EXIT_USAGE)
    try:
        if file is not None:
            text = file.read_text(encoding="utf-8")
            where = str(file)
        elif query == "-":
            text = sys.stdin.read()
            where = "stdin"
        else:
            text, where = query or "", "the argument"
    except UnicodeDecodeError as exc:
        raise UserError(
            f"The query in {file or 'stdin'} is not UTF-8 text ({exc.reason}).", EXIT_USAGE
        ) from exc
    if not text.strip().rstrip(";").strip():
        raise UserError(f"The query from {where} is empty.", EXIT_USAGE)
    return text


@main.command()
@click.argument("query", required=False)
@click.option(
    "--file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Read the query from this file (`trialtrends sql -` reads it from stdin).",
)
@data_dir_option
@click.option("--format", "fmt", type=choice("table", "csv", "json"), default="table", show_default=True)
@verbosity_options
@friendly_errors
def sql(query: str | None, file: Path | None, data_dir: Path | None, fmt: str) -> None:
    """Run one read-only SQL query (SELECT or EXPLAIN) on the warehouse.

    QUERY is the SQL text, or `-` to read it from stdin.
    """
    settings = load_settings(data_dir=data_dir)
    text = _read_query(query, file)
    _check_data_dir(settings, write=False)
    from trialtrends.output.render import render_rows
    from trialtrends.output.sql import run_query

    columns, rows = run_query(settings.warehouse_path, text)
    click.echo(render_rows(columns, rows, fmt), nl=False)


@main.command()
@click.option(
    "--year", type=click.IntRange(1900, 2100), required=True, help="The report year (the trend ends here)."
)
@click.option(
    "--modality",
    type=choice(*MODALITIES),
    default=None,
    help="CAR-T, TCR-T, TIL, NK or ALL, any case (default: the four groups side by side).",
)
@click.option(
    "--basis",
    type=choice(*BASES),
    default="first_posted",
    show_default=True,
    help="Year basis: first_posted, first_submitted or start.",
)
@click.option(
    "--top",
    type=click.IntRange(1, 500),
    default=10,
    show_default=True,
    help="How many countries and sponsors.",
)
@click.option(
    "--role",
    type=choice("lead", "any"),
    default="lead",
    show_default=True,
    help="Sponsor counting: lead sponsor only, or lead or collaborator.",
)
@click.option("--include-follow-up", is_flag=True, help="Also count long-term follow-up studies.")
@click.option(
    "--trend-years",
    type=click.IntRange(1, 50),
    default=5,
    show_default=True,
    help="How many years the trend tables and charts show, ending at --year.",
)
@click.option(
    "--format",
    "fmt",
    type=choice("table", "markdown", "csv", "json"),
    default="table",
    show_default=True,
    help="xlsx writes one workbook into --out instead of printing.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write charts (PNG, SVG) and an HTML report here (with xlsx: the workbook only).",
)
@data_dir_option
@verbosity_options
@friendly_errors
def report(
    year: int, modality: str | None, basis: str, top: int, role: str, include_follow_up: bool,
    trend_years: int, fmt: str, out: Path | None, data_dir: Path | None,
) -> None:  # fmt: skip
    """The landscape tables of a year: trend, phases, top countries, top sponsors."""
    settings = load_settings(data_dir=data_dir)
    _check_data_dir(settings, write=False)
    if out is not None:
        _check_out_dir(out)
    from trialtrends.output.report import build_report, render_report

    data = build_report(
        settings.warehouse_path, year=year, modality=modality, basis=basis, top=top,
        role=role, include_follow_up=include_follow_up, trend_years=trend_years,
    )  # fmt: skip
    if fmt == "xlsx":
        from trialtrends.output.files import report_stem
        from trialtrends.output.xlsx import write_workbook

        click.echo(f"wrote {write_workbook(data, out, report_stem(data))}", err=True)
        return
    click.echo(render_report(data, fmt), nl=False)
    if out is not None:
        from trialtrends.output.files import write_report_files

        written = write_report_files(data, out)
        click.echo(f"wrote {', '.join(str(p) for p in written)}", err=True)


def _check_out_dir(out: Path) -> None:
    """Refuse an output folder that cannot be made before the report is computed."""
    for parent in [out, *out.parents]:
        if parent.exists():
            if not parent.is_dir():
                raise UserError(f"Cannot write the report to {out}: {parent} is a file, not a folder.")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise UserError(f"Cannot write the report to {out}: {parent} is read-only.")
            return


@main.command()
@click.argument("out_dir", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@data_dir_option
@verbosity_options
@friendly_errors
def export(out_dir: Path, data_dir: Path | None) -> None:
    """Write every table and view of the published warehouse as Parquet, plus manifest.json.

    DIR appears complete or not at all (written aside, then renamed into place); an earlier
    export in DIR is replaced.
    """
    settings = load_settings(data_dir=data_dir)
    _check_data_dir(settings, write=False)
    from trialtrends.output.export import export_warehouse

    manifest = export_warehouse(settings.warehouse_path, out_dir)
    rows = sum(f["rows"] for f in manifest["files"])
    click.echo(f"exported {len(manifest['files'])} tables and views ({rows} rows) to {out_dir}")
