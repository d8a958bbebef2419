"""The reviewed product dictionary (`trialtrends/data/products.csv`) as frames and an alias matcher.

Read once per process (`dictionary()`): the `Products` and `ProductApprovals` frames the warehouse
publishes, and a compiled matcher that finds product names, INNs, brand names and development
codes in trial text. A term matches as a whole word, case-insensitively, with separators optional
between its letter and digit runs ("CT053" also finds "CT-053" and "CT 053"); each match maps back
to one product through its normalised key (lower case, no separators).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import polars as pl

from trialtrends.data.targets import canonical_targets
from trialtrends.schemas import ProductApprovals, Products, polars_schema

PRODUCTS_SCHEMA = polars_schema(Products)
APPROVALS_SCHEMA = polars_schema(ProductApprovals)
_APPROVAL = re.compile(r"^(?P<agency>[A-Z][A-Za-z ]*[A-Za-z]):(?P<year>\d{4}):(?P<text>\S.*)$")
#: Terms shorter than this are too ambiguous to match in free text (none today).
_MIN_TERM = 4


@dataclass(frozen=True)
class ProductDictionary:
    """The dictionary as frames, plus the matcher the classifier and the searches use."""

    products: pl.DataFrame
    approvals: pl.DataFrame
    #: One regex (Rust dialect) matching any product term.
    pattern: str
    #: Normalised term -> product_id.
    key_to_product: dict[str, str]
    #: product_id -> every term (name, INN, brands, aliases), for the API searches.
    terms: dict[str, tuple[str, ...]]

    @property
    def approved_ids(self) -> frozenset[str]:
        """Products with at least one regulatory approval (the 'standard' products)."""
        return frozenset(self.approvals["product_id"].to_list())


def term_key(term: str) -> str:
    """Normalised form of a product term: lower case, separators removed."""
    return re.sub(r"[-\s_]+", "", term).lower()


def term_pattern(term: str) -> str:
    """Regex for one term: whole word, separators optional between letter/digit runs."""
    chunks = re.findall(r"[A-Za-z]+|\d+|[^A-Za-z\d\s_-]+", term)
    return r"[-\s_]{0,2}".join(re.escape(c) for c in chunks)


def _split(value: str) -> list[str]:
    return [v.strip() for v in (value or "").split("|") if v.strip()]


def _read_rows() -> list[dict[str, str]]:
    text = resources.files("trialtrends.data").joinpath("products.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def _approval_rows(row: dict[str, str]) -> list[dict[str, object]]:
    """`AGENCY:YEAR:indication` entries; the first (earliest) per agency is kept."""
    seen: dict[str, dict[str, object]] = {}
    for entry in filter(None, (e.strip() for e in (row.get("approvals") or "").split(";"))):
        m = _APPROVAL.match(entry)
        if m is None:
            continue
        agency, year = m["agency"], int(m["year"])
        if agency not in seen or year < seen[agency]["year"]:  # type: ignore[operator]
            seen[agency] = {"product_id": row["product_id"], "agency": agency, "year": year,
                            "indication": m["text"].strip()}  # fmt: skip
    return list(seen.values())


@lru_cache(maxsize=1)
def dictionary() -> ProductDictionary:
    """Load products.csv once per process."""
    rows = _read_rows()
    products = pl.DataFrame(
        [
            {
                "product_id": r["product_id"],
                "name": r["name"],
                "inn": r["inn"] or None,
                "brand_names": _split(r["brand_names"]),
                "aliases": _split(r["aliases"]),
                "modality": r["modality"],
                "targets": canonical_targets(_split(r["targets"])),
                "cell_source": r["cell_source"] or None,
                "developer": r["developer"] or None,
                "developer_country": r["developer_country"] or None,
                "source": r["source"],
            }
            for r in rows
        ],
        schema=PRODUCTS_SCHEMA,
    )
    approvals = pl.DataFrame([a for r in rows for a in _approval_rows(r)], schema=APPROVALS_SCHEMA)
    terms: dict[str, tuple[str, ...]] = {}
    key_to_product: dict[str, str] = {}
    ambiguous: set[str] = set()
    for r in rows:
        names = [r["name"], r["inn"], *_split(r["brand_names"]), *_split(r["aliases"])]
        unique = tuple(dict.fromkeys(n.strip() for n in names if n and n.strip()))
        terms[r["product_id"]] = unique
        for term in unique:
            key = term_key(term)
            if len(key) < _MIN_TERM:
                continue
            if key_to_product.get(key, r["product_id"]) != r["product_id"]:
                ambiguous.add(key)
            key_to_product.setdefault(key, r["product_id"])
    for key in ambiguous:
        key_to_product.pop(key)
    # Longest terms first, so "MB-CART2019.1" wins over a shorter term it contains.
    usable = sorted(
        {t for ts in terms.values() for t in ts if term_key(t) in key_to_product},
        key=lambda t: (-len(t), t),
    )
    pattern = "(?i)(?-u:\\b)(?:" + "|".join(term_pattern(t) for t in usable) + ")(?-u:\\b)"
    return ProductDictionary(products, approvals, pattern, key_to_product, terms)


def product_frames() -> dict[str, pl.DataFrame]:
    """The warehouse tables built from the dictionary: `products` and `product_approvals`."""
    d = dictionary()
    return {"products": d.products, "product_approvals": d.approvals}


def match_products(text: pl.Expr) -> pl.Expr:
    """List of product_ids named in a text expression (unique, in order of first mention)."""
    d = dictionary()
    keys = pl.Series(list(d.key_to_product), dtype=pl.String)
    ids = pl.Series(list(d.key_to_product.values()), dtype=pl.String)
    return (
        text.str.extract_all(d.pattern)
        .list.eval(
            pl.element()
            .str.replace_all(r"[-\s_]+", "")
            .str.to_lowercase()
            .replace_strict(keys, ids, default=None)
            .drop_nulls()
            .unique(maintain_order=True)
        )
        .fill_null(pl.lit([], dtype=pl.List(pl.String)))
    )
