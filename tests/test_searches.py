"""searches: the night's queries, including the product-dictionary batches."""

from __future__ import annotations

import csv
from importlib import resources

from trialtrends.extract import searches as S


def _dictionary_terms() -> set[str]:
    text = resources.files("trialtrends.data").joinpath("products.csv").read_text(encoding="utf-8")
    terms = set()
    for row in csv.DictReader(text.splitlines()):
        for name in [row["name"], row["inn"], *row["brand_names"].split("|"), *row["aliases"].split("|")]:
            if len("".join(c for c in name if c.isalnum())) >= S.MIN_PRODUCT_TERM:
                terms.add(name.strip().lower())
    return terms


def _terms(query: S.SearchQuery) -> list[str]:
    return [t.strip('"').lower() for t in query.term.split(" OR ")]


def test_query_names_are_unique_and_products_come_last():
    names = [q.name for q in S.QUERIES]
    assert len(names) == len(set(names))
    products = [q for q in S.QUERIES if q.family == "PRODUCTS"]
    assert products and names[-len(products) :] == [f"products_{i}" for i in range(1, len(products) + 1)]


def test_product_batches_stay_short_and_cover_the_dictionary():
    products = [q for q in S.QUERIES if q.family == "PRODUCTS"]
    assert all(len(q.term) <= S.MAX_PRODUCT_TERM_CHARS for q in products)
    searched = {t for q in S.QUERIES for t in _terms(q)}
    assert _dictionary_terms() <= searched
    # Terms of the hand-written queries are not repeated in the product batches.
    base = {t for q in S.QUERIES if q.family != "PRODUCTS" for t in _terms(q)}
    assert not base & {t for q in products for t in _terms(q)}


def test_terms_are_quoted_unless_alphanumeric():
    assert S._any_of("bb2121", "KTE-C19", "axicabtagene ciloleucel", "OR") == (
        'bb2121 OR "KTE-C19" OR "axicabtagene ciloleucel" OR "OR"'
    )


def test_search_params_carry_the_term_and_since_filter():
    from datetime import date

    q = S.QUERIES[-1]
    params = S.search_params(q, since=date(2026, 1, 2))
    assert params["query.term"] == q.term
    assert params["filter.advanced"] == "AREA[LastUpdatePostDate]RANGE[2026-01-02,MAX]"


def test_a_record_naming_only_a_product_code_is_pulled(tmp_path):
    """End to end against the fake API: only the product batches find 'HY004'."""
    from builders import study
    from conftest import test_settings
    from fakeapi import FakeCtgov

    from trialtrends.extract.api_pull import pull
    from trialtrends.extract.raw import select_studies

    studies = [
        study(
            "NCT90000011",
            title="Clinical Trial of HY004 Cell Injection in B-NHL",
            summary="HY004 infusion.",
            interventions=[{"type": "BIOLOGICAL", "name": "HY004"}],
        ),
        study(
            "NCT90000012",
            title="Aspirin for headache",
            summary="An aspirin trial.",
            interventions=[{"type": "DRUG", "name": "aspirin"}],
        ),
    ]
    with FakeCtgov(studies) as fake:
        result = pull(test_settings(tmp_path, fake.url))
    found = {q["name"]: q["unique"] for q in result.manifest.queries}
    assert sum(n for name, n in found.items() if name.startswith("products_")) == 1
    assert sum(n for name, n in found.items() if not name.startswith("products_")) == 0
    ids = {
        s["protocolSection"]["identificationModule"]["nctId"] for s in select_studies(result.run).records()
    }
    assert ids == {"NCT90000011"}
    assert all(q["params"]["query.term"] for q in result.manifest.queries)
