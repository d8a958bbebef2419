"""The layout is a checked contract: the import layers, module size, and an installable wheel
that builds its warehouse (views included) from a small fixture in a fresh virtual environment."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import orjson
import pytest
from builders import study

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "trialtrends"
# Reviewed lookup data (rules, aliases) may be long; code may not.
MAX_LINES = 450


def test_import_layers_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_no_module_is_over_450_lines():
    long = {
        str(p.relative_to(SRC)): n
        for p in SRC.rglob("*.py")
        if "data" not in p.relative_to(SRC).parts and (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH (the README installs it: pip install uv)")
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [uv, "build", "--wheel", "--out-dir", str(out), str(REPO)], check=True, capture_output=True
    )
    (built,) = out.glob("trialtrends-*.whl")
    return built


def test_wheel_ships_the_views_and_the_reviewed_data(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    views = {Path(n).stem for n in names if n.startswith("trialtrends/load/sql/") and n.endswith(".sql")}
    from trialtrends.load.views import VIEWS

    assert set(VIEWS) <= views
    assert "trialtrends/data/required_fields.txt" in names
    assert any(n.endswith("country_aliases.csv") for n in names)
    # The dashboard's page template and script (read with importlib.resources).
    assert {"trialtrends/output/dashboard.html", "trialtrends/output/dashboard.js"} <= set(names)


def test_installed_wheel_builds_a_warehouse_in_a_fresh_venv(wheel, tmp_path):
    uv = shutil.which("uv")
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "--python", sys.executable, str(venv)], check=True, capture_output=True)
    # The locked versions of the dependencies, then the wheel itself: what a user installs.
    pins = tmp_path / "requirements.txt"
    pins.write_text(
        subprocess.run(
            [uv, "export", "--format", "requirements-txt", "--no-dev", "--no-emit-project", "--no-hashes"],
            cwd=REPO, check=True, capture_output=True, text=True,
        ).stdout
    )  # fmt: skip
    python = venv / "bin" / "python"
    # Not compiled to bytecode (whatever UV_COMPILE_BYTECODE says here): compiling all ~9,000
    # files of the locked dependencies costs more than the two commands below import.
    install = {**os.environ, "UV_COMPILE_BYTECODE": "0"}
    subprocess.run(
        [uv, "pip", "install", "--python", str(python), "-r", str(pins)], check=True, capture_output=True, env=install
    )
    subprocess.run([uv, "pip", "install", "--python", str(python), "--no-deps", str(wheel)], check=True, capture_output=True, env=install)  # fmt: skip
    source = tmp_path / "studies.jsonl"
    source.write_bytes(b"".join(orjson.dumps(s) + b"\n" for s in (
        study("NCT90000001", title="CD19 CAR-T cells for lymphoma", countries=["China"]),
        study("NCT90000002", title="BCMA CAR-T cells in myeloma", posted="2023-04-01"),
    )))  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH"))}
    data = tmp_path / "data"
    cli = venv / "bin" / "trialtrends"
    # Run from an empty folder, so nothing of the source checkout can be picked up.
    work = tmp_path / "elsewhere"
    work.mkdir()
    refresh = subprocess.run([str(cli), "refresh", "--source", str(source), "--data-dir", str(data)],
                             cwd=work, env=env, capture_output=True, text=True)  # fmt: skip
    assert refresh.returncode == 0, refresh.stderr
    query = subprocess.run(
        [str(cli), "sql", "select modality, year, trials from yearly_counts where basis = 'first_posted' "
         "and modality = 'CAR-T' order by year", "--data-dir", str(data), "--format", "json"],
        cwd=work, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert query.returncode == 0, query.stderr
    assert json.loads(query.stdout) == [
        {"modality": "CAR-T", "year": 2022, "trials": 1},
        {"modality": "CAR-T", "year": 2023, "trials": 1},
    ]
    where = subprocess.run([str(python), "-c", "import trialtrends; print(trialtrends.__file__)"],
                           cwd=work, env=env, capture_output=True, text=True)  # fmt: skip
    assert str(venv) in where.stdout  # the installed copy, not the checkout
