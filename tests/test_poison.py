"""Poison records and pages (issue 20), one regression test per defect, table-driven.

A malformed twin of a real trial never displaces it; one record that cannot be serialised,
flattened or validated is quarantined and the night publishes (and `rebuild` of that night works
too); a page of the wrong shape ends in one `Error:` line, never a traceback. Each case runs on
the API path (the suite's fake API, serving the exact bytes) and on the bulk path (a .jsonl.gz
or a zip), through `refresh` as the CLI and the flow call it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from builders import study
from click.testing import CliRunner
from conftest import test_settings
from fakeapi import FakeCtgov, json_response
from mutants import (
    BAD_UTF8,
    Published,
    deep,
    encode,
    nct,
    serving,
    set_path,
    with_id,
    write_jsonl_gz,
    write_zip,
)

from trialtrends.cli import main
from trialtrends.pipeline import refresh
from trialtrends.settings import RULES, WAREHOUSE_FILE
from trialtrends.validate.gates import GateFailed

pytestmark = pytest.mark.usefixtures("restore_logging")

GENUINE = "NCT01087294"  # the trial the issue lost: a real CD19 CAR-T record of the corpus
# Lenient enough that one quarantined record in a small batch does not stop the night: these
# tests are about what happens to each record; the gate has tests of its own.
LENIENT = {"max_rejected_share": 0.5, "max_unclassified_share": 1.0}


@pytest.fixture(scope="module")
def real(corpus_studies: list[dict]) -> dict[str, dict]:
    """The genuine record and four other real cell-therapy records, by nctId."""
    by_id = {nct(s): s for s in corpus_studies}
    others = [s for s in corpus_studies if nct(s) != GENUINE and "CAR" in json.dumps(s)[:4000]][:4]
    return {GENUINE: by_id[GENUINE], **{nct(s): s for s in others}}


def run_api(tmp_path: Path, served: list[tuple[dict, bytes]], **overrides: Any):
    """Refresh from the fake API serving these (carrier, bytes) pairs; (settings, context)."""
    with serving(served) as fake:
        settings = test_settings(tmp_path, fake.url, **(LENIENT | overrides))
        return settings, refresh(settings)


def run_bulk(tmp_path: Path, bodies: list[bytes], container: str = "jsonl", **overrides: Any):
    """Refresh from a bulk file holding these bodies in order; (settings, context)."""
    writer = write_zip if container == "zip" else write_jsonl_gz
    source = writer(tmp_path / ("studies.zip" if container == "zip" else "studies.jsonl.gz"), bodies)
    settings = test_settings(tmp_path, "http://127.0.0.1:9", **(LENIENT | overrides))
    return settings, refresh(settings, source=source)


def run(path: str, tmp_path: Path, records: list[dict], container: str = "jsonl"):
    """The records (each with its carrier: the record itself, or the genuine one it twins)
    through one path; returns (settings, what it published)."""
    if path == "api":
        settings, ctx = run_api(tmp_path, [(dict(carrier), encode(r)) for carrier, r in records])
    else:
        settings, ctx = run_bulk(tmp_path, [encode(r) for _c, r in records], container)
    assert ctx.manifest.published, ctx.manifest.gates
    return settings, Published(settings.warehouse_path)


# ---- one identity rule: a malformed twin never displaces the genuine trial -------------------

TWINS = [
    # (path, twin id, twin before or after the genuine record, bulk container)
    ("api", GENUINE + "\n", "after", "jsonl"),
    ("api", " " + GENUINE, "before", "jsonl"),
    ("api", "ＮＣＴ０１０８７２９４", "after", "jsonl"),  # fullwidth
    ("bulk", GENUINE + "\n", "before", "jsonl"),
    ("bulk", " " + GENUINE, "after", "jsonl"),
    ("bulk", GENUINE.lower(), "before", "zip"),
    ("bulk", GENUINE + "\n", "after", "zip"),
]


@pytest.mark.parametrize(("path", "twin_id", "where", "container"), TWINS)
def test_a_malformed_twin_is_quarantined_and_the_genuine_trial_published(
    real, tmp_path, path, twin_id, where, container
):
    genuine = real[GENUINE]
    twin = set_path(with_id(genuine, twin_id), ["protocolSection", "identificationModule", "briefTitle"],
                    "HIJACKED: the twin's content")  # fmt: skip
    pair = (
        [(genuine, twin), (genuine, genuine)] if where == "before" else [(genuine, genuine), (genuine, twin)]
    )
    others = [(r, r) for i, r in real.items() if i != GENUINE]
    _settings, published = run(path, tmp_path, [*others, *pair], container)
    assert published.fate(GENUINE) == "published"
    assert published.titles[GENUINE] == genuine["protocolSection"]["identificationModule"]["briefTitle"]
    twin_reasons = [
        reason for rid, reason, payload in published.rejected if rid is None and "HIJACKED" in payload
    ]
    assert len(twin_reasons) == 1 and "is not NCT + 8 digits exactly" in twin_reasons[0]
    assert all(published.fate(i) == "published" for i in real)


@pytest.mark.parametrize("container", ["jsonl", "zip"])
def test_an_older_copy_of_a_trial_first_in_a_bulk_file_does_not_replace_it(real, tmp_path, container):
    genuine = real[GENUINE]
    older = set_path(
        genuine, ["protocolSection", "identificationModule", "briefTitle"], "HIJACKED: older copy"
    )
    older = set_path(
        older, ["protocolSection", "statusModule", "lastUpdatePostDateStruct", "date"], "2001-01-01"
    )
    _settings, published = run("bulk", tmp_path, [(genuine, older), (genuine, genuine)], container)
    assert "HIJACKED" not in published.titles[GENUINE]


@pytest.mark.parametrize("date", ["9999-12-31", 20260101, "zzzz"])
def test_a_copy_with_a_malformed_update_date_does_not_replace_the_trial(real, tmp_path, date):
    genuine = real[GENUINE]
    bad = set_path(genuine, ["protocolSection", "statusModule", "lastUpdatePostDateStruct", "date"], date)
    others = [(r, r) for i, r in real.items() if i != GENUINE]
    _settings, published = run("api", tmp_path, [*others, (genuine, genuine), (genuine, bad)])
    assert published.fate(GENUINE) == "published", published.quarantined(GENUINE)


def _spoofs(genuine: dict) -> list[tuple[str, bytes]]:
    """Another study (NCT09999999) whose bytes show the genuine trial's id before its own."""
    decoy = set_path(with_id(genuine, "NCT09999999"), TITLE, "Decoy: another study")
    key = b'"nctId":"NCT09999999"'
    return [
        ("earlier-key", encode({"aaa": {"nctId": GENUINE}, **decoy})),
        ("duplicate-key", encode(decoy).replace(key, b'"nctId":"' + GENUINE.encode() + b'",' + key)),
    ]


