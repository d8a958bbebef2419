"""The run summary as markdown (the Prefect artifact of a night): gates, data quality, changes."""

from __future__ import annotations

from trialtrends.extract.raw import RawRun
from trialtrends.output.sql import run_query
from trialtrends.settings import Settings


def run_summary_markdown(settings: Settings, run: RawRun) -> str:
    """The run's gates, data-quality summary and change log as markdown (Prefect artifact)."""
    m = run.manifest()
    lines = [f"# trialtrends run {m.run_id}: {m.status}", ""]
    if m.rebuild_of:
        lines += [f"Rebuild of run {m.rebuild_of} (its landed data, reprocessed).", ""]
    if m.recovered_warehouse:
        lines += [
            f"**The previous warehouse could not be read** and was moved to `{m.recovered_warehouse}`.",
            "",
        ]
    if m.error:
        lines += [f"**Error:** {m.error}", ""]
    lines += ["## Gates", "", "| gate | passed | detail |", "|---|---|---|"]
    lines += [
        f"| {g['name']} | {'yes' if g['passed'] else '**no**'} | {g['detail']} |" for g in m.gates or []
    ]
    quality = m.quality or {}
    if quality:
        lines += ["", "## Data quality", "", "| table | rows |", "|---|---:|"]
        lines += [f"| {name} | {count} |" for name, count in quality.get("counts", {}).items()]
        lines += [
            "",
            f"- studies scanned: {quality.get('scanned')}, cell-therapy trials: "
            f"{quality.get('classified_trials')}, long-term follow-up: {quality.get('long_term_follow_up')}",
            f"- unmapped country strings: {', '.join(quality.get('unmapped_countries') or []) or 'none'}",
            f"- sponsor spellings not in the alias table: {quality.get('unknown_sponsor_spellings')}",
            f"- rejected studies: {len(quality.get('rejected') or [])}",
            f"- studies in differing copies (newest kept): {quality.get('conflicting_duplicates', 0)}",
        ]
    if m.published and settings.warehouse_path.is_file():
        _, rows = run_query(
            settings.warehouse_path,
            "select change, count(*) from trial_changes where run_id = ? group by change order by change",
            [m.run_id],
        )
        lines += ["", "## Changes", ""]
        lines += [f"- {change}: {count}" for change, count in rows] or ["- no changes"]
    return "\n".join(lines) + "\n"
