"""The report's charts (matplotlib), sized and labelled for a slide or a paper.

Every chart: Okabe-Ito colours (colour-blind safe), counts written on the bars, the partial
current year hatched and labelled, and a caption with the source, data timestamp and basis.
matplotlib is imported here only, so the plain report stays fast.
"""

from __future__ import annotations

from typing import Any

from trialtrends.output.report import is_partial, partial_label
from trialtrends.output.report_text import n_pct

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour vision
# deficiency; phases use the eight hues in order, with the two "no phase" values in greys.
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")
GROUP_COLORS = {"CAR-T": "#0072B2", "TCR-T": "#E69F00", "TIL": "#009E73", "NK": "#CC79A7", "ALL": "#000000"}
PHASE_COLORS = {
    "Early Phase 1": "#56B4E9", "Phase 1": "#0072B2", "Phase 1/2": "#009E73", "Phase 2": "#F0E442",
    "Phase 2/3": "#E69F00", "Phase 3": "#D55E00", "Phase 4": "#CC79A7", "Not Applicable": "#999999",
    "Not Provided": "#DDDDDD",
}  # fmt: skip
AREA_COLORS = {
    "haematological malignancy": "#0072B2", "solid tumour": "#E69F00",
    "autoimmune / immune-mediated": "#D55E00", "infectious disease": "#009E73",
    "other non-oncology": "#CC79A7", "unknown": "#BBBBBB",
}  # fmt: skip
SIZE = (7.5, 4.6)  # inches: a half-width slide, or a journal's double column at 300 dpi
DPI = 300
PARTIAL_HATCH = "///"


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display on servers; also makes SVG/PNG output deterministic
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        # svg.fonttype none: text stays text in the SVG (searchable, editable in a paper's figure).
        {"svg.hashsalt": "trialtrends", "svg.fonttype": "none", "font.size": 9, "axes.titlesize": 11,
         "axes.titleweight": "bold", "axes.spines.top": False, "axes.spines.right": False,
         "hatch.linewidth": 0.6}
    )  # fmt: skip
    return plt


def caption(data: dict[str, Any]) -> str:
    """Source, data timestamp, basis and what was left out: printed under every chart."""
    p = data["provenance"]
    stamp = (p.get("data_timestamp") or p.get("finished_at") or "n/a")[:10]
    parts = [
        f"Source: ClinicalTrials.gov (data timestamp {stamp})",
        f"year basis: {data['basis'].replace('_', ' ')}",
    ]
    left_out = [] if data["include_follow_up"] else ["follow-up"]
    if not data.get("include_expanded_access"):
        left_out.append("expanded-access")
    if left_out:
        parts.append(f"{' and '.join(left_out)} studies excluded")
    text = "; ".join(parts) + "."
    partial = data.get("partial_year")
    if partial and data["year"] - data["trend_years"] < partial["year"] <= data["year"]:
        text += f" {partial['year']} is {partial_label(data)} (hatched or shaded)."
    return text


def _finish(fig: Any, data: dict[str, Any], legend_ax: Any = None, legend_cols: int = 5) -> Any:
    """Caption at the bottom; the legend of `legend_ax` (if any) between the axes and the caption.

    Space is reserved in inches, so the x label, legend and caption never overlap whatever the
    figure's height.
    """
    height = fig.get_figheight()
    reserve = 0.42  # the caption's two lines
    fig.text(0.01, 0.012, caption(data), fontsize=7, color="#444444", ha="left", va="bottom", wrap=True)
    if legend_ax is not None:
        handles, labels = legend_ax.get_legend_handles_labels()
        if handles:
            rows = -(-len(handles) // legend_cols)
            fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, reserve / height),
                       ncols=legend_cols, frameon=False, fontsize=7)  # fmt: skip
            reserve += rows * 0.2 + 0.08
    fig.tight_layout(rect=(0, reserve / height, 1, 1))
    return fig


def _scope(groups: list[str] | str) -> str:
    """The modality a title names: 'CAR-T', 'CAR-T, TCR-T, TIL and NK', 'all cell therapy'."""
    groups = [groups] if isinstance(groups, str) else groups
    names = [g for g in groups if g != "ALL"] or ["all cell therapy"]  # ALL is the others combined
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _title(ax: Any, text: str) -> None:
    ax.set_title(text[:1].upper() + text[1:])


