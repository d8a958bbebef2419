"""Extract: download the whole registry as one zip, for registry mode's baseline.

`GET {api_url}/studies/download?format=json.zip` answers `ctg-studies.json.zip`, one JSON file per
study (~600k entries, ~2.7-3.5 GB in 2026). API-NOTES: not in the OpenAPI document (unstable),
and whether it honours `Range` and sends a stable `ETag`/`Content-Length` is unknown: the first
answer's headers are logged (VERIFY on the first live run) and every resume is checked.

The body streams into `.<name>.<hex>.tmp` beside the target (the tidy-up removes those of killed
runs). A cut or a timeout mid-body resumes with `Range: bytes=N-` + `If-Range`; a 200 (range
ignored, file changed) or a changed ETag/length restarts from zero. Retried like pages (the
client's backoff, Retry-After, pacing), but an attempt that brought bytes starts a fresh budget.
Free space is checked before the body; the file (length, directory, CRCs, entry count) after
it, and only then renamed into place, read-only.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import requests
import urllib3

from trialtrends.errors import TrialtrendsError
from trialtrends.extract.client import (
    ApiError,
    CtgovClient,
    _Retryable,
    _short,
    short_url,
    transient_failure,
    transient_status,
)
from trialtrends.extract.download_progress import Progress, RateMeter, human_bytes
from trialtrends.extract.raw import RawDataError
from trialtrends.extract.zip_check import ENTRY_TOLERANCE, check_registry_zip
from trialtrends.extract.zip_index import SourceError
from trialtrends.settings import Settings

log = logging.getLogger(__name__)

DOWNLOAD_PATH = "studies/download"
DOWNLOAD_PARAMS = {"format": "json.zip"}
#: The name the registry gives the file (Content-Disposition), and a good name to land it under.
FILE_NAME = "ctg-studies.json.zip"
#: Every zip that holds at least one entry starts with a local file header.
ZIP_MAGIC = b"PK\x03\x04"
#: Free space asked for beyond the file itself: a share of it, at least MIN_MARGIN.
MARGIN_SHARE = 0.05
MIN_MARGIN = 256 << 20
#: The size assumed when the server sends no Content-Length and the caller gives no estimate
#: (API-NOTES: ~2.7 GB in 2026; the issue saw up to 3.5 GB).
SIZE_GUESS = 4_000_000_000
#: Restarts from byte zero (the server ignored a range, or the file changed) before giving up.
MAX_RESTARTS = 3
CHUNK = 1 << 20
# 400/405 too: the live API answers an endpoint or parameter it no longer knows with those.
GONE_STATUSES = frozenset({400, 404, 405, 410})


class DownloadError(TrialtrendsError):
    """The registry download was refused (no space, a damaged file); one sentence."""


class DownloadUnavailable(DownloadError):
    """The download endpoint is gone (404, or a page that is not a zip): fall back to search mode."""


class NotEnoughSpace(DownloadError):
    """The target folder cannot hold the download; refused before any body byte is written."""


class DownloadDamaged(DownloadError):
    """The finished download is truncated, corrupt or short of studies; nothing was kept."""


@dataclass(frozen=True)
class DownloadResult:
    """A checked registry zip in place, and how it got there (for the manifest)."""

    path: Path
    bytes: int
    sha256: str
    entries: int
    crc_checked: int  # entries whose CRC was checked (entries, unless check_crc=False)
    etag: str | None
    last_modified: str | None
    content_length: int | None
    headers: dict[str, str]  # the first response's headers (API-NOTES: VERIFY Range/ETag)
    requests: int
    resumes: int  # answers of 206 that continued a cut download
    restarts: int  # times the file was started again from byte zero
    seconds: float

    def manifest_entry(self) -> dict[str, Any]:
        """The file's entry for a run manifest's `files` (name relative to the run folder)."""
        pinned = ("sha256", "bytes", "entries", "etag", "last_modified", "resumes", "restarts")
        return {"kind": "registry_zip", "file": self.path.name, **{k: getattr(self, k) for k in pinned}}


def free_space(folder: Path) -> int:
    """Bytes free for this user in `folder`'s file system (tests replace it)."""
    return shutil.disk_usage(folder).free


def registry_study_count(client: CtgovClient) -> int:
    """/stats/size's totalStudies: how many entries a whole download should hold (read it just
    before downloading, and pass it as `expected_studies`)."""
    response = client.get_json("stats/size")
    total = response.data.get("totalStudies") if isinstance(response.data, dict) else None
    if isinstance(total, bool) or not isinstance(total, int) or total <= 0:
        raise ApiError(f"{short_url(response.url)} gave no usable totalStudies ({total!r}).")
    log.info("/stats/size: %d studies in the registry", total)
    return total


