"""The pull: raw landing, manifest, queries, incremental mode, failure marking."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import date

import pytest
from builders import study
from conftest import test_settings
from fakeapi import FakeCtgov
from openapi_spec import load_spec, validate_request

from trialtrends.extract.api_pull import pull
from trialtrends.extract.client import ApiError
from trialtrends.extract.raw import RawRun, list_runs, select_studies
from trialtrends.extract.searches import QUERIES, search_params

STUDIES = [
    study("NCT90000001", title="CD19 CAR-T cells for lymphoma", updated="2024-01-05"),
    study("NCT90000002", title="Allogeneic NK cells in AML", summary="NK cells infusion", updated="2025-02-01"),
    study("NCT90000003", title="TIL therapy in melanoma", summary="tumor infiltrating lymphocytes",
          updated="2025-06-01"),
    study("NCT90000004", title="NY-ESO-1 TCR-T cells", summary="TCR-engineered T cells", updated="2023-03-03"),
    study("NCT90000005", title="Aspirin for headache", summary="An aspirin trial.",
          interventions=[{"type": "DRUG", "name": "aspirin"}], updated="2025-07-07"),
]  # fmt: skip


@pytest.fixture
def server():
    with FakeCtgov(STUDIES) as fake:
        yield fake


def test_full_pull_lands_every_page_with_checksums(server, tmp_path):
    settings = test_settings(tmp_path, server.url)
    result = pull(settings)
    manifest = result.manifest
    # Landed, and running until processing publishes it (a kill now is never "succeeded").
    assert manifest.status == "running" and manifest.landed is True
    assert manifest.api_version == "2.0.5" and manifest.data_timestamp
    assert manifest.unique_studies == 4  # the aspirin trial matches no query
    assert [q["name"] for q in manifest.queries] == [q.name for q in QUERIES]
    for q in manifest.queries:
        assert q["params"]["pageSize"] == "1000" and q["params"]["countTotal"] == "true"
        assert q["unique"] == q["total_count"]
    run = RawRun.open(result.run.path)
    assert run.verify() == []
    for entry in manifest.files:
        data = (run.path / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        json.loads(gzip.decompress(data))  # each body exactly as received: valid JSON
    ids = {s["protocolSection"]["identificationModule"]["nctId"] for s in select_studies(run).records()}
    assert ids == {"NCT90000001", "NCT90000002", "NCT90000003", "NCT90000004"}


def test_raw_files_are_read_only_and_never_overwritten(server, tmp_path):
    result = pull(test_settings(tmp_path, server.url))
    page = next(result.run.path.glob("car_t-page-*.gz"))
    assert not page.stat().st_mode & 0o222
    with pytest.raises(Exception, match="never overwritten"):
        result.run.write_body(page.name.removesuffix(".gz"), b"{}")


def test_incremental_pull_uses_last_update_range(server, tmp_path):
    result = pull(test_settings(tmp_path, server.url), since=date(2025, 1, 1))
    assert result.manifest.mode == "search" and result.manifest.since == "2025-01-01"
    for q in result.manifest.queries:
        assert q["params"]["filter.advanced"] == "AREA[LastUpdatePostDate]RANGE[2025-01-01,MAX]"
    ids = {s["protocolSection"]["identificationModule"]["nctId"] for s in select_studies(result.run).records()}
    assert ids == {"NCT90000002", "NCT90000003"}


def test_failed_pull_is_marked_failed(server, tmp_path):
    server.inject("500", times=1000)
    settings = test_settings(tmp_path, server.url, max_retries=1)
    with pytest.raises(ApiError):
        pull(settings)
    (run,) = list_runs(settings.raw_dir)
    manifest = run.manifest()
    assert manifest.status == "failed" and not manifest.landed
    assert "Giving up" in manifest.error


def test_every_request_is_valid_against_the_openapi_document(server, tmp_path, shared_ctgov):
    spec = load_spec(shared_ctgov / "openapi" / "ctg-oas-v2.yaml")
    pull(test_settings(tmp_path, server.url), since=date(2024, 6, 1))
    pull(test_settings(tmp_path, server.url))
    assert len(server.requests) >= 2 + len(QUERIES)
    for request in server.requests:
        path = request.path.removeprefix("/api/v2")
        assert validate_request(spec, path, request.params) == [], request


def test_query_parameters_are_spec_values(shared_ctgov):
    spec = load_spec(shared_ctgov / "openapi" / "ctg-oas-v2.yaml")
    for q in QUERIES:
        params = search_params(q, date(2026, 1, 1))
        assert validate_request(spec, "/studies", list(params.items())) == []


def test_corpus_with_every_fault_lands_every_study_once(corpus_studies, tmp_path, caplog):
    expected = {s["protocolSection"]["identificationModule"]["nctId"] for s in corpus_studies}
    with FakeCtgov(
        corpus_studies, stray_token_on_full_last_page=True, repeat_study_across_pages=True
    ) as fake:
        for kind in ("429", "500", "502", "503", "html", "truncated", "hang", "reset"):
            fake.inject(kind, times=1, **({"retry_after": 0} if kind == "429" else {}))
        fake.inject("slow", times=1, seconds=0.2)
        settings = test_settings(tmp_path, fake.url, max_retries=12)
        result = pull(settings)
    run = result.run
    assert run.verify() == []
    landed = [s["protocolSection"]["identificationModule"]["nctId"] for s in select_studies(run).records()]
    assert len(landed) == len(set(landed))
    # Every served study that any query matches is landed; the corpus is a CAR-T pull, so
    # (almost) all of it matches and none of the non-cell-therapy records should be missed
    # for a wrong reason: compare with the server's own matching.
    matched = set()
    for q in QUERIES:
        matched |= set(fake.matching_ids(search_params(q)))
    assert set(landed) == matched
    assert len(matched) > 0.9 * len([i for i in expected if i in matched])
    assert result.manifest.retries >= 8
    assert result.manifest.duplicates_seen >= 1
    assert sum("retrying" in r.message for r in caplog.records) >= 8
