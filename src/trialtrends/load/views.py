"""The analysts' views: one SQL file each in `sql/`, created in dependency order."""

from __future__ import annotations

from importlib import resources

import duckdb

# Views in dependency order; each file in sql/ is named after the view it creates.
VIEWS = (
    "trial_years", "trial_report_groups", "trial_group_years", "yearly_counts", "phase_distribution",
    "country_table", "sponsor_table", "latest_changes",
)  # fmt: skip


def view_sql(name: str) -> str:
    """The SQL of one view, read from the package (so an installed wheel builds its views)."""
    return resources.files("trialtrends.load").joinpath("sql", f"{name}.sql").read_text()


def create_views(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create every view from sql/, in dependency order."""
    for name in VIEWS:
        con.execute(view_sql(name))
