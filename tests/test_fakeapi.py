"""Tests of the fake ClinicalTrials.gov API v2 server (tests/fakeapi.py) and tests/openapi_spec.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from fakeapi import (
    METADATA_PARAMS,
    STUDIES_PARAMS,
    STUDY_PARAMS,
    FakeCtgov,
    HttpError,
    builtin_metadata,
    field_map,
    load_fixture_studies,
    load_shared_corpus,
    load_shared_records,
    nct_id_of,
    shared_ctgov_dir,
    shared_spec_path,
)
from openapi_spec import load_spec, operation_parameters, validate_request, validate_url

SPEC_PATH = shared_spec_path()
needs_spec = pytest.mark.skipif(
    not SPEC_PATH.is_file(),
    reason=f"OpenAPI document not found at {SPEC_PATH} (set TRIALTRENDS_SHARED_CTGOV)",
)
FIXTURE_IDS = [f"NCT0000010{i}" for i in range(1, 9)]


@pytest.fixture
def fake() -> Iterator[FakeCtgov]:
    """A fresh fake serving the eight fixture studies."""
    with FakeCtgov(load_fixture_studies()) as server:
        yield server


@pytest.fixture(scope="module")
def reader() -> Iterator[FakeCtgov]:
    """One fake shared by the read-only tests of this module (search, filters, bad values)."""
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
    """GET a path under the fake's base URL."""
    return requests.get(server.url + path, params=params, timeout=timeout)


def ids(response: requests.Response) -> list[str]:
    """nctIds of a /studies page."""
    assert response.status_code == 200, response.text
    return [nct_id_of(s) for s in response.json()["studies"]]


def short(response: requests.Response) -> list[str]:
    """Last three digits of the nctIds of a /studies page (fixture ids differ only there)."""
    return [i[-3:] for i in ids(response)]


def crawl(server: FakeCtgov, **params: Any) -> list[dict]:
    """All pages of a search, following nextPageToken until none (or an empty page)."""
    pages: list[dict] = []
    token = None
    while True:
        page_params = dict(params, **({"pageToken": token} if token else {}))
        response = get(server, **page_params)
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
        assert needle in response.text


# --------------------------------------------------------------------------- basics


def test_version_and_url(fake: FakeCtgov) -> None:
    assert fake.url.startswith("http://127.0.0.1:") and fake.url.endswith("/api/v2")
    assert get(fake, "/version").json() == {"apiVersion": "2.0.5", "dataTimestamp": "2026-09-04T09:00:06"}


def test_unknown_paths_are_404_text(fake: FakeCtgov) -> None:
    assert_text_error(get(fake, "/stats/nothing"), 404)
    assert_text_error(requests.get(f"http://127.0.0.1:{fake.port}/elsewhere", timeout=5), 404)


def test_single_study_404_alias_and_bad_id(fake: FakeCtgov) -> None:
    assert get(fake, "/studies/NCT00000101").json() == load_fixture_studies()[0]
    assert_text_error(get(fake, "/studies/NCT09999999"), 404, "NCT09999999")
    moved = get(fake, "/studies/NCT00000199")  # an alias of NCT00000108: 301, followed
    assert moved.history[0].status_code == 301
    assert nct_id_of(moved.json()) == "NCT00000108"
    assert_text_error(get(fake, "/studies/ABC123"), 400)
    assert_text_error(get(fake, "/studies/NCT00000101", pageSize=3), 400, "pageSize")


def test_requests_are_recorded_with_status_and_bytes(fake: FakeCtgov) -> None:
    get(fake, pageSize=2, **{"query.term": "cells"})
    get(fake, "/version", bogus=1)
    assert [(r.path, r.status) for r in fake.requests] == [("/api/v2/studies", 200), ("/api/v2/version", 400)]
    assert fake.requests[0].params == [("pageSize", "2"), ("query.term", "cells")]
    assert fake.bytes_sent > 0  # compressed on the wire: requests sends Accept-Encoding: gzip
    fake.requests.clear()
    assert len(fake.requests) == 0


