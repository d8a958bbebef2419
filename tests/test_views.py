"""The landscape views and every view's comments, on the corpus warehouse plus fixture rows.

The corpus warehouse (a refresh from the fake API) has real trials, sponsors and targets; the
disease and product tables are filled here by hand-written rules and rows, so each view can be
compared with an independent count computed in Polars from the base tables.
"""

from __future__ import annotations

import shutil

import duckdb
import polars as pl
import pytest

from trialtrends.load.views import VIEWS, create_views, parse_header, view_docs, view_sql
from trialtrends.schemas import ACCEPTED_VALUES
from trialtrends.schemas.fields import FIELDS, UndescribedField

# Hand-written disease rules for the fixture: (regex on a condition, area, category).
DISEASE_RULES = [
    ("lymphoma", "haematological malignancy", "B-cell lymphoma"),
    ("leuk(a)?emia", "haematological malignancy", "leukaemia"),
    ("myeloma", "haematological malignancy", "multiple myeloma"),
    ("lupus", "autoimmune / immune-mediated", "SLE"),
    ("sclerosis", "autoimmune / immune-mediated", "multiple sclerosis"),
    ("glioblastoma|solid tumou?r", "solid tumour", "solid tumours"),
    ("hiv", "infectious disease", "HIV"),
]

# Hand-written products: id, name, modality, targets, cell source, developer, country.
PRODUCTS = [
    ("tisa-cel", "tisagenlecleucel", "CAR-T", ["CD19"], "autologous", "Novartis", "Switzerland"),
    ("axi-cel", "axicabtagene ciloleucel", "CAR-T", ["CD19"], "autologous", "Kite", "United States"),
    ("cilta-cel", "ciltacabtagene autoleucel", "CAR-T", ["BCMA"], "autologous", "Legend Biotech", "China"),
    ("nk-x", "NK-X", "CAR-NK", [], None, None, None),
]
APPROVALS = [
    ("tisa-cel", "FDA", 2017, "B-ALL"),
    ("tisa-cel", "EMA", 2018, "B-ALL, DLBCL"),
    ("axi-cel", "FDA", 2017, "LBCL"),
    ("cilta-cel", "FDA", 2022, "multiple myeloma"),
]
PRODUCT_NAMES = {
    "tisa-cel": "tisagenlecleucel",
    "axi-cel": "axicabtagene",
    "cilta-cel": "ciltacabtagene|lcar-b38m",
}


@pytest.fixture(scope="module")
def landscape(corpus_warehouse, tmp_path_factory):
    """A copy of the corpus warehouse with disease and product fixture rows: a connection."""
    path = tmp_path_factory.mktemp("landscape") / "trialtrends.duckdb"
    shutil.copy(corpus_warehouse.warehouse_path, path)
    con = duckdb.connect(str(path))
    for pattern, area, category in DISEASE_RULES:
        con.execute(
            "insert into trial_diseases select distinct nct_id, ?, ?, null, 'fixture: ' || ? "
            "from trial_conditions where regexp_matches(lower(condition), ?) "
            "on conflict do nothing",
            [area, category, pattern, pattern],
        )
    # The published dictionary and its trial links are replaced by the fixture products.
    con.execute("delete from trial_products; delete from product_approvals; delete from products")
    con.executemany("insert into products values (?, ?, null, [], [], ?, ?, ?, ?, ?, 'fixture')", PRODUCTS)
    con.executemany("insert into product_approvals values (?, ?, ?, ?)", APPROVALS)
    for product_id, pattern in PRODUCT_NAMES.items():
        con.execute(
            "insert into trial_products select distinct nct_id, ?, 'fixture' from trial_interventions "
            "where regexp_matches(lower(name), ?)",
            [product_id, pattern],
        )
    # The CAR-NK product is given by two CAR-NK trials.
    con.execute(
        "insert into trial_products select nct_id, 'nk-x', 'fixture' from trial_modalities "
        "where modality = 'CAR-NK' order by nct_id limit 2"
    )
    create_views(con)  # as a publish does after the tables: the report's tables follow the rows
    yield con
    con.close()


def frame(con: duckdb.DuckDBPyConnection, sql: str) -> pl.DataFrame:
    return con.sql(sql).pl()