def download_registry(
    settings: Settings,
    target: Path,
    *,
    client: CtgovClient | None = None,
    progress: Progress | None = None,
    expected_studies: int | None = None,
    expected_bytes: int | None = None,
    entry_tolerance: float = ENTRY_TOLERANCE,
    check_crc: bool = True,
) -> DownloadResult:
    """Download the registry zip to `target` (absent), check it, and make it read-only.

    `expected_studies` is /stats/size's totalStudies: fewer entries than that, less
    `entry_tolerance`, refuse the file. `expected_bytes` sizes the free-space check when the
    server sends no Content-Length. `check_crc=False` skips inflating every entry (the bulk
    path checks each CRC again as it reads; the central directory and length are always checked).

    Progress events: "download" while the body arrives ({"bytes", "total", "rate", "eta",
    "resumes", "restarts"}, see `download_progress`; `describe_progress` words one), then
    "download_check" ({"entries", "total"}) as the entries' CRCs are checked.

    Raises DownloadUnavailable (endpoint gone), NotEnoughSpace, DownloadDamaged, ApiError (the
    network failed for good), RawDataError (target exists); no file is left behind by any of them.
    """
    target = Path(target)
    if target.exists():
        raise RawDataError(f"{target} already exists; raw files are never overwritten.")
    target.parent.mkdir(parents=True, exist_ok=True)
    own_client = client is None
    client = client or CtgovClient(settings)
    url = f"{client.base_url}/{DOWNLOAD_PATH}"
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    started = time.monotonic()
    try:
        with open(tmp, "wb") as fh:
            transfer = _Transfer(fh=fh, folder=target.parent, where=short_url(url), meter=RateMeter(progress))
            _fetch(client, url, transfer, expected_bytes)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            check = check_registry_zip(
                tmp, length=transfer.total, expected_studies=expected_studies, tolerance=entry_tolerance,
                check_crc=check_crc, progress=progress,
            )  # fmt: skip
        except SourceError as exc:
            why = str(exc).replace(str(tmp), target.name)  # named as the file it would have been
            raise DownloadDamaged(
                f"The registry download from {transfer.where} was refused and not kept: {why}."
            ) from exc
        os.replace(tmp, target)
        target.chmod(0o444)
    except BaseException as exc:  # KeyboardInterrupt too: a half file must never look like a good one
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            raise NotEnoughSpace(f"The disk holding {target.parent} filled up during the registry "
                                 "download; nothing was kept.") from exc  # fmt: skip
        raise
    finally:
        if own_client:
            client.close()
    seconds = time.monotonic() - started
    result = DownloadResult(
        path=target, bytes=transfer.have, sha256=transfer.digest.hexdigest(), entries=check.entries,
        crc_checked=check.crc_checked, etag=transfer.etag, last_modified=transfer.last_modified,
        content_length=transfer.total, headers=transfer.first_headers or {},
        requests=transfer.requests, resumes=transfer.resumes, restarts=transfer.restarts, seconds=seconds,
    )  # fmt: skip
    log.info(
        "registry download: %s in %.1f s (%s/s), %d requests, %d resumed, %d restarted; "
        "%d entries, %d CRCs checked; sha256 %s",
        human_bytes(result.bytes), seconds, human_bytes(result.bytes / max(seconds, 1e-9)),
        result.requests, result.resumes, result.restarts, check.entries, check.crc_checked, result.sha256,
    )  # fmt: skip
    return result


# ---- the transfer ---------------------------------------------------------------------------


@dataclass
class _Transfer:
    """The file being written and what the server said about it; survives dropped attempts."""

    fh: BinaryIO
    folder: Path
    where: str
    meter: RateMeter
    have: int = 0  # bytes on disk, a prefix of the server's file
    received: int = 0  # bytes this attempt added (a fresh retry budget when > 0)
    digest: Any = field(default_factory=hashlib.sha256)
    total: int | None = None  # the whole file's length, from the server
    etag: str | None = None
    last_modified: str | None = None
    encoded: bool = False  # a Content-Encoding we did not ask for: ranges would not line up
    first_headers: dict[str, str] | None = None
    requests: int = 0
    resumes: int = 0
    restarts: int = 0

    def write(self, chunk: bytes) -> None:
        self.fh.write(chunk)
        self.digest.update(chunk)  # the file is a prefix that only grows, so one running hash
        self.have += len(chunk)
        self.received += len(chunk)
        self.meter.tick(self.have, self.total, self.counts())

    def counts(self) -> dict[str, int]:
        return {"resumes": self.resumes, "restarts": self.restarts}

    def restart(self, why: str) -> None:
        """Throw the partial file away and start again from byte zero."""
        self.restarts += 1
        if self.restarts > MAX_RESTARTS:
            raise ApiError(
                f"Giving up on {self.where} after restarting the download from zero {MAX_RESTARTS} "
                f"times; it would have to restart again because {why}."
            )
        log.warning("registry download restarts from byte 0 (had %d): %s", self.have, why)
        self.fh.seek(0)
        self.fh.truncate()
        self.have = 0
        self.digest = hashlib.sha256()
        self.meter.reset()

    def adopt(self, resp: requests.Response) -> None:
        """Take the validators and length of a full (200) answer as the file's."""
        self.etag = resp.headers.get("ETag")
        self.last_modified = resp.headers.get("Last-Modified")
        self.encoded = resp.headers.get("Content-Encoding", "identity").lower() not in ("identity", "")
        length = resp.headers.get("Content-Length")
        # A length of the encoded body says nothing about the bytes written (they are decoded).
        self.total = int(length) if length and length.isdigit() and not self.encoded else None