def _when(data: dict[str, Any], years: list[int] | None = None) -> str:
    """The years and the basis a title names: '2018-2022, first posted basis'."""
    span = f"{years[0]}\u2013{years[-1]}" if years and years[0] != years[-1] else _year_text(data)
    return f"{span}, {data['basis'].replace('_', ' ')} basis"


def _year_ticks(ax: Any, data: dict[str, Any], years: list[int]) -> None:
    ax.set_xticks(years)
    ax.set_xticklabels([f"{y}\n(partial)" if is_partial(data, y) else str(y) for y in years])


def _bar_labels(ax: Any, bars: Any, values: list[int], fontsize: float = 7) -> None:
    ax.bar_label(bars, labels=[str(v) for v in values], padding=1.5, fontsize=fontsize)


def _grouped_bars(ax: Any, data: dict[str, Any], groups: list[str], years: list[int], counts: dict) -> None:
    width = 0.8 / len(groups)
    for i, g in enumerate(groups):
        xs = [y + (i - (len(groups) - 1) / 2) * width for y in years]
        values = [counts[(g, y)] for y in years]
        bars = ax.bar(xs, values, width=width, label=g, color=GROUP_COLORS.get(g, OKABE_ITO[i % 8]),
                      edgecolor="white", linewidth=0.4)  # fmt: skip
        for bar, y in zip(bars, years, strict=True):
            if is_partial(data, y):
                bar.set_hatch(PARTIAL_HATCH)
                bar.set_edgecolor("#FFFFFF")
        _bar_labels(ax, bars, values, fontsize=6.5 if len(groups) > 2 else 7)
    ax.margins(y=0.15)
    ax.set_ylabel("trials")
    _year_ticks(ax, data, years)


def trend_figure(data: dict[str, Any]) -> Any:
    """Trials per year. Side by side: ALL and CAR-T on top, the small groups (TCR-T, TIL, NK)
    in their own panel below so that counts of 0-30 stay readable beside hundreds."""
    plt = pyplot()
    years = sorted({r["year"] for r in data["trend"]})
    counts = {(r["modality"], r["year"]): r["trials"] for r in data["trend"]}
    groups = data["modalities"]
    big = [g for g in ("ALL", "CAR-T") if g in groups]
    small = [g for g in groups if g not in big]
    if len(groups) == 1 or not small:
        fig, ax = plt.subplots(figsize=SIZE)
        _grouped_bars(ax, data, groups, years, counts)
        _title(ax, f"{_scope(groups)} trials per year\n{_when(data, years)}")
        ax.legend(frameon=False, loc="upper left")
        return _finish(fig, data)
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(SIZE[0], SIZE[1] * 1.45), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    _grouped_bars(top, data, big, years, counts)
    _title(top, f"Cell therapy trials per year ({_scope(groups)}; ALL = all combined)\n{_when(data, years)}")
    top.legend(frameon=False, loc="upper left", ncols=len(big))
    _grouped_bars(bottom, data, small, years, counts)
    bottom.set_title("Smaller groups (own scale)", fontsize=9, fontweight="normal", loc="left")
    bottom.legend(frameon=False, loc="upper left", ncols=len(small))
    return _finish(fig, data)


def phase_figure(data: dict[str, Any]) -> Any:
    """Phase mix of the year: one 100% bar per group, n at the end, 'n=0' for empty groups.

    Segments of 7% or more carry their share inside; smaller ones above the bar (moved right,
    with a leader line, when they would collide). The legend lists only phases with trials.
    """
    plt = pyplot()
    groups = data["modalities"]
    fig, ax = plt.subplots(figsize=(SIZE[0], min(SIZE[1] + 0.4, 2.6 + 0.55 * len(groups))))
    order = {r["phase"]: r["phase_order"] for r in data["phases"]}
    rows = {(r["modality"], r["phase"]): r for r in data["phases"]}
    used = {p for (g, p), r in rows.items() if g in groups and r["trials"]}
    phases = [p for p in sorted(order, key=order.get) if p in used]
    totals = {g: sum(rows[(g, p)]["trials"] for p in phases if (g, p) in rows) for g in groups}
    left = [0.0] * len(groups)
    small: list[list[tuple[float, str]]] = [[] for _ in groups]  # per bar: (segment centre, label)
    for i, p in enumerate(phases):
        values = [rows[(g, p)]["share"] * 100 if (g, p) in rows and totals[g] else 0.0 for g in groups]
        bars = ax.barh(groups, values, left=left, height=0.55, label=p, edgecolor="white", linewidth=0.5,
                       color=PHASE_COLORS.get(p, OKABE_ITO[i % 8]))  # fmt: skip
        dark = PHASE_COLORS.get(p) in ("#0072B2", "#D55E00", "#009E73", "#CC79A7")
        left = _segment_labels(ax, bars, values, left, small, dark)
    _share_axes(ax, small, groups, totals, "% of the year's trials")
    _title(ax, f"Phase of {_scope(groups)} trials\n{_when(data)}")
    return _finish(fig, data, legend_ax=ax)


