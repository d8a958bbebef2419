"""`report --out DIR`: the trend and phase charts (PNG, SVG) and a self-contained HTML report.

matplotlib is imported here only, so the plain report stays fast.
"""

from __future__ import annotations

import html
import io
from pathlib import Path
from typing import Any

from trialtrends.output.report import provenance_lines, report_tables

COLORS = {"CAR-T": "#1f77b4", "TCR-T": "#ff7f0e", "TIL": "#2ca02c", "NK": "#9467bd", "ALL": "#7f7f7f"}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display on servers; also makes SVG/PNG output deterministic
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "trialtrends"  # stable SVG ids between runs
    return plt


def trend_figure(data: dict[str, Any]) -> Any:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    groups = [g for g in data["modalities"] if g != "ALL"] or data["modalities"]
    years = sorted({r["year"] for r in data["trend"]})
    counts = {(r["modality"], r["year"]): r["trials"] for r in data["trend"]}
    width = 0.8 / len(groups)
    for i, g in enumerate(groups):
        xs = [y + (i - (len(groups) - 1) / 2) * width for y in years]
        ax.bar(xs, [counts[(g, y)] for y in years], width=width, label=g, color=COLORS.get(g))
    ax.set_xticks(years)
    ax.set_ylabel("trials")
    ax.set_title(f"Trials per year ({data['basis'].replace('_', ' ')} basis)")
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def phase_figure(data: dict[str, Any]) -> Any:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    groups = [g for g in data["modalities"] if g != "ALL"] or data["modalities"]
    order = {r["phase"]: r["phase_order"] for r in data["phases"]}
    phases = sorted(order, key=order.get)
    share = {(r["modality"], r["phase"]): r["share"] for r in data["phases"]}
    left = [0.0] * len(groups)
    cmap = plt.get_cmap("viridis", max(len(phases), 2))
    for i, p in enumerate(phases):
        values = [share.get((g, p), 0.0) * 100 for g in groups]
        ax.barh(groups, values, left=left, label=p, color=cmap(i))
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.invert_yaxis()
    ax.set_xlabel("% of the year's trials")
    ax.set_xlim(0, 100)
    ax.set_title(f"Phase distribution, {data['year']}")
    ax.legend(frameon=False, fontsize=8, ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def _svg(fig: Any) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def _html_table(columns: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)

    def cell(value: Any) -> str:
        text = "" if value is None else str(value)
        # Counts and shares right-aligned, names left-aligned.
        numeric = (
            isinstance(value, int | float)
            or text.rstrip("%)").replace("(", "").replace(".", "").replace(" ", "").isdigit()
        )
        return f'<td class="{"num" if numeric else "txt"}">{html.escape(text)}</td>'

    body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:980px;
color:#222;padding:0 1rem}h1{font-size:1.5rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;font-size:.9rem}th,td{padding:.25rem .6rem;border-bottom:1px solid #ddd;
text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}th{background:#f4f4f4}
.charts{display:flex;flex-wrap:wrap;gap:1rem}.charts svg{max-width:100%;height:auto}
footer{margin-top:2rem;font-size:.8rem;color:#555}footer li{margin:.2rem 0}
"""


def report_html(data: dict[str, Any], trend_svg: str, phase_svg: str) -> str:
    """One HTML file with the tables, inline SVG charts and provenance: viewable offline."""
    title = f"Immune cell therapy trials on ClinicalTrials.gov, {data['year']}"
    sections = "".join(
        f"<h2>{html.escape(t)}</h2>{_html_table(cols, rows)}" for t, cols, rows in report_tables(data)
    )
    inline = "".join(svg[svg.find("<svg") :] for svg in (trend_svg, phase_svg))  # drop XML prolog
    charts = f'<div class="charts">{inline}</div>'
    footer = "".join(f"<li>{html.escape(line)}</li>" for line in provenance_lines(data))
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{charts}{sections}"
        f"<footer><h2>Provenance</h2><ul>{footer}</ul></footer></body></html>\n"
    )


def write_report_files(data: dict[str, Any], out: Path) -> list[Path]:
    """Write trend.png/svg, phases.png/svg and report.html into `out`; return the paths."""
    out.mkdir(parents=True, exist_ok=True)
    stem = f"report-{data['year']}"
    written = []
    svgs = {}
    for name, make in (("trend", trend_figure), ("phases", phase_figure)):
        fig = make(data)
        png = out / f"{stem}-{name}.png"
        fig.savefig(png, metadata={"Software": None})
        svgs[name] = _svg(fig)
        svg = out / f"{stem}-{name}.svg"
        svg.write_text(svgs[name])
        written += [png, svg]
        _pyplot().close(fig)
    page = out / f"{stem}.html"
    page.write_text(report_html(data, svgs["trend"], svgs["phases"]))
    written.append(page)
    return written
