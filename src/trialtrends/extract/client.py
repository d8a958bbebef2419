"""The ClinicalTrials.gov API v2 client: one polite `requests` session, pacing, retries, paging.

Only this module (called from `extract`) talks to the network.
"""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from trialtrends import __version__
from trialtrends.errors import TrialtrendsError
from trialtrends.extract.records import loads_lenient
from trialtrends.settings import Settings

log = logging.getLogger(__name__)

# API-NOTES: pageSize max is 1000 (larger is silently cut), so ask for the maximum.
PAGE_SIZE = 1000
# A Retry-After larger than this is not waited out; we fail instead of hanging for hours.
MAX_RETRY_AFTER = 600.0


class ApiError(TrialtrendsError):
    """A request that failed for good; the message is one sentence naming the host and path."""


class PageTokenExpired(ApiError):
    """The API refused a page token as stale: the data was refreshed mid-crawl (API-NOTES:
    restart the crawl rather than resume with an old token)."""


class _Retryable(Exception):
    """A transient failure worth another try; `retry_after` comes from the server when sent."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


@dataclass
class Response:
    """One successful JSON response: the body exactly as received and its parsed value."""

    url: str
    body: bytes
    data: Any
    attempts: int


@dataclass
class Page:
    """One page of a /studies search, kept raw beside its parsed studies."""

    number: int
    params: dict[str, str]
    response: Response

    @property
    def studies(self) -> list[dict]:
        return self.response.data.get("studies") or []

    @property
    def next_token(self) -> str | None:
        return self.response.data.get("nextPageToken") or None

    @property
    def total_count(self) -> int | None:
        return self.response.data.get("totalCount")


def page_shape(data: Any) -> str | None:
    """What is wrong with a /studies page's JSON (None when it is a page): an object with a
    `studies` list, a whole-number `totalCount` and a string `nextPageToken` when present.
    The studies themselves are records, checked (and quarantined) one by one later."""
    if not isinstance(data, dict):
        return "JSON that is not an object"
    if not isinstance(data.get("studies", []), list):
        return "a page whose `studies` is not a list"
    total = data.get("totalCount")
    if total is not None and (isinstance(total, bool) or not isinstance(total, int) or total < 0):
        return f"a page whose `totalCount` is not a count ({str(total)[:40]!r})"
    token = data.get("nextPageToken")
    if token is not None and not isinstance(token, str):
        return "a page whose `nextPageToken` is not a string"
    return None


@dataclass
class ClientStats:
    """What the client did, for the manifest and the benchmark."""

    requests: int = 0
    retries: int = 0
    bytes_received: int = 0
    retry_log: list[str] = field(default_factory=list)


class Pacer:
    """Client-side rate limit: at most `max_rps` request starts per second (0 = unpaced)."""

    def __init__(
        self,
        max_rps: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / max_rps if max_rps > 0 else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = self._clock()
            delay = self._next - now
            self._next = max(now, self._next) + self.interval
        if delay > 0:
            self._sleep(delay)


def backoff_delay(attempt: int, base: float, cap: float, retry_after: float | None) -> float:
    """Exponential backoff with jitter, capped; a server's Retry-After is a floor we honour."""
    exp = min(cap, base * (2**attempt))
    delay = exp / 2 + random.uniform(0, exp / 2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return delay


def _retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP-date (RFC 9110); None if unusable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def short_url(url: str) -> str:
    """host/path of a URL, for error sentences (not the whole URL-encoded query)."""
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}" if parts.netloc else url