@pytest.mark.parametrize(
    ("path", "spoof"),
    [
        ("api", "earlier-key"),
        ("api", "duplicate-key"),
        ("bulk-jsonl", "earlier-key"),
        ("bulk-zip", "duplicate-key"),
    ],
)
def test_an_earlier_nctid_key_does_not_make_the_bulk_scan_drop_a_trial(real, tmp_path, path, spoof):
    genuine = real[GENUINE]
    body = dict(_spoofs(genuine))[spoof]
    others = [(r, encode(r)) for i, r in real.items() if i != GENUINE]
    served = [*others, (genuine, body), (genuine, encode(genuine))]
    if path == "api":
        settings, _ctx = run_api(tmp_path, [(dict(c), b) for c, b in served])
    else:
        settings, _ctx = run_bulk(tmp_path, [b for _c, b in served], path.removeprefix("bulk-"))
    published = Published(settings.warehouse_path)
    assert published.titles.get(GENUINE) == genuine["protocolSection"]["identificationModule"]["briefTitle"]
    assert published.fate("NCT09999999") == "published"


# ---- one poison record is quarantined (or published cleaned); the night and rebuild go on --------

TITLE = ["protocolSection", "identificationModule", "briefTitle"]
POISONS = [
    # (case, where in the record, value)
    ("lone-surrogate-title", TITLE, "CD19 CAR-T \ud800 cells"),
    ("enrollment-10e30", ["protocolSection", "designModule", "enrollmentInfo", "count"], 10**30),
    ("nested-300-extra-field", ["protocolSection", "fuzzModule"], json.loads("[" * 300 + "]" * 300)),
    ("nested-300-title", TITLE, json.loads("[" * 300 + "]" * 300)),
    ("nested-2000-extra-field", ["protocolSection", "fuzzModule"], deep(2000)),
    ("nested-2000-title", TITLE, deep(2000)),
    ("invalid-utf8-title", TITLE, BAD_UTF8),
]


