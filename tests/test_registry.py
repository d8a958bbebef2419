"""Registry mode: a downloaded baseline plus nightly deltas equals a fresh baseline of the same day.

A week on the fake API (tests/fakeapi.py, which serves the download and the update query and
moves the registry between days): day 0 a baseline; days 1-6 deltas with a new CAR-T trial, a
study whose text change makes it cell therapy, a trial whose change makes it not, a phase and
status change, a data refresh during a delta, and a night that fails at the network. After day 6
the warehouse equals a fresh baseline of day 6's registry, table by table and view by view (but
for the run that brought each row); a study removed on day 4 goes with the next baseline.
"""

from __future__ import annotations

import copy
from pathlib import Path

import duckdb
import pytest
from builders import study
from click.testing import CliRunner
from conftest import test_settings
from fakeapi import FakeCtgov

from trialtrends.cli import main
from trialtrends.extract.raw import list_runs
from trialtrends.load.views import VIEWS, create_views
from trialtrends.load.warehouse import TRIAL_TABLES
from trialtrends.pipeline import refresh

pytestmark = pytest.mark.registry

DAY0 = "2026-11-30T09:00:06"
# Views whose rows name runs or changes (they differ between any two builds by design).
RUN_VIEWS = {"latest_changes"}
# Columns that say which run brought a row, or the bytes it came as (a zip entry is pretty-printed
# JSON, a delta's record is re-serialised): the only columns allowed to differ.
RUN_COLUMNS = {"run_id", "record_sha256"}


def car_t(nct_id: str, **kw) -> dict:
    return study(nct_id, **kw)


def other(nct_id: str, title: str = "Aspirin for Tension Headache", **kw) -> dict:
    """A study that is not cell therapy."""
    kw.setdefault("summary", "A randomised trial of an oral drug.")
    kw.setdefault("interventions", [{"type": "DRUG", "name": "Aspirin"}])
    kw.setdefault("conditions", ["Headache"])
    return study(nct_id, title=title, **kw)


def registry() -> list[dict]:
    cell = [car_t(f"NCT9100000{i}", posted=f"202{i % 4}-0{i + 1}-10", updated="2025-01-01") for i in range(6)]
    cell.append(car_t("NCT91000010", title="BCMA CAR-T Cells in Myeloma", countries=["China", "Germany"]))
    rest = [other(f"NCT9200000{i}", updated="2025-02-01") for i in range(8)]
    return cell + rest


def table(con: duckdb.DuckDBPyConnection, name: str) -> list[tuple]:
    columns = [
        r[0]
        for r in con.execute(
            "select column_name from duckdb_columns() where table_name = ? and schema_name = 'main' "
            "order by column_index",
            [name],
        ).fetchall()
    ]
    if not columns:  # a view
        columns = [d[0] for d in con.execute(f"select * from {name} limit 0").description]
    keep = [c for c in columns if c not in RUN_COLUMNS]
    return sorted(con.execute(f"select {', '.join(keep)} from {name}").fetchall(), key=repr)


