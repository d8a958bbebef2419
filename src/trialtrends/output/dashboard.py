"""`trialtrends dashboard`: one self-contained HTML file to explore the published warehouse.

The file holds everything it needs (no network): Plotly's JavaScript inlined once from the
plotly package's offline bundle (gzip + base64, unpacked by the browser's DecompressionStream:
its 4.8 MB become 1.9 MB, which keeps the page under 5 MB), the page's own script and style
(`dashboard.html`, `dashboard.js` beside this module) and a compact per-trial dataset as JSON:
one entry per trial that is in a report group, columnar, with every repeated text (phase,
status, country, sponsor, area, target, product, cell source) replaced by its index in a
dictionary. The page filters and counts that dataset in the browser.

The counting rules are the warehouse's, not re-typed: each trial's report groups and its
follow-up and expanded-access flags come from `trial_report_groups` (the relation behind
`trial_group_years_by`, which every view counts from), its years from `trial_years`, and its
countries, sponsors, areas, targets and products from the same rows and defaults the views join
(current sites only; 'unknown' area; 'Not named' target; lead sponsor). The flow and methods
paragraph come from output.flow, one per year basis and switch setting.

Imports duckdb and the stdlib; plotly only to read its bundle.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import tempfile
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from itertools import product
from pathlib import Path
from typing import Any

import duckdb

from trialtrends import __version__
from trialtrends.output.flow import paper_sections
from trialtrends.output.report import AREA_ORDER, BASES, GROUPS, SPONSOR_TYPE_ORDER, ReportError
from trialtrends.output.sql import connect

DASHBOARD_FILE = "dashboard.html"
DATA_VERSION = 1

# One row per trial in a report group. Multi-valued attributes are sorted distinct lists; the
# defaults are the views' own ('unknown' area: disease_area_table; 'Not named' target:
# target_table); countries are current sites only (country_table), sponsors the lead role
# (sponsor_table / sponsor_type_table with role 'lead').
TRIALS_SQL = """
with grouped as (
    select
        nct_id,
        list(modality order by modality) as report_groups,
        list(modality order by modality) filter (where is_long_term_follow_up) as follow_up_groups,
        bool_or(is_expanded_access) as is_expanded_access
    from trial_report_groups
    group by nct_id
),

years as (
    select
        nct_id,
        max(year) filter (where basis = 'first_posted') as first_posted,
        max(year) filter (where basis = 'first_submitted') as first_submitted,
        max(year) filter (where basis = 'start') as start
    from trial_years
    group by nct_id
),

countries as (
    select nct_id, list(distinct country_code order by country_code) as countries
    from trial_countries where not is_removed
    group by nct_id
),

sponsors as (
    select
        nct_id,
        list(distinct sponsor order by sponsor) as sponsors,
        list(distinct sponsor_type order by sponsor_type) as sponsor_types
    from trial_sponsors where role = 'lead'
    group by nct_id
),

areas as (
    select nct_id, list(distinct area order by area) as areas from trial_diseases group by nct_id
),

products as (
    select nct_id, list(distinct product_id order by product_id) as products
    from trial_products group by nct_id
),

final as (
    select
        grouped.nct_id,
        trials.brief_title as title,
        trials.phase,
        trials.overall_status as status,
        years.first_posted,
        years.first_submitted,
        years.start,
        grouped.report_groups,
        coalesce(grouped.follow_up_groups, []) as follow_up_groups,
        grouped.is_expanded_access,
        coalesce(countries.countries, []) as countries,
        coalesce(sponsors.sponsors, []) as sponsors,
        coalesce(sponsors.sponsor_types, []) as sponsor_types,
        coalesce(areas.areas, ['unknown']) as areas,
        coalesce(nullif(list_sort(list_distinct(flags.targets)), []), ['Not named']) as targets,
        coalesce(products.products, []) as products,
        flags.cell_source,
        {cell_source_basis} as cell_source_basis
    from grouped
    inner join trials on trials.nct_id = grouped.nct_id
    left join trial_flags as flags on flags.nct_id = grouped.nct_id
    left join years on years.nct_id = grouped.nct_id
    left join countries on countries.nct_id = grouped.nct_id
    left join sponsors on sponsors.nct_id = grouped.nct_id
    left join areas on areas.nct_id = grouped.nct_id
    left join products on products.nct_id = grouped.nct_id
)

