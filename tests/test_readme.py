"""The README's analyst commands run as written, from a checkout holding a warehouse.

Every `uv run trialtrends sql|report|dashboard ...` and `uv run duckdb ...` line of the README's
code blocks is run with the environment's own executables (what `uv run` resolves to), in a
folder laid out as a fresh clone after its first refresh: `data/warehouse/trialtrends.duckdb`.
A command the README adds later is picked up by itself; one that fails is a README that lies.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

ANALYST = ("trialtrends sql", "trialtrends report", "trialtrends dashboard", "duckdb ")


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.splitlines():
            command = line.split("  #", 1)[0].strip()
            if command.startswith("uv run ") and command.removeprefix("uv run ").startswith(ANALYST):
                commands.append(command)
    return commands


def test_the_readme_shows_the_analyst_commands():
    kinds = {c.split()[3] if c.split()[2] == "trialtrends" else "duckdb" for c in readme_commands()}
    assert {"sql", "duckdb"} <= kinds, readme_commands()


@pytest.fixture(scope="module")
def checkout(corpus_warehouse, tmp_path_factory) -> Path:
    """A folder as a fresh clone is after `uv run trialtrends refresh` (data/ beside the code)."""
    root = tmp_path_factory.mktemp("clone")
    (root / "data" / "warehouse").mkdir(parents=True)
    shutil.copy(corpus_warehouse.warehouse_path, root / "data" / "warehouse" / "trialtrends.duckdb")
    return root


@pytest.mark.shared
@pytest.mark.parametrize("command", readme_commands())
def test_a_readme_command_runs_as_written(checkout, command, monkeypatch):
    monkeypatch.delenv("TRIALTRENDS_DATA_DIR", raising=False)
    args = shlex.split(command)[2:]  # what follows `uv run`
    if args[0] == "duckdb":
        # The CLI is interactive as written; a query on stdin shows the same file opens.
        argv, stdin = [str(Path(sys.executable).with_name("duckdb")), *args[1:]], "select count(*) from trials;\n"
    else:
        argv, stdin = [sys.executable, "-m", "trialtrends", *args[1:]], None
    done = subprocess.run(argv, cwd=checkout, input=stdin, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    assert "Traceback" not in done.stderr
    if args[0] == "duckdb":
        assert re.search(r"\b2\d{3}\b", done.stdout), done.stdout  # the corpus's trials
    if args[:2] == ["trialtrends", "dashboard"]:
        assert (checkout / "data" / "dashboard.html").stat().st_size > 100_000