def test_set_studies_swaps_data_and_expires_tokens(fake: FakeCtgov) -> None:
    token = get(fake, pageSize=3).json()["nextPageToken"]
    fake.set_studies(tiny_studies(4), data_timestamp="2026-09-05T09:00:00")
    assert get(fake, "/version").json()["dataTimestamp"] == "2026-09-05T09:00:00"
    assert ids(get(fake)) == [f"NCT0000000{i}" for i in range(1, 5)]
    assert_text_error(get(fake, pageSize=3, pageToken=token), 400, "pageToken")


# --------------------------------------------------------------------------- parameters


def test_unknown_or_repeated_parameter_is_400_text(fake: FakeCtgov) -> None:
    assert_text_error(get(fake, **{"filter.phase": "PHASE2"}), 400, "filter.phase")
    assert_text_error(get(fake, "/version", foo="1"), 400, "foo")
    repeated = requests.get(fake.url + "/studies", params=[("pageSize", "2"), ("pageSize", "3")], timeout=5)
    assert_text_error(repeated, 400, "pageSize")


@pytest.mark.parametrize(
    "params",
    [
        {"pageSize": "abc"},
        {"pageSize": "-1"},
        {"pageSize": "1.5"},
        {"countTotal": "yes"},
        {"format": "csv"},
        {"format": "xml"},
        {"markupFormat": "html"},
        {"filter.overallStatus": "OPEN"},
        {"filter.ids": "ABC123"},
        {"filter.geo": "near(1,2)"},
        {"geoDecay": "fast"},
        {"fields": "NoSuchField"},
        {"sort": "BriefTitle"},
        {"sort": "StartDate,EnrollmentCount,LastUpdatePostDate"},
        {"pageToken": "not-a-token"},
    ],
)
def test_bad_values_are_400_text(reader: FakeCtgov, params: dict) -> None:
    assert_text_error(get(reader, **params), 400)


def test_every_spec_parameter_name_is_accepted(fake: FakeCtgov) -> None:
    params = {
        "format": "json", "markupFormat": "legacy", "query.cond": "myeloma", "query.term": "cells",
        "query.locn": "China", "query.titles": "myeloma", "query.intr": "BCMA",
        "query.outc": "", "query.spons": "Beta", "query.lead": "Beta", "query.id": "NCT00000102",
        "query.patient": "myeloma", "filter.overallStatus": "COMPLETED",
        "filter.geo": "distance(39.9,116.4,10km)", "filter.ids": "NCT00000102",
        "filter.advanced": "AREA[Phase]PHASE2", "filter.synonyms": "ConditionSearch:1651367",
        "postFilter.overallStatus": "COMPLETED", "postFilter.geo": "distance(39.9,116.4,10mi)",
        "postFilter.ids": "NCT00000102", "postFilter.advanced": "AREA[Phase]PHASE1",
        "postFilter.synonyms": "BasicSearch:2013558", "aggFilters": "results:with",
        "geoDecay": "func:exp,scale:300mi,offset:0mi,decay:0.5", "fields": "NCTId",
        "sort": "@relevance", "countTotal": "true", "pageSize": "5",
    }  # fmt: skip
    assert set(params) | {"pageToken"} == STUDIES_PARAMS
    response = get(fake, **params)
    assert response.json() == {
        "studies": [{"protocolSection": {"identificationModule": {"nctId": "NCT00000102"}}}],
        "totalCount": 1,
    }


# --------------------------------------------------------------------------- paging


def test_paging_serves_every_study_once_in_nctid_order(fake: FakeCtgov) -> None:
    pages = crawl(fake, pageSize=3, countTotal="true")
    assert [len(p["studies"]) for p in pages] == [3, 3, 2]
    assert "nextPageToken" not in pages[-1]
    assert [nct_id_of(s) for p in pages for s in p["studies"]] == FIXTURE_IDS
    assert [p.get("totalCount") for p in pages] == [8, None, None]  # first page only


