"""Public constants and the result type of the classifier."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

CLASSIFIER_VERSION = "2026.12.1"

MODALITIES: tuple[str, ...] = (
    "CAR-T",
    "CAR-NK",
    "NK",
    "TCR-T",
    "TIL",
    "CAR-NKT",
    "CAR-gdT",
    "CAR-M",
    "OTHER-CELL",
)

REPORT_GROUPS: dict[str, tuple[str, ...]] = {
    "CAR-T": ("CAR-T",),
    "TCR-T": ("TCR-T",),
    "TIL": ("TIL",),
    "NK": ("NK", "CAR-NK"),
    "ALL": ("CAR-T", "TCR-T", "TIL", "NK", "CAR-NK"),
}


@dataclass(frozen=True)
class Classification:
    """Classifier output: one row per (trial, modality) found with its role, one flag row per
    trial, and one row per (trial, known product) named."""

    modalities: pl.DataFrame
    flags: pl.DataFrame
    products: pl.DataFrame
