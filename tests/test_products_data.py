"""Integrity of the reviewed product dictionary `trialtrends/data/products.csv`.

The file is data (one row per cell-therapy product); these tests guard its shape and conventions so
a bad edit fails CI: exact header, unique ids, closed vocabularies for modality and cell source,
aliases unique across products, a source on every row, parseable approvals and the antigen naming
convention.
"""

from __future__ import annotations

import csv
import re
from importlib import resources

import pytest

HEADER = [
    "product_id",
    "name",
    "inn",
    "brand_names",
    "aliases",
    "modality",
    "targets",
    "cell_source",
    "developer",
    "developer_country",
    "approvals",
    "source",
    "notes",
]
MODALITIES = {"CAR-T", "TCR-T", "TIL", "NK", "CAR-NK", "CAR-NKT", "CAR-gdT", "CAR-M", "OTHER-CELL"}
CELL_SOURCES = {"", "autologous", "allogeneic", "in_vivo"}
#: Spellings the target convention replaces (SLAMF7, L1CAM, B7-H3, CLDN18.2).
FORBIDDEN_TARGETS = re.compile(r"^(?:CS1|CD171|B7H3|CD276)$|CLAUDIN", re.I)
APPROVAL = re.compile(r"^(?P<agency>[A-Z][A-Za-z ]*[A-Za-z]):(?P<year>\d{4}):(?P<text>\S.*)$")


def _text() -> str:
    return resources.files("trialtrends.data").joinpath("products.csv").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    return list(csv.DictReader(_text().splitlines()))


def test_header_is_exact():
    header = next(csv.reader(_text().splitlines()))
    assert header == HEADER


def test_every_row_has_all_columns(rows):
    bad = [r["product_id"] for r in rows if None in r or any(v is None for v in r.values())]
    assert not bad, f"rows with a wrong number of fields: {bad}"


def test_product_ids_are_unique_lowercase_slugs(rows):
    ids = [r["product_id"] for r in rows]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    assert not dupes, f"duplicate product_id: {dupes}"
    bad = [i for i in ids if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*", i)]
    assert not bad, f"product_id must be a lowercase slug: {bad}"


def test_names_are_present(rows):
    assert not [r["product_id"] for r in rows if not r["name"].strip()]


def test_modality_and_cell_source_in_allowed_sets(rows):
    bad_mod = {r["product_id"]: r["modality"] for r in rows if r["modality"] not in MODALITIES}
    bad_src = {r["product_id"]: r["cell_source"] for r in rows if r["cell_source"] not in CELL_SOURCES}
    assert not bad_mod, f"unknown modality: {bad_mod}"
    assert not bad_src, f"unknown cell_source: {bad_src}"


def test_inn_stem_agrees_with_cell_source(rows):
    """-gedleucel INNs are allogeneic; other -leucel INNs autologous (the INN convention)."""
    bad = []
    for r in rows:
        inn = r["inn"].lower()
        expected = None
        if inn.endswith("gedleucel"):
            expected = "allogeneic"
        elif re.search(r"\b\w*cabtagene autoleucel$", inn):
            expected = "autologous"
        if expected and r["cell_source"] != expected:
            bad.append(r["product_id"])
    assert not bad, f"cell_source contradicts the INN stem: {bad}"


def test_aliases_unique_across_products_and_long_enough(rows):
    owner: dict[str, str] = {}
    clashes, short, blank = [], [], []
    for r in rows:
        for alias in r["aliases"].split("|") if r["aliases"] else []:
            if not alias.strip() or alias != alias.strip():
                blank.append((r["product_id"], alias))
                continue
            if len(alias) < 3:
                short.append((r["product_id"], alias))
            key = alias.casefold()
            if key in owner and owner[key] != r["product_id"]:
                clashes.append((alias, owner[key], r["product_id"]))
            owner.setdefault(key, r["product_id"])
    assert not blank, f"empty or padded aliases: {blank}"
    assert not short, f"aliases shorter than 3 characters: {short}"
    assert not clashes, f"alias used by two products: {clashes}"


def test_every_row_has_a_source(rows):
    assert not [r["product_id"] for r in rows if not r["source"].strip()]


def test_approvals_parse(rows):
    bad = []
    for r in rows:
        for entry in r["approvals"].split(";") if r["approvals"] else []:
            m = APPROVAL.match(entry)
            if not m or not 2009 <= int(m["year"]) <= 2026:
                bad.append((r["product_id"], entry))
    assert not bad, f"approvals must be AGENCY:YEAR:text with 2009 <= YEAR <= 2026: {bad}"


def test_approved_products_cite_a_public_label(rows):
    bad = [r["product_id"] for r in rows if r["approvals"] and "public label" not in r["source"]]
    assert not bad, f"approved products without a 'public label' source: {bad}"


def test_targets_follow_the_convention(rows):
    bad = []
    for r in rows:
        for t in r["targets"].split("|") if r["targets"] else []:
            if FORBIDDEN_TARGETS.search(t) or t != t.strip() or not t or t != t.upper():
                bad.append((r["product_id"], t))
    assert not bad, f"targets must be upper case and use SLAMF7/L1CAM/B7-H3/CLDN18.2: {bad}"


def test_approved_products_of_the_brief_are_present(rows):
    by_inn = {r["inn"] for r in rows}
    for inn in (
        "tisagenlecleucel",
        "axicabtagene ciloleucel",
        "brexucabtagene autoleucel",
        "lisocabtagene maraleucel",
        "idecabtagene vicleucel",
        "ciltacabtagene autoleucel",
        "obecabtagene autoleucel",
        "afamitresgene autoleucel",
        "lifileucel",
        "relmacabtagene autoleucel",
        "equecabtagene autoleucel",
        "inaticabtagene autoleucel",
        "zevorcabtagene autoleucel",
        "actalycabtagene autoleucel",
    ):
        assert inn in by_inn, inn