def test_matching_ids_mirror_the_endpoint(fake: FakeCtgov) -> None:
    params = {"query.term": "CAR-T", "pageSize": "2", "countTotal": "true"}
    assert fake.matching_ids(params) == ["NCT00000101", "NCT00000102", "NCT00000108"]
    assert fake.matching_ids([("filter.advanced", "AREA[Phase]PHASE2")]) == ["NCT00000102", "NCT00000105"]
    with pytest.raises(HttpError):
        fake.matching_ids({"filter.phase": "PHASE2"})


def test_totalcount_only_when_asked(fake: FakeCtgov) -> None:
    assert "totalCount" not in get(fake).json()
    assert "totalCount" not in get(fake, countTotal="false").json()
    assert get(fake, countTotal="true", **{"query.term": "melanoma"}).json()["totalCount"] == 1


def test_token_binds_other_parameters_but_not_paging_ones(fake: FakeCtgov) -> None:
    first = get(fake, pageSize=2, **{"query.term": "cells"}).json()
    token = first["nextPageToken"]
    assert token.isascii() and "=" not in token
    # pageSize and countTotal may change between pages (spec); the rest may not.
    assert len(ids(get(fake, pageSize=3, countTotal="true", pageToken=token, **{"query.term": "cells"}))) == 3
    assert_text_error(get(fake, pageSize=2, pageToken=token, **{"query.term": "cell"}), 400, "pageToken")
    assert_text_error(get(fake, pageSize=2, pageToken=token), 400, "pageToken")
    changed_fields = get(fake, pageSize=2, pageToken=token, fields="NCTId", **{"query.term": "cells"})
    assert_text_error(changed_fields, 400, "pageToken")


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


def test_empty_result_has_no_token(fake: FakeCtgov) -> None:
    assert get(fake, countTotal="true", **{"query.term": "zebrafish"}).json() == {
        "studies": [],
        "totalCount": 0,
    }


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


# --------------------------------------------------------------------------- faults


def test_429_with_retry_after_then_normal(fake: FakeCtgov) -> None:
    fake.inject("429")
    fake.inject(429, retry_after=7)
    first, second = get(fake), get(fake)
    assert (first.status_code, first.headers["Retry-After"]) == (429, "1")
    assert (second.status_code, second.headers["Retry-After"]) == (429, "7")
    assert get(fake).status_code == 200
    assert [r.fault for r in fake.requests] == ["429", "429", None]


@pytest.mark.parametrize("kind", ["500", "502", "503"])
def test_server_errors_are_text_and_counted(fake: FakeCtgov, kind: str) -> None:
    fake.inject(kind, times=2)
    for _ in range(2):
        assert_text_error(get(fake), int(kind))
    assert get(fake).status_code == 200
    assert fake.pending_faults == 0


def test_html_page_instead_of_json(fake: FakeCtgov) -> None:
    fake.inject("html")
    response = get(fake)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        response.json()


def test_truncated_json_body(fake: FakeCtgov) -> None:
    fake.inject("truncated")
    response = get(fake)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    with pytest.raises(ValueError):
        response.json()
    fake.inject("truncated", declare_length=True)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        get(fake)


def test_slow_answer(fake: FakeCtgov) -> None:
    fake.inject("slow", seconds=0.3)
    with pytest.raises(requests.exceptions.ReadTimeout):
        get(fake, timeout=0.1)
    fake.inject("slow", seconds=0.2)
    started = time.monotonic()
    assert len(ids(get(fake))) == 8
    assert time.monotonic() - started >= 0.2


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
    assert get(fake, "/studies/NCT00000101").status_code == 502
    fake.reset_faults()
    assert get(fake).status_code == 200 and fake.pending_faults == 0
    with pytest.raises(ValueError):
        fake.inject("404")
    with pytest.raises(ValueError):
        fake.inject("slow", second=1)


