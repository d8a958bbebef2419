"""DuckDB DDL for the warehouse, derived from the pandera models (schemas.WAREHOUSE_MODELS).

Column comments come from the models' descriptions, which the models take from
`schemas/fields.py` (one description per column name).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from trialtrends.schemas import WAREHOUSE_MODELS, descriptions, polars_schema, primary_key


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    nullable: bool
    comment: str


@dataclass(frozen=True)
class Table:
    name: str
    comment: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()

    def ddl(self) -> str:
        cols = [f"{c.name} {c.sql_type}{'' if c.nullable else ' not null'}" for c in self.columns]
        if self.primary_key:
            nullable = {c.name for c in self.columns if c.nullable}
            # A primary key cannot hold nulls; a key with optional parts is a unique constraint.
            kind = "unique" if nullable.intersection(self.primary_key) else "primary key"
            cols.append(f"{kind} ({', '.join(self.primary_key)})")
        return f"create table {self.name} (\n    " + ",\n    ".join(cols) + "\n)"


_SQL_TYPES = {
    pl.Utf8: "varchar",
    pl.Int64: "bigint",
    pl.Int32: "integer",
    pl.Date: "date",
    pl.Boolean: "boolean",
    pl.Float64: "double",
    pl.Datetime: "timestamp",
}


def _sql_type(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.List):
        return _sql_type(dtype.inner) + "[]"
    for polars_type, sql in _SQL_TYPES.items():
        if dtype == polars_type:
            return sql
    raise TypeError(f"no DuckDB type for {dtype}")


def _from_model(name: str, model: type) -> Table:
    schema = model.to_schema()
    notes = descriptions(model)
    return Table(
        name=name,
        comment=(model.__doc__ or "").strip(),
        columns=tuple(
            Column(col, _sql_type(dtype), schema.columns[col].nullable, notes[col])
            for col, dtype in polars_schema(model).items()
        ),
        primary_key=primary_key(model),
    )


#: Every warehouse table, from its pandera model (the one definition of its columns and key).
TABLES: tuple[Table, ...] = tuple(_from_model(name, model) for name, model in WAREHOUSE_MODELS.items())

TABLES_BY_NAME = {t.name: t for t in TABLES}


def quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"
