"""Tests of the fake ClinicalTrials.gov API v2 server (tests/fakeapi.py) and tests/openapi_spec.py.

Only what the trialtrends client sends is emulated, so only that is tested here: the Essie
matching its searches rely on, paging and token rules, errors, headers, gzip, faults and the
data-generation switch; everything else the spec defines must be refused as not emulated.
"""

from __future__ import annotations

import gzip
import http.client
import io
import json
import threading
import time
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from conftest import wait_for
from fakeapi import (
    NOT_EMULATED,
    SPEC_METADATA_PARAMS,
    SPEC_STUDIES_PARAMS,
    STUDIES_PARAMS,
    FakeCtgov,
    HttpError,
    builtin_metadata,
    field_map,
    load_fixture_studies,
    load_shared_corpus,
    nct_id_of,
    shared_ctgov_dir,
    shared_spec_path,
)
from openapi_spec import load_spec, operation_parameters, resolve, validate_request

SPEC_PATH = shared_spec_path()
FIXTURE_IDS = [f"NCT0000010{i}" for i in range(1, 9)]


@pytest.fixture
def fake() -> Iterator[FakeCtgov]:
    """A fresh fake serving the eight fixture studies."""
    with FakeCtgov(load_fixture_studies()) as server:
        yield server


@pytest.fixture(scope="module")
def spec() -> dict:
    """The OpenAPI document (tests using it are skipped when it is absent)."""
    if not SPEC_PATH.is_file():
        pytest.skip(f"OpenAPI document not found at {SPEC_PATH} (set TRIALTRENDS_SHARED_CTGOV)")
    return load_spec(SPEC_PATH)


def tiny_studies(n: int) -> list[dict]:
    """n minimal studies (only an nctId)."""
    return [{"protocolSection": {"identificationModule": {"nctId": f"NCT{i:08d}"}}} for i in range(1, n + 1)]


def get(server: FakeCtgov, path: str = "/studies", timeout: float = 5, **params: Any) -> requests.Response:
    """GET a path under the fake's base URL (requests sends Accept-Encoding: gzip)."""
    return requests.get(server.url + path, params=params, timeout=timeout)


def ids(response: requests.Response) -> list[str]:
    """nctIds of a /studies page."""
    assert response.status_code == 200, response.text
    return [nct_id_of(s) for s in response.json()["studies"]]


def short(server: FakeCtgov, **params: Any) -> list[str]:
    """Last three digits of the nctIds a search's first page serves (fixture ids differ only there)."""
    return [i[-3:] for i in ids(get(server, **params))]


def crawl(server: FakeCtgov, **params: Any) -> list[dict]:
    """All pages of a search, following nextPageToken until none (or an empty page)."""
    pages: list[dict] = []
    token = None
    while True:
        response = get(server, **params, **({"pageToken": token} if token else {}))
        assert response.status_code == 200, response.text
        pages.append(response.json())
        token = pages[-1].get("nextPageToken")
        if not token or not pages[-1]["studies"]:
            return pages


