"""Tests for trialtrends.transform.sponsors: keys, alias table, roll-up, fallback and data integrity."""

from __future__ import annotations

import collections
import csv
import gzip
import json
from importlib import resources
from pathlib import Path

import polars as pl
import pycountry
import pytest

from trialtrends.transform import countries
from trialtrends.transform.sponsors import (
    SPONSOR_TYPES,
    canonicalize_sponsors,
    sponsor_key,
    sponsor_reference,
    unknown_spellings,
)

REPO_ROOT = Path(__file__).resolve().parents[1]



def read_data_csv(name: str) -> list[dict[str, str]]:
    """Rows of a packaged data file, '#' comment lines skipped."""
    text = resources.files("trialtrends.data").joinpath(name).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines))


# ---- sponsor_key -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Memorial Sloan Kettering Cancer Center", "MEMORIAL SLOAN-KETTERING cancer center"),
        ("University College, London", "University College London"),
        ("Children's Hospital of Philadelphia", "Children’s Hospital of Philadelphia"),
        ("Hospital & Research Center", "Hospital and Research Center"),
        ("Assistance Publique - Hôpitaux de Paris", "Assistance Publique Hopitaux de Paris"),
        ("Shanghai Cell Therapy Group Co.,Ltd", "Shanghai Cell Therapy Group"),
        ("CARsgen Therapeutics Co., Ltd.", "CARsgen Therapeutics Co. Ltd"),
        ("Hebei Senlang Biotechnology Inc., Ltd.", "Hebei Senlang Biotechnology"),
        ("Kowa Company, Ltd.", "Kowa"),
        ("CRISPR Therapeutics AG", "CRISPR Therapeutics"),
        ("Cellectis S.A.", "Cellectis"),
        ("Novo Nordisk A/S", "Novo Nordisk"),
        ("Sotio Biotech Inc.", "SOTIO Biotech"),
        ("Nanjing Legend Biotech Co.", "Nanjing Legend Biotech"),
        ("O&D BioTech Group CO., Limited", "O and D Biotech Group"),
        ("The Affiliated Hospital of Qingdao University", "Affiliated Hospital of Qingdao University"),
        ("National Cancer Institute (NCI)", "National Cancer Institute"),
        ("Harvard Medical School (HMS and HSDM)", "Harvard Medical School"),
        ("Marcela V. Maus, M.D.,Ph.D.", "Marcela V Maus"),
        ("Aibin Liang，MD，Ph.D.", "Aibin Liang"),
        ("Prof. Dr. Thomas Luft", "Thomas Luft"),
        ("  Fred   Hutchinson Cancer Center ", "Fred Hutchinson Cancer Center"),
    ],
)
def test_key_unifies_spelling_variants(left: str, right: str) -> None:
    assert sponsor_key(left) == sponsor_key(right)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Aeon Therapeutics (Shanghai) Co., Ltd.", "Aeon Therapeutics"),  # a place, not an acronym
        ("Shanghai Tongji Hospital", "Tongji Hospital"),  # never a substring guess
        ("Precision BioSciences, Inc.", "Chongqing Precision Biotech Co., Ltd"),
        ("Liang Zou", "Liqun Zou"),
    ],
)
def test_key_keeps_different_names_apart(left: str, right: str) -> None:
    assert sponsor_key(left) != sponsor_key(right)


def test_key_examples() -> None:
    assert sponsor_key("The Beijing Immunochina Medical Science & Technology Co., Ltd.") == (
        "beijing immunochina medical science and technology"
    )
    assert sponsor_key("Eli Lilly and Company") == "eli lilly and company"  # "X and Company" kept
    assert sponsor_key("Ltd") == "ltd"  # never reduced to nothing
    assert sponsor_key("(NCI)") == "nci"
    assert sponsor_key("M.D. Anderson Cancer Center") == "md anderson cancer center"


# ---- canonicalize_sponsors ------------------------------------------------------------------


def _frame(names: list[str | None], classes: list[str | None] | None = None) -> pl.DataFrame:
    classes = classes if classes is not None else ["OTHER"] * len(names)
    return pl.DataFrame(
        {"sponsor_raw": names, "agency_class": classes},
        schema={"sponsor_raw": pl.String, "agency_class": pl.String},
    )


