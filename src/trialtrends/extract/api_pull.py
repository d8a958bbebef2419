"""Extract: run the night's searches against the API and land every response raw.

Network -> `<data>/raw/<run_id>/`. Nothing here parses studies beyond what paging and the
manifest's counts need; normalisation reads the landed files.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from trialtrends import __version__
from trialtrends.extract.client import CtgovClient
from trialtrends.extract.raw import FAILED, RUNNING, SUCCEEDED, RawRun, new_run_id, utc_now
from trialtrends.extract.records import nct_id_of
from trialtrends.extract.searches import QUERIES, SearchQuery, search_params
from trialtrends.settings import Settings

log = logging.getLogger(__name__)

# progress(event, detail): "query" when a search starts, "page" after each landed page.
Progress = Callable[[str, dict[str, Any]], None]


@dataclass
class PullResult:
    """A finished pull: where it landed and what its manifest says."""

    run: RawRun
    manifest: dict[str, Any]


def pull(
    settings: Settings,
    *,
    since: date | None = None,
    queries: tuple[SearchQuery, ...] = QUERIES,
    client: CtgovClient | None = None,
    progress: Progress | None = None,
    run_id: str | None = None,
) -> PullResult:
    """Run every query, land every page, and write a manifest; a failure marks it failed."""
    run = RawRun.create(settings.raw_dir, run_id or new_run_id())
    own_client = client is None
    client = client or CtgovClient(settings)
    manifest: dict[str, Any] = {
        "run_id": run.run_id,
        "kind": "api",
        "status": RUNNING,
        "error": None,
        "started_at": utc_now(),
        "finished_at": None,
        "trialtrends_version": __version__,
        "api_url": settings.api_url,
        "api_version": None,
        "data_timestamp": None,
        "mode": "incremental" if since else "full",
        "since": since.isoformat() if since else None,
        "queries": [],
        "pages": 0,
        "rows": 0,
        "unique_studies": 0,
        "duplicates_seen": 0,
        "files": [],
        "landed": False,
    }
    run.write_manifest(manifest)
    log.info("run %s: landing raw responses in %s", run.run_id, run.path)
    seen: set[str] = set()
    try:
        version = client.version()
        manifest["files"].append({"kind": "version", **run.write_body("version.json", version.body)})
        manifest["api_version"] = version.data.get("apiVersion")
        manifest["data_timestamp"] = version.data.get("dataTimestamp")
        log.info("API %s, data timestamp %s", manifest["api_version"], manifest["data_timestamp"])
        metadata = client.metadata()
        manifest["files"].append(
            {"kind": "metadata", **run.write_body("studies-metadata.json", metadata.body)}
        )
        for query in queries:
            manifest["queries"].append(
                _pull_query(client, run, query, search_params(query, since), seen, manifest, progress)
            )
            run.write_manifest(manifest)
        manifest["status"] = SUCCEEDED
        manifest["landed"] = True  # every page is on disk: the run can be rebuilt offline
    except BaseException as exc:  # KeyboardInterrupt too: the manifest must say failed
        manifest["status"] = FAILED
        manifest["error"] = str(exc) or type(exc).__name__
        raise
    finally:
        manifest["finished_at"] = utc_now()
        manifest["unique_studies"] = len(seen)
        manifest["requests"] = client.stats.requests
        manifest["retries"] = client.stats.retries
        manifest["bytes_received"] = client.stats.bytes_received
        run.write_manifest(manifest)
        if own_client:
            client.close()
    log.info(
        "run %s: %d pages, %d unique studies, %d requests (%d retries)",
        run.run_id,
        manifest["pages"],
        manifest["unique_studies"],
        manifest["requests"],
        manifest["retries"],
    )
    return PullResult(run=run, manifest=manifest)


def _pull_query(
    client: CtgovClient,
    run: RawRun,
    query: SearchQuery,
    params: dict[str, str],
    seen: set[str],
    manifest: dict[str, Any],
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
        landed = run.write_body(f"{query.name}-page-{page.number:04d}.json", page.response.body)
        manifest["files"].append({"kind": "page", "query": query.name, "page": page.number, **landed})
        entry["pages"] += 1
        manifest["pages"] += 1
        for study in page.studies:
            nct_id = nct_id_of(study)
            entry["rows"] += 1
            manifest["rows"] += 1
            if nct_id is None:
                continue
            if nct_id in mine:
                entry["duplicates"] += 1
                manifest["duplicates_seen"] += 1
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
        "query %s: %d pages, %d rows, %d unique, totalCount %s",
        query.name,
        entry["pages"],
        entry["rows"],
        entry["unique"],
        entry["total_count"],
    )
    return entry