def counted_base(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The counted trials (nct_id, modality, basis, year): trial_group_years, whose own counts
    test_warehouse.py checks against the base tables."""
    return frame(con, "select nct_id, modality, basis, year from trial_group_years")


def test_every_view_and_view_column_has_a_comment(landscape):
    views = dict(
        landscape.execute("select view_name, comment from duckdb_views() where not internal").fetchall()
    )
    assert set(VIEWS) <= set(views)
    for name in VIEWS:
        assert views[name] and views[name].strip(), name
    missing = landscape.execute(
        "select table_name, column_name from duckdb_columns() "
        "where schema_name = 'main' and table_name in (select view_name from duckdb_views() where not internal) "
        "and (comment is null or trim(comment) = '')"
    ).fetchall()
    assert missing == []


def test_documented_columns_are_exactly_the_view_columns(landscape):
    for name, doc in view_docs().items():
        actual = [
            r[0]
            for r in landscape.execute(
                "select column_name from duckdb_columns() where table_name = ? and schema_name = 'main' "
                "order by column_index",
                [name],
            ).fetchall()
        ]
        assert list(doc.columns) == actual, name
        assert doc.comment.startswith(name) is False and "grain:" in doc.comment, name
        assert view_sql(name).lower().count(f"create or replace view {name}") == 1, name


def test_header_parser_reads_columns_grain_and_tests_and_refuses_a_bad_line():
    doc = parse_header(
        "v",
        "-- v: what it is.\n-- grain: one row per (basis, year).\n"
        "-- columns: basis, modality=report_group,\n--   year, trials\n-- not null: trials\nselect 1",
    )
    assert doc.comment == "what it is. grain: one row per (basis, year)."
    assert doc.fields == {"basis": "basis", "modality": "report_group", "year": "year", "trials": "trials"}
    assert doc.columns["modality"] == FIELDS["report_group"] and doc.columns["basis"] == FIELDS["basis"]
    assert doc.grain == ("basis", "year") and doc.not_null == ("trials",)
    with pytest.raises(ValueError, match="cannot read header line"):
        parse_header("v", "-- v: x\n-- grain: one row per (x).\n-- columns: x\n-- x: prose here\nselect 1")
    with pytest.raises(ValueError, match="cannot read column"):
        parse_header(
            "v", "-- v: x\n-- grain: one row per (x).\n-- columns:\n--   x: described here\nselect 1"
        )
    with pytest.raises(ValueError, match="no '-- columns:' block"):
        parse_header("v", "-- v: x\nselect 1")
    with pytest.raises(ValueError, match="declares no 'grain"):
        parse_header("v", "-- v: x\n-- columns: x\nselect 1")
    with pytest.raises(ValueError, match="does not list"):
        parse_header("v", "-- v: x\n-- grain: one row per (y).\n-- columns: x\nselect 1")
    with pytest.raises(UndescribedField, match=r"fields\.py"):
        parse_header("v", "-- v: x\n-- grain: one row per (x).\n-- columns: x, no_such_field\nselect 1")


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_passes_the_tests_its_header_declares(landscape, view):
    """dbt-style tests from the header: the grain is unique and not null, the declared columns are
    not null, and a column whose field has accepted values holds only those."""
    doc = view_docs()[view]
    assert landscape.execute(f"select count(*) from {view}").fetchall()[0][0] > 0, view
    keys = ", ".join(doc.grain)
    dupes = landscape.execute(f"select {keys}, count(*) from {view} group by all having count(*) > 1 limit 5")
    assert dupes.fetchall() == [], view
    for column in (*doc.grain, *doc.not_null):
        nulls = landscape.execute(f'select count(*) from {view} where "{column}" is null').fetchall()[0][0]
        assert nulls == 0, (view, column)
    for column, field in doc.fields.items():
        if field in ACCEPTED_VALUES:
            seen = {r[0] for r in landscape.execute(f'select distinct "{column}" from {view}').fetchall()}
            assert seen <= set(ACCEPTED_VALUES[field]), (view, column, seen - set(ACCEPTED_VALUES[field]))


def test_rank_and_share_are_written_once():
    """The ranked and shared views call the shared macros instead of repeating the window and the
    join to the year's totals."""
    for view in VIEWS:
        sql = view_sql(view).lower()
        assert "rank() over" not in sql and "/ totals.trials" not in sql, view
    shared = view_sql("rank_and_share").lower()
    assert "rank() over" in shared and "/ totals.trials" in shared


def _year_grid(base: pl.DataFrame) -> pl.DataFrame:
    """Every (modality, basis, year) from each group's first to last year under the basis."""
    spans = base.group_by("modality", "basis").agg(
        pl.col("year").min().alias("lo"), pl.col("year").max().alias("hi")
    )
    return (
        spans.with_columns(pl.int_ranges("lo", pl.col("hi") + 1).alias("year"))
        .explode("year")
        .select("modality", "basis", pl.col("year").cast(pl.Int32))
    )


def _totals(base: pl.DataFrame) -> pl.DataFrame:
    return base.group_by("modality", "basis", "year").agg(pl.col("nct_id").n_unique().alias("total"))


def _filled(
    expected: pl.DataFrame, grid: pl.DataFrame, totals: pl.DataFrame, keys: list[str]
) -> pl.DataFrame:
    out = grid.join(expected, on=keys, how="left").join(totals, on=["modality", "basis", "year"], how="left")
    return out.with_columns(
        pl.col("trials").fill_null(0),
        (pl.col("trials").fill_null(0) / pl.col("total")).fill_null(0.0).fill_nan(0.0).alias("share"),
    ).drop("total")


def _compare(got: pl.DataFrame, expected: pl.DataFrame, keys: list[str]) -> None:
    got = got.sort(keys)
    expected = expected.select(got.columns).sort(keys)
    assert got.height == expected.height
    assert got.select(keys).rows() == expected.select(keys).rows()
    assert got["trials"].to_list() == expected["trials"].cast(pl.Int64).to_list()
    assert got["share"].to_list() == pytest.approx(expected["share"].to_list())


def test_disease_area_table_equals_an_independent_count_with_zero_years(landscape):
    base = counted_base(landscape)
    diseases = frame(landscape, "select distinct nct_id, area from trial_diseases")
    per_trial = base.join(diseases, on="nct_id", how="left").with_columns(pl.col("area").fill_null("unknown"))
    expected = per_trial.group_by("modality", "basis", "year", "area").agg(
        pl.col("nct_id").n_unique().alias("trials")
    )
    areas = pl.DataFrame({"area": sorted({*diseases["area"].to_list(), "unknown"})})
    grid = _year_grid(base).join(areas, how="cross")
    keys = ["modality", "basis", "year", "area"]
    expected = _filled(expected, grid, _totals(base), keys)
    _compare(
        frame(landscape, "select modality, basis, year, area, trials, share from disease_area_table"),
        expected,
        keys,
    )
    # The fixture rules put lupus trials in the autoimmune area; a zero year exists for it.
    assert (
        landscape.execute(
            "select count(*) from disease_area_table where area = 'autoimmune / immune-mediated' and trials = 0"
        ).fetchall()[0][0]
        > 0
    )


def test_target_table_equals_an_independent_count_and_ranks(landscape):
    base = counted_base(landscape)
    targets = (
        frame(landscape, "select nct_id, targets from trial_flags")
        .explode("targets")
        .rename({"targets": "target"})
    )
    per_trial = base.join(targets, on="nct_id", how="left").with_columns(
        pl.col("target").fill_null("Not named")
    )
    keys = ["modality", "basis", "year", "target"]
    expected = (
        per_trial.group_by(keys).agg(pl.col("nct_id").n_unique().alias("trials"))
        .join(_totals(base), on=["modality", "basis", "year"])
        .with_columns((pl.col("trials") / pl.col("total")).alias("share"))
    )  # fmt: skip
    got = frame(landscape, "select modality, basis, year, target, trials, share, rank from target_table")
    _compare(got.drop("rank"), expected, keys)
    assert (
        got.filter(pl.col("target") == "Not named")["rank"].null_count()
        == got.filter(pl.col("target") == "Not named").height
    )
    named = got.filter(pl.col("target") != "Not named")
    ranked = named.with_columns(
        pl.col("trials")
        .rank("min", descending=True)
        .over("modality", "basis", "year")
        .cast(pl.Int32)
        .alias("expected")
    )
    assert ranked["rank"].to_list() == ranked["expected"].to_list()


def test_cell_source_table_equals_an_independent_count(landscape):
    base = counted_base(landscape)
    sources = frame(landscape, "select nct_id, cell_source, cell_source_basis from trial_flags").with_columns(
        pl.col("cell_source_basis").fill_null("unknown").alias("source_basis")
    )
    keys = ["modality", "basis", "year", "cell_source", "source_basis"]
    expected = (
        base.join(sources, on="nct_id").group_by(keys).agg(pl.col("nct_id").n_unique().alias("trials"))
        .join(_totals(base), on=["modality", "basis", "year"])
        .with_columns((pl.col("trials") / pl.col("total")).alias("share"))
    )  # fmt: skip
    got = frame(landscape, f"select {', '.join(keys)}, trials, share from cell_source_table")
    _compare(got, expected, keys)
    # one cell source per trial: a group's rows of a year add up to its trials of the year
    sums = got.group_by("modality", "basis", "year").agg(pl.col("trials").sum())
    totals = frame(landscape, "select modality, basis, year, trials from yearly_counts")
    assert sums.sort("modality", "basis", "year").rows() == totals.sort("modality", "basis", "year").rows()


def test_sponsor_type_table_equals_an_independent_count_with_zero_years(landscape):
    base = counted_base(landscape)
    sponsors = frame(landscape, "select nct_id, role, sponsor_type from trial_sponsors")
    lead = sponsors.filter(pl.col("role") == "lead").with_columns(pl.lit("lead").alias("role"))
    anyrole = sponsors.with_columns(pl.lit("any").alias("role"))
    per_trial = base.join(pl.concat([lead, anyrole]), on="nct_id")
    keys = ["modality", "basis", "year", "role", "sponsor_type"]
    expected = per_trial.group_by(keys).agg(pl.col("nct_id").n_unique().alias("trials"))
    grid = (
        _year_grid(base).join(pl.DataFrame({"role": ["lead", "any"]}), how="cross")
        .join(sponsors.select("sponsor_type").unique(), how="cross")
    )  # fmt: skip
    expected = _filled(expected, grid, _totals(base), keys)
    got = frame(
        landscape, "select modality, basis, year, role, sponsor_type, trials, share from sponsor_type_table"
    )
    _compare(got, expected, keys)
    lead_sums = frame(
        landscape,
        "select modality, basis, year, sum(share) as s from sponsor_type_table where role = 'lead' "
        "group by all having sum(trials) > 0",
    )
    assert lead_sums["s"].to_list() == pytest.approx([1.0] * lead_sums.height)  # one lead sponsor per trial


PHASE_ORDER = {
    "Early Phase 1": 1,
    "Phase 1": 2,
    "Phase 1/2": 3,
    "Phase 2": 4,
    "Phase 2/3": 5,
    "Phase 3": 6,
    "Phase 4": 7,
}


def test_product_table_equals_an_independent_count(landscape):
    counted = counted_base(landscape).select("nct_id").unique()
    links = frame(landscape, "select nct_id, product_id from trial_products")
    trials = frame(landscape, "select nct_id, phase, first_posted_year from trials")
    follow_up = frame(landscape, "select nct_id from trial_flags where is_long_term_follow_up")
    got = {r["product_id"]: r for r in frame(landscape, "select * from product_table").iter_rows(named=True)}
    assert set(got) == {p[0] for p in PRODUCTS}
    for product_id, *_ in PRODUCTS:
        mine = (
            links.filter(pl.col("product_id") == product_id)
            .join(counted, on="nct_id")
            .join(trials, on="nct_id")
        )
        row = got[product_id]
        assert row["trials"] == mine.height, product_id
        assert mine.join(follow_up, on="nct_id").height == 0
        phases = [PHASE_ORDER[p] for p in mine["phase"].to_list() if p in PHASE_ORDER]
        assert row["highest_phase_order"] == (max(phases) if phases else None), product_id
        if phases:
            assert PHASE_ORDER[row["highest_phase"]] == max(phases)
        assert row["first_trial_year"] == (mine["first_posted_year"].min() if mine.height else None)
    # A trial linked to tisa-cel that the default rules leave out (long-term follow-up) is not counted.
    assert links.filter(pl.col("product_id") == "tisa-cel").join(follow_up, on="nct_id").height >= 1
    assert (
        got["tisa-cel"]["approvals"] == "FDA 2017; EMA 2018"
        and got["tisa-cel"]["first_approval_year"] == 2017
    )
    assert (
        got["tisa-cel"]["is_approved"] and not got["nk-x"]["is_approved"] and got["nk-x"]["approvals"] is None
    )
    assert got["nk-x"]["trials"] == 2
    with_follow_up = dict(
        landscape.execute("select product_id, trials from product_table_by(true)").fetchall()
    )
    assert with_follow_up["tisa-cel"] > got["tisa-cel"]["trials"]


def test_products_by_phase_and_country_add_up_to_the_product_table(landscape):
    products = frame(landscape, "select * from product_table")
    by_phase = frame(landscape, "select * from products_by_phase")
    by_country = frame(landscape, "select * from products_by_country")
    assert by_phase["products"].sum() == products.height == by_country["products"].sum()
    assert (
        by_phase["approved_products"].sum()
        == products["is_approved"].sum()
        == by_country["approved_products"].sum()
    )
    assert by_country["products_in_trials"].sum() == products.filter(pl.col("trials") > 0).height
    nk = by_phase.filter(pl.col("modality") == "CAR-NK").row(0, named=True)
    nk_row = products.filter(pl.col("product_id") == "nk-x").row(0, named=True)
    assert nk["highest_phase"] == (nk_row["highest_phase"] or "No phase given") and nk["products"] == 1
    assert by_country.filter(pl.col("developer_country") == "Unknown")["products"].to_list() == [1]
    car_t = dict(
        by_country.filter(pl.col("modality") == "CAR-T").select("developer_country", "products").iter_rows()
    )
    assert car_t == {"Switzerland": 1, "United States": 1, "China": 1}
