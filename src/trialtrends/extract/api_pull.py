"""Extract: run the night's searches against the API and land every response raw.

Network -> `<data>/raw/<run_id>/`. Nothing here parses studies beyond what paging and the
manifest's counts need; normalisation reads the landed files.

One data generation per run: `/version` is read before and after the crawl, and if the
registry refreshed its data in between (a new `dataTimestamp`), or refused a page token as
expired, the whole crawl starts again (API-NOTES: restart rather than resume with an old
token), up to MAX_CRAWLS times. Pages of an abandoned crawl stay on disk (raw files are never
deleted) but are recorded under that crawl in the manifest, never read as the run's data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from trialtrends.errors import TrialtrendsError
from trialtrends.extract.client import CtgovClient, PageTokenExpired
from trialtrends.extract.raw import RawRun, new_run_id
from trialtrends.extract.records import nct_id_of
from trialtrends.extract.searches import QUERIES, SearchQuery, search_params
from trialtrends.manifest import SEARCH, RunManifest, utc_now
from trialtrends.settings import Settings
from trialtrends.words import plural

log = logging.getLogger(__name__)

# progress(event, detail): "query" when a search starts, "page" after each landed page.
Progress = Callable[[str, dict[str, Any]], None]
# Crawls per run before giving up on getting one consistent data generation.
MAX_CRAWLS = 3


class GenerationChanged(TrialtrendsError):
    """The registry's data changed during every crawl of a run."""


@dataclass
class PullResult:
    """A finished pull: where it landed and what its manifest says."""

    run: RawRun
    manifest: RunManifest


class _Restart(Exception):
    """The crawl must start again (one sentence why)."""


def pull(
    settings: Settings,
    *,
    since: date | None = None,
    queries: tuple[SearchQuery, ...] = QUERIES,
    client: CtgovClient | None = None,
    progress: Progress | None = None,
    run_id: str | None = None,
    mode: str = SEARCH,
    run: RawRun | None = None,
    manifest: RunManifest | None = None,
) -> PullResult:
    """Run every query, land every page, and write a manifest; a failure marks it failed.

    A landed run stays `running` (landed: true) until processing publishes it or fails it, so
    a run killed after landing is never shown as succeeded. `run` and `manifest` continue a run
    already opened (a registry night whose download was unavailable).
    """
    run = run or RawRun.create(settings.raw_dir, run_id or new_run_id())
    own_client = client is None
    client = client or CtgovClient(settings)
    manifest = manifest or RunManifest(run_id=run.run_id, kind="api", api_url=settings.api_url, mode=mode)
    manifest.since = since.isoformat() if since else None
    run.write_manifest(manifest)
    log.info("run %s: landing raw responses in %s", run.run_id, run.path)
    seen: set[str] = set()
    try:
        metadata = client.metadata()
        manifest.files.append({"kind": "metadata", **run.write_body("studies-metadata.json", metadata.body)})
        for crawl in range(1, MAX_CRAWLS + 1):
            seen = set()
            try:
                _crawl(client, run, manifest, crawl, queries, since, seen, progress)
                break
            except _Restart as why:
                _set_aside(manifest, crawl, str(why))
                run.write_manifest(manifest)
                log.warning("run %s: crawl %d restarts: %s", run.run_id, crawl, why)
        else:
            raise GenerationChanged(
                f"The registry's data changed during each of {MAX_CRAWLS} crawls "
                f"({manifest.crawls[-1]['restarted']}); try again after its daily refresh."
            )
        manifest.landed = True  # every page is on disk: the run can be rebuilt offline
    except BaseException as exc:  # KeyboardInterrupt too: the manifest must say failed
        manifest.mark_failed(exc)
        raise
    finally:
        manifest.finished_at = utc_now()
        manifest.unique_studies = len(seen)
        manifest.requests = client.stats.requests
        manifest.retries = client.stats.retries
        manifest.bytes_received = client.stats.bytes_received
        run.write_manifest(manifest)
        if own_client:
            client.close()
    log.info(
        "run %s: %s, %s, %s (%s), data timestamp %s",
        run.run_id,
        plural(manifest.pages, "page"),
        plural(manifest.unique_studies or 0, "unique study", "unique studies"),
        plural(manifest.requests or 0, "request"),
        plural(manifest.retries or 0, "retry", "retries"),
        manifest.data_timestamp,
    )
    return PullResult(run=run, manifest=manifest)


