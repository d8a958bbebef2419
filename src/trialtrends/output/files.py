"""`report --out DIR`: the charts (PNG at 300 dpi, SVG) and a self-contained HTML report.

File names carry the year, the group (or `all-groups`) and the basis, so reports of different
groups or bases written to one folder never overwrite each other. matplotlib is imported (via
charts) only when this runs, so the plain report stays fast.
"""

from __future__ import annotations

import html
import io
from pathlib import Path
from typing import Any

from trialtrends.output.report_text import (
    QUERY_COLUMNS,
    provenance_lines,
    query_rows,
    report_tables,
    report_title,
)

CHART_TITLES = {
    "trend": "Trials per year",
    "phases": "Phase distribution",
    "disease-areas": "Disease areas over the years",
    "targets": "Top targets",
    "sponsor-types": "Sponsor types over the years",
    "cell-sources": "Cell source and its basis",
}


def report_stem(data: dict[str, Any]) -> str:
    """`report-2022-car-t-first_posted` (one group) or `report-2022-all-groups-first_posted`."""
    scope = data["modalities"][0].lower() if len(data["modalities"]) == 1 else "all-groups"
    suffix = "-with-follow-up" if data["include_follow_up"] else ""
    suffix += "-with-expanded-access" if data.get("include_expanded_access") else ""
    return f"report-{data['year']}-{scope}-{data['basis']}{suffix}"


def _svg(fig: Any) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def _html_table(columns: list[str], rows: list[list[Any]]) -> str:
    if not rows:
        return '<p class="empty">None.</p>'
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)

    def numeric(value: Any) -> bool:
        text = "" if value is None else str(value)
        return (
            isinstance(value, int | float)
            or text.rstrip("%)").replace("(", "").replace(".", "").replace(" ", "").isdigit()
        )

    # A column is right-aligned when all its filled cells are counts or shares (as in the text
    # table), so a year column with one "2026 partial (...)" label stays aligned.
    right = [all(numeric(row[i]) for row in rows if row[i] not in (None, "")) for i in range(len(columns))]

    def cell(value: Any, i: int) -> str:
        text = "" if value is None else str(value)
        return f'<td class="{"num" if right[i] else "txt"}">{html.escape(text)}</td>'

    body = "".join("<tr>" + "".join(cell(v, i) for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1200px;
color:#222;padding:0 1rem}h1{font-size:1.5rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;font-size:.85rem}th,td{padding:.2rem .55rem;border-bottom:1px solid #ddd;
text-align:left;vertical-align:top}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
th{background:#f4f4f4}.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:1.5rem}
figure{margin:0}figure svg{width:100%;height:auto}figcaption{font-size:.85rem;font-weight:600;margin:.2rem 0}
.partial{background:#fff4d6;border-left:4px solid #E69F00;padding:.4rem .8rem;font-size:.9rem}
.empty{color:#666;font-style:italic}.tables{overflow-x:auto}
footer{margin-top:2rem;font-size:.8rem;color:#555}footer li{margin:.2rem 0}
details{margin-top:1rem}summary{cursor:pointer;font-weight:600}details td{word-break:break-word}
"""


def report_html(data: dict[str, Any], svgs: dict[str, str]) -> str:
    """One HTML file with every table, the inline SVG charts and provenance: viewable offline."""
    title = report_title(data)
    # Non-breaking hyphens in the heading: a line break inside "CAR-T" reads as two words.
    heading = html.escape(title).replace("-", "\u2011")
    sections = "".join(
        f"<h2>{html.escape(t)}</h2>{_html_table(cols, rows)}" for t, cols, rows in report_tables(data)
    )
    figures = "".join(
        f"<figure><figcaption>{html.escape(CHART_TITLES.get(name, name))}</figcaption>"
        f"{svg[svg.find('<svg') :]}</figure>"  # drop the XML prolog
        for name, svg in svgs.items()
    )
    partial = data.get("partial_year")
    banner = (
        f'<p class="partial">{partial["year"]} is partial: the registry data run to {partial["data_to"]}, '
        "so its counts are not comparable with complete years.</p>"
        if partial and data["year"] - data["trend_years"] < partial["year"] <= data["year"]
        else ""
    )
    footer = "".join(f"<li>{html.escape(line)}</li>" for line in provenance_lines(data))
    methods = data.get("methods")
    methods = f'<h2>Methods</h2><p class="methods">{html.escape(methods)}</p>' if methods else ""
    queries = query_rows(data)
    # The searches' full text is long (product-name OR lists): folded away, named once above.
    appendix = (
        f"<details><summary>Appendix: search queries ({len(queries)})</summary>"
        f"{_html_table(QUERY_COLUMNS, queries)}</details>"
        if queries
        else ""
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head><body><h1>{heading}</h1>{banner}"
        f'<div class="charts">{figures}</div><div class="tables">{sections}</div>{methods}'
        f"<footer><h2>Provenance</h2><ul>{footer}</ul>{appendix}</footer></body></html>\n"
    )


def write_report_files(data: dict[str, Any], out: Path) -> list[Path]:
    """Write every chart as PNG (300 dpi) and SVG, and the HTML report, into `out`; return the paths."""
    from trialtrends.output.charts import DPI, FIGURES, pyplot

    out.mkdir(parents=True, exist_ok=True)
    stem = report_stem(data)
    written = []
    svgs = {}
    plt = pyplot()
    for name, make in FIGURES.items():
        fig = make(data)
        png = out / f"{stem}-{name}.png"
        fig.savefig(png, dpi=DPI, metadata={"Software": None})
        svgs[name] = _svg(fig)
        svg = out / f"{stem}-{name}.svg"
        svg.write_text(svgs[name])
        written += [png, svg]
        plt.close(fig)
    page = out / f"{stem}.html"
    page.write_text(report_html(data, svgs))
    written.append(page)
    return written
