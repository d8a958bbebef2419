"""The warehouse opens in the real DuckDB CLI (the `duckdb-cli` package, a dev dependency):
the README's example queries run there as an analyst would type them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from builders import study
from conftest import test_settings
from fakeapi import FakeCtgov

from trialtrends.pipeline import refresh

REPO = Path(__file__).resolve().parents[1]
DUCKDB = Path(sys.executable).with_name("duckdb")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not DUCKDB.is_file():
        pytest.skip(f"the DuckDB CLI is not installed at {DUCKDB} (uv sync installs the dev group)")
    records = [
        study("NCT90000001", title="CD19 CAR-T cells for lymphoma", countries=["China"], posted="2021-05-01"),
        study(
            "NCT90000002",
            title="BCMA CAR-T cells in myeloma",
            posted="2022-04-01",
            countries=["United States"],
        ),
        study(
            "NCT90000003",
            title="CD33 CAR-NK cells in AML",
            summary="CD33 CAR-NK cells",
            posted="2022-06-01",
            interventions=[{"type": "BIOLOGICAL", "name": "CD33 CAR-NK cells"}],
        ),
    ]
    with FakeCtgov(records) as fake:
        settings = test_settings(tmp_path_factory.mktemp("cli"), fake.url)
        refresh(settings)
    return settings.warehouse_path


def duckdb_cli(path: Path, sql: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(DUCKDB), "-readonly", "-csv", str(path), "-c", sql], capture_output=True, text=True
    )


def readme_queries() -> list[str]:
    """The statements of the "Example queries" block of docs/using-the-data.md."""
    text = (REPO / "docs" / "using-the-data.md").read_text()
    block = re.search(r"### Example queries\s+```sql\n(.*?)```", text, re.S)
    assert block, "docs/using-the-data.md has no Example queries block"
    statements = [s.strip() for s in block.group(1).split(";")]
    return [s for s in statements if re.sub(r"--[^\n]*", "", s).strip()]


def test_the_cli_is_a_released_1x_client(warehouse):
    result = duckdb_cli(warehouse, "select version()")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].startswith("v1.")


def test_the_cli_opens_the_warehouse_and_reads_a_view(warehouse):
    result = duckdb_cli(
        warehouse,
        "select modality, year, trials from yearly_counts where basis = 'first_posted' order by all",
    )
    assert result.returncode == 0, result.stderr
    rows = result.stdout.strip().splitlines()
    assert rows[0] == "modality,year,trials"
    assert "CAR-T,2022,1" in rows and "NK,2022,1" in rows and "ALL,2022,2" in rows


@pytest.mark.parametrize("sql", readme_queries())
def test_readme_example_queries_run_in_the_cli(warehouse, sql):
    result = duckdb_cli(warehouse, sql)
    assert result.returncode == 0, f"{sql}\n{result.stderr}"
    assert "Error" not in result.stderr


def test_views_and_table_macros_bind_in_the_cli(warehouse):
    from trialtrends.load.views import VIEWS

    for view in VIEWS:
        result = duckdb_cli(warehouse, f"select count(*) from {view}")
        assert result.returncode == 0, f"{view}: {result.stderr}"
    result = duckdb_cli(warehouse, "select count(*) from country_table_by(true)")
    assert result.returncode == 0, result.stderr
