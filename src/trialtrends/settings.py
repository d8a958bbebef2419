"""One settings object, read from the environment at the entry point and passed down.

`Settings.from_env` reads every `TRIALTRENDS_*` variable, applies explicit overrides (the CLI's
options) and validates the result once, so a bad value stops every command at start-up with one
sentence per bad value (`SettingsError`, exit code 2), never deep inside a run.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from urllib.parse import urlsplit

from trialtrends.errors import TrialtrendsError

DEFAULT_API_URL = "https://clinicaltrials.gov/api/v2"
WAREHOUSE_FILE = "trialtrends.duckdb"


class SettingsError(TrialtrendsError):
    """A setting with a value of the wrong type or out of range; one sentence per bad value."""

    exit_code = 2

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Rule:
    """How one numeric setting is read and checked: its variable, type and allowed range."""

    env: str
    kind: type  # int or float
    low: float
    high: float | None = None
    low_open: bool = False  # True: the value must be > low, not >= low
    unit: str = ""

    def describe(self) -> str:
        noun = "a whole number" if self.kind is int else "a number"
        low = f"> {self.low:g}" if self.low_open else f">= {self.low:g}"
        bound = f"between {self.low:g} and {self.high:g}" if self.high is not None else low
        return f"{noun} {bound}" + (f" ({self.unit})" if self.unit else "")

    def ok(self, value: float) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return False
        if self.kind is int and value != int(value):
            return False
        if value < self.low or (self.low_open and value == self.low):
            return False
        return self.high is None or value <= self.high


# Every numeric setting: the variable that sets it, its type and its range.
RULES: dict[str, Rule] = {
    "max_rps": Rule("TRIALTRENDS_MAX_RPS", float, 0, unit="requests per second, 0 = unpaced"),
    "connect_timeout": Rule("TRIALTRENDS_CONNECT_TIMEOUT", float, 0, low_open=True, unit="seconds"),
    "read_timeout": Rule("TRIALTRENDS_READ_TIMEOUT", float, 0, low_open=True, unit="seconds"),
    "max_retries": Rule("TRIALTRENDS_MAX_RETRIES", int, 0, unit="retries after the first try"),
    "backoff_base": Rule("TRIALTRENDS_BACKOFF_BASE", float, 0, unit="seconds"),
    "backoff_cap": Rule("TRIALTRENDS_BACKOFF_CAP", float, 0, unit="seconds"),
    "max_rejected_share": Rule("TRIALTRENDS_MAX_REJECTED_SHARE", float, 0, 1, unit="a share"),
    "max_count_drop": Rule("TRIALTRENDS_MAX_COUNT_DROP", float, 0, 1, unit="a share"),
    "max_unclassified_share": Rule("TRIALTRENDS_MAX_UNCLASSIFIED_SHARE", float, 0, 1, unit="a share"),
    "max_unmapped_country_share": Rule("TRIALTRENDS_MAX_UNMAPPED_COUNTRY_SHARE", float, 0, 1, unit="a share"),
    "sql_timeout": Rule("TRIALTRENDS_SQL_TIMEOUT", float, 0, unit="seconds, 0 = no limit"),
    "workers": Rule("TRIALTRENDS_WORKERS", int, 1, unit="worker processes"),
    "lock_wait": Rule("TRIALTRENDS_LOCK_WAIT", float, 0, unit="seconds to wait for the data-folder lock"),
    "full_every_days": Rule(
        "TRIALTRENDS_FULL_EVERY_DAYS", float, 0, low_open=True, unit="days between baseline downloads"
    ),
    "max_delta_share": Rule("TRIALTRENDS_MAX_DELTA_SHARE", float, 0, 1, unit="a share of the registry index"),
    "max_dropped_share": Rule("TRIALTRENDS_MAX_DROPPED_SHARE", float, 0, 1, unit="a share"),
}

#: How a refresh gets the registry (README "Registry mode"): `registry` downloads the whole
#: registry as a baseline and then pulls every updated study each night; `search` runs the
#: keyword searches (a quick pull without a download).
MODES = ("registry", "search")


#: What every TRIALTRENDS_* variable means, beside the definitions above (the settings page of
#: the docs is generated from this; tests/test_docs.py fails when a variable read anywhere under
#: src/ or flows/ has no entry here).
SETTING_HELP: dict[str, str] = {
    "TRIALTRENDS_DATA_DIR": "The data folder: raw runs under `<data>/raw/`, the warehouse at "
    "`<data>/warehouse/trialtrends.duckdb`.",
    "TRIALTRENDS_API_URL": "ClinicalTrials.gov API v2 base URL: the registry, a mirror, a proxy, or the "
    "test suite's fake API.",
    "TRIALTRENDS_MAX_RPS": "Client-side pacing in requests per second (`robots.txt` says `Crawl-delay: 1`); "
    "0 = unpaced.",
    "TRIALTRENDS_CONNECT_TIMEOUT": "Connect timeout of one request.",
    "TRIALTRENDS_READ_TIMEOUT": "Read timeout of one request.",
    "TRIALTRENDS_MAX_RETRIES": "Retries after the first try (429, 5xx, timeouts, resets, HTML or "
    "truncated JSON).",
    "TRIALTRENDS_BACKOFF_BASE": "Base of the exponential backoff with jitter between retries; a "
    "`Retry-After` header is honoured.",
    "TRIALTRENDS_BACKOFF_CAP": "Longest wait between two retries.",
    "TRIALTRENDS_MAX_REJECTED_SHARE": "Data-quality gate: the largest share of studies quarantined before "
    "a run refuses to publish.",
    "TRIALTRENDS_MAX_COUNT_DROP": "Reconciliation gate: the largest drop in unique studies against the "
    "last published run.",
    "TRIALTRENDS_MAX_UNCLASSIFIED_SHARE": "Classifier-sanity gate: the largest share of pulled trials "
    "left without a modality (the searches over-collect on purpose; a broken rule file leaves nearly "
    "all unclassified).",
    "TRIALTRENDS_WORKERS": "Worker processes for bulk inputs larger than one part (parsing, "
    "normalising and classifying run in the workers).",
    "TRIALTRENDS_BULK_PREFILTER": "`0`/`false`/`no`/`off` parses every bulk record instead of skipping "
    "those whose bytes cannot be cell therapy (the published tables are the same).",
    "TRIALTRENDS_LOCK_WAIT": "How long a refresh or rebuild waits for another one holding the data "
    "folder before giving up (0: fail at once).",
    "TRIALTRENDS_MODE": "`registry` (default): the whole registry as a downloaded baseline plus nightly "
    "deltas of every updated study; `search`: the keyword searches (a quick pull without a download).",
    "TRIALTRENDS_FULL_EVERY_DAYS": "Registry mode: download a new baseline when the last one is older than "
    "this many days (measured from when that run ran); `--full` downloads one tonight.",
    "TRIALTRENDS_MAX_DELTA_SHARE": "Registry mode's delta gate: the largest share of the registry index one "
    "delta may update (a few thousand of ~600k studies a day; nearly all means the date filter was lost).",
    "TRIALTRENDS_MAX_DROPPED_SHARE": "Registry mode's delta classifier-sanity gate: the largest share of "
    "the published cell-therapy trials a delta updates that may stop being cell therapy (normally a "
    "few; a broken rule file makes it all, and would drop them from the warehouse). Checked from 5 "
    "such trials on.",
    "TRIALTRENDS_MAX_UNMAPPED_COUNTRY_SHARE": "Data-quality gate: the largest share of trials with a country "
    "string no alias maps (such a country shows as code ZZ with its raw text kept).",
    "TRIALTRENDS_SQL_TIMEOUT": "`trialtrends sql`: seconds a query may run, fetching included, before it is "
    "interrupted (0: no limit).",
    "TRIALTRENDS_SCHEDULE_CRON": "The nightly schedule (cron) of `flows/nightly.py --serve`.",
    "TRIALTRENDS_SCHEDULE_TIMEZONE": "The time zone of that schedule.",
}


def api_url_problem(url: str, label: str = "TRIALTRENDS_API_URL") -> str | None:
    """Why `url` is not an http(s) URL with a host, or None when it is one."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        host = None
    if parts.scheme.lower() in ("http", "https") and host:
        return None
    return f"{label} must be an http:// or https:// URL with a host, got {url!r}."


