"""One settings object, read from the environment at the entry point and passed down."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_API_URL = "https://clinicaltrials.gov/api/v2"
WAREHOUSE_FILE = "trialtrends.duckdb"


def _float_env(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc


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
    # Worker processes for large bulk inputs (the API path's few thousand studies need none).
    workers: int = field(default_factory=lambda: min(2, os.cpu_count() or 1))
    user_agent_contact: str = field(default="https://github.com/trialtrends/trialtrends")
    # Seconds a refresh or rebuild waits for another run's data-folder lock (0: fail at once).
    lock_wait: float = 0.0

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def warehouse_dir(self) -> Path:
        return self.data_dir / "warehouse"

    @property
    def warehouse_path(self) -> Path:
        return self.warehouse_dir / WAREHOUSE_FILE

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Settings from TRIALTRENDS_* variables; explicit (non-None) overrides win."""
        env = os.environ
        base = cls(
            data_dir=Path(env.get("TRIALTRENDS_DATA_DIR") or "data"),
            api_url=(env.get("TRIALTRENDS_API_URL") or DEFAULT_API_URL).rstrip("/"),
            max_rps=_float_env("TRIALTRENDS_MAX_RPS", 1.0),
            connect_timeout=_float_env("TRIALTRENDS_CONNECT_TIMEOUT", 10.0),
            read_timeout=_float_env("TRIALTRENDS_READ_TIMEOUT", 60.0),
            max_retries=int(_float_env("TRIALTRENDS_MAX_RETRIES", 6)),
            backoff_base=_float_env("TRIALTRENDS_BACKOFF_BASE", 1.0),
            backoff_cap=_float_env("TRIALTRENDS_BACKOFF_CAP", 60.0),
            max_rejected_share=_float_env("TRIALTRENDS_MAX_REJECTED_SHARE", 0.02),
            max_count_drop=_float_env("TRIALTRENDS_MAX_COUNT_DROP", 0.10),
            max_unclassified_share=_float_env("TRIALTRENDS_MAX_UNCLASSIFIED_SHARE", 0.85),
            workers=int(_float_env("TRIALTRENDS_WORKERS", min(2, os.cpu_count() or 1))),
            lock_wait=_float_env("TRIALTRENDS_LOCK_WAIT", 0.0),
        )
        given = {k: v for k, v in overrides.items() if v is not None}
        if "data_dir" in given:
            given["data_dir"] = Path(given["data_dir"])  # type: ignore[arg-type]
        if "api_url" in given:
            given["api_url"] = str(given["api_url"]).rstrip("/")
        return replace(base, **given)  # type: ignore[arg-type]
