"""The report as text: its tables, title and provenance in table, markdown or CSV form
(duckdb-free; stdlib only), read from the dict `report.build_report` returns."""

from __future__ import annotations

from typing import Any

from trialtrends.output.render import csv_text, json_text, text_table
from trialtrends.output.report import is_partial, partial_label


def _pct(share: float | None) -> str:
    return "" if share is None else f"{share * 100:.1f}%"


def _n_pct(row: dict[str, Any] | None) -> str:
    return "0" if not row or not row["trials"] else f"{row['trials']} ({_pct(row['share'])})"


def year_label(data: dict[str, Any], year: int) -> str:
    """A year, marked 'partial (data to YYYY-MM-DD)' when it is the data timestamp's year."""
    return f"{year} {partial_label(data)}" if is_partial(data, year) else str(year)


def _of_year(data: dict[str, Any]) -> str:
    return year_label(data, data["year"])


def _items(rows: list[dict[str, Any]], key: str) -> list[str]:
    seen: list[str] = []
    for row in rows:
        if row[key] not in seen:
            seen.append(row[key])
    return seen


Table = tuple[str, list[str], list[list[Any]]]


def report_tables(data: dict[str, Any]) -> list[Table]:
    """The report as (title, columns, rows) tables, shared by the text and HTML renderers."""
    groups, year = data["modalities"], data["year"]
    ranked_by = data["ranked_by"]
    of_year = _of_year(data)
    years = sorted({r["year"] for r in data["trend"]})
    counts = {(r["modality"], r["year"]): r["trials"] for r in data["trend"]}
    cumulative = {r["modality"]: r["trials"] for r in data["cumulative"]}
    trend_rows = [[year_label(data, y), *(counts[(g, y)] for g in groups)] for y in years]
    trend_rows.append([f"through {year}", *(cumulative[g] for g in groups)])

    phase = {(r["modality"], r["phase"]): r for r in data["phases"]}
    phase_rows = [[p, *(_n_pct(phase.get((g, p))) for g in groups)] for p in _items(data["phases"], "phase")]

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
    target_rows = [[r["rank"], r["target"], *breakdown(r)] for r in data["targets"]]
    role = "lead sponsor" if data["role"] == "lead" else "lead sponsor or collaborator"
    basis = data["basis"].replace("_", " ")
    return [
        (f"Trials per year ({basis} basis)", ["year", *groups], trend_rows),
        (f"Phase distribution, {of_year}", ["phase", *groups], phase_rows),
        (f"Top {data['top']} countries, {of_year} (trials with a site there; ranked by {ranked_by})",
         ["rank", "country", *count_cols], country_rows),
        (f"Top {data['top']} sponsors, {of_year} ({role}; ranked by {ranked_by})",
         ["rank", "sponsor", "country", *count_cols], sponsor_rows),
        *_area_tables(data),
        (f"Top {data['top']} targets, {of_year} (multi-target trials count for each; ranked by {ranked_by})",
         ["rank", "target", *count_cols], target_rows),
        *_sponsor_type_tables(data, role),
        *_product_tables(data),
        *_flow_table(data),
    ]  # fmt: skip


def flow_rows(data: dict[str, Any]) -> list[list[Any]]:
    """The flow's boxes as (stage, trials) rows, exclusions indented under the stage they leave."""
    return [
        [b["label"] if b["kind"] == "stage" else f"  excluded: {b['label']}", b["trials"]]
        for b in data["flow"]["boxes"]
    ]


def _flow_table(data: dict[str, Any]) -> list[Table]:
    if "flow" not in data:  # a report dict from before the flow existed
        return []
    basis = data["basis"].replace("_", " ")
    return [(f"Flow of trials to the counted set (all groups, {basis} basis, all years)",
             ["stage", "trials"], flow_rows(data))]  # fmt: skip


def _by_group_table(data: dict[str, Any], rows: list[dict[str, Any]], key: str) -> list[list[Any]]:
    """Items of the report year as rows, one 'n (x%)' column per group."""
    found = {(r["modality"], r[key]): r for r in rows if r["year"] == data["year"]}
    return [[item, *(_n_pct(found.get((g, item))) for g in data["modalities"])] for item in _items(rows, key)]


def _per_year_table(
    data: dict[str, Any], rows: list[dict[str, Any]], key: str
) -> tuple[list[str], list[list[Any]]]:
    """The ranked-by group's items over the trend years: one row per year, 'n (x%)' per item."""
    mine = [r for r in rows if r["modality"] == data["ranked_by"]]
    items = _items(mine, key)
    found = {(r["year"], r[key]): r for r in mine}
    years = sorted({r["year"] for r in mine})
    return items, [[year_label(data, y), *(_n_pct(found.get((y, i))) for i in items)] for y in years]


