"""The nightly refresh as a Prefect flow: the same library stages as `trialtrends refresh`.

Run once, locally, with no Prefect server:   uv run python flows/nightly.py
Deploy to a Prefect server or Cloud:          uv run prefect deploy --all   (see prefect.yaml and
                                              the README; a worker runs the scheduled nights)
Serve on the schedule from this process:      uv run python flows/nightly.py --serve
                                              (needs PREFECT_API_URL: `prefect server start` or Cloud)
Backfill from a bulk download:                uv run python flows/nightly.py --source ctg-studies.json.zip
Rebuild a landed run (e.g. after a classifier change): uv run python flows/nightly.py --rebuild RUN_ID
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
from trialtrends.extract.raw import RawRun
from trialtrends.manifest import RunManifest
from trialtrends.output.summary import run_summary_markdown
from trialtrends.settings import Settings
from trialtrends.validate import gates

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


# Retries only where the network is: a retried pull lands a fresh run folder.
@task(retries=2, retry_delay_seconds=300, cache_policy=NO_CACHE)
def land_api(settings: Settings, since: date | None) -> RawRun:
    return pipeline.land_api(settings, since)


@task(cache_policy=NO_CACHE)
def land_bulk(settings: Settings, source: Path) -> RawRun:
    return pipeline.land_bulk(settings, source)


@task(cache_policy=NO_CACHE)
def process(settings: Settings, run: RawRun) -> pipeline.Processed:
    return pipeline.process_run(settings, run)


@task(cache_policy=NO_CACHE)
def check_gates(settings: Settings, run: RawRun, processed: pipeline.Processed) -> list[gates.GateResult]:
    results = pipeline.check_gates(settings, run, processed)
    logger = get_run_logger()
    for r in results:
        (logger.info if r.passed else logger.error)("gate %s: %s", r.name, r.detail)
    return results


@task(cache_policy=NO_CACHE)
def publish(
    settings: Settings, run: RawRun, processed: pipeline.Processed, results: list[gates.GateResult]
) -> RunManifest:
    return pipeline.publish(settings, run, processed, results)


@flow(name="trialtrends-nightly", log_prints=True)
def nightly(
    data_dir: str | None = None,
    api_url: str | None = None,
    since: date | None = None,
    source: str | None = None,
    rebuild: str | None = None,
) -> str:
    """Pull (or read a bulk file, or reuse a landed run), gate, and publish the warehouse.

    Other settings (request pacing, retries, gate limits) come from `TRIALTRENDS_*` variables:
    for a deployment, `job_variables.env` in prefect.yaml or the worker's environment.

    Args:
        data_dir: Data folder (raw runs and the warehouse); default `TRIALTRENDS_DATA_DIR`,
            else `data` in the working directory (the checkout, for a deployment).
        api_url: ClinicalTrials.gov API v2 base URL; default `TRIALTRENDS_API_URL`, else
            https://clinicaltrials.gov/api/v2.
        since: Incremental pull: only studies updated on or after this date. Empty = full pull.
        source: Backfill from this bulk download (ctg-studies.json.zip or .jsonl) instead of the API.
        rebuild: Rebuild this already landed run id (a folder under raw/) without pulling.
    """
    logger = get_run_logger()
    settings = Settings.from_env(data_dir=data_dir, api_url=api_url)
    # One writer per data folder: a manual refresh running now makes this night fail at once.
    with pipeline.exclusive(settings, "prefect nightly flow"):
        if rebuild:
            run = pipeline.start_rebuild(settings, pipeline.rebuildable(settings, rebuild))
        elif source:
            run = land_bulk(settings, Path(source))
        else:
            run = land_api(settings, since)
        try:
            with pipeline.failure_recorded(run) as attempt:
                pipeline.check_landed(run)
                attempt.processed = process(settings, run)
                attempt.results = check_gates(settings, run, attempt.processed)
                pipeline.require_gates(attempt.results)
                publish(settings, run, attempt.processed, attempt.results)
        except BaseException as exc:
            logger.error("run %s failed, nothing published: %s", run.run_id, exc)
            raise
        finally:
            create_markdown_artifact(
                key="trialtrends-run",
                markdown=run_summary_markdown(settings, run),
                description=f"trialtrends run {run.run_id}",
            )
    logger.info("run %s published %s", run.run_id, settings.warehouse_path)
    return run.run_id


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
    parser.add_argument("--since", type=date.fromisoformat, help="incremental pull from this date")
    args = parser.parse_args()
    if args.serve:
        serve()
    else:
        nightly(since=args.since, source=args.source, rebuild=args.rebuild)


if __name__ == "__main__":
    main()