select * from final order by nct_id
"""

PHASES_SQL = """
select distinct phase, phase_order
from phase_distribution_by(true, include_expanded_access := true)
order by phase_order, phase
"""


class _Vocabulary:
    """Values in first-seen (or given) order; `index` adds a value the first time it is asked."""

    def __init__(self, ordered: tuple[str, ...] | list[str] = ()) -> None:
        self.values: list[str] = []
        self._index: dict[str, int] = {}
        for value in ordered:
            self.index(value)

    def index(self, value: str | None) -> int:
        key = "" if value is None else value
        if key not in self._index:
            self._index[key] = len(self.values)
            self.values.append(key)
        return self._index[key]


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _by_count(values: list[str], counts: dict[str, int]) -> list[str]:
    """Most frequent first (ties by name): dictionary order that puts the common values first."""
    return sorted(values, key=lambda v: (-counts.get(v, 0), v))


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    found = con.execute(
        "select count(*) from duckdb_columns() where database_name = current_database() "
        "and schema_name = 'main' and table_name = ? and column_name = ?",
        [table, column],
    ).fetchall()
    return bool(found[0][0])


def dashboard_data(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The page's dataset: dictionaries, one column per attribute, flows and provenance."""
    # How each cell source is known (stated / product / inferred), where the warehouse records it.
    basis = "flags.cell_source_basis" if _has_column(con, "trial_flags", "cell_source_basis") else "null"
    trials = _rows(con, TRIALS_SQL.replace("{cell_source_basis}", basis))
    if not trials:
        raise ReportError("The warehouse has no classified trials yet.", exit_code=4)
    phase_order = [r["phase"] for r in _rows(con, PHASES_SQL)]
    country_names = dict(
        con.execute("select country_code, any_value(country) from trial_countries group by 1").fetchall()
    )
    product_names = dict(con.execute("select product_id, name from products").fetchall())

    def frequency(key: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for t in trials:
            for v in t[key] if isinstance(t[key], list) else [t[key]]:
                counts[v] = counts.get(v, 0) + 1
        return counts

    vocab = {
        "group": _Vocabulary(GROUPS),
        "phase": _Vocabulary(phase_order),
        "status": _Vocabulary(),
        "country": _Vocabulary(_by_count(sorted(frequency("countries")), frequency("countries"))),
        "sponsor": _Vocabulary(_by_count(sorted(frequency("sponsors")), frequency("sponsors"))),
        "sponsor_type": _Vocabulary(SPONSOR_TYPE_ORDER),
        "area": _Vocabulary(AREA_ORDER),
        "target": _Vocabulary(_by_count(sorted(frequency("targets")), frequency("targets"))),
        "product": _Vocabulary(_by_count(sorted(frequency("products")), frequency("products"))),
        "cell_source": _Vocabulary(("autologous", "allogeneic", "in_vivo", "unclear")),
        "cell_source_basis": _Vocabulary(("",)),
    }

    def bits(groups: list[str]) -> int:
        return sum(1 << GROUPS.index(g) for g in groups)

    def indices(name: str, values: list[str]) -> list[int] | int:
        # A single value is stored bare (most trials have one country, sponsor, area...).
        found = [vocab[name].index(v) for v in values]
        return found[0] if len(found) == 1 else found

    columns: dict[str, list[Any]] = {
        "id": [int(t["nct_id"][3:]) for t in trials],
        "title": [t["title"] for t in trials],
        "phase": [vocab["phase"].index(t["phase"]) for t in trials],
        "status": [vocab["status"].index(t["status"]) for t in trials],
        **{basis: [t[basis] or 0 for t in trials] for basis in BASES},
        "groups": [bits(t["report_groups"]) for t in trials],
        "follow_up": [bits(t["follow_up_groups"]) for t in trials],
        "expanded_access": [int(bool(t["is_expanded_access"])) for t in trials],
        "country": [indices("country", t["countries"]) for t in trials],
        "sponsor": [indices("sponsor", t["sponsors"]) for t in trials],
        "sponsor_type": [indices("sponsor_type", t["sponsor_types"]) for t in trials],
        "area": [indices("area", t["areas"]) for t in trials],
        "target": [indices("target", t["targets"]) for t in trials],
        "product": [indices("product", t["products"]) for t in trials],
        "cell_source": [vocab["cell_source"].index(t["cell_source"] or "unclear") for t in trials],
        "cell_source_basis": [vocab["cell_source_basis"].index(t["cell_source_basis"]) for t in trials],
    }
    flows = {}
    for basis, follow_up, expanded in product(BASES, (False, True), (False, True)):
        paper = paper_sections(con, basis, follow_up, expanded)
        flows[f"{basis}|{int(follow_up)}|{int(expanded)}"] = {
            "boxes": paper["flow"]["boxes"],
            "methods": paper["methods"],
        }
    run = paper["flow"]["run"]
    stamp = run.get("data_timestamp") or run.get("finished_at")
    dictionaries = {name: v.values for name, v in vocab.items()}
    dictionaries["country_name"] = [country_names.get(c, c) for c in dictionaries["country"]]
    dictionaries["product_name"] = [product_names.get(p, p) for p in dictionaries["product"]]
    return {
        "data_version": DATA_VERSION,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "trialtrends_version": __version__,
        "run": run,
        "partial_year": int(stamp[:4]) if stamp and stamp[:4].isdigit() else None,
        "data_to": stamp[:10] if stamp else None,
        "groups": list(GROUPS),
        "bases": list(BASES),
        "dict": dictionaries,
        "col": columns,
        "flows": flows,
    }


def _asset(name: str) -> str:
    return resources.files("trialtrends.output").joinpath(name).read_text(encoding="utf-8")


@cache
def plotly_bundle_gz() -> str:
    """Plotly's offline bundle, gzipped (mtime 0: the same bytes every night) and base64-encoded."""
    from plotly.offline import get_plotlyjs

    return base64.b64encode(gzip.compress(get_plotlyjs().encode("utf-8"), mtime=0)).decode("ascii")


def _script_safe(text: str) -> str:
    """JSON or JS that can sit inside <script>: no '</' can close the element early."""
    return text.replace("</", "<\\/")


def dashboard_html(data: dict[str, Any]) -> str:
    """The page: the template with the style, Plotly, the dataset and the page script inlined."""
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    run = data["run"]
    title = f"trialtrends dashboard, data {data['data_to'] or 'of unknown date'} (run {run.get('run_id')})"
    page = _asset("dashboard.html")
    # str.replace, not format(): the inlined JavaScript is full of braces.
    for marker, value in (
        ("{{TITLE}}", title),
        ("{{PLOTLY_GZ}}", plotly_bundle_gz()),
        ("{{DATA_JSON}}", _script_safe(payload)),
        ("{{DASHBOARD_JS}}", _script_safe(_asset("dashboard.js"))),
    ):
        page = page.replace(marker, value, 1)
    return page


def write_dashboard(warehouse_path: Path, out: Path) -> Path:
    """Write the dashboard of the published warehouse to `out` (replaced atomically); return it.

    The nightly flow calls this after publishing, e.g. next to the Parquet export:
    `write_dashboard(settings.warehouse_path, export_dir / DASHBOARD_FILE)`.
    """
    con = connect(warehouse_path)
    try:
        data = dashboard_data(con)
    except duckdb.Error as exc:
        raise ReportError(f"The warehouse could not be read: {str(exc).splitlines()[0]}") from exc
    finally:
        con.close()
    page = dashboard_html(data)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Written beside, then renamed: a reader (or a static host) never sees half a page.
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(page)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
