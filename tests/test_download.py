"""The registry download (extract/download.py) against a small zip server on 127.0.0.1.

The server here emulates only `/studies/download?format=json.zip` with `Range`, `If-Range` and
`ETag`, plus the faults a long download meets: a cut mid-body, a stall past the read timeout, a
server that ignores ranges, a file that changes between attempts, a 503, a 404, an HTML page.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import logging
import random
import re
import stat
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from builders import study
from conftest import test_settings
from fakeapi import FakeCtgov

from trialtrends.extract import download
from trialtrends.extract.client import ApiError, CtgovClient
from trialtrends.extract.download import (
    FILE_NAME,
    DownloadDamaged,
    DownloadUnavailable,
    NotEnoughSpace,
    download_registry,
    registry_study_count,
)
from trialtrends.extract.download_progress import describe_progress
from trialtrends.extract.raw import RawDataError


def build_zip(studies: int, seed: int = 0) -> bytes:
    """A registry-shaped zip: one pretty-printed NCT*.json per study, with incompressible text
    so the file is a few hundred kB and a download takes many chunks."""
    rng = random.Random(seed)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(studies):
            nct = f"NCT{seed:02d}{i:06d}"
            record = {
                "protocolSection": {
                    "identificationModule": {"nctId": nct, "briefTitle": f"Study {i}"},
                    "descriptionModule": {"briefSummary": rng.randbytes(1500).hex()},
                }
            }
            archive.writestr(f"{nct}.json", json.dumps(record, indent=2))
    return buffer.getvalue()


ZIP_V1 = build_zip(120, seed=1)
ZIP_V2 = build_zip(130, seed=2)


@dataclass
class Served:
    """What the server answers and which faults it arms (tests change it between requests)."""

    body: bytes = ZIP_V1
    etag: str | None = '"v1"'
    content_type: str = "application/zip"
    status: int | None = None  # answer this status with `error_text` instead of the file
    error_text: str = "Not Found"
    retry_after: str | None = None
    fail_times: int = 0  # answer `status` this many times, then the file
    cuts: list[int] = field(default_factory=list)  # per request: close after this absolute byte
    stall: float = 0.0  # with a cut: wait this long at the cut instead of closing
    ignore_range: bool = False
    honour_if_range: bool = True
    change_to: tuple[bytes, str] | None = None  # after the first cut: serve this file and ETag
    redirect: bool = False  # the endpoint answers 302 to a file host path (as CDNs do)
    stats: str = '{"averageSizeBytes": 5000, "largestStudies": [], "percentiles": {}, "ranges": [], "totalStudies": 120}'
    log: list[dict] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    served: Served

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        served = self.served
        parts = urlsplit(self.path)
        entry = {"path": parts.path, "range": self.headers.get("Range"),
                 "if_range": self.headers.get("If-Range"), "encoding": self.headers.get("Accept-Encoding")}  # fmt: skip
        served.log.append(entry)
        if parts.path == "/api/v2/stats/size":
            return self._plain(200, served.stats, "application/json")
        endpoint = parts.path == "/api/v2/studies/download" and dict(parse_qsl(parts.query)) == {
            "format": "json.zip"
        }
        if served.redirect and endpoint:
            self.send_response(302)
            self.send_header("Location", "/files/ctg-studies.json.zip")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if not (endpoint or (served.redirect and parts.path == "/files/ctg-studies.json.zip")):
            return self._plain(404, "no such endpoint")
        if served.status is not None and (served.fail_times > 0 or served.fail_times == -1):
            if served.fail_times > 0:
                served.fail_times -= 1
            return self._plain(served.status, served.error_text, served.content_type, served.retry_after)
        body, etag = served.body, served.etag
        start = 0
        wanted = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if_range = self.headers.get("If-Range")
        if wanted and not served.ignore_range and (not served.honour_if_range or if_range in (None, etag)):
            start = int(wanted[1])
            if start >= len(body):
                return self._plain(416, "range not satisfiable")
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        entry["status"] = 206 if start else 200
        self.send_header("Content-Type", served.content_type)
        self.send_header("Content-Length", str(len(body) - start))
        self.send_header("Accept-Ranges", "bytes")
        if etag:
            self.send_header("ETag", etag)
        self.end_headers()
        cut = served.cuts.pop(0) if served.cuts else None
        end = len(body) if cut is None else max(cut, start)
        try:
            for at in range(start, end, 16384):
                self.wfile.write(body[at : min(at + 16384, end)])
            self.wfile.flush()
            if cut is not None:
                if served.stall:
                    time.sleep(served.stall)
                if served.change_to is not None:
                    served.body, served.etag = served.change_to
                    served.change_to = None
                self.close_connection = True
        except OSError:  # the client gave up on a stalled answer
            self.close_connection = True

    def _plain(self, status: int, text: str, content_type: str = "text/plain",
               retry_after: str | None = None) -> None:  # fmt: skip
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type if status == 200 else "text/plain")
        self.send_header("Content-Length", str(len(data)))
        if retry_after:
            self.send_header("Retry-After", retry_after)
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        # The client closing a kept-alive connection (or one it gave up on) is no server error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


@pytest.fixture
def served() -> Iterator[tuple[Served, str]]:
    state = Served()
    handler = type("Handler", (_Handler,), {"served": state})
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/api/v2"
    server.shutdown()
    server.server_close()


def fetch(tmp_path: Path, url: str, **kwargs: object):
    settings = test_settings(tmp_path, url, read_timeout=kwargs.pop("read_timeout", 2),
                             max_retries=kwargs.pop("max_retries", 4))  # fmt: skip
    target = settings.raw_dir / "run" / FILE_NAME
    with CtgovClient(settings) as client:
        return target, download_registry(settings, target, client=client, **kwargs)  # type: ignore[arg-type]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_clean_download_lands_read_only_with_its_checks(served, tmp_path, caplog):
    state, url = served
    events: list[tuple[str, dict]] = []
    caplog.set_level(logging.INFO, "trialtrends")
    target, result = fetch(tmp_path, url, expected_studies=120, progress=lambda e, d: events.append((e, d)))
    assert target.read_bytes() == ZIP_V1
    assert result.bytes == len(ZIP_V1) == result.content_length
    assert result.sha256 == hashlib.sha256(ZIP_V1).hexdigest()
    assert (result.entries, result.crc_checked, result.resumes, result.restarts) == (120, 120, 0, 0)
    assert result.etag == '"v1"' and result.headers["Accept-Ranges"] == "bytes"
    assert not target.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert leftovers(target.parent) == [FILE_NAME]
    assert state.log[0]["encoding"] == "identity" and state.log[0]["range"] is None
    # The first answer's headers are logged (API-NOTES: VERIFY Range/ETag on the first live run).
    assert any("HTTP 200, headers" in r.message and "ETag" in r.message for r in caplog.records)
    assert result.manifest_entry()["file"] == FILE_NAME
    # Progress: bytes that only grow up to the total, then the CRC pass up to every entry.
    downloads = [d for e, d in events if e == "download"]
    assert downloads[-1]["bytes"] == downloads[-1]["total"] == len(ZIP_V1)
    assert [d["bytes"] for d in downloads] == sorted(d["bytes"] for d in downloads)
    assert all(d["rate"] >= 0 for d in downloads) and downloads[-1]["eta"] in (0, None)
    checks = [d for e, d in events if e == "download_check"]
    assert checks[-1] == {"entries": 120, "total": 120}
    assert [e for e, _ in events].index("download_check") > max(
        i for i, (e, _) in enumerate(events) if e == "download"
    )


def test_a_cut_mid_body_resumes_with_a_range_and_gives_identical_bytes(served, tmp_path, caplog):
    state, url = served
    state.cuts = [len(ZIP_V1) // 3, 2 * len(ZIP_V1) // 3]
    caplog.set_level(logging.INFO, "trialtrends")
    target, result = fetch(tmp_path, url, expected_studies=120)
    assert target.read_bytes() == ZIP_V1
    assert result.sha256 == hashlib.sha256(ZIP_V1).hexdigest()
    assert (result.resumes, result.restarts, result.requests) == (2, 0, 3)
    assert [(r["range"], r["if_range"], r.get("status")) for r in state.log] == [
        (None, None, 200),
        (f"bytes={len(ZIP_V1) // 3}-", '"v1"', 206),
        (f"bytes={2 * len(ZIP_V1) // 3}-", '"v1"', 206),
    ]
    messages = [r.message for r in caplog.records]
    assert any(f"resumed at byte {len(ZIP_V1) // 3} of {len(ZIP_V1)} (HTTP 206)" in m for m in messages)
    assert any("retrying" in m and f"at byte {len(ZIP_V1) // 3:,}" in m for m in messages)


def test_a_stall_past_the_read_timeout_resumes(served, tmp_path, caplog):
    state, url = served
    state.cuts, state.stall = [len(ZIP_V1) // 2], 1.5
    caplog.set_level(logging.INFO, "trialtrends")
    target, result = fetch(tmp_path, url, read_timeout=0.4)
    assert target.read_bytes() == ZIP_V1 and result.resumes == 1
    assert any("timed out" in r.message for r in caplog.records if r.levelno == logging.WARNING)


def test_a_server_ignoring_range_restarts_from_zero(served, tmp_path, caplog):
    state, url = served
    state.cuts, state.ignore_range = [len(ZIP_V1) // 2], True
    caplog.set_level(logging.INFO, "trialtrends")
    target, result = fetch(tmp_path, url)
    assert target.read_bytes() == ZIP_V1
    assert result.sha256 == hashlib.sha256(ZIP_V1).hexdigest()  # the hash restarted with the file
    assert (result.resumes, result.restarts) == (0, 1)
    assert state.log[1]["range"] == f"bytes={len(ZIP_V1) // 2}-" and state.log[1]["status"] == 200
    assert any("ignored the Range request" in r.message for r in caplog.records)


def test_an_etag_change_restarts_and_lands_the_new_file(served, tmp_path, caplog):
    state, url = served
    state.cuts, state.change_to = [len(ZIP_V1) // 2], (ZIP_V2, '"v2"')
    caplog.set_level(logging.INFO, "trialtrends")
    target, result = fetch(tmp_path, url, expected_studies=130)
    assert target.read_bytes() == ZIP_V2
    assert (result.entries, result.etag, result.restarts) == (130, '"v2"', 1)
    assert any('ETag "v1" -> "v2"' in r.message for r in caplog.records)


def test_a_changed_etag_in_a_206_is_not_spliced_on(served, tmp_path):
    """A server that ignores If-Range and sends a range of a new file: restart, never splice."""
    state, url = served
    state.cuts, state.change_to, state.honour_if_range = [len(ZIP_V1) // 2], (ZIP_V2, '"v2"'), False
    target, result = fetch(tmp_path, url)
    assert target.read_bytes() == ZIP_V2 and result.restarts == 1 and result.resumes == 0
    assert [r.get("status") for r in state.log] == [200, 206, 200]


def test_a_503_with_retry_after_is_retried(served, tmp_path):
    state, url = served
    state.status, state.fail_times, state.retry_after = 503, 2, "0"
    with CtgovClient(test_settings(tmp_path, url)) as client:
        target = tmp_path / "raw" / FILE_NAME
        result = download_registry(client.settings, target, client=client)
        assert client.stats.retries == 2 and client.stats.requests == 3
    assert target.read_bytes() == ZIP_V1 and result.requests == 3


def test_a_cut_that_never_moves_gives_up_in_one_sentence(served, tmp_path):
    state, url = served
    state.cuts = [1000] * 10  # every answer stops at byte 1000: no progress after the first
    with pytest.raises(ApiError) as info:
        fetch(tmp_path, url, max_retries=2)
    message = str(info.value)
    assert message.startswith("Giving up on 127.0.0.1:") and "3 attempts in a row without progress" in message
    assert "\n" not in message
    assert leftovers(tmp_path / "data" / "raw" / "run") == []


def test_a_truncated_zip_is_refused_and_nothing_is_kept(served, tmp_path):
    state, url = served
    state.body = ZIP_V1[:-200]  # served whole, as announced: the server's file itself is cut
    with pytest.raises(DownloadDamaged) as info:
        fetch(tmp_path, url)
    message = str(info.value)
    assert "was refused and not kept" in message and "not a readable zip" in message
    assert f"{FILE_NAME} is not" in message and ".tmp" not in message
    assert leftovers(tmp_path / "data" / "raw" / "run") == []


def test_a_short_download_is_refused(served, tmp_path):
    _state, url = served
    with pytest.raises(
        DownloadDamaged, match=r"holds 120 studies where /stats/size reports 200 \(more than 1% short\)"
    ):
        fetch(tmp_path, url, expected_studies=200)
    assert leftovers(tmp_path / "data" / "raw" / "run") == []
    # Within the tolerance (1%) a count that moved between the two reads passes.
    _target, result = fetch(tmp_path / "again", url, expected_studies=121)
    assert result.entries == 120


def test_a_bad_crc_is_refused(served, tmp_path):
    state, url = served
    info = zipfile.ZipFile(io.BytesIO(ZIP_V1)).infolist()[60]
    at = info.header_offset + 30 + len(info.filename) + 200  # inside the entry's deflated bytes
    state.body = ZIP_V1[:at] + bytes([ZIP_V1[at] ^ 0xFF]) + ZIP_V1[at + 1 :]
    with pytest.raises(DownloadDamaged, match=r"corrupt at entry NCT01000060.json"):
        fetch(tmp_path, url)
    assert leftovers(tmp_path / "data" / "raw" / "run") == []
    # Without the CRC pass the directory still reads: the bulk path checks each CRC as it reads.
    _target, result = fetch(tmp_path / "again", url, check_crc=False)
    assert (result.entries, result.crc_checked) == (120, 0)


def test_a_full_disk_is_refused_before_downloading(served, tmp_path, monkeypatch):
    state, url = served
    asked: list[Path] = []
    monkeypatch.setattr(download, "free_space", lambda folder: asked.append(folder) or 100_000_000)
    with pytest.raises(NotEnoughSpace) as info:
        fetch(tmp_path, url)
    folder = tmp_path / "data" / "raw" / "run"
    assert asked == [folder]
    needed = len(ZIP_V1) + (256 << 20)  # the file plus the smallest margin, 256 MiB
    assert str(info.value) == (
        f"Not enough free space in {folder} for the registry download: it needs {needed / 1e6:.1f} MB "
        f"(the file's {len(ZIP_V1):,} bytes still to come plus a 268.4 MB margin) and 100.0 MB is free."
    )
    assert leftovers(folder) == [] and len(state.log) == 1


def test_a_404_means_the_endpoint_is_gone(served, tmp_path):
    state, url = served
    state.status, state.fail_times = 404, -1
    with pytest.raises(
        DownloadUnavailable, match=r"answered HTTP 404 \(Not Found\): the endpoint looks gone\.$"
    ):
        fetch(tmp_path, url)
    assert len(state.log) == 1  # not retried: the night falls back to search mode at once
    assert leftovers(tmp_path / "data" / "raw" / "run") == []


def test_an_html_page_means_the_endpoint_is_gone(served, tmp_path):
    state, url = served
    state.status, state.fail_times = 200, -1
    state.content_type, state.error_text = "text/html; charset=utf-8", "<!doctype html><p>Moved</p>"
    with pytest.raises(DownloadUnavailable, match="an HTML page instead of a zip"):
        fetch(tmp_path, url)


def test_a_body_that_is_not_a_zip_means_the_endpoint_is_gone(served, tmp_path):
    state, url = served
    state.body, state.content_type = b'{"error": "use /studies"}', "application/octet-stream"
    with pytest.raises(DownloadUnavailable, match=r"not a zip \(it starts b'\{\"error\""):
        fetch(tmp_path, url)
    assert leftovers(tmp_path / "data" / "raw" / "run") == []


def test_an_existing_file_is_never_overwritten(served, tmp_path):
    _state, url = served
    target, _result = fetch(tmp_path, url)
    with pytest.raises(RawDataError, match="already exists"):
        fetch(tmp_path, url)
    assert target.read_bytes() == ZIP_V1


def test_describe_progress():
    assert describe_progress({"bytes": 1_200_000_000, "total": 3_100_000_000, "rate": 25_300_000,
                              "eta": 75.1}) == "1.2 GB of 3.1 GB, 25.3 MB/s, about 1 min 15 s left"  # fmt: skip
    assert describe_progress({"bytes": 5_000, "total": None, "rate": 0.0, "eta": None}) == "5,000 bytes"


def test_a_redirect_to_a_file_host_is_followed_and_resumed_through(served, tmp_path, caplog):
    state, url = served
    state.redirect, state.cuts = True, [len(ZIP_V1) // 2]
    caplog.set_level(logging.INFO, "trialtrends")
    target, result = fetch(tmp_path, url)
    assert target.read_bytes() == ZIP_V1 and result.resumes == 1
    assert [r["path"] for r in state.log] == ["/api/v2/studies/download", "/files/ctg-studies.json.zip"] * 2
    assert state.log[2]["range"] == state.log[3]["range"] == f"bytes={len(ZIP_V1) // 2}-"
    assert any("HTTP 200 after HTTP 302 to /files/ctg-studies.json.zip" in r.message for r in caplog.records)


def test_an_interrupted_download_leaves_no_file(served, tmp_path):
    _state, url = served

    def interrupt(event: str, detail: dict) -> None:
        if event == "download" and detail["bytes"] > 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fetch(tmp_path, url, progress=interrupt)
    assert leftovers(tmp_path / "data" / "raw" / "run") == []


def test_the_expected_count_comes_from_stats_size(served, tmp_path):
    state, url = served
    with CtgovClient(test_settings(tmp_path, url)) as client:
        assert registry_study_count(client) == 120
        state.stats = '{"totalStudies": null}'
        with pytest.raises(ApiError, match=r"stats/size gave no usable totalStudies \(None\)\.$"):
            registry_study_count(client)


# ---- against the suite's fake API (tests/fakeapi.py) ----------------------------------------


def registry(n: int, first: int = 1) -> list[dict]:
    """n studies with incompressible summaries, so the download is many chunks long."""
    rng = random.Random(first)
    return [
        study(f"NCT{90000000 + i:08d}", summary=rng.randbytes(800).hex()) for i in range(first, first + n)
    ]


@pytest.fixture
def fake() -> Iterator[FakeCtgov]:
    with FakeCtgov(registry(150)) as server:
        yield server


def fake_fetch(tmp_path: Path, fake: FakeCtgov, **kwargs: object):
    settings = test_settings(tmp_path, fake.url)
    target = settings.raw_dir / "run" / FILE_NAME
    with CtgovClient(settings) as client:
        expected = registry_study_count(client)
        return target, download_registry(settings, target, client=client, expected_studies=expected, **kwargs)


def test_fake_a_download_cut_twice_resumes_to_the_same_bytes(fake, tmp_path, caplog):
    whole = fake.download_zip()[0]
    fake.inject("cut", times=2, path="/studies/download", fraction=0.4)
    caplog.set_level(logging.INFO, "trialtrends")
    target, result = fake_fetch(tmp_path, fake)
    assert target.read_bytes() == whole
    assert (result.entries, result.resumes, result.restarts) == (150, 2, 0)
    assert sum("resumed at byte" in r.message for r in caplog.records) == 2
    asked = [r for r in fake.requests if r.path.endswith("/studies/download")]
    assert [r.status for r in asked] == [200, 206, 206]
    assert [r.headers.get("If-Range") for r in asked[1:]] == [result.etag] * 2
    assert [r.headers.get("Range") for r in asked] == [None, f"bytes={int(len(whole) * 0.4)}-",
            f"bytes={int(len(whole) * 0.4) + int((len(whole) - int(len(whole) * 0.4)) * 0.4)}-"]  # fmt: skip


def test_fake_a_server_without_ranges_restarts(fake, tmp_path):
    whole = fake.download_zip()[0]
    fake.inject("cut", path="/studies/download", fraction=0.5)
    fake.inject("no_range", path="/studies/download")
    target, result = fake_fetch(tmp_path, fake)
    assert target.read_bytes() == whole and (result.resumes, result.restarts) == (0, 1)


def test_fake_a_data_refresh_between_cut_and_resume_restarts_on_the_new_file(fake, tmp_path, caplog):
    old = fake.download_zip()[0]
    fake.inject("cut", path="/studies/download", fraction=0.5)
    fake.advance_day_after(1, "2026-09-05", path="/studies/download", added=registry(3, first=500))
    caplog.set_level(logging.INFO, "trialtrends")
    target, result = fake_fetch(tmp_path, fake)
    new = fake.download_zip()[0]
    assert new != old and target.read_bytes() == new
    assert (result.entries, result.restarts) == (153, 1)
    # The stale If-Range gets the whole new file (200) with a new ETag: said so, not spliced.
    assert any("the file changed on the server (ETag" in r.message for r in caplog.records)


@pytest.mark.parametrize(
    ("fault", "error", "words"),
    [
        ("truncated_zip", DownloadDamaged, "not a readable zip"),
        ("partial_zip", DownloadDamaged, "holds 75 studies where /stats/size reports 150"),
        ("gone", DownloadUnavailable, "answered HTTP 404 (Not Found): the endpoint looks gone."),
        ("html", DownloadUnavailable, "an HTML page instead of a zip"),
    ],
)
def test_fake_a_damaged_or_missing_download_is_refused(fake, tmp_path, fault, error, words):
    fake.inject(fault, path="/studies/download")
    with pytest.raises(error) as info:
        fake_fetch(tmp_path, fake)
    assert words in str(info.value) and "\n" not in str(info.value)
    assert leftovers(tmp_path / "data" / "raw" / "run") == []


def test_a_disk_that_fills_up_mid_download_is_refused_in_one_sentence(served, tmp_path, monkeypatch):
    _state, url = served
    real_write = download._Transfer.write

    def write(self, chunk: bytes) -> None:
        if self.have > len(ZIP_V1) // 2:  # another process took the space after the check
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(self, chunk)

    monkeypatch.setattr(download._Transfer, "write", write)
    with pytest.raises(
        NotEnoughSpace,
        match=r"^The disk holding .*/run filled up during the registry download; nothing was kept\.$",
    ):
        fetch(tmp_path, url)
    assert leftovers(tmp_path / "data" / "raw" / "run") == []


def test_a_server_that_ignores_ranges_and_keeps_cutting_gives_up(served, tmp_path):
    state, url = served
    state.ignore_range, state.cuts = True, [len(ZIP_V1) // 2] * 10
    with pytest.raises(
        ApiError,
        match=r"after restarting the download from zero 3 times; it would have to restart again because the server ignored the Range request \(HTTP 200\)\.$",
    ):
        fetch(tmp_path, url)
    assert len(state.log) == 5 and leftovers(tmp_path / "data" / "raw" / "run") == []


def test_fake_progress_on_a_slow_link_has_a_rate_and_an_eta(fake, tmp_path):
    size = len(fake.download_zip()[0])
    fake.inject("throttle", path="/studies/download", bytes_per_second=size * 1.2)  # about a second
    events: list[tuple[str, dict]] = []
    fake_fetch(tmp_path, fake, progress=lambda e, d: events.append((e, d)))
    moving = [d for e, d in events if e == "download" and 0 < d["bytes"] < size]
    assert len(moving) >= 2  # every 0.25 s while the body arrives
    assert all(d["total"] == size and d["eta"] is not None and d["eta"] > 0 for d in moving[1:])
    assert 0.3 * size < moving[-1]["rate"] < 3 * size  # bytes/s, near the throttle
