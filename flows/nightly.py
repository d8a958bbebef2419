"""The nightly refresh as a Prefect flow: the same library stages as `trialtrends refresh`.

Run once, locally, with no Prefect server:   uv run python flows/nightly.py
Deploy to a Prefect server or Cloud:          uv run prefect deploy --all   (see prefect.yaml and
                                              the README; a worker runs the scheduled nights)
Serve on the schedule from this process:      uv run python flows/nightly.py --serve
                                              (needs PREFECT_API_URL: `prefect server start` or Cloud)
A baseline from a bulk download:              uv run python flows/nightly.py --source ctg-studies.json.zip
Rebuild (e.g. after a classifier change):      uv run python flows/nightly.py --rebuild latest (or RUN_ID)
"""

from __future__ import annotations

import argparse
import logging
import os
from datetime import date
from pathlib import Path

# Library logs (logger "trialtrends") go to the Prefect run logs; must be set before import.
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "trialtrends")
# The same library functions also run outside flow runs (tests, the CLI in one process).
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
# No telemetry: the SDK's analytics honour DO_NOT_TRACK, and the temporary local server's
# telemetry service (which logs an ERROR when it cannot reach Prefect's endpoint, e.g. offline)
# honours PREFECT_SERVER_ANALYTICS_ENABLED. The server subprocess inherits both.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# The temporary local server migrates a fresh database first; Prefect's 20 s default timed out
# on a busy 2-core machine ("Timed out while attempting to connect to ephemeral Prefect API").
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.schedules import Cron
from prefect.settings import get_current_settings

from trialtrends import pipeline
from trialtrends.errors import raise_on_sigterm
from trialtrends.extract.raw import RawRun, list_runs
from trialtrends.output.summary import run_summary_markdown
from trialtrends.settings import Settings

# Prefect attaches its API handler to the extra loggers but leaves their level alone, and the
# root logger's WARNING would drop the library's INFO progress lines: this entry point opts in.
logging.getLogger("trialtrends").setLevel(logging.INFO)

DEFAULT_CRON = "0 3 * * *"
DEFAULT_TIMEZONE = "UTC"
# `--serve` registers its own deployment, so it never replaces prefect.yaml's `nightly`.
SERVE_DEPLOYMENT = "nightly-serve"


def nightly_schedule() -> Cron:
    """03:00 every night unless TRIALTRENDS_SCHEDULE_CRON / _TIMEZONE say otherwise."""
    return Cron(
        os.environ.get("TRIALTRENDS_SCHEDULE_CRON", DEFAULT_CRON),
        timezone=os.environ.get("TRIALTRENDS_SCHEDULE_TIMEZONE", DEFAULT_TIMEZONE),
    )


# Every stage is a task with a timeout, and the flow has one, so a night that hangs fails well
# before the next (README "Operations"). A hung API fails sooner by itself: each request gives up
# after TRIALTRENDS_MAX_RETRIES tries of TRIALTRENDS_READ_TIMEOUT (about 8 minutes by default).
# No task retries: a retried stage would open a second run; the client retries where the network is.
STAGE_TIMEOUTS = {"acquire": 3 * 3600, "judge": 2 * 3600, "merge": 3600, "gate": 600, "publish": 3600}
FLOW_TIMEOUT = 6 * 3600


def _as_task(stage: pipeline.Stage, ctx: pipeline.RunContext) -> None:
    """Run one library stage as a Prefect task (the flow only wires the library's stage list)."""
    task(
        stage.run,
        name=stage.name,
        cache_policy=NO_CACHE,
        timeout_seconds=STAGE_TIMEOUTS.get(stage.name),
    )(ctx)