def _fetch(client: CtgovClient, url: str, t: _Transfer, expected_bytes: int | None) -> None:
    """Attempt until the whole body is on disk; transient failures back off like pages do."""
    tries = client.settings.max_retries + 1
    failures = 0
    while True:
        client.pacer.wait()
        t.received = 0
        try:
            _attempt(client, url, t, expected_bytes)
            t.meter.tick(t.have, t.total, t.counts(), force=True)
            return
        except _Retryable as exc:
            # Bytes gained are kept: only failures in a row without progress use up the budget.
            failures = 1 if t.received else failures + 1
            if failures >= tries:
                raise ApiError(
                    f"Giving up on {t.where} after {failures} attempts in a row without progress "
                    f"({t.have:,} bytes on disk); last error: {exc}"
                ) from exc
            client.pause_before_retry(t.where, failures - 1, exc)


def _changed(t: _Transfer, resp: requests.Response, total: int | None) -> str | None:
    """Why an answer is not the file we hold a prefix of (ETag or length differ), else None."""
    etag = resp.headers.get("ETag")
    if t.etag and etag and etag != t.etag:
        return f"the file changed on the server (ETag {t.etag} -> {etag})"
    if t.total is not None and total is not None and total != t.total:
        return f"the file changed on the server (length {t.total:,} -> {total:,})"
    return None


_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.IGNORECASE)


def _attempt(client: CtgovClient, url: str, t: _Transfer, expected_bytes: int | None) -> None:
    """One request: continue (206) or start (200) the file, and stream the body to disk."""
    settings = client.settings
    if t.have and t.encoded:
        t.restart("the server compressed the body, so byte ranges would not line up")
    # Identity: the zip is compressed already, and a Range counts bytes of the encoded body.
    headers = {"Accept": "application/zip, */*;q=0.1", "Accept-Encoding": "identity"}
    resuming = t.have > 0
    if resuming:
        headers["Range"] = f"bytes={t.have}-"
        # If-Range takes a strong ETag or a date (RFC 9110 13.1.5); with neither, the answer's
        # length and ETag are still compared below, and the CRC pass catches the rest.
        validator = t.etag if t.etag and not t.etag.startswith("W/") else t.last_modified
        if validator:
            headers["If-Range"] = validator
    client.stats.requests += 1
    t.requests += 1
    timeout = (settings.connect_timeout, settings.read_timeout)
    try:
        resp = client.session.get(url, params=DOWNLOAD_PARAMS, headers=headers, stream=True, timeout=timeout)
    except requests.RequestException as exc:
        failure = transient_failure(exc)
        if failure is None:
            raise
        raise failure from exc
    with resp:
        _start(client, resp, t, resuming, expected_bytes)
        _stream(client, resp, t)