# --------------------------------------------------------------------------- search


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
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
        ("lymphoma OR myeloma", ["101", "102"]),
        ("lymphoma or myeloma", []),  # lowercase "or" is a word
        ("leukemias", ["103"]),  # plural relaxation
        ("EXPANSION[None]leukemias", []),
        ("therapies", ["102", "105", "107", "108"]),
        ("NCT00000105", ["105"]),
        ("AREA[Phase]PHASE1", ["101", "102", "107"]),  # not EARLY_PHASE1
        ("AREA[InterventionOtherName]LN-144", ["105"]),
        ("", ["101", "102", "103", "104", "105", "106", "107", "108"]),
    ],
)
def test_query_term_semantics(reader: FakeCtgov, expr: str, expected: list[str]) -> None:
    assert short(get(reader, **{"query.term": expr})) == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"query.titles": "BCMA"}, []),  # only in summary/intervention
        ({"query.term": "BCMA"}, ["102"]),
        ({"query.titles": "ALPHA-19"}, ["101"]),  # acronym
        ({"query.cond": "myeloma"}, ["102"]),
        ({"query.cond": "knee"}, ["104"]),
        ({"query.intr": "Anti-CD19"}, ["101"]),
        ({"query.intr": "LN-144"}, ["105"]),  # intervention other name
        ({"query.spons": "National Cancer Institute"}, ["105"]),  # collaborator
        ({"query.lead": "National Cancer Institute"}, []),
        ({"query.lead": "University Hospital Alpha"}, ["101", "108"]),
        ({"query.locn": "China"}, ["102"]),
        ({"query.term": "cells", "query.cond": "myeloma OR leukemia"}, ["102", "103"]),  # ANDed
        ({"query.term": "NCT00000101, NCT00000103", "filter.overallStatus": "COMPLETED"}, ["101", "103"]),
    ],
)
def test_query_areas_and_combination(reader: FakeCtgov, params: dict, expected: list[str]) -> None:
    assert short(get(reader, **params)) == expected


@pytest.mark.parametrize(
    "expr",
    ['"CAR T', "cells AND", "OR cells", "(cells", "cells)", "FOO[x] cells", "AREA[Nope]x", "RANGE[1,2]"],
)
def test_bad_expressions_are_400_text(reader: FakeCtgov, expr: str) -> None:
    assert_text_error(get(reader, **{"query.term": expr}), 400, "query.term")
    assert_text_error(get(reader, **{"filter.advanced": expr}), 400, "filter.advanced")


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("AREA[StartDate]RANGE[2022,2022]", ["102", "103"]),  # partial dates: "2022", "2022-07-15"
        ("AREA[StartDate]2022", ["102", "103"]),
        ("AREA[StartDate]RANGE[2021-03,2021-03]", ["101"]),  # "2021-03"
        ("AREA[StartDate]RANGE[2021-03-15,MAX]", ["102", "103", "107", "108"]),  # 2021-03 = 03-01
        ("AREA[StartDate]RANGE[MIN,2019-12-31]", ["105", "106"]),  # 104 has no start date
        ("NOT AREA[StartDate]RANGE[MIN,MAX]", ["104"]),
        ("AREA[StartDate]MISSING", ["104"]),
        ("AREA[LastUpdatePostDate]RANGE[2026-01-01,MAX]", ["105", "108"]),
        ("AREA[StudyFirstPostDate]RANGE[2022-01-01,2022-12-31]", ["102", "103"]),
        ("AREA[StudyFirstSubmitDate]RANGE[2019,2019]", ["104", "105"]),
        ("AREA[Phase]PHASE2", ["102", "105"]),
        ("AREA[OverallStatus]COMPLETED", ["102", "106"]),
        ("AREA[Phase]PHASE1 AND AREA[OverallStatus]RECRUITING", ["101"]),
        ("AREA[OverallStatus]WITHDRAWN OR AREA[OverallStatus]COMPLETED", ["102", "106", "107"]),
        ("AREA[EnrollmentCount]RANGE[20, MAX]", ["101", "102"]),
        ("AREA[MinimumAge]RANGE[MIN, 17 years]", ["102"]),
        ('AREA[LocationCountry]"United States"', ["101"]),
        ("AREA[StartDate]RANGE[2022,MAX] AND CAR-T", ["102", "108"]),
    ],
)
def test_filter_advanced(reader: FakeCtgov, expr: str, expected: list[str]) -> None:
    assert short(get(reader, **{"filter.advanced": expr})) == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"filter.ids": "NCT00000105|nct102,NCT00000199"}, ["102", "105", "108"]),  # alias, short form
        ({"filter.overallStatus": "RECRUITING|COMPLETED"}, ["101", "102", "104", "105", "106"]),
        ({"postFilter.overallStatus": "WITHDRAWN"}, ["107"]),
        ({"filter.geo": "distance(38.9,-77.0,20mi)"}, ["101"]),
        ({"filter.geo": "distance(38.9,-77.0,1km)"}, []),
    ],
)
def test_filters(reader: FakeCtgov, params: dict, expected: list[str]) -> None:
    assert short(get(reader, **params)) == expected