def assert_text_error(response: requests.Response, status: int, *needles: str) -> None:
    """An error answer is text/plain and mentions what went wrong."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    for needle in needles:
        assert needle in response.text, response.text


def schema_problems(spec: dict, schema: Any, value: Any, where: str = "$") -> list[str]:
    """Where `value` breaks an OpenAPI 3.0 schema (the subset ctg-oas-v2.yaml uses)."""
    node = resolve(spec, schema)
    if "anyOf" in node:
        if all(schema_problems(spec, option, value, where) for option in node["anyOf"]):
            return [f"{where}: matches no anyOf option"]
        return []
    kind = node.get("type")
    checks = {
        "object": dict, "array": list, "string": str, "integer": int, "number": (int, float), "boolean": bool,
    }  # fmt: skip
    if kind in checks and (
        not isinstance(value, checks[kind]) or (isinstance(value, bool) and kind != "boolean")
    ):
        return [f"{where}: {type(value).__name__} is not {kind}"]
    if "enum" in node and value not in node["enum"]:
        return [f"{where}: {value!r} is not one of the enum"]
    problems = [f"{where}: {key} is required" for key in node.get("required", []) if key not in value]
    if kind == "array":
        for i, item in enumerate(value):
            problems += schema_problems(spec, node.get("items", {}), item, f"{where}[{i}]")
    if kind == "object":
        properties = node.get("properties", {})
        for key, item in value.items():
            if key in properties:
                problems += schema_problems(spec, properties[key], item, f"{where}.{key}")
            elif node.get("additionalProperties") is False:
                problems.append(f"{where}: {key} is not in the schema")
    return problems


# --------------------------------------------------------------------------- endpoints and shapes


def test_version_url_and_response_shapes_match_the_spec(spec: dict, fake: FakeCtgov) -> None:
    assert fake.url.startswith("http://127.0.0.1:") and fake.url.endswith("/api/v2")
    version = get(fake, "/version").json()
    assert version == {"apiVersion": "2.0.5", "dataTimestamp": "2026-09-04T09:00:06"}
    fake.stray_token_on_full_last_page = True
    pages = crawl(fake, pageSize=4, countTotal="true", **{"query.term": "cells OR lymphoma"})
    pages += crawl(fake, countTotal="true", **{"query.term": "zebrafish"})  # empty result
    assert [len(p["studies"]) for p in pages] == [4, 3, 0]
    schemas = {"version": "#/components/schemas/Version", "page": "#/components/schemas/PagedStudies"}
    assert schema_problems(spec, {"$ref": schemas["version"]}, version) == []
    for page in pages:
        assert schema_problems(spec, {"$ref": schemas["page"]}, page) == []
    # The checker itself can fail: an invented key and a wrong type are caught.
    assert schema_problems(spec, {"$ref": schemas["page"]}, {"studies": [], "sortBy": 1, "totalCount": "8"})


def test_endpoints_the_client_never_calls_are_404_not_emulated(fake: FakeCtgov) -> None:
    for path in ("/studies/NCT00000101", "/studies/enums", "/stats/field/values"):
        assert_text_error(get(fake, path), 404, NOT_EMULATED)
    assert_text_error(requests.get(f"http://127.0.0.1:{fake.port}/elsewhere", timeout=5), 404, "Not Found")


def test_requests_are_recorded_with_headers_status_and_bytes(fake: FakeCtgov) -> None:
    get(fake, pageSize=2, **{"query.term": "cells"})
    requests.get(fake.url + "/version", params={"bogus": "1"}, headers={"User-Agent": "probe/1"}, timeout=5)
    assert [(r.method, r.path, r.status) for r in fake.requests] == [
        ("GET", "/api/v2/studies", 200),
        ("GET", "/api/v2/version", 400),
    ]
    assert fake.requests[0].params == [("pageSize", "2"), ("query.term", "cells")]
    assert fake.requests[0].query == {"pageSize": "2", "query.term": "cells"}
    assert fake.requests[1].headers["User-Agent"] == "probe/1"
    assert fake.bytes_sent > 0
    fake.requests.clear()
    assert len(fake.requests) == 0


def test_gzip_only_when_the_client_asks(fake: FakeCtgov) -> None:
    plain = requests.get(fake.url + "/studies", headers={"Accept-Encoding": "identity"}, timeout=5)
    assert "Content-Encoding" not in plain.headers and len(plain.json()["studies"]) == 8
    raw = requests.get(fake.url + "/studies", headers={"Accept-Encoding": "gzip"}, stream=True, timeout=5)
    assert raw.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(raw.raw.read()) == plain.content
    assert "Content-Encoding" not in get(fake, pageSize="x").headers  # errors stay plain text


# --------------------------------------------------------------------------- parameters


def test_parameter_names_match_the_spec(spec: dict) -> None:
    def names(template: str) -> set[str]:
        return {p["name"] for p in operation_parameters(spec, template) if p["in"] == "query"}

    assert names("/studies") == SPEC_STUDIES_PARAMS and STUDIES_PARAMS < SPEC_STUDIES_PARAMS
    assert names("/studies/metadata") == SPEC_METADATA_PARAMS
    assert names("/version") == set()


def test_unknown_and_repeated_parameters_are_400_text(fake: FakeCtgov) -> None:
    assert_text_error(get(fake, **{"filter.phase": "PHASE2"}), 400, "`filter.phase` is unknown parameter")
    assert_text_error(get(fake, "/version", foo="1"), 400, "`foo` is unknown parameter")
    assert_text_error(get(fake, "/studies/metadata", foo="1"), 400, "`foo` is unknown parameter")
    repeated = requests.get(fake.url + "/studies", params=[("pageSize", "2"), ("pageSize", "3")], timeout=5)
    assert_text_error(repeated, 400, "pageSize", "more than once")


def test_spec_parameters_the_client_never_sends_are_400_not_emulated(fake: FakeCtgov) -> None:
    for name in sorted(SPEC_STUDIES_PARAMS - STUDIES_PARAMS):
        assert_text_error(get(fake, **{name: "x"}), 400, f"`{name}`", NOT_EMULATED)
    for name in sorted(SPEC_METADATA_PARAMS):
        assert_text_error(get(fake, "/studies/metadata", **{name: "true"}), 400, f"`{name}`", NOT_EMULATED)
    assert_text_error(get(fake, format="csv"), 400, "format `csv`", NOT_EMULATED)
    assert len(ids(get(fake, format="json"))) == 8
    for expr in ("AREA[Phase]PHASE2", "EXPANSION[None]cells", "AREA[StartDate]MISSING", "SEARCH[Location]x"):
        assert_text_error(get(fake, **{"query.term": expr}), 400, "query.term", NOT_EMULATED)
    mismatched = get(fake, **{"filter.advanced": "AREA[EnrollmentCount]RANGE[20,MAX]"})
    assert_text_error(mismatched, 400, "filter.advanced", NOT_EMULATED)


@pytest.mark.parametrize(
    "params",
    [
        {"pageSize": "abc"},
        {"pageSize": "-1"},
        {"countTotal": "yes"},
        {"pageToken": "not-a-token"},
        {"query.term": '"CAR T'},
        {"query.term": "cells AND"},
        {"query.term": "OR cells"},
        {"query.term": "(cells"},
        {"query.term": "cells)"},
        {"filter.advanced": "AREA[Nope]RANGE[2020,MAX]"},
        {"filter.advanced": "AREA[StartDate]RANGE[2020]"},
        {"filter.advanced": "AREA[StartDate]RANGE[2020-1-1,MAX]"},
        {"filter.advanced": "AREA[StartDate]RANGE[MAX,2020]"},
    ],
)
def test_bad_values_are_400_text(fake: FakeCtgov, params: dict) -> None:
    assert_text_error(get(fake, **params), 400, next(iter(params)))


# --------------------------------------------------------------------------- paging


def test_paging_serves_every_study_once_in_nctid_order(fake: FakeCtgov) -> None:
    pages = crawl(fake, pageSize=3, countTotal="true")
    assert [len(p["studies"]) for p in pages] == [3, 3, 2]
    assert "nextPageToken" not in pages[-1]
    assert [nct_id_of(s) for p in pages for s in p["studies"]] == FIXTURE_IDS
    assert [p.get("totalCount") for p in pages] == [8, None, None]  # first page only
    assert "totalCount" not in get(fake).json()
    assert "totalCount" not in get(fake, countTotal="false").json()
    assert get(fake, countTotal="true", **{"query.term": "zebrafish"}).json() == {
        "studies": [],
        "totalCount": 0,
    }


def test_token_binds_other_parameters_but_not_paging_ones(fake: FakeCtgov) -> None:
    search = {"query.term": "cells", "filter.advanced": "AREA[StartDate]RANGE[2015,MAX]"}
    first = get(fake, pageSize=2, **search).json()
    token = first["nextPageToken"]
    assert token.isascii() and "=" not in token
    # pageSize and countTotal may change between pages (spec); the rest may not.
    assert len(ids(get(fake, pageSize=3, countTotal="true", pageToken=token, **search))) == 3
    for changed in ({**search, "query.term": "cell"}, {"query.term": "cells"}, {**search, "format": "json"}):
        assert_text_error(get(fake, pageSize=2, pageToken=token, **changed), 400, "different parameters")


def test_page_size_default_zero_and_cap() -> None:
    with FakeCtgov(tiny_studies(1005)) as server:
        assert len(ids(get(server))) == 10
        assert len(ids(get(server, pageSize=0))) == 10
        capped = get(server, pageSize=5000).json()
        assert len(capped["studies"]) == 1000 and "nextPageToken" in capped
        rest = get(server, pageSize=5000, pageToken=capped["nextPageToken"]).json()
        assert len(rest["studies"]) == 5 and "nextPageToken" not in rest
    with FakeCtgov(tiny_studies(30), max_page_size=7) as small:
        assert len(ids(get(small, pageSize=100))) == 7


def test_set_studies_swaps_data_and_expires_tokens(fake: FakeCtgov) -> None:
    token = get(fake, pageSize=3).json()["nextPageToken"]
    fake.set_studies(tiny_studies(4), data_timestamp="2026-09-05T09:00:00")
    assert fake.study_count == 4
    assert get(fake, "/version").json()["dataTimestamp"] == "2026-09-05T09:00:00"
    assert ids(get(fake)) == [f"NCT0000000{i}" for i in range(1, 5)]
    assert_text_error(get(fake, pageSize=3, pageToken=token), 400, "`pageToken` has expired")


def test_switch_generation_after_n_studies_requests(fake: FakeCtgov) -> None:
    fake.switch_generation_after(2, tiny_studies(3), data_timestamp="2026-09-06T09:00:00")
    first = get(fake, pageSize=3).json()
    get(fake, "/version")  # not a /studies request: does not count
    second = get(fake, pageSize=3, pageToken=first["nextPageToken"]).json()
    assert get(fake, "/version").json()["dataTimestamp"] == "2026-09-06T09:00:00"
    assert_text_error(get(fake, pageSize=3, pageToken=second["nextPageToken"]), 400, "expired")
    assert fake.study_count == 3 and len(ids(get(fake))) == 3


def test_stray_token_on_exactly_full_last_page(fake: FakeCtgov) -> None:
    assert [len(p["studies"]) for p in crawl(fake, pageSize=4)] == [4, 4]
    fake.stray_token_on_full_last_page = True
    pages = crawl(fake, pageSize=4)
    assert [len(p["studies"]) for p in pages] == [4, 4, 0]
    assert "nextPageToken" in pages[1] and "nextPageToken" not in pages[2]


def test_repeat_study_across_pages() -> None:
    with FakeCtgov(load_fixture_studies(), repeat_study_across_pages=True) as server:
        pages = crawl(server, pageSize=3, countTotal="true")
    served = [nct_id_of(s) for p in pages for s in p["studies"]]
    assert pages[0]["totalCount"] == 8 and len(served) == 9
    assert sorted(set(served)) == FIXTURE_IDS
    assert nct_id_of(pages[1]["studies"][0]) == nct_id_of(pages[0]["studies"][-1])


def test_matching_ids_mirror_the_endpoint(fake: FakeCtgov) -> None:
    params = {"query.term": "CAR-T", "pageSize": "2", "countTotal": "true", "format": "json"}
    assert fake.matching_ids(params) == ["NCT00000101", "NCT00000102", "NCT00000108"]
    assert [nct_id_of(s) for p in crawl(fake, **params) for s in p["studies"]] == fake.matching_ids(params)
    since = [("filter.advanced", "AREA[LastUpdatePostDate]RANGE[2026-01-01,MAX]")]
    assert fake.matching_ids(since) == ["NCT00000105", "NCT00000108"]
    for bad in ({"filter.phase": "PHASE2"}, {"sort": "StartDate"}, {"query.term": "(x"}):
        with pytest.raises(HttpError):
            fake.matching_ids(bad)


# --------------------------------------------------------------------------- search


def test_query_term_semantics(fake: FakeCtgov) -> None:
    table = [
        ('"CAR T"', ["101", "102", "108"]),  # phrase: adjacent words, hyphen = space
        ("CAR-T", ["101", "102", "108"]),  # a hyphenated bare word is a phrase too
        ("car-t", ["101", "102", "108"]),  # case-insensitive
        ("CAR T", ["101", "102", "106", "108"]),  # bare words: both anywhere ("car accidents", "T cells")
        ("CART", ["104"]),  # a different word
        ('"CAR-T" OR "CAR-NK"', ["101", "102", "103", "108"]),
        ('"chimeric antigen receptor" OR CAR-T', ["101", "102", "108"]),
        ("cells NOT lymphoma", ["102", "103", "105", "106", "107", "108"]),
        ("cells AND NOT (lymphoma OR myeloma)", ["103", "105", "106", "107", "108"]),
        ("myeloma OR lymphoma AND melanoma", ["102"]),  # AND binds tighter than OR
        ("(myeloma OR lymphoma) AND relapsed", ["101", "102"]),
        ("lymphoma or myeloma", []),  # lowercase "or" is a word
        ("leukemias", ["103"]),  # plural relaxation
        ("therapies", ["102", "105", "107", "108"]),
        ("BCMA", ["102"]),  # in the summary and intervention, not the title
        ("LN-144", ["105"]),  # intervention other name
        ('"National Cancer Institute"', ["105"]),  # collaborator
        ("NCT00000105", ["105"]),
        ("", [i[-3:] for i in FIXTURE_IDS]),  # no expression: every study
    ]
    got = [(expr, short(fake, **{"query.term": expr})) for expr, _ in table]
    assert got == table


def test_filter_advanced_date_ranges(fake: FakeCtgov) -> None:
    table = [
        ("AREA[LastUpdatePostDate]RANGE[2026-01-01,MAX]", ["105", "108"]),  # what an incremental pull sends
        ("AREA[LastUpdatePostDate]RANGE[2024-05-01, MAX]", ["101", "102", "105", "108"]),  # inclusive
        ("AREA[StartDate]RANGE[2022,2022]", ["102", "103"]),  # partial dates: "2022", "2022-07-15"
        ("AREA[StartDate]RANGE[2021-03,2021-03]", ["101"]),  # "2021-03"
        ("AREA[StartDate]RANGE[2021-03-15,MAX]", ["102", "103", "107", "108"]),  # 2021-03 = 03-01
        ("AREA[StartDate]RANGE[MIN,2019-12-31]", ["105", "106"]),  # 104 has no start date
        ("NOT AREA[StartDate]RANGE[MIN,MAX]", ["104"]),
        ("AREA[StudyFirstSubmitDate]RANGE[2019,2019]", ["104", "105"]),
        ("AREA[StartDate]RANGE[2022,MAX] AND CAR-T", ["102", "108"]),
    ]
    got = [(expr, short(fake, **{"filter.advanced": expr})) for expr, _ in table]
    assert got == table
    both = {"query.term": "CAR-T OR CART", "filter.advanced": "AREA[LastUpdatePostDate]RANGE[2025,MAX]"}
    assert short(fake, **both) == ["102", "108"]  # ANDed: not 101 (2024) nor 104 (CART, 2020)


# --------------------------------------------------------------------------- faults


def test_429_with_retry_after_then_normal(fake: FakeCtgov) -> None:
    fake.inject("429")
    fake.inject(429, retry_after=7)
    fake.inject("429", retry_after=None)
    first, second, third = get(fake), get(fake), get(fake)
    assert (first.status_code, first.headers["Retry-After"]) == (429, "1")
    assert (second.status_code, second.headers["Retry-After"]) == (429, "7")
    assert third.status_code == 429 and "Retry-After" not in third.headers
    assert get(fake).status_code == 200
    assert [r.fault for r in fake.requests] == ["429", "429", "429", None]


@pytest.mark.parametrize("kind", ["500", "502", "503"])
def test_server_errors_are_text_and_counted(fake: FakeCtgov, kind: str) -> None:
    fake.inject(kind, times=2, retry_after=3, body="maintenance")
    for _ in range(2):
        response = get(fake)
        assert_text_error(response, int(kind), "maintenance")
        assert response.headers["Retry-After"] == "3"
    assert get(fake).status_code == 200
    assert fake.pending_faults == 0


def test_html_page_instead_of_json(fake: FakeCtgov) -> None:
    fake.inject("html")
    fake.inject("html", status=503)
    response = get(fake)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    assert response.text.startswith("<!DOCTYPE html>")
    assert get(fake).status_code == 503


def test_truncated_bodies(fake: FakeCtgov) -> None:
    fake.inject("truncated")
    response = get(fake)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    with pytest.raises(ValueError):
        response.json()
    fake.inject("truncated", declare_length=True)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        get(fake)
    fake.inject("truncated_gzip")
    with pytest.raises(requests.exceptions.ContentDecodingError):
        get(fake)
    assert len(ids(get(fake))) == 8


def test_slow_answer(fake: FakeCtgov) -> None:
    fake.inject("slow", seconds=0.3)
    with pytest.raises(requests.exceptions.ReadTimeout):
        get(fake, timeout=0.1)
    fake.inject("slow", seconds=0.2)
    started = time.monotonic()
    assert len(ids(get(fake))) == 8
    assert time.monotonic() - started >= 0.2


def test_held_answer_waits_for_release(fake: FakeCtgov) -> None:
    fake.inject("held")
    answers: list[requests.Response] = []
    client = threading.Thread(target=lambda: answers.append(get(fake, timeout=10)))
    client.start()
    assert wait_for(lambda: len(fake.requests) == 1)
    client.join(timeout=0.3)
    assert client.is_alive() and not answers, "answered before release()"
    fake.release()
    client.join(timeout=5)
    assert len(ids(answers[0])) == 8 and fake.requests[0].fault == "held"
    assert len(ids(get(fake))) == 8  # the fault fired once


def test_hang_until_client_gives_up_and_stop_is_not_blocked() -> None:
    server = FakeCtgov(load_fixture_studies()).start()
    server.inject("hang", times=2)
    with pytest.raises(requests.exceptions.ReadTimeout):
        get(server, timeout=0.2)
    assert server.requests[0].status is None and server.requests[0].fault == "hang"
    errors: list[Exception] = []

    def waiting_client() -> None:
        try:
            get(server, timeout=10)
        except requests.RequestException as err:
            errors.append(err)

    client = threading.Thread(target=waiting_client)
    client.start()
    time.sleep(0.2)
    started = time.monotonic()
    server.stop()
    client.join(timeout=5)
    assert time.monotonic() - started < 2
    assert not client.is_alive() and len(errors) == 1


def test_reset_connection(fake: FakeCtgov) -> None:
    fake.inject("reset")
    with pytest.raises(requests.exceptions.ConnectionError):
        get(fake)
    assert len(ids(get(fake))) == 8


def test_fault_path_skip_and_reset_faults(fake: FakeCtgov) -> None:
    fake.inject("503", path="/version")
    assert get(fake).status_code == 200
    assert get(fake, "/version").status_code == 503
    fake.inject("500", skip=1)
    assert [get(fake).status_code for _ in range(3)] == [200, 500, 200]
    fake.inject("502", path="/studies*", times=5)
    assert get(fake, "/studies/metadata").status_code == 502
    fake.reset_faults()
    assert get(fake).status_code == 200 and fake.pending_faults == 0
    for bad in ({"kind": "404"}, {"kind": "slow", "second": 1}, {"kind": "500", "times": 0}):
        with pytest.raises(ValueError):
            fake.inject(**bad)


# --------------------------------------------------------------------------- metadata


def test_metadata_default_is_generated_from_spec(spec: dict, fake: FakeCtgov) -> None:
    tree = get(fake, "/studies/metadata").json()
    fields = field_map(tree)
    assert fields["nctid"].path == ("protocolSection", "identificationModule", "nctId")
    assert fields["lastupdatepostdate"].path[-2:] == ("lastUpdatePostDateStruct", "date")
    assert fields["startdate"].source == "DATE" and fields["leadsponsorname"].piece == "LeadSponsorName"
    assert {"resultsSection", "derivedSection", "hasResults"} <= {n["name"] for n in tree}
    field_node = {"$ref": "#/components/schemas/FieldNode"}
    assert all(schema_problems(spec, field_node, node) == [] for node in tree)


def test_builtin_metadata_without_spec(tmp_path: Any) -> None:
    with FakeCtgov(load_fixture_studies(), spec_file=tmp_path / "missing.yaml") as server:
        tree = get(server, "/studies/metadata").json()
        assert tree == builtin_metadata()
        assert [n["name"] for n in tree[0]["children"]][:3] == [
            "identificationModule",
            "statusModule",
            "sponsorCollaboratorsModule",
        ]
        assert short(server, **{"filter.advanced": "AREA[LastUpdatePostDate]RANGE[2026,MAX]"}) == [
            "105",
            "108",
        ]


def test_metadata_override_simulates_drift_but_search_keeps_the_true_model() -> None:
    drifted = [
        {"name": "protocolSection", "piece": "ProtocolSection", "sourceType": "STRUCT", "children": []}
    ]
    with FakeCtgov(load_fixture_studies(), metadata=drifted) as server:
        assert get(server, "/studies/metadata").json() == drifted
        server.metadata = None
        assert get(server, "/studies/metadata").json() != drifted
        assert short(server, **{"filter.advanced": "AREA[StartDate]RANGE[2022,2022]"}) == ["102", "103"]


# --------------------------------------------------------------------------- openapi_spec


def test_validate_request(spec: dict) -> None:
    good = [
        ("/api/v2/studies", [("query.term", "CAR-T"), ("pageSize", "1000"), ("countTotal", "true")]),
        ("/api/v2/studies", [("filter.advanced", "AREA[LastUpdatePostDate]RANGE[2026-01-01,MAX]")]),
        ("/api/v2/version", []),
        ("/api/v2/studies/metadata", []),
    ]
    for path, params in good:
        assert validate_request(spec, path, params) == [], (path, params)
    bad = [
        ("/api/v2/studies", [("filter.phase", "PHASE2")], "unknown parameter 'filter.phase'"),
        ("/api/v2/studies", [("pageSize", "ten")], "not an integer"),
        ("/api/v2/studies", [("pageSize", "-1")], "below the minimum"),
        ("/api/v2/studies", [("countTotal", "yes")], "true/false"),
        ("/api/v2/studies", [("format", "xml")], "not one of"),
        ("/api/v2/studies", [("pageSize", "1"), ("pageSize", "2")], "given 2 times"),
        ("/api/v2/version", [("x", "1")], "unknown parameter 'x'"),
        ("/api/v2/nothing", [], "not in the OpenAPI document"),
    ]
    for path, params, problem in bad:
        problems = validate_request(spec, path, params)
        assert any(problem in p for p in problems), (path, params, problems)


# --------------------------------------------------------------------------- shared corpus


@pytest.mark.shared
def test_whole_shared_corpus_pages_once_each() -> None:
    try:
        studies = load_shared_corpus()
    except FileNotFoundError:
        pytest.skip(f"shared ctgov material not found at {shared_ctgov_dir()} (set TRIALTRENDS_SHARED_CTGOV)")
    expected = sorted(nct_id_of(s) for s in studies)
    with FakeCtgov(studies) as server:
        pages = crawl(server, pageSize=1000, countTotal="true", format="json")
    served = [nct_id_of(s) for p in pages for s in p["studies"]]
    assert len(pages) == 3 and pages[0]["totalCount"] == len(expected)
    assert served == expected  # every study exactly once, in nctId order


# --------------------------------------------------------------------------- registry mode: download

ZIP_PARAMS = {"format": "json.zip"}


def download(server: FakeCtgov, **headers: str) -> requests.Response:
    """GET the whole-registry zip (whole body read)."""
    return requests.get(server.url + "/studies/download", params=ZIP_PARAMS, headers=headers, timeout=10)


def raw_download(server: FakeCtgov, **headers: str) -> tuple[int, dict[str, str], bytes, bool]:
    """GET the zip over http.client: (status, headers, the bytes received, complete?).

    A connection closed mid-body is reported, not raised, with what arrived before it.
    """
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", "/api/v2/studies/download?format=json.zip", headers=headers)
        response = conn.getresponse()
        try:
            body, complete = response.read(), True
        except http.client.IncompleteRead as err:
            body, complete = err.partial, False
        return response.status, dict(response.getheaders()), body, complete
    finally:
        conn.close()


def zip_studies(body: bytes) -> dict[str, dict]:
    """Entry name -> parsed study of a downloaded zip (every CRC checked)."""
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None
        return {name: json.loads(archive.read(name)) for name in archive.namelist()}


def resume(server: FakeCtgov, limit: int = 50) -> tuple[bytes, list[int]]:
    """Download like a resuming client: after each cut, ask for the rest with Range + If-Range."""
    got, etag, statuses = b"", None, []
    for _ in range(limit):
        headers = {"Range": f"bytes={len(got)}-", "If-Range": etag} if etag else {}
        status, response_headers, body, complete = raw_download(server, **headers)
        statuses.append(status)
        got = got + body if status == 206 else body
        etag = response_headers["ETag"]
        if complete:
            return got, statuses
    raise AssertionError("the download never completed")


def test_download_is_the_dataset_one_pretty_json_per_study(fake: FakeCtgov) -> None:
    response = download(fake)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert int(response.headers["Content-Length"]) == len(response.content)
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["ETag"].startswith('"') and response.headers["ETag"].endswith('"')
    assert "ctg-studies.json.zip" in response.headers["Content-Disposition"]
    assert "Content-Encoding" not in response.headers  # requests asked for gzip: a zip is sent as is
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        infos = archive.infolist()
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in infos)
        assert archive.read(infos[0]).startswith(b'{\n  "protocolSection": {\n')  # pretty-printed
    assert zip_studies(response.content) == {f"{nct_id_of(s)}.json": s for s in load_fixture_studies()}
    again = download(fake)  # built once per generation: the same bytes and validator
    assert again.content == response.content and again.headers["ETag"] == response.headers["ETag"]
    assert fake.download_zip() == (response.content, response.headers["ETag"])


def test_download_head_gives_the_headers_without_the_body(fake: FakeCtgov) -> None:
    full = download(fake)
    head = requests.head(fake.url + "/studies/download", params=ZIP_PARAMS, timeout=5)
    assert head.status_code == 200 and head.content == b""
    for name in ("Content-Length", "ETag", "Accept-Ranges", "Content-Type"):
        assert head.headers[name] == full.headers[name]
    assert fake.requests[-1].method == "HEAD"


def test_download_range_resume_and_if_range(fake: FakeCtgov) -> None:
    full = download(fake)
    body, etag, size = full.content, full.headers["ETag"], len(full.content)
    tail = download(fake, Range="bytes=1000-")
    assert tail.status_code == 206 and tail.content == body[1000:]
    assert tail.headers["Content-Range"] == f"bytes 1000-{size - 1}/{size}"
    assert int(tail.headers["Content-Length"]) == size - 1000 and tail.headers["ETag"] == etag
    assert body[:1000] + tail.content == body
    middle = download(fake, Range="bytes=10-19", **{"If-Range": etag})
    assert (middle.status_code, middle.content) == (206, body[10:20])
    by_date = download(fake, Range="bytes=10-", **{"If-Range": full.headers["Last-Modified"]})
    assert by_date.status_code == 206
    for stale in ('"another-version"', f"W/{etag}"):  # a weak validator never matches If-Range
        whole = download(fake, Range="bytes=1000-", **{"If-Range": stale})
        assert (whole.status_code, whole.content) == (200, body)
        assert "Content-Range" not in whole.headers
    past = download(fake, Range=f"bytes={size}-")
    assert past.status_code == 416 and past.headers["Content-Range"] == f"bytes */{size}"
    for form in ("bytes=-100", "bytes=0-10,20-30", "items=0-", "bytes=20-10"):
        assert_text_error(download(fake, Range=form), 400, "Range", NOT_EMULATED)


def test_download_parameters(fake: FakeCtgov) -> None:
    url = fake.url + "/studies/download"
    assert_text_error(requests.get(url, timeout=5), 400, "`format`", NOT_EMULATED)
    assert_text_error(
        requests.get(url, params={"format": "csv"}, timeout=5), 400, "format `csv`", NOT_EMULATED
    )
    assert_text_error(
        requests.get(url, params={"format": "xml"}, timeout=5), 400, "format `xml` is not one of"
    )
    query = {**ZIP_PARAMS, "query.term": "CAR-T"}
    assert_text_error(requests.get(url, params=query, timeout=5), 400, "`query.term`", NOT_EMULATED)
    bogus = {**ZIP_PARAMS, "since": "2026-01-01"}
    assert_text_error(requests.get(url, params=bogus, timeout=5), 400, "`since` is unknown parameter")


def test_stats_size_matches_the_spec_and_the_dataset(spec: dict, fake: FakeCtgov) -> None:
    stats = get(fake, "/stats/size").json()
    assert schema_problems(spec, {"$ref": "#/components/schemas/GzipStats"}, stats) == []
    assert stats["totalStudies"] == 8 == sum(r["studiesCount"] for r in stats["ranges"])
    assert stats["largestStudies"][0]["sizeBytes"] >= stats["averageSizeBytes"] > 0
    assert_text_error(get(fake, "/stats/size", fields="x"), 400, "`fields` is unknown parameter")
    fake.advance_day("2026-12-01", removed=["NCT00000101", "NCT00000102"])
    assert get(fake, "/stats/size").json()["totalStudies"] == 6


# --------------------------------------------------------------------------- registry mode: faults


def test_cut_once_then_resume_gives_identical_bytes(fake: FakeCtgov) -> None:
    full = download(fake).content
    fake.inject("cut", path="/studies/download", after_bytes=1000)
    status, headers, body, complete = raw_download(fake)
    assert (status, complete, len(body)) == (200, False, 1000)
    assert int(headers["Content-Length"]) == len(full)  # declared whole, then dropped
    got, statuses = resume(fake)  # the fault fired once: the resume gets the rest at once
    assert (got, statuses) == (full, [200])
    fake.inject("cut", path="/studies/download", after_bytes=1000)
    got, statuses = resume(fake)
    assert got == full and statuses == [200, 206]
    assert [r.fault for r in fake.requests][-2:] == ["cut", None]


def test_cut_always_still_completes_by_resuming(fake: FakeCtgov) -> None:
    full = download(fake).content
    fake.inject("cut", times=1000, path="/studies/download", after_bytes=1500)
    got, statuses = resume(fake)
    assert got == full
    assert statuses == [200] + [206] * (len(statuses) - 1) and len(statuses) == -(-len(full) // 1500)
    fake.reset_faults()
    fake.inject("cut", path="/studies/download", fraction=0.25)
    assert len(raw_download(fake)[2]) == len(full) // 4


def test_no_range_answers_200_with_the_whole_zip(fake: FakeCtgov) -> None:
    full = download(fake)
    fake.inject("no_range", path="/studies/download")
    response = download(fake, Range="bytes=1000-", **{"If-Range": full.headers["ETag"]})
    assert response.status_code == 200 and response.content == full.content
    assert "Accept-Ranges" not in response.headers and "Content-Range" not in response.headers
    assert download(fake, Range="bytes=1000-").status_code == 206  # once only


def test_throttled_download_trickles_but_is_whole(fake: FakeCtgov) -> None:
    full = download(fake).content
    fake.inject("throttle", times=2, path="/studies/download", bytes_per_second=len(full) * 4)
    started = time.monotonic()
    assert download(fake).content == full
    assert time.monotonic() - started >= 0.2  # a quarter second's worth, less the last pause
    assert download(fake, Range="bytes=100-").content == full[100:]


def test_endpoint_gone_404_text_or_html_page(fake: FakeCtgov) -> None:
    fake.inject("gone", path="/studies/download")
    fake.inject("html", path="/studies/download")
    assert_text_error(download(fake), 404, "Not Found")
    page = download(fake)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert download(fake).headers["Content-Type"] == "application/zip"
    assert get(fake, "/version").status_code == 200  # only the download is gone


def test_truncated_zip_looks_complete_but_has_no_central_directory(fake: FakeCtgov) -> None:
    full = download(fake)
    fake.inject("truncated_zip", path="/studies/download", fraction=0.6)
    short = download(fake, Range="bytes=100-")  # served whole: Range ignored
    assert short.status_code == 200 and int(short.headers["Content-Length"]) == len(short.content)
    assert short.content == full.content[: int(len(full.content) * 0.6)]
    assert short.headers["ETag"] == full.headers["ETag"]  # nothing in the headers gives it away
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(short.content))


def test_partial_zip_is_well_formed_but_holds_part_of_the_registry(fake: FakeCtgov) -> None:
    full = download(fake)
    fake.inject("partial_zip", path="/studies/download", fraction=0.5)
    partial = download(fake)
    assert partial.status_code == 200 and partial.headers["ETag"] != full.headers["ETag"]
    assert sorted(zip_studies(partial.content)) == [f"{i}.json" for i in FIXTURE_IDS[:4]]
    assert get(fake, "/stats/size").json()["totalStudies"] == 8


def test_dataset_changes_between_a_cut_and_its_resume(fake: FakeCtgov) -> None:
    first = download(fake)
    fake.inject("cut", path="/studies/download", after_bytes=1000)
    fake.advance_day_after(1, "2026-12-01", path="/studies/download", removed=["NCT00000104"])
    status, headers, body, complete = raw_download(fake)
    assert (status, complete, len(body), headers["ETag"]) == (200, False, 1000, first.headers["ETag"])
    resumed = download(fake, Range="bytes=1000-", **{"If-Range": headers["ETag"]})
    assert resumed.status_code == 200 and resumed.headers["ETag"] != headers["ETag"]
    assert "NCT00000104.json" not in zip_studies(resumed.content) and len(zip_studies(resumed.content)) == 7
    assert get(fake, "/version").json()["dataTimestamp"] == "2026-12-01T09:00:06"


# --------------------------------------------------------------------------- registry mode: update query and days

UPDATED_SINCE = "AREA[LastUpdatePostDate]RANGE[{},MAX]"


def dated_studies(dates: list[str | None]) -> list[dict]:
    """Minimal studies NCT00000001... with these lastUpdatePostDates (None: no such field)."""
    studies = tiny_studies(len(dates))
    for study, date in zip(studies, dates, strict=True):
        if date:
            study["protocolSection"]["statusModule"] = {
                "lastUpdatePostDateStruct": {"date": date, "type": "ACTUAL"}
            }
    return studies


def updated_since(server: FakeCtgov, date: str, page_size: int = 1000) -> tuple[list[str], int]:
    """(nctIds over all pages, totalCount) of the unfiltered update query."""
    pages = crawl(
        server, pageSize=page_size, countTotal="true", **{"filter.advanced": UPDATED_SINCE.format(date)}
    )
    return [nct_id_of(s) for p in pages for s in p["studies"]], pages[0]["totalCount"]


def test_update_query_returns_exactly_the_studies_updated_since_across_pages() -> None:
    dates = ["2026-11-29", "2026-11-30", None, "2026-12-01", "2026-11", "2026", "2026-12-03"] * 3
    with FakeCtgov(dated_studies(dates)) as server:
        served, total = updated_since(server, "2026-11-30", page_size=2)
    expected = [
        f"NCT{i + 1:08d}" for i, d in enumerate(dates) if d in ("2026-11-30", "2026-12-01", "2026-12-03")
    ]
    assert served == expected and total == len(expected) == 9  # "2026-11" counts as 11-01: before


def test_advance_day_changes_adds_removes_and_stamps(fake: FakeCtgov) -> None:
    before = download(fake).headers["ETag"]
    token = get(fake, pageSize=3).json()["nextPageToken"]
    since_token = get(fake, pageSize=1, **{"filter.advanced": UPDATED_SINCE.format("2026-12-02")}).json()
    assert since_token == {"studies": []}
    edited = fake.study("NCT00000103")  # a copy: editing it changes nothing served yet
    edited["protocolSection"]["identificationModule"]["briefTitle"] = "Amended title"
    assert "Amended" not in fake.study("NCT00000103")["protocolSection"]["identificationModule"]["briefTitle"]
    new = {
        "protocolSection": {
            "identificationModule": {"nctId": "NCT00000200", "briefTitle": "A new CAR-T trial"}
        }
    }
    fake.advance_day("2026-12-02", changed=[edited], added=[new], removed=["NCT00000105"])
    assert "lastUpdatePostDateStruct" not in new["protocolSection"].get(
        "statusModule", {}
    )  # caller's copy kept
    assert get(fake, "/version").json()["dataTimestamp"] == "2026-12-02T09:00:06"
    assert_text_error(get(fake, pageSize=3, pageToken=token), 400, "expired")
    assert updated_since(fake, "2026-12-02") == (["NCT00000103", "NCT00000200"], 2)
    status = fake.study("NCT00000103")["protocolSection"]["statusModule"]
    assert status["lastUpdatePostDateStruct"] == {"date": "2026-12-02", "type": "ACTUAL"}
    assert status["lastUpdateSubmitDate"] == "2026-12-01"
    assert (
        fake.study("NCT00000103")["protocolSection"]["identificationModule"]["briefTitle"] == "Amended title"
    )
    after = download(fake)
    assert after.headers["ETag"] != before
    entries = zip_studies(after.content)
    assert "NCT00000105.json" not in entries and entries["NCT00000200.json"] == fake.study("NCT00000200")
    assert entries == {f"{nct_id_of(s)}.json": s for s in fake.studies}
    assert "NCT00000105" not in [nct_id_of(s) for p in crawl(fake, pageSize=3) for s in p["studies"]]
    assert short(fake, **{"query.term": "NCT00000105"}) == []
    with pytest.raises(KeyError):
        fake.study("NCT00000105")


def test_an_unchanged_day_still_is_a_new_generation(fake: FakeCtgov) -> None:
    before = download(fake).headers["ETag"]
    fake.advance_day("2026-12-02")
    assert download(fake).headers["ETag"] != before  # the entries carry the new data timestamp
    assert zip_studies(download(fake).content) == {f"{nct_id_of(s)}.json": s for s in load_fixture_studies()}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"date": "2026-12-2"}, "yyyy-MM-dd"),
        ({"date": "2026-12-02", "removed": ["NCT09999999"]}, "does not hold"),
        ({"date": "2026-12-02", "changed": [{"protocolSection": {"identificationModule": {"nctId": "NCT09999999"}}}]},
         "does not hold"),
        ({"date": "2026-12-02", "added": [{"protocolSection": {"identificationModule": {"nctId": "NCT00000101"}}}]},
         "already holds"),
        ({"date": "2026-12-02", "added": [{"protocolSection": {}}]}, "no protocolSection"),
        ({"date": "2026-12-02", "removed": ["NCT00000101", "NCT00000101"]}, "more than once"),
        ({"date": "2026-09-01"}, "not later"),  # the fake starts at 2026-09-04T09:00:06
    ],
)  # fmt: skip
def test_advance_day_refuses_inconsistent_days(fake: FakeCtgov, args: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fake.advance_day(**args)
    assert fake.study_count == 8 and get(fake, "/version").json()["dataTimestamp"] == "2026-09-04T09:00:06"


def test_a_week_of_days_keeps_the_update_query_and_download_consistent(fake: FakeCtgov) -> None:
    etags, stamps, touched = set(), set(), {}
    for day in range(1, 8):
        date = f"2026-12-{day:02d}"
        victim = fake.studies[day % fake.study_count]  # a changed record may keep its content
        new = {"protocolSection": {"identificationModule": {"nctId": f"NCT0000030{day}"}}}
        gone = [nct_id_of(fake.studies[0])] if day in (3, 5) else []
        fake.advance_day(date, changed=[victim], added=[new], removed=gone)
        touched.update({nct_id_of(victim): date, nct_id_of(new): date})
        for nct in gone:
            touched.pop(nct, None)
        etags.add(download(fake).headers["ETag"])
        stamps.add(get(fake, "/version").json()["dataTimestamp"])
        assert updated_since(fake, date)[0] == sorted([nct_id_of(victim), nct_id_of(new)])
    assert len(etags) == len(stamps) == 7
    since = "2026-12-04"
    expected = sorted(nct for nct, date in touched.items() if date >= since)
    assert updated_since(fake, since, page_size=2) == (expected, len(expected))
    assert zip_studies(download(fake).content) == {f"{nct_id_of(s)}.json": s for s in fake.studies}
    assert fake.study_count == 8 + 7 - 2


@pytest.mark.shared
def test_shared_corpus_download_holds_every_study(corpus_studies: list[dict]) -> None:
    with FakeCtgov(corpus_studies) as server:
        response = download(server)
        stats = get(server, "/stats/size").json()
    entries = zip_studies(response.content)
    expected = {f"{nct_id_of(s)}.json": s for s in corpus_studies}
    assert len(entries) == stats["totalStudies"] == len(expected) == len(corpus_studies)
    assert entries == expected