def _area_tables(data: dict[str, Any]) -> list[Table]:
    rows = data["disease_areas"]
    items, per_year = _per_year_table(data, rows, "area")
    note = "a trial in two areas counts in both"
    return [
        (f"Disease areas, {_of_year(data)} ({note})", ["area", *data["modalities"]],
         _by_group_table(data, rows, "area")),
        (f"Disease areas per year, {data['ranked_by']}", ["year", *items], per_year),
    ]  # fmt: skip


def _sponsor_type_tables(data: dict[str, Any], role: str) -> list[Table]:
    rows = data["sponsor_types"]
    items, per_year = _per_year_table(data, rows, "sponsor_type")
    return [
        (f"Sponsor types, {_of_year(data)} ({role})", ["sponsor type", *data["modalities"]],
         _by_group_table(data, rows, "sponsor_type")),
        (f"Sponsor types per year, {data['ranked_by']} ({role})", ["year", *items], per_year),
    ]  # fmt: skip


def _product_tables(data: dict[str, Any]) -> list[Table]:
    products = data["products"]

    def listed(values: list[str] | None) -> str:
        return ", ".join(values or [])

    approved = [
        [p["name"], p["modality"], listed(p["targets"]), p["developer"] or "", p["developer_country"] or "",
         p["approvals"] or "", p["trials"]]
        for p in products["approved"]
    ]  # fmt: skip
    leaders = [
        [p["name"], p["modality"], listed(p["targets"]), p["cell_source"] or "", p["developer"] or "",
         p["developer_country"] or "", p["highest_phase"] or "", p["trials"], p["approvals"] or ""]
        for p in products["top"]
    ]  # fmt: skip
    modalities = _items(products["by_phase"], "modality")
    phase = {(r["modality"], r["highest_phase"]): r["products"] for r in products["by_phase"]}
    by_phase = [
        [p, *(phase.get((m, p), 0) for m in modalities), sum(phase.get((m, p), 0) for m in modalities)]
        for p in _items(products["by_phase"], "highest_phase")
    ]
    countries = _items(products["by_country"], "developer_country")
    country = {(r["developer_country"], r["modality"]): r for r in products["by_country"]}
    by_country = [
        [c, *(country.get((c, m), {}).get("products", 0) for m in modalities),
         sum(country.get((c, m), {}).get("products_in_trials", 0) for m in modalities),
         sum(country.get((c, m), {}).get("approved_products", 0) for m in modalities)]
        for c in countries
    ]  # fmt: skip
    as_of = f"as of {data['partial_year']['data_to']}" if data.get("partial_year") else "all years"
    return [
        ("Approved products (agency and year of first approval)",
         ["product", "modality", "targets", "developer", "country", "approvals", "trials"], approved),
        (f"Top {data['top']} products by trials ({as_of})",
         ["product", "modality", "targets", "cell source", "developer", "country", "highest phase", "trials",
          "approvals"], leaders),
        ("Products by highest phase reached", ["highest phase", *modalities, "total"], by_phase),
        ("Products by developer country", ["country", *modalities, "in trials", "approved"], by_country),
    ]  # fmt: skip


def provenance_lines(data: dict[str, Any]) -> list[str]:
    p = data["provenance"]
    lines = [
        f"Run {p.get('run_id', '?')} ({p.get('kind', '?')}), finished {p.get('finished_at', '?')}; "
        f"registry data timestamp {p.get('data_timestamp') or 'n/a'}, API version "
        f"{p.get('api_version') or 'n/a'}; classifier {p.get('classifier_version', '?')}.",
        f"Year basis: {data['basis']}. Excluded: {'; '.join(p['excluded'])}.",
        "Counted: trials that give patients a CAR-T, TCR-T, TIL or NK product as what they test "
        "(investigational) or as the backbone of a combination; withdrawn trials stay in "
        f"(the tables hold {p.get('withdrawn_trials', 0)} withdrawn and "
        f"{p.get('expanded_access_trials', 0)} expanded-access records).",
    ]
    if data.get("partial_year"):
        lines.append(f"{data['partial_year']['year']} is {partial_label(data)}: its counts are incomplete.")
    if p.get("source"):
        lines.append(f"Source file: {p['source']}.")
    for q in p.get("queries", []):
        lines.append(f"Query {q['name']}: {q['term']}" + (f" [{q['filter']}]" if q.get("filter") else ""))
    lines += p["caveats"]
    return lines


def report_title(data: dict[str, Any]) -> str:
    """The report's title: year (partial mark), the group when one is chosen, and the basis."""
    groups = data["modalities"]
    scope = "CAR-T, TCR-T, TIL and NK" if len(groups) > 1 else groups[0]
    return (
        f"Immune cell therapy trials on ClinicalTrials.gov, {_of_year(data)}: {scope}, "
        f"{data['basis'].replace('_', ' ')} basis"
    )


