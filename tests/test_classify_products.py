"""The product dictionary loader: frames that satisfy their contracts, and the alias matcher."""

from __future__ import annotations

import polars as pl

from trialtrends.schemas import ProductApprovals, Products
from trialtrends.transform.products import dictionary, match_products, product_frames, term_key


def test_product_frames_satisfy_their_contracts():
    frames = product_frames()
    Products.validate(frames["products"])
    ProductApprovals.validate(frames["product_approvals"])
    products = frames["products"]
    assert products["product_id"].is_unique().all()
    # Approvals: one row per product and agency, the earliest year.
    tisa = frames["product_approvals"].filter(pl.col("product_id") == "tisa-cel")
    assert dict(zip(tisa["agency"], tisa["year"], strict=True))["FDA"] == 2017


def test_dictionary_targets_follow_the_naming_convention():
    targets = {t for ts in dictionary().products["targets"] for t in ts}
    assert not targets & {"CS1", "CD171", "B7H3", "CD276", "NKG2D", "NKG2DL"}


def test_matcher_finds_names_codes_and_spellings_as_whole_words():
    texts = pl.DataFrame(
        {
            "t": [
                "bb2121 in myeloma",
                "KTE-C19 | KTEC19 | kte c19",
                "Carvykti (cilta-cel)",
                "xbb2121y and BB21210",
                None,
            ]
        }
    )
    found = texts.select(match_products(pl.col("t")).alias("p"))["p"].to_list()
    assert found[0] == ["ide-cel"]
    assert found[1] == ["axi-cel"]
    assert found[2] == ["cilta-cel"]
    assert found[3] == []
    assert found[4] == []


def test_term_keys_are_unique_per_product():
    d = dictionary()
    for pid, terms in d.terms.items():
        for term in terms:
            key = term_key(term)
            if key in d.key_to_product:
                assert d.key_to_product[key] == pid, term
