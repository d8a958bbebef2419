"""The `trialtrends` command: thin commands that parse options, call the library, print.

Heavy modules (polars, prefect, matplotlib) are imported inside the commands that need them, so
`trialtrends report` and `trialtrends sql` start fast.
"""

from __future__ import annotations

import atexit
import functools
from pathlib import Path
from typing import Any

import click

from trialtrends import __version__
from trialtrends.bytecode import write_own_bytecode
from trialtrends.cli_options import (  # noqa: F401 - EXIT_* and with_hint are part of the CLI's surface
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_NO_DATA,
    EXIT_NO_WAREHOUSE,
    EXIT_USAGE,
    UserError,
    check_data_dir,
    check_out_dir,
    choice,
    data_dir_option,
    friendly_errors,
    load_settings,
    one_line,
    read_query,
    verbosity_options,
    wait_lock_option,
    with_hint,
)
from trialtrends.errors import TrialtrendsError, raise_on_sigterm
from trialtrends.output.render import printable
from trialtrends.settings import Settings
from trialtrends.terminal import RefreshProgress, stderr_console, stderr_is_terminal

# The report's choices (output.report.GROUPS / BASES; a test keeps them equal). Spelled out here
# so `--help` and option parsing import no duckdb.
MODALITIES = ("CAR-T", "TCR-T", "TIL", "NK", "ALL")
BASES = ("first_posted", "first_submitted", "start")
# Rows `sql` shows as a table unless --max-rows says otherwise (csv and json stream them all).
SQL_TABLE_ROWS = 1000


@functools.cache  # once a process, however many commands it runs
def _write_bytecode_at_exit() -> None:
    atexit.register(write_own_bytecode)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="trialtrends")
@verbosity_options
def main() -> None:
    """trialtrends: landscape tables of CAR-T, TCR-T, TIL and NK cell therapy trials."""
    # SIGTERM (Prefect, systemd, kill) ends a command the way Ctrl-C does (see friendly_errors).
    raise_on_sigterm()
    # Where the interpreter writes no bytecode, the next command loads ours (see bytecode.py).
    _write_bytecode_at_exit()


@main.command()
@click.option("--api-url", default=None, help="API base URL. Env: TRIALTRENDS_API_URL.")
@data_dir_option
@click.option(
    "--mode",
    type=choice("registry", "search"),
    default=None,
    help="registry: the whole registry as a downloaded baseline plus nightly deltas of every updated "
    "study; search: the keyword searches. Env: TRIALTRENDS_MODE; default registry.",
)
@click.option(
    "--full",
    is_flag=True,
    default=False,
    help="Registry mode: download a new baseline tonight whatever the age of the last one.",
)
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Search mode: only studies updated on or after this date (YYYY-MM-DD).",
)
@click.option(
    "--source",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="Bulk: a ctg-studies.json.zip, a folder of study JSON files, or a .jsonl(.gz) file "
    "instead of the API, read as a registry baseline.",
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
    mode: str | None,
    full: bool,
    since: Any,
    source: Path | None,
    max_rps: float | None,
    lock_wait: float | None,
) -> None:
    """Acquire, judge, merge, gate and publish the warehouse (registry mode by default)."""
    if since and source:
        raise UserError("--since applies to the API; a bulk --source is always read whole.", EXIT_USAGE)
    if since and mode == "registry":
        raise UserError(
            "--since applies to search mode; registry mode pulls every update by itself.", EXIT_USAGE
        )
    if full and (since or mode == "search"):
        raise UserError("--full applies to registry mode (a new baseline download).", EXIT_USAGE)
    settings = load_settings(
        api_url=api_url, data_dir=data_dir, max_rps=max_rps, lock_wait=lock_wait, mode=mode,
        interactive=stderr_is_terminal(),
    )  # fmt: skip
    check_data_dir(settings, write=True)
    from trialtrends.pipeline import refresh as run_refresh

    since_date = since.date() if since else None
    options = {"mode": mode, "full": full, "since": since_date, "source": source}
    if stderr_is_terminal():
        from trialtrends.extract.client import PAGE_SIZE
        from trialtrends.extract.searches import QUERIES

        searching = (mode or ("search" if since else settings.mode)) == "search"
        display = RefreshProgress(
            stderr_console(), queries=len(QUERIES) if searching else None, page_size=PAGE_SIZE,
            source=source, api_url=settings.api_url,
        )  # fmt: skip
        with display:
            result = run_refresh(settings, progress=display, **options)
            display.finish()
    else:
        result = run_refresh(settings, **options)
    click.echo(_published_line(settings, result.manifest))


@main.command()
@data_dir_option
@click.option(
    "--run",
    "run_id",
    default=None,
    help="Run id to rebuild from (default: the published registry chain, baseline then deltas; "
    "else the newest run whose input landed completely).",
)
@wait_lock_option
@verbosity_options
@friendly_errors
def rebuild(data_dir: Path | None, run_id: str | None, lock_wait: float | None) -> None:
    """Re-judge and republish from landed raw data (no network)."""
    settings = load_settings(data_dir=data_dir, lock_wait=lock_wait)
    check_data_dir(settings, write=True)
    from trialtrends.pipeline import rebuild as run_rebuild

    # A rebuild is a new run that reads the chosen run's raw files; that run's record stays as it was.
    if stderr_is_terminal():
        with RefreshProgress(stderr_console(), rebuild_of=run_id or "the newest landed data") as display:
            result = run_rebuild(settings, run_id, progress=display)
            display.finish()
    else:
        result = run_rebuild(settings, run_id)
    click.echo(
        f"{_published_line(settings, result.manifest)} (rebuilt from run {result.manifest.rebuild_of})"
    )


