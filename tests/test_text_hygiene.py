"""Text hygiene at normalisation (issue 20, item 3): registry text is cleaned, capped and counted,
and a bad country string costs only its own record."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest
from builders import study
from conftest import test_settings
from fakeapi import FakeCtgov

from trialtrends.pipeline import refresh
from trialtrends.transform.countries import map_countries, map_country
from trialtrends.transform.normalize import normalize_studies
from trialtrends.transform.text_hygiene import (
    LONG,
    NAME,
    TERM,
    HygieneCounts,
    clean_frame,
    fix_surrogates,
)
from trialtrends.validate.quarantine import validate_tables

# (input, kind, expected) for one value: every rule of text_hygiene's docstring, one row each.
CLEAN_CASES = [
    ("plain", NAME, "plain"),
    ("NUL\x00 inside", NAME, "NUL inside"),
    ("bell\x07", NAME, "bell"),
    ("\x1b[31mred\x1b[0m", NAME, "red"),  # CSI sequences go whole, not only their ESC
    ("\x9b1mC1 CSI", NAME, "C1 CSI"),
    ("\x1b]0;title\x07after", NAME, "after"),  # OSC (set window title)
    ("\x1b]unterminated", NAME, "unterminated"),  # an unterminated OSC keeps its text
    ("zero\u200bwidth\u200c\u200d\u2060\ufeff", NAME, "zerowidth"),
    ("C1\x85next\x90", NAME, "C1 next"),
    ("del\x7f", NAME, "del"),
    ("two\nlines\r\nhere\ttab", NAME, "two lines here tab"),  # short text: breaks become spaces
    ("two\nlines\r\nhere\ttab\x0c", LONG, "two\nlines\nhere\ttab"),  # long text keeps them
    ("e\u0301", NAME, "\u00e9"),  # NFC
    ("  \u200b  ", NAME, None),  # nothing left: null
    ("\x00\x01", NAME, None),
    ("\ufffd kept", NAME, "\ufffd kept"),
    (None, NAME, None),
]


@pytest.mark.parametrize(("raw", "kind", "expected"), CLEAN_CASES)
def test_clean_one_value(raw, kind, expected):
    counts = HygieneCounts()
    frame = pl.DataFrame({"text": [raw]}, schema={"text": pl.Utf8})
    out = clean_frame(frame, "t", {"text": kind}, counts)
    assert out["text"][0] == expected
    assert counts.cleaned["t.text"] == (raw != expected)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("x\ud800y", "x\ufffdy"),  # lone high surrogate
        ("\udfff", "\ufffd"),  # lone low surrogate
        ("\ud83d\ude00", "\U0001f600"),  # a valid pair (as json.loads leaves "\\ud83d\\ude00")
        ("plain é", "plain é"),
    ],
)
def test_fix_surrogates(raw, expected):
    assert fix_surrogates(raw) == expected


@pytest.mark.parametrize(
    ("cap_input", "kind", "expected_len"),
    [("a" * 600, NAME, 500), ("a" * 500, NAME, 500), ("b" * 50_000, LONG, 40_000)],
)
def test_caps_mark_the_cut(cap_input, kind, expected_len):
    counts = HygieneCounts()
    out = clean_frame(pl.DataFrame({"text": [cap_input]}), "t", {"text": kind}, counts)["text"][0]
    assert len(out) == expected_len
    cut = len(cap_input) > kind.cap
    assert out.endswith("…") == cut and counts.capped["t.text"] == cut


def test_list_columns_are_cleaned_and_capped():
    counts = HygieneCounts()
    frame = pl.DataFrame({"names": [["ok", "bad\x00", "\u200b", "x" * 600] + ["n"] * 300]})
    out = clean_frame(frame, "t", {"names": TERM}, counts)["names"][0].to_list()
    assert out[:2] == ["ok", "bad"] and len(out) == TERM.max_items
    assert out[2] == "x" * 499 + "…"
    assert counts.cleaned["t.names"] == 1
    assert counts.capped["t.names"] == 1 + (303 - TERM.max_items)


def _tables(*records):
    return normalize_studies(list(records), "run-test")


# Each country string that stopped a night (issue 20), and what it now maps to.
COUNTRY_CASES = [
    ("United States\u0000", "US", "United States"),
    ("Fra\u0007nce", "FR", "France"),
    ("Germany\u200b", "DE", "Germany"),
    ("\x1b[1;31mJapan\x1b[0m", "JP", "Japan"),
    ("\ufeffCanada", "CA", "Canada"),
    ("Spa\ud800in", "ZZ", "Spa\ufffdin"),  # not a country any more, but only this record's problem
    ("Atlantis\x00", "ZZ", "Atlantis"),
]


@pytest.mark.parametrize(("raw", "code", "name"), COUNTRY_CASES)
def test_country_strings_are_cleaned_before_mapping(raw, code, name):
    tables = _tables(study("NCT90000001", countries=[raw]), study("NCT90000002"))
    validated = validate_tables(tables, "run-test", payloads=lambda ids: {i: "{}" for i in ids})
    assert validated.rejected == 0  # an odd country never costs the study
    row = validated.tables.trial_countries.filter(pl.col("nct_id") == "NCT90000001").row(0, named=True)
    assert (row["country_code"], row["country"], row["country_raw"]) == (code, name, name)
    assert (
        validated.tables.trial_countries.filter(pl.col("nct_id") == "NCT90000002")["country_code"][0] == "US"
    )
    if code != "ZZ":
        assert map_country(raw)[0] == code
        frame = map_countries(pl.DataFrame({"country_raw": [raw]}))
        assert frame["country_code"][0] == code


def test_removed_countries_are_cleaned_too():
    tables = _tables(study("NCT90000001", removed=["Ita\u0000ly", "\u200b"]))
    rows = tables.trial_countries.filter(pl.col("is_removed")).rows(named=True)
    assert [(r["country_code"], r["country_raw"]) for r in rows] == [("IT", "Italy")]


def test_registry_text_reaches_the_tables_clean_and_counted():
    record = study(
        "NCT90000001",
        title="CAR-T\x1b[2J cells\u0000 for \ud800 lymphoma",
        lead="=HYPERLINK(\x22http://x\x22)\x07",
        collaborators=[("\u200b", "OTHER"), ("Kite\x00 Pharma", "INDUSTRY")],
        conditions=["Lymphoma\x1b[0m", "\x00", "k" * 1000],
        interventions=[{"type": "BIOLOGICAL", "name": "\x07", "otherNames": ["KTE\u200bX19"]}],
        summary="line one\r\nline two\x00",
    )
    tables = _tables(record)
    validated = validate_tables(tables, "run-test", payloads=lambda ids: {i: "{}" for i in ids})
    assert validated.rejected == 0
    trial = validated.tables.trials.row(0, named=True)
    assert trial["brief_title"] == "CAR-T cells for \ufffd lymphoma"
    # Output hygiene neutralises formulas when writing CSV; the warehouse keeps the name as given.
    assert trial["lead_sponsor_raw"] == '=HYPERLINK("http://x")'
    sponsors = validated.tables.trial_sponsors["sponsor_raw"].to_list()
    assert sponsors == ['=HYPERLINK("http://x")', "Kite Pharma"]
    conditions = validated.tables.trial_conditions["condition"].to_list()
    assert conditions == ["Lymphoma", "k" * 499 + "…"]
    intervention = validated.tables.trial_interventions.row(0, named=True)
    assert (intervention["name"], intervention["other_names"]) == ("(unnamed)", ["KTEX19"])
    assert tables.trial_text["brief_summary"][0] == "line one\nline two"
    counts = tables.hygiene.as_dict()
    assert counts["cleaned"]["trials.brief_title"] == 2  # surrogate repair, then controls
    assert counts["cleaned"]["trial_sponsors.sponsor_raw"] == 3
    assert counts["capped"] == {"trial_conditions.condition": 1}
    assert counts["caps"]["term"] == {"chars": 500, "items": 200}


def test_a_ten_megabyte_keyword_list_is_capped():
    keywords = [f"keyword {i} " + "x" * 1000 for i in range(10_000)]  # ~10 MB
    record = study("NCT90000001")
    record["protocolSection"]["conditionsModule"]["keywords"] = keywords
    tables = _tables(record)
    kept = tables.trial_conditions.filter(pl.col("kind") == "keyword")["condition"]
    assert kept.len() == TERM.max_items and kept.str.len_chars().max() == TERM.cap
    assert tables.trial_text["keywords"].str.len_chars().max() <= LONG.cap
    capped = tables.hygiene.capped
    # All 10,000 cut to 500 characters, then the 9,800 beyond the 200-item cap dropped.
    assert capped["trial_conditions.condition"] == 10_000 + 9_800


def test_hygiene_counts_add_up():
    a, b = HygieneCounts(), HygieneCounts()
    a.cleaned["x"] += 2
    b.cleaned["x"] += 1
    b.capped["y"] += 4
    assert (a + b).as_dict()["cleaned"] == {"x": 3} and (a + b).as_dict()["capped"] == {"y": 4}


GOOD = [study(f"NCT9000{i:04d}", title=f"CD19 CAR-T cells study {i}") for i in range(1, 41)]


def test_odd_country_strings_no_longer_stop_the_night(tmp_path):
    """Issue 20: one record with a NUL, bell, zero-width or ANSI country published nothing."""
    odd = [
        study(f"NCT9100{i:04d}", title=f"CD19 CAR-T cells {i}", countries=[raw])
        for i, (raw, _, _) in enumerate(COUNTRY_CASES[:4], start=1)
    ]
    with FakeCtgov(GOOD + odd) as fake:
        settings = test_settings(tmp_path, fake.url)
        result = refresh(settings)
    assert result.manifest.published
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        codes = con.execute(
            "select nct_id, country_code from trial_countries where nct_id like 'NCT9100%' order by 1"
        ).fetchall()
    assert [c for _, c in codes] == ["US", "FR", "DE", "JP"]