def _poison_id(case: str) -> str:
    return f"NCT9000{100 + [c[0] for c in POISONS].index(case):04d}"


@pytest.fixture(scope="module")
def poisoned_night(tmp_path_factory):
    """path -> (what the night published, the `trialtrends rebuild` result, what it published):
    one night per path holding every poison record (each on its own study) among good ones, so
    each must be quarantined alone; run once per path, on first use."""
    nights: dict[str, tuple[Published, Any, Published]] = {}

    def night(path: str) -> tuple[Published, Any, Published]:
        if path not in nights:
            good = [(r, r) for r in GOOD]
            poisoned = [
                (study(_poison_id(c)), set_path(study(_poison_id(c)), where, value))
                for c, where, value in POISONS
            ]
            tmp = tmp_path_factory.mktemp(f"poison-{path}")
            settings, published = run(path, tmp, [*good, *poisoned])
            rebuilt = _cli(settings.data_dir, settings.api_url, "rebuild")  # no network
            nights[path] = (published, rebuilt, Published(settings.warehouse_path))
        return nights[path]

    return night


GOOD = [study(f"NCT9000000{i}", title=f"CD19 CAR-T cells, trial {i}") for i in range(1, 7)]


@pytest.mark.parametrize("path", ["api", "bulk"])
@pytest.mark.parametrize(("case", "where", "value"), POISONS, ids=[c[0] for c in POISONS])
def test_one_poison_record_never_stops_the_night_nor_its_rebuild(poisoned_night, path, case, where, value):
    published, rebuilt, again = poisoned_night(path)
    nct_id = _poison_id(case)
    fate = published.fate(nct_id)
    assert fate in ("published", "quarantined"), fate
    if fate == "quarantined":
        assert all(published.quarantined(nct_id))  # with its reason
    assert all(published.fate(nct(r)) == "published" for r in GOOD)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "Traceback" not in rebuilt.output
    assert again.fate(nct_id) == fate
    assert again.content.get(nct_id) == published.content.get(nct_id)


# ---- pages of the wrong shape: one sentence, or the rest published -----------------------------


class BadPages(FakeCtgov):
    """The fake API whose first `times` /studies answers are `body` (then the real pages)."""

    def __init__(self, studies: list[dict], body: bytes, times: int) -> None:
        super().__init__(studies)
        self.body, self.left = body, times

    def _list_studies(self, params):  # the fake's page builder: the one answer to replace
        if self.left > 0:
            self.left -= 1
            return json_response(self.body)
        return super()._list_studies(params)


PAGES = [
    # (case, page body)
    ("studies-not-a-list", b'{"studies": {"protocolSection": {}}, "totalCount": 1}'),
    ("studies-a-string", b'{"studies": "none", "totalCount": 0}'),
    ("totalCount-a-string", b'{"studies": [], "totalCount": "many"}'),
    ("totalCount-a-float", b'{"studies": [], "totalCount": 1e30}'),
    ("totalCount-negative", b'{"studies": [], "totalCount": -4}'),
    ("page-a-list", b"[1, 2, 3]"),
    ("page-nested-2000", b"[" * 2000 + b"]" * 2000),
    ("page-object-nested-2000", b'{"studies": ' + b"[" * 2000 + b"]" * 2000 + b"}"),
]
RECORDS = [study(f"NCT9000000{i}", title=f"CD19 CAR-T cells, trial {i}") for i in range(1, 4)]


