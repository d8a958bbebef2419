"""The landscape report of one year, read from the warehouse views (duckdb + stdlib only).

`build_report` returns a plain dict (the stable `--format json` structure documented in the
README); `render_report` turns it into a table, markdown or CSV. This is the fast path: no
polars, no prefect, no matplotlib.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from trialtrends.output.render import csv_text, json_default, text_table
from trialtrends.output.sql import QueryError, connect

REPORT_VERSION = 1
GROUPS = ("CAR-T", "TCR-T", "TIL", "NK", "ALL")
SIDE_BY_SIDE = ("CAR-T", "TCR-T", "TIL", "NK", "ALL")
BASES = ("first_posted", "first_submitted", "start")
TREND_YEARS = 5
CHICTR_CAVEAT = (
    "ClinicalTrials.gov undercounts Chinese cell therapy trials: since 2018 about half of them "
    "are registered only in the Chinese Clinical Trial Registry (ChiCTR), which is not included."
)


class ReportError(QueryError):
    """A report that cannot be made as asked; carries the CLI exit code."""


def _check_options(modality: str | None, basis: str) -> None:
    if modality is not None and modality not in GROUPS:
        raise ReportError(f"Unknown modality {modality!r}: choose one of {', '.join(GROUPS)}.", exit_code=2)
    if basis not in BASES:
        raise ReportError(f"Unknown basis {basis!r}: choose one of {', '.join(BASES)}.", exit_code=2)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _macro(view: str, include_follow_up: bool) -> str:
    # The *_by(include_follow_up) table macros behind each view (see sql/); only two fixed
    # spellings can reach the SQL text, never user input.
    return f"{view}_by(true)" if include_follow_up else view


def _provenance(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    run = _rows(
        con,
        "select run_id, kind, finished_at, api_url, api_version, data_timestamp, source, "
        "queries, classifier_version from runs where published order by run_id desc limit 1",
        [],
    )
    if not run:
        return {}
    row = run[0]
    queries = json.loads(row.pop("queries") or "[]")
    row["queries"] = [
        {"name": q.get("name"), "term": (q.get("params") or {}).get("query.term"),
         "filter": (q.get("params") or {}).get("filter.advanced"), "total_count": q.get("total_count")}
        for q in queries
    ]  # fmt: skip
    row["finished_at"] = row["finished_at"].isoformat() + "Z" if row["finished_at"] else None
    return row


def build_report(
    warehouse_path: Path,
    *,
    year: int,
    modality: str | None = None,
    basis: str = "first_posted",
    top: int = 10,
    role: str = "lead",
    include_follow_up: bool = False,
) -> dict[str, Any]:
    """Everything the report shows, as plain data (the `--format json` structure)."""
    _check_options(modality, basis)
    groups = [modality] if modality else list(SIDE_BY_SIDE)
    ranked_by = modality or "ALL"
    con = connect(warehouse_path)
    try:
        yearly = _macro("yearly_counts", include_follow_up)
        span = con.execute(
            f"select min(year), max(year) from {yearly} where basis = ? and modality = ?",
            [basis, ranked_by],
        ).fetchone()
        first, last = span if span else (None, None)
        if first is None:
            raise ReportError("The warehouse has no classified trials yet.", exit_code=4)
        if not first <= year <= last:
            raise ReportError(
                f"No {ranked_by} trials with {basis} year {year}: the warehouse covers {first}-{last}.",
                exit_code=4,
            )
        counts = {
            (r["modality"], r["year"]): r["trials"]
            for r in _rows(
                con,
                f"select modality, year, trials from {yearly} "
                "where basis = ? and modality in (select unnest(?::varchar[]))",
                [basis, groups],
            )
        }
        years = list(range(year - TREND_YEARS + 1, year + 1))
        trend = [{"modality": g, "year": y, "trials": counts.get((g, y), 0)} for g in groups for y in years]
        cumulative = [
            {"modality": g, "through_year": year,
             "trials": sum(n for (m, y), n in counts.items() if m == g and y <= year)}
            for g in groups
        ]  # fmt: skip
        phases = _rows(
            con,
            f"select modality, phase, trials, share, phase_order "
            f"from {_macro('phase_distribution', include_follow_up)} "
            "where basis = ? and year = ? and modality in (select unnest(?::varchar[])) "
            "order by phase_order, modality",
            [basis, year, groups],
        )
        countries = _ranked(
            con, _macro("country_table", include_follow_up), "country_code", ["country"],
            basis, year, groups, ranked_by, top, extra_filter="country_code <> 'XX'",
        )  # fmt: skip
        not_provided = _rows(
            con,
            f"select modality, trials, share from {_macro('country_table', include_follow_up)} "
            "where basis = ? and year = ? and country_code = 'XX' "
            "and modality in (select unnest(?::varchar[])) order by modality",
            [basis, year, groups],
        )
        sponsors = _ranked(
            con, _macro("sponsor_table", include_follow_up), "sponsor", ["sponsor_country"],
            basis, year, groups, ranked_by, top, extra_filter="role = ?", extra_params=[role],
        )  # fmt: skip
        provenance = _provenance(con)
    except duckdb.Error as exc:
        raise ReportError(f"The warehouse could not be read: {exc}") from exc
    finally:
        con.close()
    excluded = [] if include_follow_up else ["long-term follow-up studies (use --include-follow-up)"]
    provenance.update(
        basis=basis,
        excluded=[*excluded, "trials the classifier found testing no CAR-T/TCR-T/TIL/NK product"],
        caveats=[CHICTR_CAVEAT],
    )
    return {
        "report_version": REPORT_VERSION,
        "year": year,
        "basis": basis,
        "modalities": groups,
        "ranked_by": ranked_by,
        "top": top,
        "role": role,
        "include_follow_up": include_follow_up,
        "trend": trend,
        "cumulative": cumulative,
        "phases": phases,
        "countries": countries,
        "countries_not_provided": not_provided,
        "sponsors": sponsors,
        "provenance": provenance,
    }


def _ranked(
    con: duckdb.DuckDBPyConnection,
    source: str,
    key: str,
    attrs: list[str],
    basis: str,
    year: int,
    groups: list[str],
    ranked_by: str,
    top: int,
    *,
    extra_filter: str,
    extra_params: list[Any] | None = None,
) -> list[dict[str, Any]]:
    """Top-N rows ranked within `ranked_by`, with each other group's trials and share beside."""
    extra_params = extra_params or []
    where = f"basis = ? and year = ? and {extra_filter}"
    leaders = _rows(
        con,
        f"select rank, {key}, {', '.join(attrs)}, trials, share from {source} "
        f"where {where} and modality = ? and rank <= ? order by rank, {key}",
        [basis, year, *extra_params, ranked_by, top],
    )
    keys = [row[key] for row in leaders]
    by_group = {
        (r["modality"], r[key]): r
        for r in _rows(
            con,
            f"select modality, {key}, trials, share from {source} where {where} "
            f"and {key} in (select unnest(?::varchar[])) and modality in (select unnest(?::varchar[]))",
            [basis, year, *extra_params, keys, groups],
        )
    }
    for row in leaders:
        row["by_modality"] = {
            g: {
                "trials": by_group.get((g, row[key]), {}).get("trials", 0),
                "share": by_group.get((g, row[key]), {}).get("share", 0.0),
            }
            for g in groups
        }
    return leaders


