"""The ClinicalTrials.gov API v2 client: one polite `requests` session, pacing, retries, paging.

Only this module (called from `extract`) talks to the network.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from trialtrends import __version__
from trialtrends.errors import TrialtrendsError
from trialtrends.settings import Settings

log = logging.getLogger(__name__)

# API-NOTES: pageSize max is 1000 (larger is silently cut), so ask for the maximum.
PAGE_SIZE = 1000
# A Retry-After larger than this is not waited out; we fail instead of hanging for hours.
MAX_RETRY_AFTER = 600.0


class ApiError(TrialtrendsError):
    """A request that failed for good; the message is one sentence naming the URL."""


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


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        # An HTTP-date Retry-After: rare here; fall back to our own backoff.
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
        self.pacer = Pacer(settings.max_rps)
        self.stats = ClientStats()

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> CtgovClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Response:
        """GET one JSON document, retrying transient failures; raise ApiError when it fails."""
        url = f"{self.base_url}/{path.lstrip('/')}"
        prepared = requests.Request("GET", url, params=dict(params or {})).prepare()
        full_url = prepared.url or url
        tries = self.settings.max_retries + 1
        last_reason = ""
        for attempt in range(tries):
            self.pacer.wait()
            try:
                response = self._attempt(prepared, full_url)
                response.attempts = attempt + 1
                return response
            except _Retryable as exc:
                last_reason = str(exc)
                if attempt + 1 >= tries:
                    break
                delay = backoff_delay(
                    attempt, self.settings.backoff_base, self.settings.backoff_cap, exc.retry_after
                )
                self.stats.retries += 1
                message = (
                    f"retrying {full_url} in {delay:.2f}s "
                    f"(attempt {attempt + 2}/{tries}) after: {last_reason}"
                )
                self.stats.retry_log.append(message)
                log.warning(message)
                time.sleep(delay)
        raise ApiError(f"Giving up on {full_url} after {tries} attempts; last error: {last_reason}")

    def _attempt(self, prepared: requests.PreparedRequest, url: str) -> Response:
        self.stats.requests += 1
        timeout = (self.settings.connect_timeout, self.settings.read_timeout)
        try:
            resp = self.session.send(prepared, timeout=timeout)
            body = resp.content  # reads the whole body: a reset mid-body raises here
        except requests.Timeout as exc:
            raise _Retryable(f"timed out ({type(exc).__name__})") from exc
        except requests.ConnectionError as exc:
            raise _Retryable(f"connection failed ({type(exc).__name__})") from exc
        except requests.exceptions.ChunkedEncodingError as exc:
            raise _Retryable("connection broke mid-body") from exc
        self.stats.bytes_received += len(body)
        status = resp.status_code
        if status == 429:
            raise _Retryable(
                "HTTP 429 Too Many Requests", _retry_after_seconds(resp.headers.get("Retry-After"))
            )
        if status >= 500:
            raise _Retryable(f"HTTP {status}", _retry_after_seconds(resp.headers.get("Retry-After")))
        if status >= 400:
            # API-NOTES: error bodies are text/plain and say what is wrong; quote them.
            text = body.decode("utf-8", "replace")
            raise ApiError(f"The API refused {url} with HTTP {status}: {_short(text)}")
        content_type = resp.headers.get("Content-Type", "")
        head = body.lstrip()[:1]
        if "html" in content_type.lower() or head == b"<":
            raise _Retryable(f"HTTP {status} with an HTML page instead of JSON")
        try:
            data = json.loads(body)
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
            page = Page(number=number, params=page_params, response=self.get_json("studies", page_params))
            if not isinstance(page.response.data, dict):
                raise ApiError(f"{page.response.url} returned JSON that is not an object")
            yield page
            token = page.next_token
            if not token or not page.studies:
                return
