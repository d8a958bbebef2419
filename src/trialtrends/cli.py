"""The `trialtrends` command: thin commands that parse options, call the library, print.

Heavy modules (polars, prefect, matplotlib) are imported inside the commands that need them, so
`trialtrends report` and `trialtrends sql` start fast.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from trialtrends import __version__
from trialtrends.errors import TrialtrendsError
from trialtrends.settings import Settings

# Exit codes (documented in the README).
EXIT_FAILED = 1  # the command ran and failed (API gave up, a gate failed, bad input data)
EXIT_USAGE = 2  # click's own code for bad options
EXIT_NO_WAREHOUSE = 3  # no warehouse yet: run `trialtrends refresh`
EXIT_NO_DATA = 4  # the warehouse has no trials for what was asked


class UserError(click.ClickException):
    """An error a user can cause: one sentence, no traceback, a chosen exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else logging.DEBUG if verbose > 1 else logging.INFO
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)-7s %(message)s", datefmt="%H:%M:%S",
        stream=sys.stderr,
    )  # fmt: skip


def friendly_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the library's expected failures into one clear sentence and an exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except KeyboardInterrupt as exc:
            raise UserError("Interrupted.", 130) from exc
        except TrialtrendsError as exc:
            raise UserError(str(exc), exc.exit_code) from exc

    return wrapper


def data_dir_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Data folder (raw/ and warehouse/ live here). Env: TRIALTRENDS_DATA_DIR; default ./data.",
    )(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="trialtrends")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
def main(verbose: int, quiet: bool) -> None:
    """trialtrends: landscape tables of CAR-T, TCR-T, TIL and NK cell therapy trials."""
    _setup_logging(verbose, quiet)


def _progress_printer() -> Callable[[str, dict[str, Any]], None] | None:
    if not sys.stderr.isatty():
        return None

    def show(event: str, detail: dict[str, Any]) -> None:
        if event == "query":
            click.echo(f"\nquery {detail['query']}", err=True)
        elif event == "scan":
            click.echo(f"\r  {detail['studies']} studies scanned", err=True, nl=False)
        elif event == "page":
            total = detail.get("total")
            click.echo(
                f"\r  page {detail['page']}: {detail['studies']} unique studies so far"
                + (f" (this query: totalCount {total})" if total is not None else ""),
                err=True,
                nl=False,
            )

    return show


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
@friendly_errors
def refresh(
    api_url: str | None,
    data_dir: Path | None,
    since: Any,
    source: Path | None,
    max_rps: float | None,
) -> None:
    """Pull, land, normalize, validate, classify, load and publish the warehouse."""
    from trialtrends.pipeline import refresh as run_refresh

    if since and source:
        raise UserError("--since applies to the API; a bulk --source is always read whole.", EXIT_USAGE)
    settings = Settings.from_env(api_url=api_url, data_dir=data_dir, max_rps=max_rps)
    result = run_refresh(
        settings,
        since=since.date() if since else None,
        source=source,
        progress=_progress_printer(),
    )
    if sys.stderr.isatty():
        click.echo("", err=True)  # end the progress line
    click.echo(_published_line(settings, result.manifest))


@main.command()
@data_dir_option
@click.option(
    "--run",
    "run_id",
    default=None,
    help="Run id to rebuild from (default: the latest landed run that succeeded).",
)
@friendly_errors
def rebuild(data_dir: Path | None, run_id: str | None) -> None:
    """Re-normalize, reclassify and republish from landed raw data (no network)."""
    from trialtrends.pipeline import rebuild as run_rebuild

    settings = Settings.from_env(data_dir=data_dir)
    # A rebuild is a new run that reads the chosen run's raw files; that run's record stays as it was.
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
@click.option("--limit", type=int, default=20, show_default=True, help="How many runs, newest first.")
@friendly_errors
def runs(data_dir: Path | None, limit: int) -> None:
    """List refresh runs and their status (from the raw manifests, failed runs included)."""
    from trialtrends.extract.raw import list_runs

    settings = Settings.from_env(data_dir=data_dir)
    found = list_runs(settings.raw_dir)
    if not found:
        raise UserError(f"No runs in {settings.raw_dir}: run `trialtrends refresh` first.", EXIT_NO_WAREHOUSE)
    for run in reversed(found[-limit:]):
        m = run.manifest()
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


@main.command()
@click.argument("query")
@data_dir_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@friendly_errors
def sql(query: str, data_dir: Path | None, fmt: str) -> None:
    """Run one read-only SQL query (SELECT or EXPLAIN) on the warehouse."""
    from trialtrends.output.sql import run_query

    settings = Settings.from_env(data_dir=data_dir)
    columns, rows = run_query(settings.warehouse_path, query)
    from trialtrends.output.render import render_rows

    click.echo(render_rows(columns, rows, fmt), nl=False)


@main.command()
@click.option("--year", type=int, required=True, help="The report year (the trend ends here).")
@click.option(
    "--modality",
    default=None,
    help="CAR-T, TCR-T, TIL, NK or ALL (default: the four groups side by side).",
)
@click.option(
    "--basis",
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
    type=click.Choice(["lead", "any"]),
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
    type=click.Choice(["table", "markdown", "csv", "json", "xlsx"]),
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
@friendly_errors
def report(
    year: int, modality: str | None, basis: str, top: int, role: str, include_follow_up: bool,
    trend_years: int, fmt: str, out: Path | None, data_dir: Path | None,
) -> None:  # fmt: skip
    """The landscape of a year: trend, phases, countries, sponsors, diseases, targets, products."""
    from trialtrends.output.report import build_report
    from trialtrends.output.report_text import render_report

    if fmt == "xlsx" and out is None:
        raise click.UsageError("--format xlsx writes a workbook: give --out DIR.")
    settings = Settings.from_env(data_dir=data_dir)
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
