"""The report as text: its tables, title and provenance in table, markdown or CSV form
(duckdb-free; stdlib only), read from the dict `report.build_report` returns."""

from __future__ import annotations

from typing import Any

from trialtrends.output.render import csv_text, json_text, plural, printable, text_table
from trialtrends.output.report import is_partial, partial_label


def _pct(share: float | None) -> str:
    return "" if share is None else f"{share * 100:.1f}%"


def n_pct(row: dict[str, Any] | None) -> str:
    """'12 (4.5%)', or '0': how every table (and a chart's legend) writes a count with its share."""
    return "0" if not row or not row["trials"] else f"{row['trials']} ({_pct(row['share'])})"


_n_pct = n_pct


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
        *_cell_source_tables(data),
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


SOURCE_LABELS = {"autologous": "autologous", "allogeneic": "allogeneic", "in_vivo": "in vivo",
                 "unclear": "unknown"}  # fmt: skip
BASIS_LABELS = {"stated": "stated", "product": "product dictionary", "inferred": "inferred"}


def _cell_source_tables(data: dict[str, Any]) -> list[Table]:
    """The year's cell-source split per group, then the ranked group's split by basis."""
    rows = data.get("cell_sources") or []
    if not rows:
        return []
    groups, ranked_by = data["modalities"], data["ranked_by"]

    def summed(group: str, source: str | None = None, basis: str | None = None) -> dict[str, Any]:
        picked = [r for r in rows if r["modality"] == group and source in (None, r["cell_source"])
                  and basis in (None, r["source_basis"])]  # fmt: skip
        return {"trials": sum(r["trials"] for r in picked), "share": sum(r["share"] for r in picked)}

    sources = _items(rows, "cell_source")
    by_group = [[SOURCE_LABELS.get(s, s), *(n_pct(summed(g, s)) for g in groups)] for s in sources]
    by_basis = [
        [SOURCE_LABELS.get(s, s), *(n_pct(summed(ranked_by, s, b)) for b in BASIS_LABELS),
         n_pct(summed(ranked_by, s))]
        for s in sources
    ]  # fmt: skip
    by_basis.append(
        ["all sources", *(n_pct(summed(ranked_by, None, b)) for b in BASIS_LABELS), n_pct(summed(ranked_by))]
    )
    return [
        (f"Cell source, {_of_year(data)} (stated, from the product dictionary or inferred)",
         ["cell source", *groups], by_group),
        (f"Cell source by basis, {ranked_by}, {_of_year(data)} (share of the year's {ranked_by} trials)",
         ["cell source", *BASIS_LABELS.values(), "total"], by_basis),
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


def settings_line(data: dict[str, Any]) -> str:
    """Every report setting that changes a count, in one line."""
    role = "lead sponsor" if data["role"] == "lead" else "lead sponsor or collaborator"
    follow_up = "included" if data["include_follow_up"] else "excluded"
    expanded = "included" if data.get("include_expanded_access") else "excluded"
    return (
        f"Settings: year {data['year']}, year basis {data['basis']}, groups {', '.join(data['modalities'])} "
        f"(ranked by {data['ranked_by']}), sponsor role {data['role']} ({role}), follow-up studies "
        f"{follow_up}, expanded-access records {expanded}, trend {data['trend_years']} years, "
        f"top {data['top']}."
    )


def query_rows(data: dict[str, Any]) -> list[list[Any]]:
    """The run's searches: name, studies found (totalCount), query term, filter."""
    return [[q["name"], q.get("total_count"), q.get("term") or "", q.get("filter") or ""]
            for q in data["provenance"].get("queries", [])]  # fmt: skip


QUERY_COLUMNS = ["search", "studies found", "query term", "filter"]


def provenance_lines(data: dict[str, Any]) -> list[str]:
    p = data["provenance"]
    lines = [
        f"Run {p.get('run_id', '?')} ({p.get('kind', '?')}), finished {p.get('finished_at', '?')}; "
        f"registry data timestamp {p.get('data_timestamp') or 'n/a'}, API version "
        f"{p.get('api_version') or 'n/a'}; classifier {p.get('classifier_version', '?')}.",
        settings_line(data),
        f"Excluded: {'; '.join(p['excluded'])}.",
        "Counted: trials that give patients a CAR-T, TCR-T, TIL or NK product as what they test "
        "(investigational) or as the backbone of a combination; withdrawn trials stay in "
        f"(the tables hold {p.get('withdrawn_trials', 0)} withdrawn and "
        f"{p.get('expanded_access_trials', 0)} expanded-access records).",
    ]
    if data.get("partial_year"):
        lines.append(f"{data['partial_year']['year']} is {partial_label(data)}: its counts are incomplete.")
    if p.get("source"):
        lines.append(f"Source file: {p['source']}.")
    queries = p.get("queries", [])
    if queries:
        lines.append(
            f"Searches ({plural(len(queries), 'query', 'queries')}; full text in the appendix): "
            + ", ".join(q["name"] for q in queries) + "."
        )
    if data.get("cell_sources"):
        lines.append(
            "Cell source basis: stated = the record's own wording; product dictionary = the reviewed "
            "product list; inferred = a documented rule (an ex vivo CAR-T or TIL trial naming no donor, "
            "allogeneic, off-the-shelf, gene-edited or in vivo product is autologous). Exclude inferred "
            "values with trial_flags.cell_source_basis in ('stated', 'product')."
        )
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
    queries = query_rows(data)
    if queries:
        title = "Appendix: search queries"
        listed = "\n\n".join(
            f"{name} ({found if found is not None else '?'} studies): {term}" + (f" [{flt}]" if flt else "")
            for name, found, term, flt in queries
        )
        parts.append((f"## {title}" if markdown else f"{title}\n{'-' * len(title)}") + "\n\n" + listed)
    # Table cells are escaped already; titles and provenance carry registry text too.
    return printable("\n\n".join(parts).rstrip() + "\n")


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
    for r in data.get("cell_sources", []):
        # item: the source with its basis ("autologous (inferred)"); an unknown source has none.
        basis = "" if r["cell_source"] == "unclear" else f" ({r['source_basis']})"
        add("cell_source", r["modality"], r["trials"], item=SOURCE_LABELS.get(r["cell_source"]) + basis,
            share=r["share"])  # fmt: skip
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
