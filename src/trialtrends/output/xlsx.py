"""`report --format xlsx --out DIR`: the report as one Excel workbook (XlsxWriter).

One sheet per table, tidy and numeric (counts are numbers, shares are numbers formatted as
percentages, never text), a frozen header row with filters, column widths fitted to the content,
and a provenance sheet. XlsxWriter is imported only here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trialtrends.output.render import neutralise_formula
from trialtrends.output.report import partial_label
from trialtrends.output.report_text import QUERY_COLUMNS, provenance_lines, query_rows, report_title

Sheet = tuple[str, list[str], list[list[Any]]]


def _note(data: dict[str, Any], year: Any) -> str:
    partial = data.get("partial_year")
    return partial_label(data) if partial and year == partial["year"] else ""


def _basis(row: dict[str, Any]) -> str | None:
    """trial_flags.cell_source_basis as stored: null (an empty cell) for an unknown source."""
    return None if row["source_basis"] == "unknown" else row["source_basis"]


def _ranked_sheet(
    name: str, data: dict[str, Any], rows: list[dict[str, Any]], key: str, attrs: list[str]
) -> Sheet:
    groups = data["modalities"]
    columns = ["rank", key, *attrs, "trials", "share", *(f"{g} trials" for g in groups)]
    body = [
        [r["rank"], r[key], *(r[a] for a in attrs), r["trials"], r["share"],
         *(r["by_modality"][g]["trials"] for g in groups)]
        for r in rows
    ]  # fmt: skip
    return name, columns, body


def workbook_sheets(data: dict[str, Any]) -> list[Sheet]:
    """Every table of the report as (sheet name, columns, rows) with native numbers."""
    groups = data["modalities"]
    years = sorted({r["year"] for r in data["trend"]})
    counts = {(r["modality"], r["year"]): r["trials"] for r in data["trend"]}
    trend = [[y, *(counts[(g, y)] for g in groups), _note(data, y)] for y in years]
    products = data["products"]
    product_columns = [
        "product_id", "name", "modality", "targets", "cell_source", "developer", "developer_country",
        "highest_phase", "trials", "approvals", "first_approval_year",
    ]  # fmt: skip

    def product_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
        return [[", ".join(r[c] or []) if c == "targets" else r[c] for c in product_columns] for r in rows]

    return [
        ("Trend", ["year", *groups, "note"], trend),
        ("Cumulative", ["modality", "through_year", "trials"],
         [[r["modality"], r["through_year"], r["trials"]] for r in data["cumulative"]]),
        ("Phases", ["modality", "phase", "phase_order", "trials", "share", "note"],
         [[r["modality"], r["phase"], r["phase_order"], r["trials"], r["share"], _note(data, data["year"])]
          for r in data["phases"]]),
        _ranked_sheet("Countries", data, data["countries"], "country", ["country_code"]),
        ("Countries not provided", ["modality", "trials", "share"],
         [[r["modality"], r["trials"], r["share"]] for r in data["countries_not_provided"]]),
        _ranked_sheet("Sponsors", data, data["sponsors"], "sponsor", ["sponsor_country"]),
        _ranked_sheet("Targets", data, data["targets"], "target", []),
        ("Disease areas", ["modality", "year", "area", "trials", "share", "note"],
         [[r["modality"], r["year"], r["area"], r["trials"], r["share"], _note(data, r["year"])]
          for r in data["disease_areas"]]),
        ("Sponsor types", ["modality", "year", "role", "sponsor_type", "trials", "share", "note"],
         [[r["modality"], r["year"], r["role"], r["sponsor_type"], r["trials"], r["share"],
           _note(data, r["year"])] for r in data["sponsor_types"]]),
        ("Cell sources", ["modality", "year", "cell_source", "cell_source_basis", "trials", "share", "note"],
         [[r["modality"], data["year"], r["cell_source"], _basis(r), r["trials"], r["share"],
           _note(data, data["year"])] for r in data.get("cell_sources", [])]),
        ("Approved products", product_columns, product_rows(products["approved"])),
        ("Top products", product_columns, product_rows(products["top"])),
        ("Products by phase", ["modality", "highest_phase", "phase_order", "products", "approved_products"],
         [[r["modality"], r["highest_phase"], r["phase_order"], r["products"], r["approved_products"]]
          for r in products["by_phase"]]),
        ("Products by country",
         ["developer_country", "modality", "products", "products_in_trials", "approved_products"],
         [[r["developer_country"], r["modality"], r["products"], r["products_in_trials"],
           r["approved_products"]] for r in products["by_country"]]),
        ("Flow", ["stage", "kind", "trials"],
         [[b["label"], b["kind"], b["trials"]] for b in data["flow"]["boxes"]]),
    ]  # fmt: skip


def _provenance_rows(data: dict[str, Any]) -> list[list[Any]]:
    p = data["provenance"]
    rows: list[list[Any]] = [["title", report_title(data)], ["report_version", data["report_version"]]]
    for key in ("year", "basis", "ranked_by", "top", "role", "include_follow_up", "include_expanded_access",
                "trend_years"):  # fmt: skip
        rows.append([key, data[key]])
    for key in ("run_id", "kind", "finished_at", "api_url", "api_version", "data_timestamp", "source",
                "classifier_version"):  # fmt: skip
        rows.append([key, p.get(key)])
    rows.append(
        ["partial_year", partial_label(data) and f"{data['partial_year']['year']} {partial_label(data)}"]
    )
    rows.append(["methods", data["methods"]])
    rows += [["note", line] for line in provenance_lines(data)]
    return rows


def write_workbook(data: dict[str, Any], out: Path, stem: str) -> Path:
    """Write `<stem>.xlsx` into `out` and return its path."""
    import xlsxwriter

    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{stem}.xlsx"
    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "nan_inf_to_errors": True})
    try:
        header = book.add_format({"bold": True, "bg_color": "#F4F4F4", "bottom": 1})
        percent = book.add_format({"num_format": "0.0%"})
        sheets = [
            *workbook_sheets(data),
            ("Provenance", ["field", "value"], _provenance_rows(data)),
            ("Queries", QUERY_COLUMNS, query_rows(data)),  # the searches' full text, named in Provenance
        ]
        for name, columns, rows in sheets:
            sheet = book.add_worksheet(name[:31])
            widths = [len(c) for c in columns]
            for col, title in enumerate(columns):
                sheet.write_string(0, col, title, header)
            for r, row in enumerate(rows, start=1):
                for col, value in enumerate(row):
                    if value is None or value == "":
                        continue
                    if isinstance(value, bool):
                        sheet.write_boolean(r, col, value)
                    elif isinstance(value, int | float):
                        share = columns[col] == "share"
                        sheet.write_number(r, col, value, percent if share else None)
                    else:
                        # A string cell is never evaluated by XlsxWriter, but it is once a user
                        # edits it or saves the sheet as CSV: neutralised as in CSV output.
                        sheet.write_string(r, col, neutralise_formula(str(value)))
                    widths[col] = max(
                        widths[col], len(f"{value:.1%}" if columns[col] == "share" else str(value))
                    )
            for col, width in enumerate(widths):
                sheet.set_column(col, col, min(max(width + 2, 8), 60))
            sheet.freeze_panes(1, 0)
            if rows:
                sheet.autofilter(0, 0, len(rows), len(columns) - 1)
    finally:
        book.close()
    return path