# ---- rendering -------------------------------------------------------------------------------


def _pct(share: float | None) -> str:
    return "" if share is None else f"{share * 100:.1f}%"


def report_tables(data: dict[str, Any]) -> list[tuple[str, list[str], list[list[Any]]]]:
    """The report as (title, columns, rows) tables, shared by the text and HTML renderers."""
    groups, year = data["modalities"], data["year"]
    ranked_by = data["ranked_by"]
    years = sorted({r["year"] for r in data["trend"]})
    counts = {(r["modality"], r["year"]): r["trials"] for r in data["trend"]}
    cumulative = {r["modality"]: r["trials"] for r in data["cumulative"]}
    trend_rows = [[y, *(counts[(g, y)] for g in groups)] for y in years]
    trend_rows.append([f"through {year}", *(cumulative[g] for g in groups)])

    phase_names = sorted({r["phase"] for r in data["phases"]}, key=lambda p: next(
        r["phase_order"] for r in data["phases"] if r["phase"] == p))  # fmt: skip
    phase = {(r["modality"], r["phase"]): r for r in data["phases"]}
    phase_rows = [
        [p, *(f"{phase[(g, p)]['trials']} ({_pct(phase[(g, p)]['share'])})" if (g, p) in phase else "0"
              for g in groups)]
        for p in phase_names
    ]  # fmt: skip

    def breakdown(row: dict[str, Any]) -> list[Any]:
        if len(groups) == 1:
            return [row["trials"], _pct(row["share"])]
        return [_pct(row["share"]), *(row["by_modality"][g]["trials"] for g in groups)]

    side = len(groups) > 1
    count_cols = ["trials", "share"] if not side else [f"share of {ranked_by}", *groups]
    country_rows = [[r["rank"], r["country"], *breakdown(r)] for r in data["countries"]]
    for r in data["countries_not_provided"]:
        if r["modality"] == ranked_by:
            country_rows.append(["", "Not provided (no location)", *(
                [r["trials"], _pct(r["share"])] if not side else [_pct(r["share"]), *(
                    next((x["trials"] for x in data["countries_not_provided"] if x["modality"] == g), 0)
                    for g in groups)]
            )])  # fmt: skip
    sponsor_rows = [
        [r["rank"], r["sponsor"], r["sponsor_country"] or "", *breakdown(r)] for r in data["sponsors"]
    ]
    role = "lead sponsor" if data["role"] == "lead" else "lead sponsor or collaborator"
    basis = data["basis"].replace("_", " ")
    return [
        (f"Trials per year ({basis} basis)", ["year", *groups], trend_rows),
        (f"Phase distribution, {year}", ["phase", *groups], phase_rows),
        (f"Top {data['top']} countries, {year} (trials with a site there; ranked by {ranked_by})",
         ["rank", "country", *count_cols], country_rows),
        (f"Top {data['top']} sponsors, {year} ({role}; ranked by {ranked_by})",
         ["rank", "sponsor", "country", *count_cols], sponsor_rows),
    ]  # fmt: skip