def test_fields_projection(fake: FakeCtgov) -> None:
    studies = get(fake, fields="NCTId|LocationCountry", pageSize=2).json()["studies"]
    assert studies[0] == {
        "protocolSection": {
            "identificationModule": {"nctId": "NCT00000101"},
            "contactsLocationsModule": {"locations": [{"country": "United States"}]},
        }
    }
    whole = get(fake, "/studies/NCT00000103", fields="protocolSection.statusModule").json()
    assert list(whole["protocolSection"]) == ["statusModule"]


def test_sort_dates_desc_missing_last(fake: FakeCtgov) -> None:
    assert short(get(fake, sort="StartDate")) == ["108", "107", "103", "102", "101", "105", "106", "104"]
    assert short(get(fake, sort="EnrollmentCount:asc", pageSize=3)) == ["103", "101", "102"]


# --------------------------------------------------------------------------- metadata


@needs_spec
def test_metadata_default_is_generated_from_spec(fake: FakeCtgov) -> None:
    tree = get(fake, "/studies/metadata").json()
    fields = field_map(tree)
    assert fields["nctid"].path == ("protocolSection", "identificationModule", "nctId")
    assert fields["startdate"].source == "DATE"
    assert fields["leadsponsorname"].piece == "LeadSponsorName"
    assert {"resultsSection", "derivedSection", "hasResults"} <= {n["name"] for n in tree}
    assert all({"name", "piece", "sourceType", "type"} <= set(node) for node in tree)
    assert get(fake, "/studies/metadata", includeIndexedOnly="true").status_code == 200
    assert_text_error(get(fake, "/studies/metadata", includeIndexedOnly="maybe"), 400)


def test_builtin_metadata_without_spec(tmp_path: Any) -> None:
    with FakeCtgov(load_fixture_studies(), spec_file=tmp_path / "missing.yaml") as server:
        tree = get(server, "/studies/metadata").json()
        assert tree == builtin_metadata()
        assert [n["name"] for n in tree[0]["children"]][:3] == [
            "identificationModule",
            "statusModule",
            "sponsorCollaboratorsModule",
        ]
        assert short(get(server, **{"filter.advanced": "AREA[StartDate]RANGE[2022,2022]"})) == ["102", "103"]


def test_metadata_override_simulates_drift() -> None:
    drifted = [
        {
            "name": "protocolSection",
            "piece": "ProtocolSection",
            "sourceType": "STRUCT",
            "type": "ProtocolSection",
            "children": [
                {"name": "identificationModule", "piece": "IdentificationModule", "sourceType": "STRUCT",
                 "type": "IdentificationModule", "children": [
                     {"name": "nctNumber", "piece": "NCTNumber", "sourceType": "TEXT", "type": "nct"}]},
            ],
        }
    ]  # fmt: skip
    with FakeCtgov(load_fixture_studies(), metadata=drifted) as server:
        assert get(server, "/studies/metadata").json() == drifted
        assert_text_error(get(server, fields="NCTId"), 400, "NCTId")
        assert get(server, fields="NCTNumber").status_code == 200