def connection_cause(exc: BaseException) -> str:
    """Why a connection failed, in words (name resolution, refused, TLS, reset, ...)."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 10:
        chain.append(seen)
        nxt = seen.__cause__ or seen.__context__
        if nxt is None and seen.args and isinstance(seen.args[0], BaseException):
            nxt = seen.args[0]
        seen = nxt
    text = " ".join(f"{type(e).__name__} {e}" for e in chain)
    if isinstance(exc, requests.exceptions.SSLError) or "SSLError" in text or "CERTIFICATE" in text:
        return "TLS error"
    if (
        any(isinstance(e, socket.gaierror) for e in chain)
        or "NameResolutionError" in text
        or ("Name or service not known" in text or "Temporary failure in name resolution" in text)
    ):
        return "name resolution failed"
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "Connection refused" in text:
        return "connection refused"
    if any(isinstance(e, ConnectionResetError) for e in chain) or "reset by peer" in text:
        return "connection reset"
    if "ReadTimeoutError" in text:  # a read timeout mid-body, as requests' iter_content wraps it
        return "timed out reading the body"
    if "RemoteDisconnected" in text or "closed connection" in text:
        return "the server closed the connection"
    return f"connection failed ({type(exc).__name__})"


def transient_failure(exc: requests.RequestException) -> _Retryable | None:
    """The transient failure a requests error stands for, or None when another try cannot help."""
    if isinstance(exc, requests.Timeout):
        return _Retryable(f"timed out ({type(exc).__name__})")
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        return _Retryable("truncated or corrupt gzip body")
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return _Retryable("connection broke mid-body")
    if isinstance(exc, requests.ConnectionError):
        return _Retryable(connection_cause(exc))
    return None


def transient_status(resp: requests.Response) -> _Retryable | None:
    """429 and 5xx are worth another try (after the server's Retry-After, when it sends one)."""
    status = resp.status_code
    if status == 429:
        return _Retryable("HTTP 429 Too Many Requests", _retry_after_seconds(resp.headers.get("Retry-After")))
    if status >= 500:
        return _Retryable(f"HTTP {status}", _retry_after_seconds(resp.headers.get("Retry-After")))
    return None


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class CtgovClient:
    """A polite client for the ClinicalTrials.gov API v2."""

    def __init__(self, settings: Settings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self.base_url = settings.api_url.rstrip("/")
        self.session = session or requests.Session()
        # API-NOTES: 403 has been seen by clients without a descriptive User-Agent.
        self.session.headers["User-Agent"] = (
            f"trialtrends/{__version__} (+{settings.user_agent_contact}; "
            "nightly cell-therapy landscape tables)"
        )
        self.session.headers["Accept"] = "application/json"
        # The API compresses; requests decodes (a truncated gzip body is retried, see _attempt).
        self.session.headers["Accept-Encoding"] = "gzip"
        self.pacer = Pacer(settings.max_rps)
        self.stats = ClientStats()

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> CtgovClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get_json(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        shape: Callable[[Any], str | None] | None = None,
    ) -> Response:
        """GET one JSON document, retrying transient failures; raise ApiError when it fails.

        `shape(data)` names what is wrong with a parsed body that is not the document expected
        (None when it is): a protocol error, retried like a truncated page, then one sentence.
        """
        url = f"{self.base_url}/{path.lstrip('/')}"
        # Prepared through the session, so its User-Agent and Accept headers go on the wire.
        prepared = self.session.prepare_request(requests.Request("GET", url, params=dict(params or {})))
        # Proxies and the CA bundle from the environment (HTTPS_PROXY, REQUESTS_CA_BUNDLE, ...).
        send_kwargs = self.session.merge_environment_settings(prepared.url, {}, None, None, None)
        full_url = prepared.url or url
        where = short_url(full_url)
        tries = self.settings.max_retries + 1
        last_reason = ""
        for attempt in range(tries):
            self.pacer.wait()
            try:
                paged = bool(params and "pageToken" in params)
                response = self._attempt(prepared, full_url, send_kwargs, paged)
                if shape is not None and (wrong := shape(response.data)):
                    raise _Retryable(f"HTTP 200 with {wrong}")
                response.attempts = attempt + 1
                return response
            except _Retryable as exc:
                last_reason = str(exc)
                if attempt + 1 >= tries:
                    break
                if self.settings.interactive and attempt >= 1 and last_reason == "name resolution failed":
                    # Someone is waiting at a terminal: a host name that failed to resolve twice
                    # means this machine is offline (or the URL is wrong), not a passing blip.
                    tries = attempt + 1
                    break
                self.pause_before_retry(where, attempt, exc)
        raise ApiError(f"Giving up on {where} after {tries} attempts; last error: {last_reason}")

    def pause_before_retry(self, where: str, attempt: int, failure: _Retryable) -> None:
        """Sleep out the backoff before try `attempt + 2` of `max_retries + 1`, counted and logged
        (shared by pages and the registry download, so both retry alike)."""
        tries = self.settings.max_retries + 1
        delay = backoff_delay(
            attempt, self.settings.backoff_base, self.settings.backoff_cap, failure.retry_after
        )
        self.stats.retries += 1
        message = f"retrying {where} in {delay:.2f}s (attempt {attempt + 2}/{tries}) after: {failure}"
        self.stats.retry_log.append(message)
        log.warning(message)
        time.sleep(delay)

    def _attempt(
        self, prepared: requests.PreparedRequest, url: str, send_kwargs: dict[str, Any], paged: bool
    ) -> Response:
        self.stats.requests += 1
        timeout = (self.settings.connect_timeout, self.settings.read_timeout)
        try:
            resp = self.session.send(prepared, timeout=timeout, **send_kwargs)
            body = resp.content  # reads the whole body: a reset mid-body raises here
        except requests.RequestException as exc:
            failure = transient_failure(exc)
            if failure is None:
                raise
            raise failure from exc
        self.stats.bytes_received += len(body)
        status = resp.status_code
        failure = transient_status(resp)
        if failure is not None:
            raise failure
        if status >= 400:
            # API-NOTES: error bodies are text/plain and say what is wrong; quote them.
            text = _short(body.decode("utf-8", "replace"))
            if paged and status == 400 and "token" in text.lower():
                # VERIFY on the first live run: the wording of a stale-token 400 (logged here).
                log.warning("page token refused by %s: %s", short_url(url), text)
                raise PageTokenExpired(f"The API refused a page token for {short_url(url)}: {text}")
            raise ApiError(f"The API refused {short_url(url)} with HTTP {status}: {text}")
        content_type = resp.headers.get("Content-Type", "")
        head = body.lstrip()[:1]
        if "html" in content_type.lower() or head == b"<":
            raise _Retryable(f"HTTP {status} with an HTML page instead of JSON")
        try:
            data = loads_lenient(body)
        except ValueError as exc:
            raise _Retryable(f"HTTP {status} with invalid or truncated JSON ({len(body)} bytes)") from exc
        return Response(url=url, body=body, data=data, attempts=1)

    def version(self) -> Response:
        """GET /version: apiVersion and dataTimestamp, recorded with every run."""
        return self.get_json("version")

    def metadata(self) -> Response:
        """GET /studies/metadata: the field tree, for the schema-drift gate."""
        return self.get_json("studies/metadata")

    def paginate(self, params: Mapping[str, str]) -> Iterator[Page]:
        """Yield every page of a /studies search.

        API-NOTES: every parameter is repeated unchanged on every page, only pageToken changes;
        stop on a missing token OR an empty page (an exactly full last page may carry a stray
        token whose page is empty).
        """
        base = {k: str(v) for k, v in params.items()}
        token: str | None = None
        number = 0
        while True:
            number += 1
            page_params = dict(base)
            if token:
                page_params["pageToken"] = token
            response = self.get_json("studies", page_params, shape=page_shape)
            page = Page(number=number, params=page_params, response=response)
            yield page
            token = page.next_token
            if not token or not page.studies:
                return
