"""Pandera models: the contract of every warehouse table, one model per table.

Each field's `description` comes from `fields.py`, the one description of every column name: the
warehouse writes it as `COMMENT ON COLUMN`, and each model's `Config.unique` is the table's key (pandera checks it,
the DDL declares it). `registry` holds the tables normalised from study records, `derived`
the classifiers' outputs, the reviewed lookup tables and the run history.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from trialtrends.schemas.derived import *  # noqa: F403 (the models and their vocabularies)
from trialtrends.schemas.registry import *  # noqa: F403


def polars_schema(model: type[pa.DataFrameModel]) -> dict[str, pl.DataType]:
    """The Polars dtypes a model declares, in column order (used to build empty frames)."""
    return {name: col.dtype.type for name, col in model.to_schema().columns.items()}


def descriptions(model: type[pa.DataFrameModel]) -> dict[str, str]:
    """Column -> description, the text the warehouse writes as column comments."""
    return {name: col.description or "" for name, col in model.to_schema().columns.items()}


def primary_key(model: type[pa.DataFrameModel]) -> tuple[str, ...]:
    """The model's key (its Config.unique): pandera checks it, the DDL declares it."""
    schema = model.to_schema()
    if schema.unique:
        return tuple(schema.unique)
    return tuple(name for name, col in schema.columns.items() if col.unique)