def snapshot(warehouse: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = [*TRIAL_TABLES, "registry_studies", *(v for v in VIEWS if v not in RUN_VIEWS)]
        return {name: table(con, name) for name in names}


def without(warehouse: Path, nct_id: str, folder: Path) -> Path:
    """A copy of a warehouse without one study's rows (its views recompute over the rest)."""
    copy_path = folder / "without.duckdb"
    copy_path.write_bytes(warehouse.read_bytes())
    with duckdb.connect(str(copy_path)) as con:
        for name in (*TRIAL_TABLES, "registry_studies"):
            con.execute(f"delete from {name} where nct_id = ?", [nct_id])
        create_views(con)  # as a publish does: the report's tables follow the rows
    return copy_path


def assert_same(got: dict[str, list[tuple]], want: dict[str, list[tuple]]) -> None:
    for name in want:
        assert got[name] == want[name], f"{name} differs from a fresh baseline"


def fresh_baseline(tmp_path: Path, fake: FakeCtgov, label: str) -> Path:
    settings = test_settings(tmp_path / label, fake.url, mode="registry")
    ctx = refresh(settings)
    assert ctx.manifest.mode == "baseline"
    return settings.warehouse_path


def test_a_week_of_deltas_equals_a_fresh_baseline(tmp_path):
    with FakeCtgov(registry(), data_timestamp=DAY0) as fake:
        # A toy registry of 15 studies: a day changes a larger share of it than of 600k.
        settings = test_settings(tmp_path / "nightly", fake.url, mode="registry", max_delta_share=0.5)

        def night(expect: str = "delta"):
            ctx = refresh(settings)
            assert ctx.manifest.mode == expect and ctx.manifest.published
            return ctx

        base = night("baseline")
        assert base.manifest.index_rows == 15 and base.manifest.trials_loaded == 7

        # Day 1: a new CAR-T trial, and a new study that is not cell therapy.
        fake.advance_day(
            "2026-12-01", added=[car_t("NCT91000020", title="CD22 CAR-T Cells"), other("NCT92000020")]
        )
        day1 = night()
        assert day1.manifest.index_rows == 17 and day1.judged.index_rows == 2

        # Day 2: a study's text changes and makes it cell therapy.
        became = fake.study("NCT92000001")
        became["protocolSection"]["identificationModule"]["briefTitle"] = "Anti-CD19 CAR-T Cells in Lupus"
        became["protocolSection"]["armsInterventionsModule"]["interventions"] = [
            {"type": "BIOLOGICAL", "name": "anti-CD19 CAR-T cells"}
        ]
        fake.advance_day("2026-12-02", changed=[became])
        night()

        # Day 3: a CAR-T trial's change makes it not cell therapy (it leaves the trial tables).
        left = other("NCT91000003", title="Ibrutinib in Lymphoma")
        left["protocolSection"]["armsInterventionsModule"]["interventions"] = [
            {"type": "DRUG", "name": "Ibrutinib"}
        ]
        fake.advance_day("2026-12-03", changed=[left])
        night()

        # Day 4: a phase and status change; a CAR-T trial removed from the registry (a delta
        # cannot see a removal: only the next baseline does).
        moved = fake.study("NCT91000001")
        moved["protocolSection"]["designModule"]["phases"] = ["PHASE2"]
        moved["protocolSection"]["statusModule"]["overallStatus"] = "COMPLETED"
        fake.advance_day("2026-12-04", changed=[moved], removed=["NCT91000005"])
        night()

        # Day 5: the registry refreshes during the delta's crawl: it starts again on one generation.
        fake.advance_day("2026-12-05", changed=[car_t("NCT91000002", title="CD19 CAR-T, second version")])
        late = car_t("NCT91000010", title="BCMA CAR-T Cells in Myeloma", countries=["China"])
        fake.advance_day_after(1, "2026-12-06", changed=[late])
        day5 = night()
        assert len(day5.manifest.crawls) >= 1  # the set-aside crawl is recorded

        # Day 6: the night fails at the network (nothing published), the next one catches up.
        fake.advance_day("2026-12-07", added=[car_t("NCT91000030", title="GD2 CAR-T Cells")])
        fake.inject("500", times=1000, path="/studies")
        with pytest.raises(Exception, match="Giving up"):
            refresh(settings)
        assert list_runs(settings.raw_dir)[-1].manifest().status == "failed"
        fake.reset_faults()
        night()

        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            trials = {r[0] for r in con.execute("select nct_id from trials").fetchall()}
            index = dict(con.execute("select nct_id, is_cell_therapy from registry_studies").fetchall())
            changes = con.execute(
                "select nct_id, change, changed_fields from trial_changes where change = 'removed'"
            ).fetchall()
        assert {"NCT91000020", "NCT91000030", "NCT92000001"} <= trials
        assert "NCT91000003" not in trials and index["NCT91000003"] is False
        assert ("NCT91000003", "removed", ["not cell therapy"]) in changes
        assert "NCT91000005" in trials  # removed on day 4: no delta can know

        # Equal to a fresh baseline of day 6 but for the study the registry removed on day 4.
        fresh = fresh_baseline(tmp_path, fake, "fresh-day6")
        assert_same(snapshot(without(settings.warehouse_path, "NCT91000005", tmp_path)), snapshot(fresh))

        # The next baseline sees the removal: then the two warehouses are equal whole.
        night_full = refresh(settings, full=True)
        assert night_full.manifest.mode == "baseline"
        assert_same(snapshot(settings.warehouse_path), snapshot(fresh))
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            removed = con.execute(
                "select changed_fields from trial_changes where nct_id = 'NCT91000005' and change = 'removed'"
            ).fetchall()
            modes = [
                r[0] for r in con.execute("select mode from runs where published order by run_id").fetchall()
            ]
        assert removed == [(["not in registry"],)]
        assert modes == ["baseline", *["delta"] * 6, "baseline"]


def test_rebuild_of_a_registry_chain_equals_its_last_state(tmp_path):
    with FakeCtgov(registry(), data_timestamp=DAY0) as fake:
        settings = test_settings(tmp_path, fake.url, mode="registry")
        refresh(settings)
        fake.advance_day("2026-12-01", added=[car_t("NCT91000020", title="CD22 CAR-T Cells")])
        refresh(settings)
        before = snapshot(settings.warehouse_path)
    result = CliRunner().invoke(main, ["rebuild", "--data-dir", str(settings.data_dir)])
    assert result.exit_code == 0, result.output
    assert snapshot(settings.warehouse_path) == before
    manifests = [r.manifest() for r in list_runs(settings.raw_dir)]
    assert [m.mode for m in manifests if m.rebuild_of] == ["baseline", "delta"]


def test_the_default_refresh_is_registry_mode_and_says_so(tmp_path, monkeypatch):
    monkeypatch.delenv("TRIALTRENDS_MODE", raising=False)
    with FakeCtgov(registry(), data_timestamp=DAY0) as fake:
        data = tmp_path / "data"
        args = ["refresh", "--data-dir", str(data), "--api-url", fake.url, "--max-rps", "0"]
        first = CliRunner().invoke(main, args)
        assert first.exit_code == 0, first.output
        assert "(baseline)" in first.output
        fake.advance_day("2026-12-01", added=[car_t("NCT91000020", title="CD22 CAR-T Cells")])
        second = CliRunner().invoke(main, args)
        assert second.exit_code == 0 and "(delta)" in second.output, second.output


def test_a_gone_download_falls_back_to_search_with_one_warning(tmp_path, caplog):
    with FakeCtgov(registry(), data_timestamp=DAY0) as fake:
        fake.inject("gone", times=1000, path="/studies/download")
        settings = test_settings(tmp_path, fake.url, mode="registry")
        ctx = refresh(settings)
        assert ctx.manifest.mode == "search" and ctx.manifest.published
        assert "download is unavailable" in (ctx.manifest.fallback or "")
        warnings = [r for r in caplog.records if r.levelname == "WARNING" and "unavailable" in r.getMessage()]
        assert len(warnings) == 1
        # The next night tries the download again.
        fake.reset_faults()
        assert refresh(settings).manifest.mode == "baseline"


def test_a_short_download_is_refused_and_nothing_is_published(tmp_path):
    with FakeCtgov(registry(), data_timestamp=DAY0) as fake:
        fake.inject("partial_zip", times=1000, path="/studies/download", fraction=0.5)
        settings = test_settings(tmp_path, fake.url, mode="registry")
        with pytest.raises(Exception, match=r"(?i)entries|short"):
            refresh(settings)
    assert not settings.warehouse_path.exists()
    assert list_runs(settings.raw_dir)[-1].manifest().status == "failed"


def test_a_delta_that_changes_most_of_the_index_is_refused(tmp_path):
    with FakeCtgov(registry(), data_timestamp=DAY0) as fake:
        settings = test_settings(tmp_path, fake.url, mode="registry", max_delta_share=0.2)
        refresh(settings)
        changed = [copy.deepcopy(s) for s in fake.studies[:10]]
        fake.advance_day("2026-12-01", changed=changed)
        with pytest.raises(Exception, match="delta_share"):
            refresh(settings)


@pytest.mark.shared
def test_on_the_shared_corpus_registry_mode_publishes_every_trial_the_classifier_finds(
    corpus_server, corpus_warehouse, corpus_studies, tmp_path
):
    """The corpus and the records served as the registry: a registry baseline publishes exactly
    the trials that classifying every study finds, which the searches (corpus_warehouse, the
    search path) fall short of."""
    import polars as pl

    from trialtrends.transform.classify import classify
    from trialtrends.transform.study_text import text_frame, text_row

    settings = test_settings(tmp_path, corpus_server.url, mode="registry")
    ctx = refresh(settings)
    assert ctx.manifest.mode == "baseline" and ctx.manifest.index_rows == len(corpus_studies)
    flags = classify(text_frame([text_row(s) for s in corpus_studies])).flags
    everything = set(flags.filter(pl.col("is_cell_therapy"))["nct_id"])
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        registry = {
            r[0] for r in con.execute("select nct_id from trial_flags where is_cell_therapy").fetchall()
        }
        rejected = {r[0] for r in con.execute("select nct_id from rejected_studies").fetchall()}
    with duckdb.connect(str(corpus_warehouse.warehouse_path), read_only=True) as con:
        search = {
            r[0] for r in con.execute("select nct_id from trial_flags where is_cell_therapy").fetchall()
        }
    assert registry == everything - rejected
    assert search < registry  # the searches miss trials the registry path keeps
    print(
        f"\ncell-therapy trials published: registry mode {len(registry)}, search mode {len(search)}, "
        f"classifying every study {len(everything)} ({len(rejected)} quarantined)"
    )


def test_retention_keeps_two_baselines_and_what_the_published_state_needs(tmp_path):
    with FakeCtgov(registry(), data_timestamp=DAY0) as fake:
        settings = test_settings(tmp_path, fake.url, mode="registry", max_delta_share=0.5)
        first = refresh(settings)
        fake.advance_day("2026-12-01", added=[car_t("NCT91000020", title="CD22 CAR-T Cells")])
        delta = refresh(settings)
        second = refresh(settings, full=True)
        third = refresh(settings, full=True)
    manifests = {m.run_id: m for m in (r.manifest() for r in list_runs(settings.raw_dir))}
    assert manifests[first.run.run_id].pruned and manifests[delta.run.run_id].pruned
    assert not list(first.run.path.glob("*.zip")) and not list(delta.run.path.glob("*.gz"))
    for kept in (second, third):
        assert not manifests[kept.run.run_id].pruned and list(kept.run.path.glob("*.zip"))
    assert [m.mode for m in manifests.values()] == ["baseline", "delta", "baseline", "baseline"]
    result = CliRunner().invoke(
        main, ["rebuild", "--run", first.run.run_id, "--data-dir", str(settings.data_dir)]
    )
    assert result.exit_code == 1 and "removed by retention" in result.output
    assert CliRunner().invoke(main, ["rebuild", "--data-dir", str(settings.data_dir)]).exit_code == 0


def test_the_report_states_the_mode_the_baseline_snapshot_and_the_deltas_applied(tmp_path):
    import json

    with FakeCtgov(registry(), data_timestamp=DAY0) as fake:
        settings = test_settings(tmp_path, fake.url, mode="registry", max_delta_share=0.5)
        refresh(settings)
        fake.advance_day("2026-12-01", added=[car_t("NCT91000020", title="CD22 CAR-T Cells")])
        refresh(settings)
    result = CliRunner().invoke(
        main, ["report", "--year", "2022", "--format", "json", "--data-dir", str(settings.data_dir)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    run = report["flow"]["run"]
    assert run["mode"] == "delta" and run["deltas_applied"] == 1
    assert run["baseline_data_timestamp"] == DAY0
    assert "mode delta" in report["methods"] and f"baseline (snapshot {DAY0})" in report["methods"]
    assert "1 nightly delta of every study updated" in report["methods"]


def test_a_delta_judged_by_a_broken_classifier_publishes_nothing(tmp_path, monkeypatch):
    """Every published cell-therapy trial updated tonight judged 'not cell therapy' (a broken rule
    file) would leave the warehouse: the delta's classifier-sanity gate refuses the night, and
    yesterday's warehouse stays. A night that truly reclassifies one trial still publishes."""
    import polars as pl

    import trialtrends.pipeline.chunks as chunks

    with FakeCtgov(registry(), data_timestamp=DAY0) as fake:
        settings = test_settings(tmp_path, fake.url, mode="registry", max_delta_share=0.9)
        refresh(settings)
        before = snapshot(settings.warehouse_path)
        cell = [s for s in fake.studies if s["protocolSection"]["identificationModule"]["nctId"].startswith("NCT91")]
        fake.advance_day("2026-12-01", changed=[copy.deepcopy(s) for s in cell])
        real = chunks.classify

        def broken(text):
            result = real(text)
            return type(result)(
                modalities=result.modalities.head(0),
                flags=result.flags.with_columns(pl.lit(False).alias("is_cell_therapy")),
                products=result.products.head(0),
            )

        monkeypatch.setattr(chunks, "classify", broken)
        with pytest.raises(Exception, match="classifier_sanity") as failed:
            refresh(settings)
        assert f"{len(cell)} of the {len(cell)} published cell-therapy trials" in str(failed.value)
        assert snapshot(settings.warehouse_path) == before
        monkeypatch.setattr(chunks, "classify", real)
        # One trial whose record truly stops being cell therapy: published, the trial removed.
        (gone,) = [other(cell[0]["protocolSection"]["identificationModule"]["nctId"])]
        fake.advance_day("2026-12-02", changed=[gone])
        ctx = refresh(settings)
    assert ctx.manifest.published
    sanity = next(g for g in ctx.manifest.gates if g["name"] == "classifier_sanity")
    assert sanity["passed"] and "1 of the" in sanity["detail"]