@flow(name="trialtrends-nightly", log_prints=True, timeout_seconds=FLOW_TIMEOUT)
def nightly(
    data_dir: str | None = None,
    api_url: str | None = None,
    mode: str | None = None,
    full: bool = False,
    since: date | None = None,
    source: str | None = None,
    rebuild: str | None = None,
    export_dir: str | None = None,
) -> str:
    """Acquire (download, pull or read), judge, merge, gate and publish the warehouse.

    Other settings (request pacing, retries, gate limits) come from `TRIALTRENDS_*` variables:
    for a deployment, `job_variables.env` in prefect.yaml or the worker's environment.

    Args:
        data_dir: Data folder (raw runs and the warehouse); default `TRIALTRENDS_DATA_DIR`,
            else `data` in the working directory (the checkout, for a deployment).
        api_url: ClinicalTrials.gov API v2 base URL; default `TRIALTRENDS_API_URL`, else
            https://clinicaltrials.gov/api/v2.
        mode: registry (a downloaded baseline plus nightly deltas) or search; default
            `TRIALTRENDS_MODE`, else registry.
        full: Registry mode: download a new baseline tonight whatever the last one's age.
        since: Search mode: only studies updated on or after this date.
        source: Read this bulk download (ctg-studies.json.zip or .jsonl) as a baseline.
        rebuild: Rebuild this landed run id (a folder under raw/), or "latest" for the published
            registry chain, without the network.
        export_dir: After publishing, write the Parquet export into this folder and the
            dashboard (dashboard.html) beside it.
    """
    logger = get_run_logger()
    settings = Settings.from_env(data_dir=data_dir, api_url=api_url, mode=mode)
    ctx: pipeline.RunContext | None = None
    try:
        if rebuild:
            ctx = pipeline.rebuild(
                settings,
                None if rebuild == "latest" else rebuild,
                call=_as_task,
                command="prefect nightly flow",
            )
        else:
            ctx = pipeline.refresh(
                settings, mode=mode, full=full, since=since, source=Path(source) if source else None,
                call=_as_task, command="prefect nightly flow",
            )  # fmt: skip
    except BaseException as exc:
        logger.error("the night failed, nothing published: %s", exc)
        raise
    finally:
        run = _newest_run(settings) if ctx is None or ctx.run is None else ctx.run
        if run is not None:
            create_markdown_artifact(
                key="trialtrends-run",
                markdown=run_summary_markdown(settings, run),
                description=f"trialtrends run {run.run_id}",
            )
    logger.info("run %s (%s) published %s", ctx.manifest.run_id, ctx.manifest.mode, settings.warehouse_path)
    if export_dir:
        _publish_files(settings, Path(export_dir))
    return ctx.manifest.run_id


def _newest_run(settings: Settings) -> RawRun | None:
    runs = list_runs(settings.raw_dir)
    return runs[-1] if runs else None


def _publish_files(settings: Settings, folder: Path) -> None:
    """The Parquet export of the published warehouse, and the dashboard beside it."""
    from trialtrends.output.dashboard import DASHBOARD_FILE, write_dashboard
    from trialtrends.output.export import export_warehouse

    export_warehouse(settings.warehouse_path, folder)
    # Beside the export folder, not in it: the export replaces its folder whole each night.
    dashboard = write_dashboard(settings.warehouse_path, folder.parent / DASHBOARD_FILE)
    get_run_logger().info("exported the warehouse to %s and the dashboard to %s", folder, dashboard)


def serve() -> None:
    """Serve the schedule from this process as deployment `nightly-serve` (needs a real API)."""
    if not get_current_settings().api.url:
        # Without PREFECT_API_URL Prefect would start a temporary server that dies with this
        # process, so the schedule would exist nowhere once it stops.
        raise SystemExit(
            "--serve needs a Prefect server: run `uv run prefect server start` and "
            "`uv run prefect config set PREFECT_API_URL=http://127.0.0.1:4200/api` "
            "(or `uv run prefect cloud login`) first."
        )
    nightly.serve(name=SERVE_DEPLOYMENT, schedules=[nightly_schedule()])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--serve", action="store_true", help=f"serve the cron schedule as deployment {SERVE_DEPLOYMENT!r}"
    )
    parser.add_argument("--source", help="bulk file for a backfill run")
    parser.add_argument("--rebuild", help="landed run id to rebuild from raw data")
    parser.add_argument("--since", type=date.fromisoformat, help="search mode: pull studies updated since")
    parser.add_argument(
        "--mode", choices=("registry", "search"), help="default TRIALTRENDS_MODE, else registry"
    )
    parser.add_argument("--full", action="store_true", help="registry mode: download a new baseline")
    parser.add_argument(
        "--export-dir", help="after publishing, the Parquet export here and dashboard.html beside it"
    )
    args = parser.parse_args()
    # SIGTERM ends the run like Ctrl-C (marked failed, building files removed), and the process
    # then exits normally, so Prefect's temporary local server (stopped at exit) never outlives it.
    raise_on_sigterm()
    if args.serve:
        serve()
    else:
        nightly(
            mode=args.mode, full=args.full, since=args.since, source=args.source, rebuild=args.rebuild,
            export_dir=args.export_dir,
        )  # fmt: skip


if __name__ == "__main__":
    main()