@pytest.mark.parametrize(
    ("raw", "sponsor", "parent", "country", "code"),
    [
        ("Kite, A Gilead Company", "Kite Pharma", "Gilead Sciences", "United States", "US"),
        ("KITE PHARMA, INC.", "Kite Pharma", "Gilead Sciences", "United States", "US"),
        (
            "Juno Therapeutics, a Subsidiary of Celgene",
            "Juno Therapeutics",
            "Bristol-Myers Squibb",
            "United States",
            "US",
        ),
        (
            "Juno Therapeutics, Inc., a Bristol-Myers Squibb Company",
            "Juno Therapeutics",
            "Bristol-Myers Squibb",
            "United States",
            "US",
        ),
        ("Janssen-Cilag Ltd.", "Janssen", "Johnson & Johnson", "United States", "US"),
        ("CRISPR Therapeutics AG", "CRISPR Therapeutics", "CRISPR Therapeutics", "Switzerland", "CH"),
        (
            "Hebei Yanda Ludaopei Hospital",
            "Hebei Yanda Lu Daopei Hospital",
            "Hebei Yanda Lu Daopei Hospital",
            "China",
            "CN",
        ),
        (
            "National Cancer Institute (NCI)",
            "National Cancer Institute",
            "National Institutes of Health",
            "United States",
            "US",
        ),
        ("Ruijin Hospital", "Ruijin Hospital", "Shanghai Jiao Tong University", "China", "CN"),
        (
            "Second Military Medical University",
            "Naval Medical University",
            "Naval Medical University",
            "China",
            "CN",
        ),
        (
            "Lion Biotechnologies, Inc.",
            "Iovance Biotherapeutics",
            "Iovance Biotherapeutics",
            "United States",
            "US",
        ),
        (
            "Gracell Biotechnologies (Shanghai) Co., Ltd.",
            "Gracell Biotechnologies",
            "AstraZeneca",
            "China",
            "CN",
        ),
    ],
)
def test_alias_hits(raw: str, sponsor: str, parent: str, country: str, code: str) -> None:
    row = canonicalize_sponsors(_frame([raw], ["INDUSTRY"])).row(0, named=True)
    assert row["sponsor"] == sponsor
    assert row["sponsor_parent"] == parent
    assert row["sponsor_country"] == country
    assert row["sponsor_country_code"] == code
    assert row["is_known_sponsor"] is True


def test_types_come_from_the_table_not_the_agency_class() -> None:
    # Essen Biotech is registered as class OTHER but is a company.
    out = canonicalize_sponsors(_frame(["Essen Biotech", "Zhejiang University"], ["OTHER", "OTHER"]))
    assert out["sponsor_type"].to_list() == ["industry", "academic"]


def test_parent_roll_up_groups_affiliated_hospitals() -> None:
    names = [
        "Zhejiang University",
        "First Affiliated Hospital of Zhejiang University",
        "Second Affiliated Hospital, Zhejiang University, School of Medicine",
        "The Children's Hospital of Zhejiang University School of Medicine",
    ]
    out = canonicalize_sponsors(_frame(names))
    assert out["sponsor"].n_unique() == 4
    assert set(out["sponsor_parent"]) == {"Zhejiang University"}
    assert set(out["sponsor_type"]) == {"academic"}


def test_unknown_sponsor_falls_back_to_cleaned_raw_and_agency_class() -> None:
    names = ["  Acme   Cell  Therapy Co., Ltd. ", "Acme Hospital", "Acme Agency", "Acme Person", None]
    classes = ["INDUSTRY", "OTHER", "OTHER_GOV", "INDIV", "NIH"]
    out = canonicalize_sponsors(_frame(names, classes))
    assert out["sponsor"].to_list() == [
        "Acme Cell Therapy Co., Ltd.",
        "Acme Hospital",
        "Acme Agency",
        "Acme Person",
        None,
    ]
    assert out["sponsor_parent"].to_list() == out["sponsor"].to_list()
    assert out["sponsor_type"].to_list() == ["industry", "other", "government", "other", "government"]
    assert out["sponsor_country"].null_count() == 5
    assert out["sponsor_country_code"].null_count() == 5
    assert not out["is_known_sponsor"].any()


def test_without_class_column_unknown_type_is_other() -> None:
    frame = pl.DataFrame({"name": ["Acme Biotech", "Celgene"]})
    out = canonicalize_sponsors(frame, raw_col="name", class_col=None)
    assert out["sponsor_type"].to_list() == ["other", "industry"]
    missing_col = canonicalize_sponsors(frame, raw_col="name", class_col="agency_class")
    assert missing_col["sponsor_type"].to_list() == ["other", "industry"]


def test_lazy_in_lazy_out_keeps_rows_order_and_columns() -> None:
    frame = _frame(["Celgene", "Acme", "Celgene Corporation", "Celgene"], ["INDUSTRY"] * 4)
    lazy = canonicalize_sponsors(frame.with_row_index("i").lazy())
    assert isinstance(lazy, pl.LazyFrame)
    out = lazy.collect()
    assert out["i"].to_list() == [0, 1, 2, 3]
    assert out.columns == [
        "i",
        "sponsor_raw",
        "agency_class",
        "sponsor",
        "sponsor_parent",
        "sponsor_country",
        "sponsor_country_code",
        "sponsor_type",
        "is_known_sponsor",
    ]
    assert out["sponsor"].to_list() == ["Celgene", "Acme", "Celgene", "Celgene"]


