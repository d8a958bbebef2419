"""Gates as pure functions, and each gate failing in a real refresh publishes nothing."""

from __future__ import annotations

import pytest
from builders import study
from conftest import test_settings
from fakeapi import FakeCtgov, default_metadata

from trialtrends.extract.raw import list_runs
from trialtrends.pipeline import refresh
from trialtrends.validate import gates
from trialtrends.validate.gates import GateFailed


def test_reconciliation_tolerates_small_index_drift_only():
    q = [{"name": "car_t", "total_count": 1000, "unique": 995}]
    assert gates.reconciliation(q, 995, None, 0.1).passed
    q = [{"name": "car_t", "total_count": 1000, "unique": 500}]
    assert not gates.reconciliation(q, 500, None, 0.1).passed
    q = [{"name": "car_t", "total_count": 800, "unique": 800}]
    result = gates.reconciliation(q, 800, 1000, 0.1)
    assert not result.passed and "-20%" in result.detail


def test_schema_drift_finds_missing_fields():
    tree = [
        {
            "name": "protocolSection",
            "children": [{"name": "identificationModule", "children": [{"name": "nctId"}]}],
        }
    ]
    result = gates.schema_drift(tree)
    assert not result.passed and "fields gone" in result.detail
    assert not gates.schema_drift({"not": "a list"}).passed


def test_data_quality_and_classifier_sanity():
    assert gates.data_quality(0.0, 0.02, [], 0.0, 0.01).passed
    assert not gates.data_quality(0.05, 0.02, [], 0.0, 0.01).passed
    assert not gates.data_quality(0.0, 0.02, ["Atlantis"], 0.02, 0.01).passed
    # An unmapped country is its own record's problem: a share under the limit publishes.
    assert gates.data_quality(0.0, 0.02, ["Atlantis"], 0.005, 0.01).passed
    assert gates.classifier_sanity(100, 90, 0.5).passed
    assert not gates.classifier_sanity(100, 10, 0.5).passed
    assert not gates.classifier_sanity(0, 0, 0.5).passed


GOOD = [study(f"NCT9000{i:04d}", title=f"CD19 CAR-T cells study {i}") for i in range(1, 41)]


def _published_then(tmp_path, mutate, **overrides):
    """Publish a good night, apply `mutate` to the server, refresh again; return both states."""
    with FakeCtgov(GOOD) as fake:
        settings = test_settings(tmp_path, fake.url, **overrides)
        refresh(settings)
        before = settings.warehouse_path.read_bytes()
        mutate(fake)
        with pytest.raises(GateFailed) as info:
            refresh(settings)
    assert settings.warehouse_path.read_bytes() == before
    manifest = list_runs(settings.raw_dir)[-1].manifest()
    assert manifest.status == "failed" and manifest.published is False
    return str(info.value), manifest


@pytest.mark.parametrize(
    ("replaced", "dropped", "passed"),
    [
        (0, 0, True),  # a quiet night: nothing re-judged
        (4, 4, True),  # too few to say anything of the classifier
        (5, 5, False),  # every one dropped: a broken rule file
        (10, 5, True),  # at the limit (50%)
        (10, 6, False),
        (2000, 3, True),  # a normal night
    ],
)
def test_delta_classifier_sanity(replaced, dropped, passed):
    result = gates.delta_classifier_sanity(replaced, dropped, 0.5)
    assert result.passed is passed and result.name == "classifier_sanity"
    assert f"{dropped} of the {replaced}" in result.detail


def test_count_drop_fails_reconciliation(tmp_path):
    message, manifest = _published_then(tmp_path, lambda f: f.set_studies(GOOD[:20]))
    assert "gate reconciliation failed" in message and "last good run" in message
    assert any(g["name"] == "reconciliation" and not g["passed"] for g in manifest.gates)


def test_schema_drift_fails(tmp_path):
    def drop_derived_section(fake):
        fake.metadata = [n for n in default_metadata() if n["name"] != "derivedSection"]

    message, _ = _published_then(tmp_path, drop_derived_section)
    assert "gate schema_drift failed" in message


def test_data_quality_fails_on_unmapped_country(tmp_path):
    odd = [
        study(f"NCT9100{i:04d}", title=f"CD19 CAR-T cells {i}", countries=["Atlantis"]) for i in range(1, 3)
    ]
    message, _ = _published_then(tmp_path, lambda f: f.set_studies(GOOD + odd))
    assert "gate data_quality failed" in message and "Atlantis" in message


def test_classifier_sanity_fails_when_nothing_is_recognised(tmp_path):
    # Tonight every pulled trial only mentions CAR-T (as a broken classifier would see them all).
    plain = [study(f"NCT9000{i:04d}", title=f"Tocilizumab to prevent CRS after CAR-T therapy ({i})",
                   summary="Tocilizumab prophylaxis for cytokine release syndrome in patients receiving "
                   "commercial CAR-T cell therapy.",
                   interventions=[{"type": "DRUG", "name": "tocilizumab"}]) for i in range(1, 41)]  # fmt: skip
    message, _ = _published_then(tmp_path, lambda f: f.set_studies(plain))
    assert "gate classifier_sanity failed" in message
