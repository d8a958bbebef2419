"""The docs: a strict MkDocs build, nothing the code defines left undocumented, no dead file path.

The reference pages (CLI, settings, data dictionary) are generated at build time by
docs/hooks/reference.py; these tests load the same generators.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import subprocess
import sys

import click
import pandera.polars as pa
import pytest
from conftest import REPO

from trialtrends.load.report_tables import COLUMN_FIELDS
from trialtrends.load.views import MACROS, VIEWS, view_docs
from trialtrends.schemas import WAREHOUSE_MODELS, descriptions
from trialtrends.schemas.fields import FIELDS, Described, UndescribedField


def _load_reference():
    spec = importlib.util.spec_from_file_location("docs_reference", REPO / "docs" / "hooks" / "reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


reference = _load_reference()

# Options whose help text is still missing in cli.py (listed so the gap is explicit, not silent):
# `sql --format` shows its choices but says nothing else.
HELP_PENDING = {("sql", "--format")}


def test_mkdocs_build_strict_passes(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for page in reference.GENERATED:
        built = tmp_path / "site" / page.removesuffix(".md") / "index.html"
        assert built.is_file(), page


def test_every_cli_command_and_option_is_documented():
    commands = reference.cli_commands()
    page = reference.cli_page()
    assert commands, "no commands found"
    for name, command in commands.items():
        assert (command.help or "").strip(), f"trialtrends {name} has no docstring"
        assert f"## `trialtrends {name}`" in page, name
        for param in command.params:
            if not isinstance(param, click.Option):
                continue
            option = param.opts[0]
            assert f"`{option}`" in page, (name, option)
            if (name, option) in HELP_PENDING:
                continue
            assert (param.help or "").strip(), f"trialtrends {name} {option} has no help= text"
    pending = {(n, p.opts[0]) for n, c in commands.items() for p in c.params if isinstance(p, click.Option)}
    assert pending >= HELP_PENDING, "an option in HELP_PENDING no longer exists: drop it"
    for name, option in HELP_PENDING:
        param = next(p for p in commands[name].params if p.opts[0] == option)
        assert not (param.help or "").strip(), f"{name} {option} has help now: drop it from HELP_PENDING"


def test_every_setting_is_documented():
    read = reference.setting_variables()
    assert "TRIALTRENDS_DATA_DIR" in read and "TRIALTRENDS_MAX_RPS" in read
    undocumented = sorted(set(read) - set(reference.SETTING_HELP))
    assert not undocumented, f"add their meaning to SETTING_HELP in src/trialtrends/settings.py: {undocumented}"
    stale = sorted(set(reference.SETTING_HELP) - set(read))
    assert not stale, f"SETTING_HELP describes variables nothing reads: {stale}"
    rows = reference.settings_rows()
    assert all(row["meaning"] and row["kind"] for row in rows)
    page = reference.settings_page()
    for variable in read:
        assert f"`{variable}`" in page


def test_every_table_view_and_column_is_documented_from_the_field_registry():
    page = reference.dictionary_page()
    registry = set(FIELDS.values())
    used: set[str] = set()
    for table, model in WAREHOUSE_MODELS.items():
        assert (model.__doc__ or "").strip(), table
        assert f"### `{table}`" in page, table
        for column, description in descriptions(model).items():
            # Written in schemas/fields.py, never beside the model.
            assert description in registry, (table, column, "describe it in schemas/fields.py")
            assert f"| `{column}`" in page, (table, column)
            used.add(description)
    assert set(VIEWS) == set(view_docs())
    for view, doc in view_docs().items():
        assert f"### `{view}`" in page, view
        for column, field in doc.fields.items():
            assert doc.columns[column] == FIELDS[field]
            assert f"| `{column}`" in page, (view, column)
            used.add(FIELDS[field])
    for table, fields in COLUMN_FIELDS.items():
        assert f"### `report.{table}`" in page, table
        for column, field in fields.items():
            assert f"| `{column}`" in page, (table, column)
            used.add(FIELDS[field])
    unused = sorted(name for name, text in FIELDS.items() if text not in used)
    assert not unused, f"schemas/fields.py describes fields no table or view has: {unused}"


def test_a_model_column_without_a_field_description_fails_at_definition():
    with pytest.raises(UndescribedField, match="no_such_column"):

        class Undescribed(Described):
            nct_id: str = pa.Field()
            no_such_column: str = pa.Field()

    class Aliased(Described):
        role: str = pa.Field(description=FIELDS["modality_role"])
        nct_id: str

    assert descriptions(Aliased) == {"role": FIELDS["modality_role"], "nct_id": FIELDS["nct_id"]}


def test_every_sql_file_is_a_documented_view_or_a_macro_file():
    files = {p.stem for p in (REPO / "src" / "trialtrends" / "load" / "sql").glob("*.sql")}
    macros = {m for names in MACROS.values() for m in names}
    assert files == set(VIEWS) | macros


# Repository paths named in the docs: a top-level folder of the repository, then a path.
_PATH = re.compile(r"(?<![\w./<-])((?:src|tests|bench|flows|docs)/[A-Za-z0-9_.*/-]*[A-Za-z0-9_*/])")
_ROOT_FILES = re.compile(r"`((?:pyproject\.toml|prefect\.yaml|mkdocs\.yml|uv\.lock))`")


@functools.cache
def _doc_texts() -> dict[str, str]:
    texts = {"README.md": (REPO / "README.md").read_text()}
    for path in sorted((REPO / "docs").rglob("*.md")):
        texts[str(path.relative_to(REPO))] = path.read_text()
    for page, build in reference.PAGES.items():
        texts[f"docs/{page} (generated)"] = build()
    return texts


def named_paths(text: str) -> set[str]:
    return set(_PATH.findall(text)) | set(_ROOT_FILES.findall(text))


def test_path_finder_reads_paths_and_leaves_other_text():
    text = (
        "see `src/trialtrends/cli.py`, src/trialtrends/load/sql/*.sql and bench/out; not data/raw/<run_id>/."
    )
    assert named_paths(text) == {"src/trialtrends/cli.py", "src/trialtrends/load/sql/*.sql", "bench/out"}


@pytest.mark.parametrize("name", sorted(_doc_texts()))
def test_docs_name_only_files_that_exist(name):
    text = _doc_texts()[name]
    missing = []
    for path in sorted(named_paths(text)):
        found = any(REPO.glob(path)) if "*" in path else (REPO / path).exists()
        if not found:
            missing.append(path)
    assert not missing, f"{name} names files that do not exist: {missing}"
