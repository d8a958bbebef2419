"""Sponsor normalisation coverage on the shared corpus and records.

Usage: uv run python bench/sponsor_coverage.py [--scale ROWS]

Reads ../shared/ctgov (or TRIALTRENDS_SHARED_CTGOV) in place and prints: distinct lead-sponsor
spellings before and after normalisation, the share of trials whose lead sponsor is in the alias
table, the corpus sponsors with >= 3 trials that are not covered (must be none; exit code 1
otherwise), the records' sponsors and collaborators not covered, and the top 20 canonical lead
sponsors with their home country. --scale also times canonicalize_sponsors and map_countries on
that many rows (the corpus repeated).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

import polars as pl
from _shared import shared_ctgov

from trialtrends.transform.countries import map_countries
from trialtrends.transform.sponsors import canonicalize_sponsors, sponsor_key, unknown_spellings

REPO_ROOT = Path(__file__).resolve().parents[1]
MIN_TRIALS = 3



def load_leads(root: Path) -> pl.DataFrame:
    """One row per corpus trial: nct_id, sponsor_raw, agency_class, first site country."""
    rows = []
    with gzip.open(root / "corpus" / "celltherapy-2026-08.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            protocol = json.loads(line)["protocolSection"]
            lead = protocol["sponsorCollaboratorsModule"]["leadSponsor"]
            sites = protocol.get("contactsLocationsModule", {}).get("locations", [])
            rows.append(
                (
                    protocol["identificationModule"]["nctId"],
                    lead.get("name"),
                    lead.get("class"),
                    sites[0].get("country") if sites else None,
                )
            )
    schema = ["nct_id", "sponsor_raw", "agency_class", "country_raw"]
    return pl.DataFrame(rows, schema=schema, orient="row")


def load_record_parties(root: Path) -> pl.DataFrame:
    """Lead sponsors and collaborators of the full records: role, sponsor_raw, agency_class."""
    rows = []
    for path in sorted((root / "records").glob("NCT*.json")):
        protocol = json.loads(path.read_text(encoding="utf-8"))["protocolSection"]
        module = protocol.get("sponsorCollaboratorsModule", {})
        if "leadSponsor" in module:
            rows.append(("lead", module["leadSponsor"].get("name"), module["leadSponsor"].get("class")))
        for party in module.get("collaborators", []):
            rows.append(("collaborator", party.get("name"), party.get("class")))
    return pl.DataFrame(rows, schema=["role", "sponsor_raw", "agency_class"], orient="row")


def coverage_report(leads: pl.DataFrame, parties: pl.DataFrame) -> int:
    """Print the coverage figures; return the number of frequent sponsors not covered."""
    out = canonicalize_sponsors(leads).with_columns(
        pl.col("sponsor_raw").map_elements(sponsor_key, return_dtype=pl.String).alias("key")
    )
    trials = out.height
    known = out["is_known_sponsor"].sum()
    print(f"corpus trials: {trials}")
    print("distinct lead-sponsor spellings")
    print(f"  raw strings:             {out['sponsor_raw'].n_unique()}")
    print(f"  sponsor keys:            {out['key'].n_unique()}")
    print(f"  canonical sponsors:      {out['sponsor'].n_unique()}")
    print(f"  parents (roll-up):       {out['sponsor_parent'].n_unique()}")
    print(f"trials whose lead sponsor is in the alias table: {known}/{trials} = {known / trials:.1%}")

    frequent = (
        out.group_by("key")
        .agg(pl.len().alias("trials"), pl.col("is_known_sponsor").all(), pl.col("sponsor_raw").unique())
        .filter(pl.col("trials") >= MIN_TRIALS)
    )
    missing = frequent.filter(~pl.col("is_known_sponsor")).sort("trials", descending=True)
    print(f"sponsors with >= {MIN_TRIALS} trials: {frequent.height}; not covered: {missing.height}")
    for key, count, spellings in missing.select("key", "trials", "sponsor_raw").iter_rows():
        print(f"  MISSING {count:>4}  {key}  {spellings}")
    print(f"lead spellings not in the alias table: {unknown_spellings(leads)}")

    record_missing = unknown_spellings(parties)
    print(
        f"records: {parties.filter(pl.col('role') == 'lead').height} lead sponsors, "
        f"{parties.filter(pl.col('role') == 'collaborator').height} collaborators; "
        f"not covered: {record_missing}"
    )

    top = (
        out.group_by("sponsor")
        .agg(
            pl.len().alias("trials"),
            pl.col("sponsor_country").first(),
            pl.col("sponsor_type").first(),
            pl.col("sponsor_parent").first(),
            pl.col("sponsor_raw").n_unique().alias("spellings"),
        )
        .sort(["trials", "sponsor"], descending=[True, False])
        .head(20)
    )
    print("top 20 canonical lead sponsors")
    for sponsor, count, country, kind, parent, spellings in top.iter_rows():
        rollup = f"  [parent: {parent}]" if parent != sponsor else ""
        print(f"  {count:>4}  {sponsor}  ({country}; {kind}; {spellings} spelling(s)){rollup}")
    return missing.height


def time_scaled(leads: pl.DataFrame, rows: int) -> None:
    """Time the two mappings on `rows` rows (the corpus repeated), eager and lazy."""
    repeats = max(1, rows // leads.height)
    big = pl.concat([leads] * repeats)
    for label, frame in (("eager", big), ("lazy", big.lazy())):
        start = time.perf_counter()
        result = canonicalize_sponsors(frame)
        result = result.collect() if isinstance(result, pl.LazyFrame) else result
        sponsor_s = time.perf_counter() - start
        start = time.perf_counter()
        mapped = map_countries(frame)
        mapped = mapped.collect() if isinstance(mapped, pl.LazyFrame) else mapped
        country_s = time.perf_counter() - start
        print(
            f"{label}: {big.height:,} rows  canonicalize_sponsors {sponsor_s:.2f}s  "
            f"map_countries {country_s:.2f}s"
        )


def main() -> int:
    """Parse options, print the report, return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=0, help="also time the mappings on N rows")
    args = parser.parse_args()
    root = shared_ctgov()
    if not (root / "corpus").is_dir():
        print(f"shared ClinicalTrials.gov material not found at {root}", file=sys.stderr)
        return 2
    leads = load_leads(root)
    missing = coverage_report(leads, load_record_parties(root))
    if args.scale:
        time_scaled(leads, args.scale)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
