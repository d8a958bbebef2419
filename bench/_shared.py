"""Helpers for benchmarks: find the shared material (one path setting) and the fake API."""

from __future__ import annotations

import gzip
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))


def shared_ctgov() -> Path:
    """TRIALTRENDS_SHARED_CTGOV, default ../shared/ctgov; exit with a reason when absent."""
    path = Path(os.environ.get("TRIALTRENDS_SHARED_CTGOV") or REPO.parent / "shared" / "ctgov")
    if not (path / "corpus").is_dir():
        sys.exit(f"skipped: shared ClinicalTrials.gov material not found at {path} "
                 "(set TRIALTRENDS_SHARED_CTGOV)")  # fmt: skip
    return path


def corpus_and_records() -> list[dict]:
    base = shared_ctgov()
    with gzip.open(base / "corpus" / "celltherapy-2026-08.jsonl.gz", "rt") as fh:
        studies = [json.loads(line) for line in fh if line.strip()]
    studies += [json.loads(p.read_text()) for p in sorted((base / "records").glob("NCT*.json"))]
    return studies
