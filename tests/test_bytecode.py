"""Where the interpreter writes no bytecode (PYTHONDONTWRITEBYTECODE), a command leaves the
bytecode of the trialtrends modules it used, so the next command does not compile them again."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "trialtrends"


def run(package_root: Path, *argv: str) -> subprocess.CompletedProcess:
    code = (
        f"import sys; sys.path.insert(0, {str(package_root)!r})\n"
        "from trialtrends.cli import main\n"
        f"main({list(argv)!r})\n"
    )
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)


def bytecode(package: Path) -> dict[str, float]:
    return {str(p.relative_to(package)): p.stat().st_mtime for p in package.rglob("__pycache__/*.pyc")}


def test_a_command_leaves_the_bytecode_of_the_modules_it_used_once(corpus_warehouse, tmp_path):
    package = tmp_path / "trialtrends"
    shutil.copytree(SRC, package, ignore=shutil.ignore_patterns("__pycache__"))
    assert bytecode(package) == {}
    done = run(tmp_path, "sql", "select 1", "--data-dir", str(corpus_warehouse.data_dir))
    assert done.returncode == 0 and done.stderr == "", done.stderr
    first = bytecode(package)
    names = {Path(p).name.split(".")[0] for p in first}
    assert {"cli", "settings", "sql"} <= names
    assert not any(p.startswith("pipeline") for p in first)  # only what the command imported
    # The next command loads it: nothing is written again.
    assert run(tmp_path, "sql", "select 1", "--data-dir", str(corpus_warehouse.data_dir)).returncode == 0
    assert bytecode(package) == first
    # An edited module is compiled again; the others stay.
    edited = package / "output" / "sql.py"
    edited.write_text(edited.read_text() + "\n")
    later = max(first.values()) + 10
    os.utime(edited, (later, later))
    assert run(tmp_path, "sql", "select 1", "--data-dir", str(corpus_warehouse.data_dir)).returncode == 0
    changed = {p for p, t in bytecode(package).items() if first.get(p) != t}
    assert [Path(p).name for p in changed] == [f"sql.{sys.implementation.cache_tag}.pyc"]


def test_a_tree_it_cannot_write_to_fails_nothing(tmp_path, monkeypatch):
    """(Root writes through chmod, so the refusal is simulated.)"""
    import importlib.util

    from trialtrends import bytecode as module

    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    probe = tmp_path / "probe.py"
    probe.write_text("X = 1\n")
    fake = type(sys)("trialtrends._probe")
    fake.__file__ = str(probe)
    monkeypatch.setitem(sys.modules, "trialtrends._probe", fake)

    def refused(*args, **kwargs):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(module.py_compile, "compile", refused)
    assert str(probe) not in " ".join(module.write_own_bytecode())  # no exception either
    assert not Path(importlib.util.cache_from_source(str(probe))).exists()