@dataclass(frozen=True)
class Settings:
    """Where data lives and how the API is reached; every path derives from `data_dir`."""

    data_dir: Path = Path("data")
    api_url: str = DEFAULT_API_URL
    # robots.txt says Crawl-delay: 1, so one request a second unless told otherwise; 0 = unpaced.
    max_rps: float = 1.0
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_retries: int = 6
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    # A run whose rejected-study share exceeds this fails instead of publishing.
    max_rejected_share: float = 0.02
    # Tonight's unique studies may not drop more than this share below the last good run.
    max_count_drop: float = 0.10
    # Share of pulled trials the classifier may leave without any modality before the gate fails.
    # The searches over-collect on purpose (NK cells as a biomarker, CAR-T as background), so
    # a healthy night leaves many trials unclassified; a broken rule file leaves nearly all.
    max_unclassified_share: float = 0.85
    # Share of trials that may have a country string no alias maps (shown as ZZ with its raw
    # text). Every registry spelling maps today, so a few odd records pass but a renamed country
    # (many trials at once) stops the night until country_aliases.csv learns it.
    max_unmapped_country_share: float = 0.01
    # Seconds `trialtrends sql` lets one query run (fetching included) before interrupting it.
    sql_timeout: float = 300.0
    # Worker processes for large bulk inputs (the API path's few thousand studies need none).
    workers: int = field(default_factory=lambda: min(2, os.cpu_count() or 1))
    # Skip bulk records whose bytes cannot be cell therapy without parsing them (off = parse all).
    bulk_prefilter: bool = True
    # Seconds a refresh or rebuild waits for another one holding the data folder (0 = fail at once).
    lock_wait: float = 0.0
    user_agent_contact: str = field(default="https://github.com/trialtrends/trialtrends")
    # Set by the CLI when a person waits at a terminal: a host name that does not resolve is
    # given up after two tries instead of every retry (an offline laptop, not a passing blip).
    interactive: bool = False
    # registry (a downloaded baseline plus nightly deltas of every updated study) or search.
    mode: str = "registry"
    # A new baseline download when the last one is older than this (days, from when it ran).
    full_every_days: float = 7.0
    # A delta may change at most this share of the registry index (a few thousand of ~600k a day).
    max_delta_share: float = 0.2
    # A delta may turn at most this share of the published cell-therapy trials it updates into
    # not cell therapy (from 5 such trials on): a broken rule file turns them all.
    max_dropped_share: float = 0.5

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def warehouse_dir(self) -> Path:
        return self.data_dir / "warehouse"

    @property
    def warehouse_path(self) -> Path:
        return self.warehouse_dir / WAREHOUSE_FILE

    def problems(self, labels: dict[str, str] | None = None) -> list[str]:
        """One sentence per bad value; `labels` names where a value came from (an option)."""
        labels = labels or {}
        found = []
        for name, rule in RULES.items():
            value = getattr(self, name)
            if not rule.ok(value):
                label = labels.get(name, rule.env)
                found.append(f"{label} must be {rule.describe()}, got {value!r}.")
        if self.mode not in MODES:
            label = labels.get("mode", "TRIALTRENDS_MODE")
            found.append(f"{label} must be one of {', '.join(MODES)}, got {self.mode!r}.")
        problem = api_url_problem(self.api_url, labels.get("api_url", "TRIALTRENDS_API_URL"))
        if problem:
            found.append(problem)
        return found

    def validate(self, labels: dict[str, str] | None = None) -> Settings:
        """These settings, or SettingsError naming every bad value."""
        problems = self.problems(labels)
        if problems:
            raise SettingsError(problems)
        return self

    @classmethod
    def from_env(cls, labels: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from TRIALTRENDS_* variables; explicit (non-None) overrides win; validated.

        `labels` maps an overridden field to the option that set it (`{"max_rps": "--max-rps"}`),
        so a bad value is reported under the name the user typed.
        """
        env = os.environ
        problems: list[str] = []
        values: dict[str, object] = {}
        given = {k: v for k, v in overrides.items() if v is not None}
        unknown = set(given) - {f.name for f in fields(cls)}
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        for name, rule in RULES.items():
            raw = env.get(rule.env)
            if name in given or raw is None or raw.strip() == "":
                continue
            try:
                number = float(raw)
            except ValueError:
                problems.append(f"{rule.env} must be {rule.describe()}, got {raw!r}.")
                continue
            if not rule.ok(number):
                problems.append(f"{rule.env} must be {rule.describe()}, got {raw!r}.")
                continue
            values[name] = int(number) if rule.kind is int else number
        if env.get("TRIALTRENDS_DATA_DIR"):
            values["data_dir"] = Path(env["TRIALTRENDS_DATA_DIR"])
        if env.get("TRIALTRENDS_API_URL"):
            values["api_url"] = env["TRIALTRENDS_API_URL"].strip().rstrip("/")
        if env.get("TRIALTRENDS_BULK_PREFILTER"):
            flag = env["TRIALTRENDS_BULK_PREFILTER"].strip().lower()
            values["bulk_prefilter"] = flag not in ("0", "false", "no", "off")
        if env.get("TRIALTRENDS_MODE", "").strip():
            values["mode"] = env["TRIALTRENDS_MODE"].strip().lower()
        if "mode" in given:
            given["mode"] = str(given["mode"]).strip().lower()
        if "data_dir" in given:
            given["data_dir"] = Path(given["data_dir"])  # type: ignore[arg-type]
        if "api_url" in given:
            given["api_url"] = str(given["api_url"]).strip().rstrip("/")
        values.update(given)
        settings = replace(cls(), **values)  # type: ignore[arg-type]
        # Env values already checked above; now the overrides (and the URL), under their names.
        checked = settings.problems({k: v for k, v in (labels or {}).items() if k in given})
        problems += [p for p in checked if p not in problems]
        if problems:
            raise SettingsError(problems)
        return settings
