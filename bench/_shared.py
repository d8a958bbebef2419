"""Helpers for benchmarks: find the shared material (one path setting) and the fake API."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))


def shared_ctgov() -> Path:
    """The shared material (its one path setting: fakeapi.shared_ctgov_dir); exit with a reason
    when absent."""
    from fakeapi import shared_ctgov_dir

    path = shared_ctgov_dir()
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