def provenance_lines(data: dict[str, Any]) -> list[str]:
    p = data["provenance"]
    lines = [
        f"Run {p.get('run_id', '?')} ({p.get('kind', '?')}), finished {p.get('finished_at', '?')}; "
        f"registry data timestamp {p.get('data_timestamp') or 'n/a'}, API version "
        f"{p.get('api_version') or 'n/a'}; classifier {p.get('classifier_version', '?')}.",
        f"Year basis: {data['basis']}. Excluded: {'; '.join(p['excluded'])}.",
    ]
    if p.get("source"):
        lines.append(f"Source file: {p['source']}.")
    for q in p.get("queries", []):
        lines.append(f"Query {q['name']}: {q['term']}" + (f" [{q['filter']}]" if q.get("filter") else ""))
    lines += p["caveats"]
    return lines


def render_report(data: dict[str, Any], fmt: str) -> str:
    """The report as table, markdown, csv or json text."""
    if fmt == "json":
        return json.dumps(data, default=json_default, indent=2) + "\n"
    if fmt == "csv":
        return _csv(data)
    markdown = fmt == "markdown"
    parts = [
        ("# " if markdown else "")
        + f"Immune cell therapy trials on ClinicalTrials.gov, {data['year']}"
        + ("" if len(data["modalities"]) > 1 else f" ({data['modalities'][0]})")
    ]
    for title, columns, rows in report_tables(data):
        heading = f"## {title}" if markdown else f"{title}\n{'=' * len(title)}"
        parts.append(heading + "\n\n" + text_table(columns, rows, markdown=markdown))
    footer = provenance_lines(data)
    parts.append(("## Provenance\n\n" + "\n".join(f"- {line}" for line in footer)) if markdown
                 else "Provenance\n----------\n" + "\n".join(footer))  # fmt: skip
    return "\n\n".join(parts).rstrip() + "\n"


def _csv(data: dict[str, Any]) -> str:
    """One tidy CSV: a row per (section, modality, item) with trials and share."""
    columns = [
        "section",
        "modality",
        "year",
        "item",
        "rank",
        "trials",
        "share",
        "country_code",
        "sponsor_country",
    ]
    year, ranked_by = data["year"], data["ranked_by"]
    rows: list[list[Any]] = []

    def add(section: str, modality: str, trials: int, **cells: Any) -> None:
        rows.append(
            [section, modality, cells.get("year", year), cells.get("item", ""), cells.get("rank", ""),
             trials, cells.get("share", ""), cells.get("country_code", ""), cells.get("sponsor_country", "")]
        )  # fmt: skip

    def add_ranked(section: str, item_key: str, rows_: list[dict[str, Any]], **cells: str) -> None:
        for r in rows_:
            for g, v in r["by_modality"].items():
                rank = r["rank"] if g == ranked_by else ""
                extra = {name: r[key] or "" for name, key in cells.items()}
                add(section, g, v["trials"], item=r[item_key], rank=rank, share=v["share"], **extra)

    for r in data["trend"]:
        add("trend", r["modality"], r["trials"], year=r["year"])
    for r in data["cumulative"]:
        add("cumulative", r["modality"], r["trials"], year=r["through_year"])
    for r in data["phases"]:
        add("phase", r["modality"], r["trials"], item=r["phase"], share=r["share"])
    add_ranked("country", "country", data["countries"], country_code="country_code")
    for r in data["countries_not_provided"]:
        add("country", r["modality"], r["trials"], item="Not provided", share=r["share"], country_code="XX")
    add_ranked("sponsor", "sponsor", data["sponsors"], sponsor_country="sponsor_country")
    return csv_text(columns, rows)