def _start(
    client: CtgovClient, resp: requests.Response, t: _Transfer, resuming: bool, expected_bytes: int | None
) -> None:
    """Judge an answer's status and headers before any of its body is written."""
    status = resp.status_code
    if t.first_headers is None:
        t.first_headers = {k: v for k, v in resp.headers.items() if k.lower() != "set-cookie"}
        # API-NOTES: VERIFY whether the endpoint honours Range and sends ETag/Content-Length
        # (and whether it redirects, e.g. to a file host: then those are the host's answers).
        hops = "".join(f" after HTTP {r.status_code} to {short_url(r.headers.get('Location', '?'))}"
                       for r in resp.history)  # fmt: skip
        log.info("registry download %s: HTTP %d%s, headers %s", t.where, status, hops, t.first_headers)
    if status in GONE_STATUSES:
        text = _short(next(resp.iter_content(1024), b"").decode("utf-8", "replace"), 120)
        raise DownloadUnavailable(
            f"The registry download {t.where} answered HTTP {status} ({text or 'no text'}): "
            "the endpoint looks gone."
        )
    failure = transient_status(resp)
    if failure is not None:
        raise failure
    if status == 416 and resuming:
        t.restart(f"the server refused the range bytes={t.have}- (HTTP 416)")
        raise _Retryable("HTTP 416 Range Not Satisfiable")
    if status not in (200, 206):
        text = _short(next(resp.iter_content(1024), b"").decode("utf-8", "replace"))
        raise ApiError(f"The API refused {t.where} with HTTP {status}: {text}")
    if "html" in resp.headers.get("Content-Type", "").lower():
        raise DownloadUnavailable(
            f"The registry download {t.where} answered an HTML page instead of a zip: "
            "the endpoint looks gone."
        )
    if status == 206 and not resuming:
        raise _Retryable("HTTP 206 to a request without a Range")
    if status == 200:
        if resuming:
            length = resp.headers.get("Content-Length")
            why = _changed(t, resp, int(length) if length and length.isdigit() else None)
            t.restart(why or "the server ignored the Range request (HTTP 200)")
        t.adopt(resp)
    else:
        match = _CONTENT_RANGE.fullmatch(resp.headers.get("Content-Range", "").strip())
        if match is None:
            t.restart(f"a 206 answer without a usable Content-Range ({resp.headers.get('Content-Range')!r})")
            raise _Retryable("HTTP 206 without a usable Content-Range")
        start, total = int(match[1]), None if match[3] == "*" else int(match[3])
        why = _changed(t, resp, total) or (
            f"the server resumed at byte {start:,}, not {t.have:,}" if start != t.have else None
        )
        if why:
            t.restart(why)
            raise _Retryable(why)
        t.total = t.total if total is None else total
        t.resumes += 1
        log.info("registry download resumed at byte %d of %s (HTTP 206)", t.have, t.total)
    _check_space(t, expected_bytes)


def _check_space(t: _Transfer, expected_bytes: int | None) -> None:
    size = t.total if t.total is not None else (expected_bytes or SIZE_GUESS)
    margin = max(int(size * MARGIN_SHARE), MIN_MARGIN)
    needed = max(size - t.have, 0) + margin
    free = free_space(t.folder)
    if free < needed:
        raise NotEnoughSpace(
            f"Not enough free space in {t.folder} for the registry download: it needs "
            f"{human_bytes(needed)} (the file's {human_bytes(size - t.have)} still to come plus a "
            f"{human_bytes(margin)} margin) and {human_bytes(free)} is free."
        )


def _stream(client: CtgovClient, resp: requests.Response, t: _Transfer) -> None:
    """Append the body to the file; a cut is a _Retryable naming how far it got."""
    head = b"" if t.have == 0 else None  # the first bytes of the file must be a zip's
    try:
        for chunk in _body(resp):
            client.stats.bytes_received += len(chunk)
            if head is not None:
                head += chunk
                if len(head) < len(ZIP_MAGIC):
                    continue
                _require_zip(t, head)
                chunk, head = head, None
            t.write(chunk)
    except requests.RequestException as exc:
        failure = transient_failure(exc)
        if failure is None:
            raise
        of = f" of {t.total:,}" if t.total is not None else ""
        raise _Retryable(f"{failure} at byte {t.have:,}{of}", failure.retry_after) from exc
    if head is not None:
        _require_zip(t, head)
    if t.total is not None and t.have < t.total:
        raise _Retryable(f"the body ended at byte {t.have:,} of {t.total:,}")


def _body(resp: requests.Response) -> Iterator[bytes]:
    """The body as it arrives. Unlike `iter_content`, whose reads wait for a whole chunk and
    lose it when the connection drops, `read1` hands over what came, so a cut keeps every byte
    received before it. urllib3's errors become requests' as `iter_content` maps them."""
    while True:
        try:
            chunk = resp.raw.read1(CHUNK)
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise requests.ConnectionError(exc) from exc
        except urllib3.exceptions.SSLError as exc:
            raise requests.exceptions.SSLError(exc) from exc
        except urllib3.exceptions.DecodeError as exc:
            raise requests.exceptions.ContentDecodingError(exc) from exc
        except (urllib3.exceptions.ProtocolError, OSError) as exc:
            raise requests.exceptions.ChunkedEncodingError(exc) from exc
        if not chunk:
            return
        yield chunk


def _require_zip(t: _Transfer, head: bytes) -> None:
    if not head.startswith(ZIP_MAGIC):
        raise DownloadUnavailable(
            f"The registry download {t.where} answered something that is not a zip "
            f"(it starts {head[:16]!r}): the endpoint looks gone."
        )
