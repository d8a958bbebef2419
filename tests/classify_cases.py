"""Classify many hand-written text rows in one batch (the classifier has a fixed cost per call).

A test module registers its rows at import time (`cases.add(key, **fields)`), a module-scoped
fixture classifies them all once (`cases.run()`), and each test reads its own row back by key.
"""

from __future__ import annotations

from collections.abc import Hashable

import polars as pl

from trialtrends.transform.classify import Classification, classify
from trialtrends.transform.study_text import TEXT_COLUMNS, text_frame


def row(nct: str = "NCT00000001", **fields: str | list[str] | None) -> dict[str, str | None]:
    """A text row; interventions given as a list are joined like study_text does."""
    out: dict[str, str | None] = {c: None for c in TEXT_COLUMNS}
    out["nct_id"] = nct
    for key, value in fields.items():
        assert key in TEXT_COLUMNS, key
        out[key] = " | ".join(value) if isinstance(value, list) else value
    return out


class Cases:
    """Rows registered by key, classified together."""

    def __init__(self) -> None:
        self._nct: dict[Hashable, str] = {}
        self._rows: list[dict[str, str | None]] = []
        self.result: Classification | None = None

    def add(self, key: Hashable, **fields: str | list[str] | None) -> str:
        """Register one row; returns its generated nct_id."""
        assert key not in self._nct, key
        nct = f"NCT{len(self._rows) + 1:08d}"
        self._nct[key] = nct
        self._rows.append(row(nct, **fields))
        return nct

    def run(self) -> Cases:
        self.result = classify(text_frame(self._rows))
        return self

    def nct(self, key: Hashable) -> str:
        return self._nct[key]

    def mods(self, key: Hashable) -> list[str]:
        """Modalities of one row, in the fixed modality order."""
        assert self.result is not None
        return self.result.modalities.filter(pl.col("nct_id") == self._nct[key])["modality"].to_list()

    def roles(self, key: Hashable) -> dict[str, str]:
        """modality -> role of one row."""
        assert self.result is not None
        rows = self.result.modalities.filter(pl.col("nct_id") == self._nct[key])
        return dict(zip(rows["modality"], rows["role"], strict=True))

    def flags(self, key: Hashable) -> dict:
        """Flag row of one row."""
        assert self.result is not None
        return self.result.flags.filter(pl.col("nct_id") == self._nct[key]).row(0, named=True)

    def products(self, key: Hashable) -> list[str]:
        """Product ids linked to one row."""
        assert self.result is not None
        return self.result.products.filter(pl.col("nct_id") == self._nct[key])["product_id"].to_list()

    def evidence(self, key: Hashable) -> list[str]:
        assert self.result is not None
        return self.result.modalities.filter(pl.col("nct_id") == self._nct[key])["evidence"].to_list()
