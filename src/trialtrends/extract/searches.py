"""The night's searches: recall-oriented Essie queries, one per cell-therapy family.

This is the one reviewed place that decides what is pulled. The queries aim at recall: they
catch every trial that *mentions* a modality, including trials that only mention it (a CRS drug
after CAR-T, NK/T-cell lymphoma); the local classifier (`classify`) decides what each trial tests.
The union of all queries, de-duplicated on nctId, is the night's pull.

Essie facts relied on (API-NOTES "Search"): `query.term` searches titles, acronym, conditions,
keywords, interventions and other names, summary, outcomes and sponsors; the default Relaxation
expansion folds case, hyphens and plurals ("CAR-T" also finds "CAR T", "cell" finds "cells");
quoted phrases keep words adjacent; OR must be upper case. Bare words match whole words only, so
product names (INNs) are listed whole rather than by stem.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from importlib import resources

from trialtrends.extract.client import PAGE_SIZE


@dataclass(frozen=True)
class SearchQuery:
    """One named search, the modality family it targets, and why its terms are there."""

    name: str
    family: str
    term: str
    reason: str


_BARE = re.compile(r"^[A-Za-z0-9]+$")
_OPERATOR_WORDS = {"AND", "OR", "NOT", "MISSING"}


def _quote(term: str) -> str:
    """A term as Essie reads it: bare when alphanumeric, else a quoted phrase."""
    if _BARE.match(term) and term.upper() not in _OPERATOR_WORDS:
        return term
    return '"' + term.replace('"', " ") + '"'


def _any_of(*terms: str) -> str:
    """Join terms with upper-case OR, quoting multi-word and hyphenated terms as phrases."""
    return " OR ".join(_quote(t) for t in terms)


QUERIES: tuple[SearchQuery, ...] = (
    SearchQuery(
        name="car_t",
        family="CAR-T",
        term=_any_of(
            # The generic name and its spellings; Relaxation covers CAR-T / CAR T / CAR-T-cell.
            "chimeric antigen receptor",
            "CAR-T",
            "CAR T",
            # "CART" is a common registry spelling that Relaxation does not split into CAR T.
            "CART",
            "CAR-modified",
            "CAR-engineered",
            # Older records and some sponsors say "chimeric receptor" or describe the product
            # only as engineered / gene-modified T cells; the classifier sorts out the rest.
            "chimeric receptor",
            "chimeric T cell receptor",
            "gene-modified T cells",
            "genetically modified T cells",
            "genetically engineered lymphocytes",
            "engineered T cells",
            "redirected T cells",
            # Approved and late-stage products are often named only by INN or brand name.
            "tisagenlecleucel",
            "axicabtagene ciloleucel",
            "brexucabtagene autoleucel",
            "lisocabtagene maraleucel",
            "idecabtagene vicleucel",
            "ciltacabtagene autoleucel",
            "obecabtagene autoleucel",
            "relmacabtagene autoleucel",
            "equecabtagene autoleucel",
            "zevorcabtagene autoleucel",
            "inaticabtagene autoleucel",
            "Kymriah",
            "Yescarta",
            "Tecartus",
            "Breyanzi",
            "Abecma",
            "Carvykti",
            "Aucatzyl",
        ),
        reason="CAR-T: the generic term, its registry spellings, and the products' INNs and "
        "brand names (trials of approved products often name only the product).",
    ),
    SearchQuery(
        name="tcr_t",
        family="TCR-T",
        term=_any_of(
            "TCR-T",
            "TCR-engineered",
            "TCR-transduced",
            "TCR-modified",
            "TCR gene therapy",
            "T cell receptor engineered",
            "T-cell receptor engineered",
            "T cell receptor transduced",
            "T-cell receptor transduced",
            "engineered T cell receptor",
            "transgenic TCR",
            "afamitresgene autoleucel",
            "afami-cel",
            "letetresgene autoleucel",
            "lete-cel",
            "Tecelra",
        ),
        reason="TCR-T: engineered T-cell-receptor therapies are described as TCR-T, "
        "TCR-engineered/-transduced T cells, or by product name; bare 'TCR' is left out "
        "because it is everywhere (CAR constructs, immunology assays).",
    ),
    SearchQuery(
        name="til",
        family="TIL",
        term=_any_of(
            "tumor infiltrating lymphocytes",
            "tumour infiltrating lymphocytes",
            "tumor-infiltrating lymphocytes",
            "TIL therapy",
            "TIL infusion",
            "TIL cells",
            "lifileucel",
            "Amtagvi",
            "LN-144",
            "LN-145",
        ),
        reason="TIL: the full name in both spellings and the product names; bare 'TIL' is "
        "left out (it would also pull every TIL-as-biomarker study), the phrases above catch "
        "TIL therapy trials, which always spell the name out somewhere.",
    ),
    SearchQuery(
        name="nk",
        family="NK",
        term=_any_of(
            "natural killer cells",
            "NK cells",
            "NK cell therapy",
            "NK cell infusion",
            "CAR-NK",
            "NK-92",
            "NK92",
            "memory-like NK",
            "cytokine-induced memory-like",
        ),
        reason="NK and CAR-NK: NK cell products, NK-92 lines and CAR-NK; this also pulls "
        "NK/T-cell lymphoma trials, which the classifier rejects.",
    ),
    SearchQuery(
        name="other_engineered",
        family="OTHER",
        term=_any_of(
            "CAR-NKT",
            "CAR NKT",
            "iNKT",
            "NKT cells",
            "gamma delta T cells",
            "gammadelta T cells",
            "γδ T cells",
            "CAR-M",
            "CAR macrophages",
            "chimeric antigen receptor macrophages",
        ),
        reason="Other engineered immune cells landscape reports track: CAR-NKT / iNKT, "
        "CAR-γδT and gamma-delta T cells, CAR macrophages (CAR-M).",
    ),
)


#: Longest Essie OR-list of one product query (characters of `query.term`).
MAX_PRODUCT_TERM_CHARS = 1500
#: Product terms shorter than this are too ambiguous for a registry-wide search.
MIN_PRODUCT_TERM = 4


def _product_terms() -> list[str]:
    """Every name, INN, brand name and alias of the reviewed product dictionary, once."""
    text = resources.files("trialtrends.data").joinpath("products.csv").read_text(encoding="utf-8")
    seen: dict[str, str] = {}
    for row in csv.DictReader(text.splitlines()):
        names = [row["name"], row["inn"], *row["brand_names"].split("|"), *row["aliases"].split("|")]
        for name in (n.strip() for n in names):
            if len(re.sub(r"[^A-Za-z0-9]", "", name)) >= MIN_PRODUCT_TERM:
                seen.setdefault(name.lower(), name)
    return list(seen.values())


def product_queries(base: tuple[SearchQuery, ...]) -> tuple[SearchQuery, ...]:
    """The product dictionary's names and codes as extra queries `products_1..n`.

    Terms already in a base query are left out; the rest are batched in dictionary order so no
    query's OR-list exceeds MAX_PRODUCT_TERM_CHARS.
    """
    covered = {t.strip('"').lower() for q in base for t in q.term.split(" OR ")}
    batches: list[list[str]] = [[]]
    for term in _product_terms():
        if term.lower() in covered:
            continue
        if batches[-1] and len(_any_of(*batches[-1], term)) > MAX_PRODUCT_TERM_CHARS:
            batches.append([])
        batches[-1].append(term)
    return tuple(
        SearchQuery(
            name=f"products_{i}",
            family="PRODUCTS",
            term=_any_of(*batch),
            reason="Products of the reviewed dictionary (data/products.csv) by name, INN, brand "
            "and development code: records that name only a code (bb2121, HY004) carry no "
            "modality word the queries above would find.",
        )
        for i, batch in enumerate((b for b in batches if b), start=1)
    )


QUERIES = QUERIES + product_queries(QUERIES)


#: Registry mode's nightly delta: no search terms, every study updated since a date (API-NOTES:
#: AACT keeps its whole-registry mirror current the same way).
UPDATES = SearchQuery(
    name="updates",
    family="registry",
    term="",
    reason="every study whose record was updated since the last registry run (minus a day of overlap)",
)


def search_params(query: SearchQuery, since: date | None = None) -> dict[str, str]:
    """The exact /studies parameters for one query; identical on every page of it."""
    params = {"query.term": query.term} if query.term else {}
    params.update(pageSize=str(PAGE_SIZE), countTotal="true", format="json")
    if since is not None:
        # API-NOTES: RANGE never matches a study lacking the field; every study has a last update.
        params["filter.advanced"] = f"AREA[LastUpdatePostDate]RANGE[{since.isoformat()},MAX]"
    return params
