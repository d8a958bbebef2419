"""Tests for trialtrends.transform.countries: registry country strings -> ISO alpha-2 + one display name."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl
import pycountry
import pytest

from trialtrends.transform import countries
from trialtrends.transform.countries import (
    NOT_PROVIDED_CODE,
    NOT_PROVIDED_NAME,
    country_lookup,
    map_countries,
    map_country,
    unmapped,
)

REPO_ROOT = Path(__file__).resolve().parents[1]

# Every spelling named in API-NOTES.md "Country strings" (current, historical and mojibake).
API_NOTES_STRINGS = {
    "United States": ("US", "United States"),
    "China": ("CN", "China"),
    "Korea, Republic of": ("KR", "South Korea"),
    "South Korea": ("KR", "South Korea"),
    "Russian Federation": ("RU", "Russia"),
    "Russia": ("RU", "Russia"),
    "Iran, Islamic Republic of": ("IR", "Iran"),
    "Iran": ("IR", "Iran"),
    "Turkey": ("TR", "Turkey"),
    "Türkiye": ("TR", "Turkey"),
    "Turkey (Türkiye)": ("TR", "Turkey"),
    "TÃ¼rkiye": ("TR", "Turkey"),
    "Czech Republic": ("CZ", "Czechia"),
    "Czechia": ("CZ", "Czechia"),
    "Taiwan": ("TW", "Taiwan"),
    "Hong Kong": ("HK", "Hong Kong"),
    "Vietnam": ("VN", "Vietnam"),
    "Viet Nam": ("VN", "Vietnam"),
    "Macedonia, The Former Yugoslav Republic of": ("MK", "North Macedonia"),
    "North Macedonia": ("MK", "North Macedonia"),
    "Swaziland": ("SZ", "Eswatini"),
    "Eswatini": ("SZ", "Eswatini"),
    "Libyan Arab Jamahiriya": ("LY", "Libya"),
    "Libya": ("LY", "Libya"),
    "Congo, The Democratic Republic of the": ("CD", "Democratic Republic of the Congo"),
    "Côte D'Ivoire": ("CI", "Côte d'Ivoire"),
    "Lao People's Democratic Republic": ("LA", "Laos"),
    "Syrian Arab Republic": ("SY", "Syria"),
    "Moldova, Republic of": ("MD", "Moldova"),
    "Virgin Islands (U.S.)": ("VI", "U.S. Virgin Islands"),
    "Former Serbia and Montenegro": ("CS", "Serbia and Montenegro"),
    "Former Yugoslavia": ("YU", "Yugoslavia"),
    "Netherlands Antilles": ("AN", "Netherlands Antilles"),
    "Macao": ("MO", "Macao"),
    "Christmas Island": ("CX", "Christmas Island"),
}



@pytest.mark.parametrize(("raw", "expected"), sorted(API_NOTES_STRINGS.items()))
def test_api_notes_spellings_map(raw: str, expected: tuple[str, str]) -> None:
    assert map_country(raw) == expected


def test_frame_maps_api_notes_spellings() -> None:
    frame = pl.DataFrame({"country_raw": list(API_NOTES_STRINGS)})
    mapped = map_countries(frame)
    assert mapped["country_code"].to_list() == [code for code, _ in API_NOTES_STRINGS.values()]
    assert mapped["country"].to_list() == [name for _, name in API_NOTES_STRINGS.values()]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Turkey (TÃ¼rkiye)", ("TR", "Turkey")),
        ("CÃ´te D'Ivoire", ("CI", "Côte d'Ivoire")),  # mojibake not listed in the CSV
        ("RÃ©union", ("RE", "Réunion")),
        ("CuraÃ§ao", ("CW", "Curaçao")),
    ],
)
def test_mojibake_is_repaired(raw: str, expected: tuple[str, str]) -> None:
    assert map_country(raw) == expected
    mapped = map_countries(pl.DataFrame({"country_raw": [raw]}))
    assert mapped.row(0) == (raw, *expected)


@pytest.mark.parametrize(
    "raw",
    ["  Korea,   Republic of ", "KOREA, REPUBLIC OF", "korea, republic of", "Korea,\tRepublic of"],
)
def test_case_and_whitespace_variants(raw: str) -> None:
    assert map_country(raw) == ("KR", "South Korea")
    assert map_countries(pl.DataFrame({"country_raw": [raw]}))["country_code"].item() == "KR"


@pytest.mark.parametrize("raw", ["Côte D’Ivoire", "Cote D'Ivoire", "cote d`ivoire"])
def test_accent_and_apostrophe_variants(raw: str) -> None:
    assert map_country(raw) == ("CI", "Côte d'Ivoire")


def test_unknown_string_stays_raw_with_null_code() -> None:
    assert map_country("  Atlantis  ") == (None, "Atlantis")
    frame = pl.DataFrame({"country_raw": ["Atlantis ", None, "   ", "France"]})
    mapped = map_countries(frame)
    assert mapped["country_code"].to_list() == [None, None, None, "FR"]
    assert mapped["country"].to_list() == ["Atlantis", None, None, "France"]
    assert unmapped(frame) == ["Atlantis "]  # as registered, to paste into the alias file


def test_greater_china_regions_stay_separate() -> None:
    codes = {raw: map_country(raw)[0] for raw in ("China", "Hong Kong", "Macao", "Macau", "Taiwan")}
    assert codes == {"China": "CN", "Hong Kong": "HK", "Macao": "MO", "Macau": "MO", "Taiwan": "TW"}


def test_not_provided_constants_round_trip() -> None:
    assert (NOT_PROVIDED_CODE, NOT_PROVIDED_NAME) == ("XX", "Not provided")
    assert map_country(NOT_PROVIDED_NAME) == (NOT_PROVIDED_CODE, NOT_PROVIDED_NAME)


def test_lazy_in_lazy_out_keeps_rows_order_and_columns() -> None:
    frame = pl.DataFrame(
        {"nct_id": ["NCT1", "NCT2", "NCT3", "NCT4"], "loc": ["Japan", "Swaziland", "Japan", "??"]}
    )
    lazy = map_countries(frame.lazy(), raw_col="loc")
    assert isinstance(lazy, pl.LazyFrame)
    out = lazy.collect()
    assert out.columns == ["nct_id", "loc", "country_code", "country"]
    assert out["nct_id"].to_list() == ["NCT1", "NCT2", "NCT3", "NCT4"]
    assert out["country_code"].to_list() == ["JP", "SZ", "JP", None]
    assert unmapped(frame.lazy(), raw_col="loc") == ["??"]


def test_lookup_is_consistent() -> None:
    lookup = country_lookup()
    assert lookup.columns == ["country_raw", "country_code", "country"]
    assert lookup.null_count().sum_horizontal().item() == 0
    # one display name per code
    assert lookup.group_by("country_code").agg(pl.col("country").n_unique().alias("n"))["n"].max() == 1
    # every code is a current ISO alpha-2, a withdrawn one kept by ISO 3166-3, or user-assigned
    current = {c.alpha_2 for c in pycountry.countries}
    historic = {c.alpha_2 for c in pycountry.historic_countries}
    extra = set(lookup["country_code"].unique()) - current
    assert extra <= (historic | {"XK", "XX"})
    assert extra >= {"CS", "YU", "AN", "XK", "XX"}
    # each canonical name maps back to its own code
    for code, name in lookup.select("country_code", "country").unique().iter_rows():
        assert map_country(name) == (code, name)


def test_no_spelling_maps_to_two_codes() -> None:
    keyed = countries._keyed()
    assert keyed[keyed.columns[0]].is_unique().all()


def _shared_country_strings(root: Path) -> set[str]:
    """Country strings of every site in the corpus and the records, plus removedCountries."""
    values: set[str] = set()
    with gzip.open(root / "corpus" / "celltherapy-2026-08.jsonl.gz", "rt", encoding="utf-8") as fh:
        studies = [json.loads(line) for line in fh]
    for path in sorted((root / "records").glob("NCT*.json")):
        studies.append(json.loads(path.read_text(encoding="utf-8")))
    for study in studies:
        protocol = study.get("protocolSection", {})
        for site in protocol.get("contactsLocationsModule", {}).get("locations", []):
            if site.get("country"):
                values.add(site["country"])
        misc = study.get("derivedSection", {}).get("miscInfoModule", {})
        values.update(misc.get("removedCountries", []))
    return values


@pytest.mark.shared
def test_every_shared_country_string_maps(shared_ctgov: Path) -> None:
    root = shared_ctgov
    values = _shared_country_strings(root)
    assert {"Czech Republic", "Swaziland", "Turkey (Türkiye)"} <= values  # removed + 2026 spellings
    assert unmapped(pl.DataFrame({"country_raw": sorted(values)})) == []