def _published_line(settings: Settings, m: Any) -> str:
    trials = m.trials_loaded if m.trials_loaded is not None else "merged"
    line = (
        f"run {m.run_id} ({m.mode}) published {settings.warehouse_path}: {trials} trials, "
        f"{(m.quality or {}).get('classified_trials')} cell-therapy, {m.rejected_studies} rejected"
    )
    if m.fallback:
        line += f" (fell back to search mode: {m.fallback})"
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
        except (TrialtrendsError, OSError, ValueError, TypeError) as exc:
            # One damaged manifest (a disk error, a hand edit) must not hide the other runs.
            click.echo(f"{printable(run.run_id)}  unreadable   {one_line(str(exc))}")
            continue
        failed = m.failed_gates()
        line = (
            f"{m.run_id}  {m.status:10}  {m.mode:8} "
            f"{'published' if m.published else 'unpublished':11}  "
            f"studies={m.studies}  classifier={m.classifier_version or '-'}"
        )
        if m.rebuild_of:
            line += f"  rebuild of {m.rebuild_of}"
        if m.error:
            line += f"\n    error: {m.error}"
        elif failed:
            line += f"  failed gates: {', '.join(failed)}"
        click.echo(printable(line))  # an error or gate detail may quote registry text


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
@click.option(
    "--timeout",
    type=float,
    default=None,
    metavar="SECONDS",
    help="Stop the query after this long (0 = no limit). Env: TRIALTRENDS_SQL_TIMEOUT; default 300.",
)
@click.option(
    "--max-rows",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help=f"Table format: show at most this many rows (default {SQL_TABLE_ROWS}); csv and json "
    "stream every row.",
)
@verbosity_options
@friendly_errors
def sql(
    query: str | None, file: Path | None, data_dir: Path | None, fmt: str, timeout: float | None,
    max_rows: int | None,
) -> None:  # fmt: skip
    """Run one read-only SQL query (SELECT or EXPLAIN) on the warehouse.

    QUERY is the SQL text, or `-` to read it from stdin.
    """
    if max_rows is not None and fmt != "table":
        raise UserError("--max-rows applies to --format table; csv and json stream every row.", EXIT_USAGE)
    settings = load_settings(data_dir=data_dir, sql_timeout=timeout)
    text = read_query(query, file)
    check_data_dir(settings, write=False)
    from trialtrends.output.render import write_rows
    from trialtrends.output.sql import stream_query

    with stream_query(settings.warehouse_path, text, timeout=settings.sql_timeout) as result:
        limit = max_rows or SQL_TABLE_ROWS
        hidden = write_rows(result.columns, result.batches, fmt, lambda t: click.echo(t, nl=False), limit)
    if hidden:
        click.echo(f"({hidden} more rows not shown: raise --max-rows, or use --format csv.)", err=True)


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
@click.option(
    "--include-follow-up", is_flag=True, help="Also count follow-up and observational-exposure studies."
)
@click.option(
    "--include-expanded-access", is_flag=True, help="Also count expanded-access / compassionate-use records."
)
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
    type=choice("table", "markdown", "csv", "json", "xlsx"),
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
    include_expanded_access: bool, trend_years: int, fmt: str, out: Path | None, data_dir: Path | None,
) -> None:  # fmt: skip
    """The landscape of a year: trend, phases, countries, sponsors, diseases, targets, products."""
    if fmt == "xlsx" and out is None:
        raise UserError("--format xlsx writes a workbook: give --out DIR.", EXIT_USAGE)
    settings = load_settings(data_dir=data_dir)
    check_data_dir(settings, write=False)
    if out is not None:
        check_out_dir(out)
    from trialtrends.output.report import build_report
    from trialtrends.output.report_text import render_report

    data = build_report(
        settings.warehouse_path, year=year, modality=modality, basis=basis, top=top,
        role=role, include_follow_up=include_follow_up, include_expanded_access=include_expanded_access,
        trend_years=trend_years,
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
    check_data_dir(settings, write=False)
    from trialtrends.output.export import export_warehouse

    manifest = export_warehouse(settings.warehouse_path, out_dir)
    rows = sum(f["rows"] for f in manifest["files"])
    click.echo(f"exported {len(manifest['files'])} tables and views ({rows} rows) to {out_dir}")


@main.command()
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The HTML file to write (default: dashboard.html in the data folder).",
)
@data_dir_option
@verbosity_options
@friendly_errors
def dashboard(out: Path | None, data_dir: Path | None) -> None:
    """Write one self-contained HTML dashboard of the warehouse: filters, charts, the trials
    behind every number, CSV download, flow and methods; opens offline from disk."""
    settings = load_settings(data_dir=data_dir)
    check_data_dir(settings, write=False)
    from trialtrends.output.dashboard import DASHBOARD_FILE, write_dashboard

    out = out or settings.data_dir / DASHBOARD_FILE
    if out.is_dir():
        raise UserError(f"--out {out} is a folder: give the HTML file to write.", EXIT_USAGE)
    check_out_dir(out.parent)
    click.echo(f"wrote {write_dashboard(settings.warehouse_path, out)}")