def _crawl(
    client: CtgovClient,
    run: RawRun,
    manifest: RunManifest,
    crawl: int,
    queries: tuple[SearchQuery, ...],
    since: date | None,
    seen: set[str],
    progress: Progress | None,
) -> None:
    """One crawl: /version, every query, /version again; _Restart if the generation moved."""
    suffix = "" if crawl == 1 else f"-crawl{crawl}"
    before = client.version()
    manifest.files.append({"kind": "version", **run.write_body(f"version{suffix}.json", before.body)})
    manifest.api_version = before.data.get("apiVersion")
    manifest.data_timestamp = before.data.get("dataTimestamp")
    log.info("API %s, data timestamp %s", manifest.api_version, manifest.data_timestamp)
    for query in queries:
        try:
            entry = _pull_query(
                client, run, query, search_params(query, since), seen, manifest, suffix, progress
            )
        except PageTokenExpired as exc:
            raise _Restart(f"a page token expired during query {query.name} ({exc})") from exc
        manifest.queries.append(entry)
        run.write_manifest(manifest)
    after = client.version()
    manifest.files.append(
        {"kind": "version_check", **run.write_body(f"version{suffix}-after.json", after.body)}
    )
    stamp = after.data.get("dataTimestamp")
    if stamp != manifest.data_timestamp:
        raise _Restart(f"dataTimestamp changed from {manifest.data_timestamp} to {stamp}")


def _set_aside(manifest: RunManifest, crawl: int, why: str) -> None:
    """Move an abandoned crawl's pages and counts out of the run's data, into `crawls`."""
    pages = [f for f in manifest.files if f.get("kind") in ("page", "version", "version_check")]
    manifest.crawls.append(
        {
            "crawl": crawl,
            "data_timestamp": manifest.data_timestamp,
            "restarted": why,
            "queries": manifest.queries,
            "files": pages,
        }
    )
    manifest.files = [f for f in manifest.files if f not in pages]
    manifest.queries = []
    manifest.pages = manifest.rows = manifest.duplicates_seen = 0


def _pull_query(
    client: CtgovClient,
    run: RawRun,
    query: SearchQuery,
    params: dict[str, str],
    seen: set[str],
    manifest: RunManifest,
    suffix: str,
    progress: Progress | None,
) -> dict[str, Any]:
    """Page through one query, landing each page; return its manifest entry."""
    entry: dict[str, Any] = {
        "name": query.name,
        "family": query.family,
        "params": params,
        "total_count": None,
        "pages": 0,
        "rows": 0,
        "unique": 0,
        "duplicates": 0,
        "difference": None,
    }
    if progress:
        progress("query", {"query": query.name})
    mine: set[str] = set()
    for page in client.paginate(params):
        if page.number == 1:
            entry["total_count"] = page.total_count
        landed = run.write_body(f"{query.name}{suffix}-page-{page.number:04d}.json", page.response.body)
        manifest.files.append({"kind": "page", "query": query.name, "page": page.number, **landed})
        entry["pages"] += 1
        manifest.pages += 1
        for study in page.studies:
            nct_id = nct_id_of(study)
            entry["rows"] += 1
            manifest.rows += 1
            if nct_id is None:
                continue
            if nct_id in mine:
                entry["duplicates"] += 1
                manifest.duplicates_seen += 1
            mine.add(nct_id)
            seen.add(nct_id)
        if progress:
            progress(
                "page",
                {
                    "query": query.name,
                    "page": page.number,
                    "studies": len(seen),
                    "total": entry["total_count"],
                },
            )
    entry["unique"] = len(mine)
    if entry["total_count"] is not None:
        entry["difference"] = entry["unique"] - entry["total_count"]
        if entry["difference"]:
            # API-NOTES: the index can change mid-crawl; record and warn, the gate decides.
            log.warning(
                "query %s: %d unique studies but totalCount said %d",
                query.name,
                entry["unique"],
                entry["total_count"],
            )
    log.info(
        "query %s: %s, %s, %d unique, totalCount %s",
        query.name,
        plural(entry["pages"], "page"),
        plural(entry["rows"], "row"),
        entry["unique"],
        entry["total_count"],
    )
    return entry
