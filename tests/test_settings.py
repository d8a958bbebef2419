"""Settings: read once from TRIALTRENDS_* variables, overrides win, every bad value refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from trialtrends.settings import RULES, Settings, SettingsError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for rule in RULES.values():
        monkeypatch.delenv(rule.env, raising=False)
    monkeypatch.delenv("TRIALTRENDS_DATA_DIR", raising=False)
    monkeypatch.delenv("TRIALTRENDS_API_URL", raising=False)


@pytest.mark.registry  # sees the real default mode (the suite's other tests run the searches)
def test_defaults_and_env(monkeypatch):
    assert Settings.from_env() == Settings()
    assert Settings().mode == "registry"
    monkeypatch.setenv("TRIALTRENDS_MAX_RPS", "2.5")
    monkeypatch.setenv("TRIALTRENDS_MAX_RETRIES", "3")
    monkeypatch.setenv("TRIALTRENDS_WORKERS", "4")
    monkeypatch.setenv("TRIALTRENDS_LOCK_WAIT", "30")
    monkeypatch.setenv("TRIALTRENDS_DATA_DIR", "/srv/tt")
    monkeypatch.setenv("TRIALTRENDS_API_URL", "http://mirror.example:8080/api/v2/")
    s = Settings.from_env()
    assert (s.max_rps, s.max_retries, s.workers, s.lock_wait) == (2.5, 3, 4, 30.0)
    assert isinstance(s.max_retries, int) and isinstance(s.workers, int)
    assert s.data_dir == Path("/srv/tt") and s.warehouse_path == Path("/srv/tt/warehouse/trialtrends.duckdb")
    assert s.api_url == "http://mirror.example:8080/api/v2"


def test_overrides_win_over_env(monkeypatch):
    monkeypatch.setenv("TRIALTRENDS_MAX_RPS", "abc")  # overridden: never read, so not an error
    s = Settings.from_env(max_rps=0, lock_wait=None, data_dir="x")
    assert s.max_rps == 0 and s.lock_wait == 0.0 and s.data_dir == Path("x")


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("TRIALTRENDS_MAX_RPS", "abc", "TRIALTRENDS_MAX_RPS must be a number >= 0 (requests per second"),
        ("TRIALTRENDS_MAX_RPS", "-1", "got '-1'"),
        ("TRIALTRENDS_MAX_RPS", "nan", "got 'nan'"),
        ("TRIALTRENDS_MAX_RPS", "inf", "got 'inf'"),
        ("TRIALTRENDS_CONNECT_TIMEOUT", "0", "TRIALTRENDS_CONNECT_TIMEOUT must be a number > 0 (seconds)"),
        (
            "TRIALTRENDS_READ_TIMEOUT",
            "-1",
            "TRIALTRENDS_READ_TIMEOUT must be a number > 0 (seconds), got '-1'.",
        ),
        ("TRIALTRENDS_MAX_RETRIES", "-1", "TRIALTRENDS_MAX_RETRIES must be a whole number >= 0"),
        ("TRIALTRENDS_MAX_RETRIES", "1.5", "a whole number"),
        ("TRIALTRENDS_BACKOFF_BASE", "-0.5", "TRIALTRENDS_BACKOFF_BASE must be a number >= 0"),
        ("TRIALTRENDS_BACKOFF_CAP", "x", "TRIALTRENDS_BACKOFF_CAP"),
        ("TRIALTRENDS_MAX_REJECTED_SHARE", "1.5", "must be a number between 0 and 1 (a share), got '1.5'"),
        ("TRIALTRENDS_MAX_COUNT_DROP", "-0.1", "TRIALTRENDS_MAX_COUNT_DROP must be a number between 0 and 1"),
        ("TRIALTRENDS_MAX_UNCLASSIFIED_SHARE", "2", "between 0 and 1"),
        ("TRIALTRENDS_WORKERS", "0", "TRIALTRENDS_WORKERS must be a whole number >= 1 (worker processes)"),
        ("TRIALTRENDS_LOCK_WAIT", "-1", "TRIALTRENDS_LOCK_WAIT must be a number >= 0"),
        (
            "TRIALTRENDS_API_URL",
            "not-a-url",
            "TRIALTRENDS_API_URL must be an http:// or https:// URL with a host",
        ),
        ("TRIALTRENDS_API_URL", "ftp://example.org/api", "got 'ftp://example.org/api'"),
        ("TRIALTRENDS_API_URL", "http://", "with a host"),
        ("TRIALTRENDS_API_URL", "http://host:port/", "with a host"),
    ],
)
def test_bad_env_value_is_one_sentence(monkeypatch, variable, value, fragment):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as info:
        Settings.from_env()
    assert info.value.exit_code == 2
    message = str(info.value)
    assert fragment in message
    assert message.count(".") >= 1 and message.endswith(".") and "\n" not in message


def test_every_bad_value_is_named(monkeypatch):
    monkeypatch.setenv("TRIALTRENDS_MAX_RPS", "abc")
    monkeypatch.setenv("TRIALTRENDS_WORKERS", "0")
    with pytest.raises(SettingsError) as info:
        Settings.from_env(api_url="ftp://x", labels={"api_url": "--api-url"})
    problems = info.value.problems
    assert len(problems) == 3
    assert problems[0].startswith("TRIALTRENDS_MAX_RPS must")
    assert problems[1].startswith("TRIALTRENDS_WORKERS must")
    assert problems[2].startswith("--api-url must be an http:// or https:// URL")


def test_bad_override_is_named_by_its_option():
    with pytest.raises(SettingsError, match=r"^--max-rps must be a number >= 0"):
        Settings.from_env(max_rps=-2, labels={"max_rps": "--max-rps"})
    with pytest.raises(SettingsError, match=r"^TRIALTRENDS_MAX_RETRIES must be a whole number >= 0"):
        Settings.from_env(max_retries=-1)


def test_validate_on_a_constructed_object():
    assert Settings().validate() == Settings()
    with pytest.raises(SettingsError, match="TRIALTRENDS_READ_TIMEOUT"):
        Settings(read_timeout=-1).validate()
    assert Settings(max_retries=True).problems()  # a bool is not a count
