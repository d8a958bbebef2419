"""Report rendering without a warehouse: decimal-aligned text tables, plural forms, and the charts'
legends, labels and titles on a small hand-made report dict."""

from __future__ import annotations

import pytest

from trialtrends.output import charts
from trialtrends.output.render import plural, text_table
from trialtrends.output.report_text import n_pct


def test_numbers_align_on_the_decimal_point_and_shares_after_their_count():
    out = text_table(
        ["k", "n (share)", "value"],
        [["a", "29 (14.3%)", 0.5], ["b", "0", 1234.5], ["c", "3 (1.5%)", 2], ["d", "", 0.01234]],
    )
    body = out.splitlines()[2:]
    col = [line[3:13] for line in body]
    assert col == ["29 (14.3%)", " 0        ", " 3  (1.5%)", "          "]
    value = [line[15:] for line in body]
    points = {v.index(".") for v in value if "." in v}
    assert len(points) == 1  # every decimal point in one column position
    assert value[2].rstrip().endswith("2") and value[2].index("2") == points.pop() - 1


def test_non_numeric_columns_stay_left_aligned():
    out = text_table(["name", "n"], [["x", 1], ["longer", 10]])
    assert out.splitlines()[2] == "x        1"


@pytest.mark.parametrize(
    ("n", "word", "many", "expected"),
    [(1, "page", None, "1 page"), (2, "page", None, "2 pages"), (0, "query", "queries", "0 queries"),
     (1, "query", "queries", "1 query"), (12345, "study", "studies", "12,345 studies")],
)  # fmt: skip
def test_plural(n, word, many, expected):
    assert plural(n, word, many) == expected


YEARS = [2018, 2019, 2020, 2021, 2022]
SHARES = {  # sponsor type -> share per year; industry crosses academic, government is tiny
    "industry": [0.376, 0.431, 0.381, 0.395, 0.307],
    "academic": [0.402, 0.368, 0.370, 0.414, 0.391],
    "government": [0.017, 0.014, 0.0, 0.025, 0.004],
}
TOTALS = [117, 144, 181, 162, 225]


def report_dict() -> dict:
    trend = [
        {"modality": "ALL", "year": y, "trials": n, "partial": False}
        for y, n in zip(YEARS, TOTALS, strict=True)
    ]
    sponsor_types = [
        {"modality": "ALL", "year": y, "sponsor_type": k, "role": "lead", "share": s[i],
         "trials": round(s[i] * TOTALS[i])}
        for k, s in SHARES.items() for i, y in enumerate(YEARS)
    ]  # fmt: skip
    phases = [
        {"modality": "ALL", "phase": p, "phase_order": o, "trials": n, "share": n / 225}
        for p, o, n in (("Phase 1", 2, 200), ("Phase 2", 4, 22), ("Phase 3", 6, 3), ("Phase 4", 7, 0))
    ]
    areas = [
        {"modality": "ALL", "year": y, "area": a, "trials": n, "share": n / TOTALS[i]}
        for i, y in enumerate(YEARS)
        for a, n in (
            ("haematological malignancy", TOTALS[i] - 10),
            ("solid tumour", 8),
            ("infectious disease", 2),
        )
    ]
    return {
        "year": 2022, "basis": "first_posted", "modalities": ["ALL"], "ranked_by": "ALL", "top": 10,
        "role": "lead", "include_follow_up": False, "include_expanded_access": False, "trend_years": 5,
        "partial_year": None, "trend": trend, "sponsor_types": sponsor_types, "phases": phases,
        "disease_areas": areas, "cell_sources": [], "targets": [],
        "provenance": {"data_timestamp": "2026-09-04T09:00:06"},
    }  # fmt: skip


@pytest.fixture(scope="module")
def plt():
    return charts.pyplot()


def test_sponsor_type_legend_writes_counts_and_shares_as_the_table_does(plt):
    data = report_dict()
    fig = charts.sponsor_type_figure(data)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    table = {r["sponsor_type"]: r for r in data["sponsor_types"] if r["year"] == 2022}
    assert labels == [f"{k}: {n_pct(table[k])} in 2022" for k in SHARES]
    assert "government: 1 (0.4%) in 2022" in labels  # not "0%"
    plt.close(fig)


def test_industry_labels_never_overlap_another_marker(plt):
    data = report_dict()
    fig = charts.sponsor_type_figure(data)
    fig.canvas.draw()
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    labels = [t for t in ax.texts if t.get_text().endswith("%")]
    assert len(labels) == len(YEARS)
    markers = [
        ax.transData.transform((x, y * 100))
        for k, shares in SHARES.items() if k != "industry"
        for x, y in zip(YEARS, shares, strict=True)
    ]  # fmt: skip
    for label in labels:
        box = label.get_window_extent(renderer).expanded(1.0, 1.0)
        radius = 3 * fig.dpi / 72  # a 4 pt marker's radius plus its edge, in pixels
        for mx, my in markers:
            assert not (box.x0 - radius < mx < box.x1 + radius and box.y0 - radius < my < box.y1 + radius), (
                label.get_text(), (mx, my), box)  # fmt: skip
    plt.close(fig)


def test_phase_legend_lists_only_phases_with_trials_and_small_segments_get_labels(plt):
    fig = charts.phase_figure(report_dict())
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["Phase 1", "Phase 2", "Phase 3"]
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "1.3%" in texts  # Phase 3: 3 of 225, too thin for a label inside
    plt.close(fig)


def test_disease_area_segments_carry_counts_and_the_legend_the_year(plt):
    fig = charts.disease_area_figure(report_dict())
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert {"107", "134", "215"} <= texts  # the big area's counts inside its segments
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "infectious disease: 2 (0.9%) in 2022" in legend
    plt.close(fig)


@pytest.mark.parametrize(
    "name", ["trend", "phases", "disease-areas", "targets", "sponsor-types", "cell-sources"]
)
def test_titles_name_the_modality_the_year_and_the_basis(plt, name):
    fig = charts.FIGURES[name](report_dict())
    title = fig.axes[0].get_title()
    assert "all cell therapy" in title.lower() and "2022" in title and "first posted basis" in title, title
    plt.close(fig)