# --------------------------------------------------------------------------- openapi_spec


def test_parameter_names_match_spec(spec: dict) -> None:
    def names(template: str) -> set[str]:
        return {p["name"] for p in operation_parameters(spec, template) if p["in"] == "query"}

    assert names("/studies") == STUDIES_PARAMS
    assert names("/studies/{nctId}") == STUDY_PARAMS
    assert names("/studies/metadata") == METADATA_PARAMS
    assert names("/version") == set()


@pytest.mark.parametrize(
    ("path", "params", "problem"),
    [
        ("/api/v2/studies", [("query.term", "CAR-T"), ("pageSize", "1000"), ("countTotal", "true")], None),
        ("/api/v2/studies", [("filter.overallStatus", "RECRUITING|COMPLETED"), ("fields", "NCTId")], None),
        ("/studies/NCT00000101", [("format", "json")], None),
        ("/api/v2/version", [], None),
        ("/api/v2/studies/metadata", [("includeIndexedOnly", "false")], None),
        ("/api/v2/studies", [("filter.phase", "PHASE2")], "unknown parameter 'filter.phase'"),
        ("/api/v2/studies", [("pageSize", "ten")], "not an integer"),
        ("/api/v2/studies", [("pageSize", "-1")], "below the minimum"),
        ("/api/v2/studies", [("countTotal", "yes")], "true/false"),
        ("/api/v2/studies", [("format", "xml")], "not one of"),
        ("/api/v2/studies", [("filter.overallStatus", "OPEN")], "not one of"),
        ("/api/v2/studies", [("filter.ids", "NCT1,XYZ")], "does not match"),
        ("/api/v2/studies", [("sort", "A,B,C")], "at most 2"),
        ("/api/v2/studies", [("fields", "")], "at least 1"),
        ("/api/v2/studies", [("pageSize", "1"), ("pageSize", "2")], "given 2 times"),
        ("/api/v2/studies/XYZ", [], "does not match"),
        ("/api/v2/version", [("x", "1")], "unknown parameter 'x'"),
        ("/api/v2/nothing", [], "not in the OpenAPI document"),
    ],
)
def test_validate_request(spec: dict, path: str, params: list, problem: str | None) -> None:
    problems = validate_request(spec, path, params)
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems


def test_requests_of_a_crawl_validate(spec: dict, fake: FakeCtgov) -> None:
    search = {"query.term": "cells", "filter.advanced": "AREA[Phase]PHASE1"}
    crawl(fake, pageSize=3, countTotal="true", **search)
    get(fake, "/version")
    assert all(validate_request(spec, r.path, r.params) == [] for r in fake.requests)
    assert validate_url(spec, fake.url + "/studies?pageSize=2&filter.phase=1") == [
        "/studies: unknown parameter 'filter.phase'"
    ]


# --------------------------------------------------------------------------- shared corpus


@pytest.mark.shared
def test_whole_shared_corpus_pages_once_each() -> None:
    try:
        studies = load_shared_corpus() + load_shared_records()
    except FileNotFoundError:
        pytest.skip(f"shared ctgov material not found at {shared_ctgov_dir()} (set TRIALTRENDS_SHARED_CTGOV)")
    expected = sorted(nct_id_of(s) for s in studies)
    with FakeCtgov(studies) as server:
        pages = crawl(server, pageSize=1000, countTotal="true")
    served = [nct_id_of(s) for p in pages for s in p["studies"]]
    assert len(pages) == 3 and pages[0]["totalCount"] == len(expected)
    assert served == expected  # every study exactly once, in nctId order
