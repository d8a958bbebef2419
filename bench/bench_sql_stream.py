"""Peak memory of `trialtrends sql --format csv` over a large result: streamed vs fetch-all.

Usage: uv run python bench/bench_sql_stream.py [ROWS]   (default 20,000,000)

Each figure is the peak RSS of a fresh process: `floor` runs the same query over 1,000 rows
(interpreter, duckdb and the warehouse connection), `streamed` is the `sql` command over ROWS
rows, `fetch-all` is what the command did before issue 20 (every row fetched into Python,
then one CSV string), run over ROWS // 10 rows unless --full is given (it needs ~2 GB at 20 M).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _shared import REPO

_STREAMED = """
import resource, sys
from trialtrends.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, file=sys.stderr)
"""

# The command before issue 20: run_query's fetchall, then render_rows' one string.
_FETCH_ALL = """
import resource, sys
from pathlib import Path
import duckdb
from trialtrends.output.render import render_rows
con = duckdb.connect(sys.argv[1], read_only=True)
cursor = con.execute(sys.argv[2])
columns = [d[0] for d in cursor.description]
sys.stdout.write(render_rows(columns, cursor.fetchall(), "csv"))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, file=sys.stderr)
"""


def query(rows: int) -> str:
    return f"select range as n, 'row number ' || range as label from range({rows})"


def run(code: str, *args: str) -> tuple[int, float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", code, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True, check=True, cwd=REPO,
    )  # fmt: skip
    return int(done.stderr.strip().splitlines()[-1]), time.monotonic() - started


def main() -> None:
    rows = int(next((a for a in sys.argv[1:] if a.isdigit()), 20_000_000))
    full = "--full" in sys.argv
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        warehouse = data / "warehouse" / "trialtrends.duckdb"
        warehouse.parent.mkdir(parents=True)
        import duckdb

        duckdb.connect(str(warehouse)).close()  # `sql` needs a warehouse file; ranges need no table
        os.environ["TRIALTRENDS_SQL_TIMEOUT"] = "0"

        def sql(n: int) -> tuple[int, float]:
            return run(_STREAMED, "sql", "--data-dir", str(data), "--format", "csv", query(n))

        floor, _ = sql(1_000)
        peak, took = sql(rows)
        print(f"floor (1,000 rows):        {floor:6d} MB")
        print(f"streamed ({rows:,} rows): {peak:6d} MB  (+{peak - floor} MB over the floor, {took:.1f} s)")
        old_rows = rows if full else rows // 10
        old, took = run(_FETCH_ALL, str(warehouse), query(old_rows))
        print(f"fetch-all ({old_rows:,} rows): {old:6d} MB  (+{old - floor} MB over the floor, {took:.1f} s)")


if __name__ == "__main__":
    main()
