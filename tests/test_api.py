"""The API client against the fake server: retries, faults, errors, pacing, paging."""

from __future__ import annotations

import pytest
from builders import study
from conftest import test_settings
from fakeapi import FakeCtgov

from trialtrends.extract.client import ApiError, CtgovClient, Pacer, backoff_delay


@pytest.fixture
def server():
    with FakeCtgov([study(f"NCT9000{i:04d}") for i in range(1, 26)], max_page_size=10) as fake:
        yield fake


@pytest.fixture
def client(server, tmp_path):
    with CtgovClient(test_settings(tmp_path, server.url)) as c:
        yield c


def all_ids(client, params=None):
    pages = list(client.paginate(params or {"pageSize": "1000", "countTotal": "true"}))
    return pages, [s["protocolSection"]["identificationModule"]["nctId"] for p in pages for s in p.studies]


def test_pages_through_everything_once(client):
    pages, ids = all_ids(client)
    assert len(pages) == 3
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 25
    assert pages[0].total_count == 25
    # Every page repeats the same parameters; only pageToken changes.
    base = {k: v for k, v in pages[0].params.items()}
    for page in pages[1:]:
        assert {k: v for k, v in page.params.items() if k != "pageToken"} == base


def test_stray_token_on_exactly_full_last_page_stops_on_empty_page(tmp_path):
    studies = [study(f"NCT9000{i:04d}") for i in range(1, 21)]
    fake = FakeCtgov(studies, max_page_size=10, stray_token_on_full_last_page=True)
    with fake, CtgovClient(test_settings(tmp_path, fake.url)) as c:
        pages, ids = all_ids(c)
    assert len(ids) == 20
    assert pages[-1].studies == []  # the stray token's page was fetched and ended the crawl


@pytest.mark.parametrize(
    ("kind", "opts"),
    [
        ("429", {"retry_after": 0}),
        ("500", {}),
        ("502", {}),
        ("503", {}),
        ("html", {}),
        ("truncated", {}),
        ("hang", {}),
        ("reset", {}),
    ],
)
def test_each_fault_is_survived(server, client, kind, opts, caplog):
    server.inject(kind, times=2, **opts)
    _, ids = all_ids(client)
    assert len(set(ids)) == 25
    assert client.stats.retries == 2
    assert any("retrying" in r.message for r in caplog.records)


def test_slow_response_within_timeout_is_fine(server, client):
    server.inject("slow", times=1, seconds=0.3)
    _, ids = all_ids(client)
    assert len(ids) == 25 and client.stats.retries == 0


def test_slow_response_beyond_read_timeout_is_retried(server, tmp_path):
    server.inject("slow", times=1, seconds=1.5)
    with CtgovClient(test_settings(tmp_path, server.url, read_timeout=0.5)) as c:
        _, ids = all_ids(c)
    assert len(ids) == 25 and c.stats.retries == 1


def test_retry_after_is_honoured():
    assert backoff_delay(0, base=0.01, cap=1, retry_after=7) == 7
    assert 0.005 <= backoff_delay(0, base=0.01, cap=1, retry_after=None) <= 0.01
    # Exponential, with jitter, and capped.
    assert backoff_delay(10, base=1, cap=30, retry_after=None) <= 30


def test_exhausted_retries_name_the_url(server, client):
    server.inject("503", times=100)
    with pytest.raises(ApiError) as info:
        list(client.paginate({"pageSize": "10"}))
    message = str(info.value)
    # Host and path, not the whole URL-encoded query (one short sentence).
    assert "127.0.0.1" in message and "/api/v2/studies after 5 attempts" in message and "HTTP 503" in message
    assert "pageSize" not in message


def test_other_4xx_fails_at_once_quoting_the_api(server, client):
    with pytest.raises(ApiError) as info:
        list(client.paginate({"pageSize": "10", "query.bogus": "x"}))
    assert "HTTP 400" in str(info.value) and "query.bogus" in str(info.value)
    assert client.stats.retries == 0


def test_user_agent_is_descriptive(client):
    assert client.session.headers["User-Agent"].startswith("trialtrends/")


def test_pacer_spaces_requests():
    now = [0.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(2.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        pacer.wait()
    assert now[0] == pytest.approx(2.0)  # 5 starts at 2/s: 0, .5, 1, 1.5, 2
    assert Pacer(0).interval == 0


def test_version_and_metadata(client):
    assert client.version().data["apiVersion"]
    assert isinstance(client.metadata().data, list)


def test_headers_reach_the_wire_on_every_request(server, client):
    all_ids(client)
    client.version()
    client.metadata()
    assert len(server.requests) >= 5
    for request in server.requests:
        headers = {k.lower(): v for k, v in request.headers.items()}
        assert headers["user-agent"].startswith("trialtrends/"), headers
        assert "python-urllib3" not in headers["user-agent"] and "python-requests" not in headers["user-agent"]
        assert headers["accept"] == "application/json"
        assert "gzip" in headers["accept-encoding"]


def test_gzip_bodies_are_decoded_and_landed_as_json(server, client):
    response = client.version()
    assert response.data["apiVersion"] == "2.0.5" and response.body.startswith(b"{")


def test_truncated_gzip_body_is_retried(server, client):
    server.inject("truncated_gzip", times=2)
    _, ids = all_ids(client)
    assert len(ids) == 25 and client.stats.retries == 2
    assert any("gzip" in line for line in client.stats.retry_log)


def test_http_date_retry_after_is_parsed():
    from trialtrends.extract.client import _retry_after_seconds

    assert _retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == pytest.approx(10.0)
    assert _retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0
    assert _retry_after_seconds("120") == 120.0
    assert _retry_after_seconds("soon") is None


def test_environment_proxy_settings_apply(server, tmp_path, monkeypatch):
    # A proxy from the environment is used (here a dead one, so the request fails through it),
    # unless NO_PROXY exempts the host: proof that environment settings reach the request.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    with CtgovClient(test_settings(tmp_path, server.url, max_retries=0)) as c, pytest.raises(ApiError):
        c.version()
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with CtgovClient(test_settings(tmp_path, server.url, max_retries=0)) as c:
        assert c.version().data["apiVersion"] == "2.0.5"


@pytest.mark.parametrize(
    ("url", "cause"),
    [
        ("http://127.0.0.1:9/api/v2", "connection refused"),
        ("http://no-such-host.invalid/api/v2", "name resolution failed"),
    ],
)
def test_connection_failures_name_their_cause(tmp_path, url, cause):
    with CtgovClient(test_settings(tmp_path, url, max_retries=0)) as c, pytest.raises(ApiError) as info:
        c.version()
    assert cause in str(info.value), str(info.value)


def test_a_name_that_does_not_resolve_is_given_up_after_two_tries_at_a_terminal(tmp_path, monkeypatch):
    """Offline at a terminal, the first refresh says so in seconds, not after every retry."""
    import socket

    from trialtrends.extract.client import ApiError, CtgovClient

    def offline(*_args, **_kwargs):  # what the resolver says on a machine with no network
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", offline)
    settings = test_settings(tmp_path, "http://no-such-host.invalid/api/v2", max_retries=6, interactive=True)
    with CtgovClient(settings) as client, pytest.raises(ApiError, match=r"after 2 attempts.*name resolution"):
        client.version()
    unattended = test_settings(tmp_path, "http://no-such-host.invalid/api/v2", max_retries=3)
    with CtgovClient(unattended) as client, pytest.raises(ApiError, match="after 4 attempts"):
        client.version()