def _cli(data_dir: Path, url: str, *args: str):
    """`trialtrends ARGS` (default: refresh) in process, on a data folder and API, search mode."""
    env = (
        {rule.env: None for rule in RULES.values()}
        | {
            "TRIALTRENDS_DATA_DIR": str(data_dir),
            "TRIALTRENDS_API_URL": url,
            "TRIALTRENDS_MAX_RPS": "0",
            "TRIALTRENDS_MODE": "search",
            "TRIALTRENDS_BACKOFF_BASE": "0.01",
            "TRIALTRENDS_BACKOFF_CAP": "0.05",
            "TRIALTRENDS_MAX_RETRIES": "2",
        }
        | {RULES[name].env: str(value) for name, value in LENIENT.items()}
    )
    return CliRunner().invoke(main, list(args) or ["refresh"], env=env, catch_exceptions=False)


@pytest.mark.parametrize(("case", "body"), PAGES, ids=[c[0] for c in PAGES])
def test_a_page_of_the_wrong_shape_is_one_error_line(tmp_path, case, body):
    with BadPages(RECORDS, body, times=1_000) as fake:
        result = _cli(tmp_path / "data", fake.url)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    assert len(errors[0]) <= 400, errors[0]


@pytest.mark.parametrize(("case", "body"), PAGES[:4], ids=[c[0] for c in PAGES[:4]])
def test_a_page_of_the_wrong_shape_once_is_retried_and_the_night_publishes(tmp_path, case, body):
    with BadPages(RECORDS, body, times=1) as fake:
        result = _cli(tmp_path / "data", fake.url)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert Published(tmp_path / "data" / "warehouse" / WAREHOUSE_FILE).trials == {nct(r) for r in RECORDS}


def test_invalid_utf8_in_one_study_does_not_fail_the_page(tmp_path):
    bad = set_path(RECORDS[0], TITLE, BAD_UTF8)
    served = [(dict(RECORDS[0]), encode(bad)), *((r, encode(r)) for r in RECORDS[1:])]
    with serving(served) as fake:
        result = _cli(tmp_path / "data", fake.url)
    assert result.exit_code == 0, result.output
    assert "check the network" not in result.output
    published = Published(tmp_path / "data" / "warehouse" / WAREHOUSE_FILE)
    assert {nct(r) for r in RECORDS[1:]} <= published.trials
    assert published.fate(nct(RECORDS[0])) in ("published", "quarantined")


# ---- text hygiene (issue 20 item 3) -------------------------------------------------------------

BAD_COUNTRIES = ["United States\u0000", "Fra\u0007nce", "Germany\u200b", "\x1b[31mFrance\x1b[0m"]


@pytest.fixture(scope="module")
def country_night(tmp_path_factory):
    """path -> what a night with one record per bad country string (among good ones) published;
    None when the night did not publish. Run once per path, on first use."""
    nights: dict[str, Published | None] = {}

    def night(path: str) -> Published | None:
        if path not in nights:
            good = [study(f"NCT9000000{i}", title=f"CD19 CAR-T cells, trial {i}") for i in range(1, 7)]
            bad = [study(f"NCT9000020{k}", countries=["China", c]) for k, c in enumerate(BAD_COUNTRIES)]
            try:
                _settings, nights[path] = run(path, tmp_path_factory.mktemp(f"countries-{path}"),
                                              [(r, r) for r in [*good, *bad]])  # fmt: skip
            except GateFailed:
                nights[path] = None
        return nights[path]

    return night


@pytest.mark.parametrize("path", ["api", "bulk"])
@pytest.mark.parametrize("k", range(len(BAD_COUNTRIES)), ids=["nul", "bel", "zero-width", "ansi"])
def test_a_bad_country_string_does_not_stop_the_night(country_night, path, k):
    published = country_night(path)
    assert published is not None, "the night did not publish"
    assert published.fate(f"NCT9000020{k}") in ("published", "quarantined")


CONTROLS = ["\x00", "\x07", "\x1b[31m", "\x85", "\u200b", "\ufeff"]


@pytest.mark.parametrize("path", ["api", "bulk"])
def test_control_and_zero_width_characters_are_never_published(tmp_path, path):
    titles = {f"NCT9000001{i}": f"CD19 CAR-T{c} cells, trial {i}" for i, c in enumerate(CONTROLS)}
    records = [study(i, title=t) for i, t in titles.items()]
    _settings, published = run(path, tmp_path, [(r, r) for r in records])
    for nct_id, title in published.titles.items():
        assert not any(c in title for c in CONTROLS), (nct_id, title)
    assert published.trials == set(titles)