def render_report(data: dict[str, Any], fmt: str) -> str:
    """The report as table, markdown, csv or json text."""
    if fmt == "json":
        return json_text(data)  # strict JSON: NaN/Infinity as null, dates ISO 8601
    if fmt == "csv":
        return _csv(data)
    markdown = fmt == "markdown"
    parts = [("# " if markdown else "") + report_title(data)]
    for title, columns, rows in report_tables(data):
        heading = f"## {title}" if markdown else f"{title}\n{'=' * len(title)}"
        body = text_table(columns, rows, markdown=markdown) if rows else "(none)\n"
        parts.append(heading + "\n\n" + body)
    if data.get("methods"):
        parts.append(("## Methods" if markdown else "Methods\n-------") + "\n\n" + data["methods"])
    footer = provenance_lines(data)
    parts.append(("## Provenance\n\n" + "\n".join(f"- {line}" for line in footer)) if markdown
                 else "Provenance\n----------\n" + "\n".join(footer))  # fmt: skip
    return "\n\n".join(parts).rstrip() + "\n"


CSV_COLUMNS = (
    "section", "modality", "year", "item", "rank", "trials", "share", "country_code", "sponsor_country",
    "role", "products", "highest_phase", "approvals", "basis", "run_id", "data_timestamp", "note",
)  # fmt: skip


def _csv(data: dict[str, Any]) -> str:
    """One tidy CSV: a row per (section, modality, item), zeros included, with its provenance."""
    year, ranked_by = data["year"], data["ranked_by"]
    stamp = {
        "basis": data["basis"],
        "run_id": data["provenance"].get("run_id", ""),
        "data_timestamp": data["provenance"].get("data_timestamp") or "",
    }
    rows: list[list[Any]] = []

    def add(section: str, modality: str, trials: Any, **cells: Any) -> None:
        cells = {"year": year, "trials": trials, **stamp, **cells}
        if cells["year"] != "" and is_partial(data, cells["year"]):
            cells["note"] = partial_label(data)
        rows.append([section if c == "section" else modality if c == "modality" else cells.get(c, "")
                     for c in CSV_COLUMNS])  # fmt: skip

    def add_ranked(
        section: str, item_key: str, rows_: list[dict[str, Any]], attrs: dict[str, str], **fixed: Any
    ) -> None:
        for r in rows_:
            for g, v in r["by_modality"].items():
                rank = r["rank"] if g == ranked_by else ""
                extra = {name: r[key] or "" for name, key in attrs.items()}
                add(section, g, v["trials"], item=r[item_key], rank=rank, share=v["share"], **extra, **fixed)

    for r in data["trend"]:
        add("trend", r["modality"], r["trials"], year=r["year"])
    for r in data["cumulative"]:
        add("cumulative", r["modality"], r["trials"], year=r["through_year"])
    for r in data["phases"]:
        add("phase", r["modality"], r["trials"], item=r["phase"], share=r["share"])
    add_ranked("country", "country", data["countries"], {"country_code": "country_code"})
    for r in data["countries_not_provided"]:
        add("country", r["modality"], r["trials"], item="Not provided", share=r["share"], country_code="XX")
    add_ranked(
        "sponsor", "sponsor", data["sponsors"], {"sponsor_country": "sponsor_country"}, role=data["role"]
    )
    for r in data["disease_areas"]:
        add("disease_area", r["modality"], r["trials"], year=r["year"], item=r["area"], share=r["share"])
    add_ranked("target", "target", data["targets"], {})
    for r in data["sponsor_types"]:
        add("sponsor_type", r["modality"], r["trials"], year=r["year"], item=r["sponsor_type"],
            share=r["share"], role=r["role"])  # fmt: skip
    products = data["products"]
    for section, listed in (("product_approved", products["approved"]), ("product", products["top"])):
        for p in listed:
            add(section, p["modality"], p["trials"], year="", item=p["name"],
                sponsor_country=p["developer_country"] or "", highest_phase=p["highest_phase"] or "",
                approvals=p["approvals"] or "")  # fmt: skip
    for r in products["by_phase"]:
        add("products_by_phase", r["modality"], "", year="", item=r["highest_phase"], products=r["products"])
    for r in products["by_country"]:
        add(
            "products_by_country",
            r["modality"],
            "",
            year="",
            item=r["developer_country"],
            products=r["products"],
        )
    for b in data.get("flow", {}).get("boxes", []):
        add("flow", "ALL", b["trials"], year="", item=b["label"], note=b["kind"])
    if data.get("methods"):
        add("methods", "", "", year="", note=data["methods"])
    return csv_text(list(CSV_COLUMNS), rows)