Small = list[list[tuple[float, str]]]  # per bar: (x, label) of the shares too small to hold a label


def _segment_labels(
    ax: Any, bars: Any, values: list[float], left: list[float], small: Small, dark: bool
) -> list[float]:
    """Label one series of a 100% stacked bar chart: shares of 7% or more inside their segment,
    smaller ones gathered in `small` (drawn beside the bar); returns the next series' offsets."""
    ax.bar_label(bars, labels=[f"{v:.0f}%" if v >= 7 else "" for v in values], label_type="center",
                 fontsize=7, color="white" if dark else "black")  # fmt: skip
    for y, (start, v) in enumerate(zip(left, values, strict=True)):
        if 0 < v < 7:
            small[y].append((start + v / 2, f"{v:.1f}%"))
    return [a + b for a, b in zip(left, values, strict=True)]


def _share_axes(ax: Any, small: Small, groups: list[str], totals: dict[str, int], xlabel: str) -> None:
    """The frame of a 100% stacked bar chart: small shares beside their bar, n per group."""
    for y, labels in enumerate(small):
        _small_segment_labels(ax, y, labels)
    for y, g in enumerate(groups):
        ax.text(101, y, f"n={totals[g]}", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_xlim(0, 112)
    ax.set_xticks(range(0, 101, 20))


def _small_segment_labels(ax: Any, y: int, labels: list[tuple[float, str]]) -> None:
    """Labels of thin segments above bar `y`, left to right, never overlapping one another: a
    label pushed right of its segment gets a leader line to it. (x in % of the bar.)"""
    min_gap = 5.5  # a "12.5%" label at 6 pt is about 5 % of the axis wide
    last = -100.0
    for centre, text in labels:
        x = max(centre, last + min_gap)
        last = x
        arrow = {"arrowstyle": "-", "color": "#666666", "linewidth": 0.5} if x - centre > 0.5 else None
        ax.annotate(text, xy=(centre, y - 0.28), xytext=(x, y - 0.36), ha="center", va="bottom",
                    fontsize=6, color="#333333", arrowprops=arrow)  # fmt: skip


def _year_text(data: dict[str, Any]) -> str:
    year = data["year"]
    return f"{year}, {partial_label(data)}" if is_partial(data, year) else str(year)


def disease_area_figure(data: dict[str, Any]) -> Any:
    """Trials per disease area over the trend years (stacked, n on top) for the ranked group.

    Segments tall enough carry their count; the legend gives every area's count in the report
    year, so thin areas stay readable.
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=SIZE)
    group = data["ranked_by"]
    rows = [r for r in data["disease_areas"] if r["modality"] == group]
    years = sorted({r["year"] for r in rows}) or sorted({r["year"] for r in data["trend"]})
    areas: list[str] = []
    for r in rows:
        if r["area"] not in areas:
            areas.append(r["area"])
    value = {(r["year"], r["area"]): r["trials"] for r in rows}
    of_year = {r["area"]: r for r in rows if r["year"] == data["year"]}
    totals = [sum(value.get((y, a), 0) for a in areas) for y in years]
    top = max([*totals, 1]) * 1.12  # room for the n labels above the tallest stack
    bottom = [0] * len(years)
    for i, area in enumerate(areas):
        values = [value.get((y, area), 0) for y in years]
        if not any(values):
            continue  # an area with no trial in the window has nothing to show or list
        label = f"{area}: {n_pct(of_year.get(area))} in {data['year']}"
        color = AREA_COLORS.get(area, OKABE_ITO[i % 8])
        bars = ax.bar(years, values, bottom=bottom, label=label, color=color, edgecolor="white",
                      linewidth=0.5)  # fmt: skip
        for bar, y in zip(bars, years, strict=True):
            if is_partial(data, y):
                bar.set_hatch(PARTIAL_HATCH)
        # A count fits inside a segment at least ~4.5% of the axis tall (7 pt text on ~3 in).
        dark = color in ("#0072B2", "#D55E00", "#009E73", "#CC79A7")
        ax.bar_label(bars, labels=[str(v) if v >= top * 0.045 else "" for v in values], label_type="center",
                     fontsize=7, color="white" if dark else "black")  # fmt: skip
        bottom = [a + b for a, b in zip(bottom, values, strict=True)]
    # The label is the year's number of trials (n); the stack can be taller, since a trial in
    # two areas counts in both.
    trials = {r["year"]: r["trials"] for r in data["trend"] if r["modality"] == group}
    for y, total in zip(years, bottom, strict=True):
        ax.text(y, total, f"n={trials.get(y, 0)}", ha="center", va="bottom", fontsize=7)
    ax.set_ylim(0, top)
    ax.set_ylabel("trials (a trial in two areas counts in both)")
    _year_ticks(ax, data, years)
    _title(ax, f"{_scope(group)} trials by disease area\n{_when(data, years)}")
    if not rows:
        ax.text(0.5, 0.5, "no disease areas classified", transform=ax.transAxes, ha="center")
    return _finish(fig, data, legend_ax=ax, legend_cols=2)


def target_figure(data: dict[str, Any]) -> Any:
    """The top targets of the year for the ranked group: horizontal bars with n and share."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=SIZE)
    group = data["ranked_by"]
    rows = data["targets"]
    names = [r["target"] for r in rows]
    values = [r["by_modality"][group]["trials"] for r in rows]
    # One series: a mid-tone (not ALL's black) keeps the hatch of a partial year readable.
    color = "#56B4E9" if group == "ALL" else GROUP_COLORS.get(group, "#0072B2")
    bars = ax.barh(names, values, color=color)
    if is_partial(data, data["year"]):
        for bar in bars:
            bar.set_hatch(PARTIAL_HATCH)
            bar.set_edgecolor("white")
    ax.bar_label(bars, labels=[f"{v} ({r['share'] * 100:.0f}%)" for v, r in zip(values, rows, strict=True)],
                 padding=2, fontsize=7)  # fmt: skip
    ax.invert_yaxis()
    ax.margins(x=0.15)
    ax.set_xlabel(f"{group} trials naming the target (multi-target trials count for each)")
    _title(ax, f"Top {data['top']} targets of {_scope(group)} trials\n{_when(data)}")
    if not rows:
        ax.text(0.5, 0.5, "n=0: no target named", transform=ax.transAxes, ha="center")
    return _finish(fig, data)


SPONSOR_TYPE_COLORS = {
    "industry": "#0072B2", "academic": "#E69F00", "hospital": "#009E73", "government": "#CC79A7",
    "other": "#999999",
}  # fmt: skip


def sponsor_type_figure(data: dict[str, Any]) -> Any:
    """Share of the ranked group's trials per sponsor type over the trend years, labelled in %.

    Industry (the usual headline) is labelled at every year, above or below its marker or
    beside it, wherever no other type's marker is; every type's legend entry gives its count
    and share in the report year exactly as the table writes them.
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=SIZE)
    group = data["ranked_by"]
    rows = [r for r in data["sponsor_types"] if r["modality"] == group]
    years = sorted({r["year"] for r in rows})
    types: list[str] = []
    for r in rows:
        if r["sponsor_type"] not in types:
            types.append(r["sponsor_type"])
    share = {(r["year"], r["sponsor_type"]): r["share"] * 100 for r in rows}
    of_year = {r["sponsor_type"]: r for r in rows if r["year"] == data["year"]}
    top = max([*share.values(), 10]) * 1.18
    markers = "osD^v"
    for i, kind in enumerate(types):
        values = [share.get((y, kind), 0.0) for y in years]
        label = f"{kind}: {n_pct(of_year.get(kind))} in {data['year']}"
        color = SPONSOR_TYPE_COLORS.get(kind, OKABE_ITO[i % 8])
        ax.plot(years, values, marker=markers[i % len(markers)], color=color, label=label,
                linewidth=2.2 if kind == "industry" else 1.3, markersize=4, zorder=3)  # fmt: skip
    if "industry" in types:
        for y in years:
            v = share.get((y, "industry"), 0.0)
            others = [share.get((y, k), 0.0) for k in types if k != "industry"]
            dx, dy, ha, va = _free_side(v, others, top)
            ax.annotate(f"{v:.0f}%", (y, v), textcoords="offset points", xytext=(dx, dy), ha=ha, va=va,
                        fontsize=7, color=SPONSOR_TYPE_COLORS["industry"], fontweight="bold",
                        zorder=4)  # fmt: skip
    for y in years:
        if is_partial(data, y):
            ax.axvspan(y - 0.4, y + 0.4, color="#F0E442", alpha=0.18, linewidth=0)
    trials = {r["year"]: r["trials"] for r in data["trend"] if r["modality"] == group}
    ax.set_xticks(years)
    ax.set_xticklabels(
        [f"{y}\nn={trials.get(y, 0)}" + ("\n(partial)" if is_partial(data, y) else "") for y in years]
    )
    if years:
        ax.set_xlim(years[0] - 0.5, years[-1] + 0.5)
    role = "lead sponsor" if data["role"] == "lead" else "lead sponsor or collaborator"
    ax.set_ylabel(f"% of the year's {group} trials")
    ax.set_ylim(0, top)
    _title(ax, f"{_scope(group)} trials by sponsor type ({role})\n{_when(data, years)}")
    return _finish(fig, data, legend_ax=ax, legend_cols=3)


#: Points per axis height the label placement assumes (a 4.6 in figure keeps about 3 in of axes;
#: less is the safe side: distances in data units come out larger).
_AXIS_POINTS = 190.0


def _free_side(value: float, others: list[float], top: float) -> tuple[int, int, str, str]:
    """Offset (points) and alignment for a label at `value` where no other marker is: above,
    else below, else to the right (markers of the same year share the x position, so the side is
    always free of them)."""
    per_point = top / _AXIS_POINTS

    def free(lo: float, hi: float) -> bool:
        marker = 4 * per_point  # marker radius plus line width, in data units
        return lo >= 0 and hi <= top and all(not (lo - marker < o < hi + marker) for o in others)

    if free(value + 5 * per_point, value + 13 * per_point):
        return 0, 5, "center", "bottom"
    if free(value - 13 * per_point, value - 5 * per_point):
        return 0, -5, "center", "top"
    return 7, 0, "left", "center"


CELL_SOURCE_COLORS = {"autologous": "#0072B2", "allogeneic": "#E69F00", "in_vivo": "#009E73",
                      "unclear": "#BBBBBB"}  # fmt: skip
#: How each basis is drawn: stated solid, product dictionary lighter, inferred hatched.
BASIS_STYLE = {"stated": (1.0, ""), "product": (0.65, ""), "inferred": (0.45, "///"), "unknown": (1.0, "")}


def cell_source_figure(data: dict[str, Any]) -> Any:
    """The year's trials by cell source and the basis of that source: one 100% bar per group."""
    plt = pyplot()
    groups = data["modalities"]
    rows = data.get("cell_sources") or []
    fig, ax = plt.subplots(figsize=(SIZE[0], min(SIZE[1] + 0.4, 2.6 + 0.55 * len(groups))))
    value = {(r["modality"], r["cell_source"], r["source_basis"]): r for r in rows}
    pairs = [(r["cell_source"], r["source_basis"]) for r in rows if r["modality"] == groups[0]]
    totals = {g: sum(r["trials"] for r in rows if r["modality"] == g) for g in groups}
    left = [0.0] * len(groups)
    small: list[list[tuple[float, str]]] = [[] for _ in groups]
    for source, basis in pairs:
        values = [value.get((g, source, basis), {}).get("share", 0.0) * 100 for g in groups]
        if not any(values):
            continue  # the legend lists only what some bar shows
        alpha, hatch = BASIS_STYLE.get(basis, (1.0, ""))
        name = "unknown" if source == "unclear" else f"{source.replace('_', ' ')} ({basis})"
        bars = ax.barh(groups, values, left=left, height=0.55, label=name, color=CELL_SOURCE_COLORS[source],
                       alpha=alpha, hatch=hatch, edgecolor="white", linewidth=0.5)  # fmt: skip
        dark = source in ("autologous", "in_vivo") and alpha > 0.6
        left = _segment_labels(ax, bars, values, left, small, dark)
    xlabel = "% of the year's trials (inferred: hatched; product dictionary: lighter)"
    _share_axes(ax, small, groups, totals, xlabel)
    _title(ax, f"Cell source of {_scope(groups)} trials\n{_when(data)}")
    if not rows:
        ax.text(0.5, 0.5, "no cell source data", transform=ax.transAxes, ha="center")
    return _finish(fig, data, legend_ax=ax, legend_cols=3)


FIGURES = {
    "trend": trend_figure,
    "phases": phase_figure,
    "disease-areas": disease_area_figure,
    "targets": target_figure,
    "sponsor-types": sponsor_type_figure,
    "cell-sources": cell_source_figure,
}
