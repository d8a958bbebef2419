"""Public constants and the result type of the classifier, and how rule classes make modalities."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

CLASSIFIER_VERSION = "2026.12.2"

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


def resolve(b: dict[str, pl.Expr]) -> dict[str, pl.Expr]:
    """Turn rule-class hits (one tier set) into modality booleans."""
    car_not_t = b["CAR-NK"] | b["CAR-NKT"] | b["CAR-gdT"] | b["CAR-M"] | b["CAR-OTHER"]
    out = {
        # "γδ CAR T cells" and CAR-NKT texts also say "CAR T": the named cell type wins.
        "CAR-T": (b["CAR-T"] & ~(b["CAR-gdT"] | b["CAR-NKT"])) | (b["CAR"] & ~car_not_t),
        "CAR-NK": b["CAR-NK"],
        # A CAR-NK or NKT description always says "NK cells" too.
        "NK": b["NK"] & ~(b["CAR-NK"] | b["CAR-NKT"] | b["NKT"]),
        "TCR-T": b["TCR-T"],
        "TIL": b["TIL"],
        "CAR-NKT": b["CAR-NKT"],
        "CAR-gdT": b["CAR-gdT"],
        "CAR-M": b["CAR-M"],
    }
    car_or_tcr = out["CAR-T"] | out["CAR-NK"] | out["CAR-NKT"] | out["CAR-gdT"] | out["CAR-M"] | out["TCR-T"]
    # Virus-specific T cells usually carry the CAR of a CAR-T trial ("HER2 CAR CMV-specific
    # CTLs"); DC vaccines, CIK, Tregs and antigen-specific T cells are separate products.
    out["OTHER-CELL"] = (
        b["OTHER-CELL"]
        | (b["NKT"] & ~b["CAR-NKT"])
        | (b["GDT"] & ~b["CAR-gdT"])
        | (b["VST"] & ~car_or_tcr)
        | b["CAR-OTHER"]
    )
    return out