def test_unknown_spellings_lists_raw_names_missing_from_the_table() -> None:
    frame = _frame(["Celgene", "Acme  Biotech", "Acme  Biotech", None, " ", "Zeta Bio"])
    assert unknown_spellings(frame) == ["Acme  Biotech", "Zeta Bio"]  # as registered
    assert unknown_spellings(frame.lazy()) == ["Acme  Biotech", "Zeta Bio"]


# ---- reviewed data files -------------------------------------------------------------------


def test_sponsor_rows_are_valid() -> None:
    rows = read_data_csv("sponsors.csv")
    names = [row["sponsor"] for row in rows]
    assert len(names) == len(set(names)), "duplicate sponsor rows"
    valid_codes = {c.alpha_2 for c in pycountry.countries}
    by_name = {row["sponsor"]: row for row in rows}
    for row in rows:
        assert row["country_code"] in valid_codes, row
        assert row["sponsor_type"] in SPONSOR_TYPES, row
        assert row["sponsor"] == row["sponsor"].strip() and "  " not in row["sponsor"], row
        parent = row["parent"]
        if parent:
            assert parent in by_name, f"unknown parent: {row}"
            assert parent != row["sponsor"]
            assert not by_name[parent]["parent"], f"parents are one level deep: {row}"
            if by_name[parent]["sponsor_type"] == "academic":
                assert row["sponsor_type"] == "academic", f"affiliate of a university: {row}"


def test_alias_rows_point_to_sponsors_and_keys_are_unambiguous() -> None:
    sponsors = {row["sponsor"] for row in read_data_csv("sponsors.csv")}
    aliases = read_data_csv("sponsor_aliases.csv")
    key_to_sponsors: dict[str, set[str]] = collections.defaultdict(set)
    for row in aliases:
        assert row["sponsor"] in sponsors, f"alias to a missing sponsor: {row}"
        key_to_sponsors[sponsor_key(row["alias"])].add(row["sponsor"])
    clashes = {key: found for key, found in key_to_sponsors.items() if len(found) > 1}
    assert not clashes
    own = {(row["alias"], row["sponsor"]) for row in aliases}
    missing = sorted(name for name in sponsors if (name, name) not in own)
    assert not missing, f"canonical names missing as their own alias: {missing}"


def test_every_canonical_name_maps_to_itself() -> None:
    reference = sponsor_reference()
    out = canonicalize_sponsors(reference.select(pl.col("sponsor").alias("sponsor_raw")))
    assert out["is_known_sponsor"].all()
    assert (out["sponsor"] == out["sponsor_raw"]).all()
    expected = reference.join(
        countries.country_lookup().select("country_code", "country").unique(), on="country_code"
    )
    assert expected.height == reference.height


# ---- shared corpus -------------------------------------------------------------------------


def _shared_sponsors(root: Path) -> tuple[collections.Counter[str], set[str]]:
    """Corpus lead-sponsor trial counts, and every lead sponsor/collaborator of the records."""
    leads: collections.Counter[str] = collections.Counter()
    with gzip.open(root / "corpus" / "celltherapy-2026-08.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            module = json.loads(line)["protocolSection"]["sponsorCollaboratorsModule"]
            leads[module["leadSponsor"]["name"]] += 1
    record_names: set[str] = set()
    for path in sorted((root / "records").glob("NCT*.json")):
        module = json.loads(path.read_text(encoding="utf-8"))["protocolSection"].get(
            "sponsorCollaboratorsModule", {}
        )
        for party in [module.get("leadSponsor", {}), *module.get("collaborators", [])]:
            if party.get("name"):
                record_names.add(party["name"])
    return leads, record_names


@pytest.mark.shared
def test_shared_sponsors_are_covered(shared_ctgov: Path) -> None:
    root = shared_ctgov
    leads, record_names = _shared_sponsors(root)
    frame = pl.DataFrame(
        {"sponsor_raw": list(leads), "trial_count": list(leads.values())},
        schema={"sponsor_raw": pl.String, "trial_count": pl.Int64},
    )
    out = canonicalize_sponsors(frame, class_col=None)
    # group spellings by key: a sponsor counts as frequent when its spellings together reach 3
    frequent = (
        out.with_columns(pl.col("sponsor_raw").map_elements(sponsor_key, return_dtype=pl.String).alias("key"))
        .group_by("key")
        .agg(pl.col("trial_count").sum(), pl.col("is_known_sponsor").all(), pl.col("sponsor_raw"))
        .filter(pl.col("trial_count") >= 3)
    )
    assert frequent.height > 150
    assert frequent.filter(~pl.col("is_known_sponsor")).is_empty()
    assert unknown_spellings(pl.DataFrame({"sponsor_raw": sorted(record_names)})) == []
    # nearly every lead sponsor in the corpus is reviewed; the rest have unverifiable homes
    assert len(unknown_spellings(frame)) <= 10
