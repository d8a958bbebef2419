"""`trialtrends sql` is read-only in fact: a table of attacks, none of which writes, deletes,
reads outside the warehouse or changes a setting; the analysts' normal queries keep working."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from builders import study
from click.testing import CliRunner
from conftest import test_settings
from fakeapi import FakeCtgov

from trialtrends.cli import main
from trialtrends.pipeline import refresh

SECRET = "trialtrends-secret-canary-7f3a"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory):
    """A small published warehouse, a file outside it holding a canary, and a victim folder."""
    root = tmp_path_factory.mktemp("security")
    records = [
        study("NCT90000001", title="CD19 CAR-T cells for lymphoma", countries=["China"]),
        study("NCT90000002", title="BCMA CAR-T cells in myeloma", posted="2023-04-01"),
    ]
    with FakeCtgov(records) as fake:
        settings = test_settings(root, fake.url)
        refresh(settings)
    outside = root / "outside.txt"
    outside.write_text(SECRET + "\n")
    victim = root / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("keep\n")
    return settings, outside, victim


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(path: Path) -> dict[str, str]:
    """Every file below path with its checksum (to prove nothing was written or deleted)."""
    return {str(p.relative_to(path)): sha256(p) for p in sorted(path.rglob("*")) if p.is_file()}


def run_sql(settings, query: str):
    # "--" ends the options, so a query that starts with "--" (a comment) is still the query.
    args = ["sql", "--data-dir", str(settings.data_dir), "--", query]
    return CliRunner().invoke(main, args, catch_exceptions=False)


# {W} = the published warehouse, {O} = a file outside it, {V} = a folder outside it.
ATTACKS = [
    # Writing over the warehouse, the reported bug and its variants.
    "EXPLAIN ANALYZE COPY (select 'x') TO '{W}' (FORMAT csv)",
    "explain analyze copy (select 'x') to '{W}' (format csv)",
    "EXPLAIN (ANALYZE) COPY (select 'x') TO '{W}' (FORMAT csv)",
    "EXPLAIN (ANALYZE, FORMAT json) COPY (select 'x') TO '{W}'",
    "EXPLAIN /* hidden */ ANALYZE /* more */ COPY (select 'x') TO '{W}'",
    "explain\nanalyze\ncopy (select 1) to '{W}'",
    "EXPLAIN COPY (select 'x') TO '{W}'",
    "EXPLAIN ANALYZE EXPLAIN ANALYZE COPY (select 1) TO '{W}'",
    "COPY (select 'x') TO '{W}' (FORMAT csv)",
    "copy trials to '{W}'",
    "CoPy (SeLeCt 1) To '{W}'",
    "/* c */ COPY (select 1) TO '{W}'",
    "-- line comment\nCOPY (select 1) TO '{W}'",
    "COPY (select 1) TO '{V}' (FORMAT csv, PARTITION_BY (a), OVERWRITE)",
    "COPY (select 1 as a) TO '{V}' (FORMAT parquet, PARTITION_BY (a), OVERWRITE_OR_IGNORE)",
    "EXPLAIN ANALYZE COPY (select 1 as a) TO '{V}' (FORMAT csv, PARTITION_BY (a), OVERWRITE)",
    "COPY (select * from read_text('{O}')) TO '{V}/stolen.csv'",
    "EXPORT DATABASE '{V}'",
    "EXPLAIN ANALYZE EXPORT DATABASE '{V}'",
    # Reading outside the warehouse.
    "select * from read_text('{O}')",
    "SELECT content FROM read_text('{O}')",
    "select * from read_text('/etc/passwd')",
    "select * from read_blob('{O}')",
    "select * from read_csv('{O}')",
    "select * from read_csv_auto('/etc/passwd')",
    "select * from '{O}'",
    "select * from glob('{V}/*')",
    "select * from glob('/etc/*')",
    "select * from read_json('{O}')",
    "select * from read_parquet('{V}/*.parquet')",
    "with t as (select * from read_text('{O}')) select * from t",
    "select (select content from read_text('{O}')) as x",
    "EXPLAIN ANALYZE select * from read_text('{O}')",
    "select * from sniff_csv('{O}')",
    "select * from parquet_metadata('{O}')",
    # Databases and extensions.
    "ATTACH '{V}/new.duckdb' AS x",
    "attach '{W}' as again",
    "DETACH trialtrends",
    "INSTALL httpfs",
    "LOAD httpfs",
    "FORCE INSTALL httpfs",
    "select * from sqlite_scan('{O}', 't')",
    # Settings.
    "SET enable_external_access = true",
    "set lock_configuration = false",
    "RESET enable_external_access",
    "SET GLOBAL threads = 1",
    "PRAGMA enable_profiling",
    "PRAGMA threads=1",
    "select set_config('enable_external_access', 'true')",
    "CALL pragma_version()",
    "CHECKPOINT",
    "FORCE CHECKPOINT",
    "VACUUM",
    # Writes to the database itself.
    "DELETE FROM trials",
    "delete from trials where true",
    "UPDATE trials SET brief_title = 'x'",
    "INSERT INTO trials (nct_id) VALUES ('NCT00000000')",
    "DROP TABLE trials",
    "drop view yearly_counts",
    "CREATE TABLE x AS SELECT 1",
    "CREATE OR REPLACE VIEW yearly_counts AS SELECT 1",
    "create macro m() as 1",
    "ALTER TABLE trials RENAME TO t2",
    "TRUNCATE trials",
    "with x as (select 1) delete from trials",
    "COMMENT ON TABLE trials IS 'x'",
    "BEGIN TRANSACTION",
    # Several statements.
    "select 1; delete from trials",
    "select 1; COPY (select 1) TO '{W}'",
    "select 1;; drop table trials",
    "select 1; select 2",
    # Nothing at all.
    "",
    "   ",
    "-- only a comment",
]


def test_attack_table_is_large():
    assert len(ATTACKS) >= 50


@pytest.mark.parametrize("template", ATTACKS)
def test_attack_is_refused_and_changes_nothing(warehouse, template):
    settings, outside, victim = warehouse
    query = template.format(W=settings.warehouse_path, O=outside, V=victim)
    before_wh, before_victim, before_outside = sha256(settings.warehouse_path), tree(victim), sha256(outside)
    result = run_sql(settings, query)
    assert result.exit_code != 0, f"{query!r} ran: {result.output}"
    assert "Traceback" not in result.output
    assert result.output.strip().startswith("Error: "), result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert SECRET not in result.output
    assert sha256(settings.warehouse_path) == before_wh
    assert tree(victim) == before_victim
    assert sha256(outside) == before_outside
    # Nothing new beside the warehouse either (a COPY target, a WAL, an attached file).
    assert sorted(p.name for p in settings.warehouse_dir.iterdir()) == ["trialtrends.duckdb"]


NORMAL = [
    "select count(*) from trials",
    "SELECT nct_id FROM trials ORDER BY 1",
    "with t as (select * from trials) select count(*) from t",
    "from trials select nct_id",
    "table trials",
    "values (1, 2)",
    "describe trials",
    "DESCRIBE select * from trials",
    "show tables",
    "show all tables",
    "summarize trials",
    "select * from yearly_counts_by(true)",
    "select * from country_table_by(true)",
    "explain select * from trials",
    "EXPLAIN ANALYZE select count(*) from trials",
    "explain (analyze) select 1",
    "pivot (select modality, year from yearly_counts) on modality using count(*)",
    "select table_name, comment from duckdb_tables()",
    "select current_setting('enable_external_access') as ext",
    "/* leading comment */ select 1",
    "select 1 -- trailing comment; drop table trials",
    "select 'COPY (x) TO y' as text",
]


@pytest.mark.parametrize("query", NORMAL)
def test_normal_queries_work(warehouse, query):
    settings, _, _ = warehouse
    before = sha256(settings.warehouse_path)
    result = run_sql(settings, query)
    assert result.exit_code == 0, result.output
    assert sha256(settings.warehouse_path) == before


def test_external_access_is_off_and_locked(warehouse):
    settings, _, _ = warehouse
    result = run_sql(settings, "select current_setting('enable_external_access') as ext, "
                     "current_setting('lock_configuration') as locked")  # fmt: skip
    assert result.exit_code == 0
    assert "False" in result.output and "True" in result.output
