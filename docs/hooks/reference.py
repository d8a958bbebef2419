"""The reference pages, generated from the code at every `mkdocs build` (an MkDocs hook).

- reference/cli.md: every click command of `trialtrends.cli`, its help and options;
- reference/settings.md: every `TRIALTRENDS_*` variable the package and flows/ read, with its
  default and range from `trialtrends.settings` and the option that overrides it;
- reference/data-dictionary.md: every table (pandera models) and view (sql/ headers) with its
  grain, key, declared tests and every column's type and description (schemas/fields.py).

They are built, not committed: several branches add commands, settings and columns at once, and
a committed copy would be stale (or conflict) after every merge. tests/test_docs.py builds the
site with --strict and checks that everything the code defines is documented.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from typing import Any

import click

REPO = Path(__file__).resolve().parents[2]
GENERATED = ("reference/cli.md", "reference/settings.md", "reference/data-dictionary.md")

# The meaning of every setting, by variable, kept beside the settings' definitions; defaults and
# ranges come from the code too. tests/test_docs.py fails when a variable the code reads has no
# meaning or a meaning names a variable nothing reads.
from trialtrends.settings import SETTING_HELP  # noqa: E402

_ENV = re.compile(r"\bTRIALTRENDS_[A-Z][A-Z0-9_]*[A-Z0-9]\b")


# --- CLI ------------------------------------------------------------------------------------------


def cli_commands() -> dict[str, click.Command]:
    """Every subcommand of `trialtrends`, in definition order."""
    from trialtrends.cli import main

    return dict(main.commands)


def _help_text(command: click.Command, name: str) -> str:
    ctx = click.Context(command, info_name=name, max_content_width=100, terminal_width=100)
    return command.get_help(ctx)


def _option_row(param: click.Parameter) -> str:
    names = ", ".join(f"`{n}`" for n in (*param.opts, *param.secondary_opts))
    if isinstance(param.type, click.Choice):
        kind = " \\| ".join(f"`{c}`" for c in param.type.choices)
    elif getattr(param, "is_flag", False) or getattr(param, "count", False):
        kind = "flag"
    else:
        kind = param.type.name.upper()
    shown = param.default is not None and param.default is not False and param.default != ()
    # click marks "no default" with a sentinel object; flags and counters default to off.
    shown = shown and not type(param.default).__name__.startswith("Sentinel") and not param.count
    default = f"`{param.default}`" if shown and not getattr(param, "is_flag", False) else ""
    if getattr(param, "required", False):
        default = "required"
    text = (getattr(param, "help", None) or "").replace("|", "\\|").replace("\n", " ")
    return f"| {names} | {kind} | {default} | {text} |"


def cli_page() -> str:
    from trialtrends.cli import main

    out = [
        "# CLI reference",
        "",
        "Generated from the click commands in `src/trialtrends/cli.py` at every docs build.",
        "Every command also takes `-v`/`-vv` (more logging) and `-q` (warnings only), before or after",
        "the command name, and `--data-dir`. Choices are case-insensitive.",
        "",
        "```text",
        _help_text(main, "trialtrends"),
        "```",
    ]
    for name, command in cli_commands().items():
        out += ["", f"## `trialtrends {name}`", "", inspect.cleandoc(command.help or ""), ""]
        options = [p for p in command.params if isinstance(p, click.Option)]
        if options:
            out += ["| option | value | default | what it does |", "|---|---|---|---|"]
            out += [_option_row(p) for p in options]
            out.append("")
        usage = _help_text(command, f"trialtrends {name}").splitlines()[0]
        out += ["```text", usage, "```"]
    return "\n".join(out) + "\n"


# --- Settings -------------------------------------------------------------------------------------


def _sources() -> list[Path]:
    return sorted((REPO / "src" / "trialtrends").rglob("*.py")) + sorted((REPO / "flows").glob("*.py"))


def setting_variables() -> dict[str, list[str]]:
    """Every TRIALTRENDS_* variable the package and flows/ read -> the files naming it."""
    found: dict[str, list[str]] = {}
    for path in _sources():
        for name in sorted(set(_ENV.findall(path.read_text()))):
            found.setdefault(name, []).append(str(path.relative_to(REPO)))
    return found


def _env_defaults(path: Path) -> dict[str, Any]:
    """`os.environ.get("TRIALTRENDS_X", DEFAULT)` defaults in one module (constants resolved)."""
    tree = ast.parse(path.read_text())
    constants = {
        t.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    defaults = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and len(node.args) == 2
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            second = node.args[1]
            if isinstance(second, ast.Constant):
                defaults[node.args[0].value] = second.value
            elif isinstance(second, ast.Name) and second.id in constants:
                defaults[node.args[0].value] = constants[second.id]
    return defaults


def _options_by_variable() -> dict[str, list[str]]:
    """Options whose help says `Env: TRIALTRENDS_X`: the option overrides that variable."""
    commands = cli_commands()
    where: dict[tuple[str, str], list[str]] = {}
    for name, command in commands.items():
        for param in command.params:
            for variable in _ENV.findall(getattr(param, "help", None) or ""):
                where.setdefault((variable, param.opts[0]), []).append(name)
    found: dict[str, list[str]] = {}
    for (variable, option), names in where.items():
        scope = "every command" if len(names) == len(commands) else ", ".join(sorted(names))
        found.setdefault(variable, []).append(f"`{option}` ({scope})")
    return found


def settings_rows() -> list[dict[str, str]]:
    from dataclasses import MISSING, fields

    from trialtrends.settings import RULES, Settings

    by_field = {f.name: f for f in fields(Settings)}
    rule_by_env = {rule.env: (name, rule) for name, rule in RULES.items()}
    options = _options_by_variable()
    env_defaults: dict[str, Any] = {}
    for path in _sources():
        env_defaults.update(_env_defaults(path))
    order = list(by_field)

    def position(variable: str) -> int:
        name = rule_by_env.get(variable, (variable.removeprefix("TRIALTRENDS_").lower(), None))[0]
        return order.index(name) if name in order else len(order)

    rows = []
    for variable in sorted(setting_variables(), key=position):
        field_name, rule = rule_by_env.get(variable, (variable.removeprefix("TRIALTRENDS_").lower(), None))
        field = by_field.get(field_name)
        if field is not None and field.default is not MISSING:
            default = f"`{field.default}`"
        elif field is not None:
            default = "see meaning" if variable != "TRIALTRENDS_WORKERS" else "`min(2, cores)`"
        elif variable in env_defaults:
            default = f"`{env_defaults[variable]}`"
        else:
            default = ""
        if rule is not None:
            kind = rule.describe()
        elif field is not None:
            kind = {bool: "flag", str: "text"}.get(type(field.default), type(field.default).__name__)
            kind = "a folder" if field_name == "data_dir" else kind
            kind = "an http(s) URL with a host" if field_name == "api_url" else kind
        else:
            kind = "text"
        rows.append(
            {
                "variable": variable,
                "option": ", ".join(sorted(set(options.get(variable, [])))),
                "default": default,
                "kind": kind,
                "meaning": SETTING_HELP.get(variable, ""),
            }
        )
    return rows


def settings_page() -> str:
    out = [
        "# Settings",
        "",
        "Generated from `src/trialtrends/settings.py` (defaults, types and ranges), the `Env:` notes of",
        "the CLI options and every `TRIALTRENDS_*` variable read under `src/` and `flows/`.",
        "",
        "Every setting comes from the environment; the main ones also have an option, which wins over",
        "the variable. Settings are read and validated once, when a command starts: a bad value stops",
        "it with exit code 2 and one sentence per bad value naming the variable (or option), its type",
        "and range, e.g. `Error: TRIALTRENDS_MAX_RETRIES must be a whole number >= 0 (retries after the",
        "first try), got '-1'.` An empty variable means the default.",
        "",
        "| variable | option | default | type and range | meaning |",
        "|---|---|---|---|---|",
    ]
    for row in settings_rows():
        cells = [f"`{row['variable']}`", row["option"], row["default"], row["kind"], row["meaning"]]
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(out) + "\n"


# --- Data dictionary ------------------------------------------------------------------------------


def _empty_warehouse() -> Any:
    """An in-memory warehouse with every table and view, to read the views' column types."""
    import duckdb

    from trialtrends.load.ddl import TABLES
    from trialtrends.load.views import create_views

    con = duckdb.connect()
    for table in TABLES:
        con.execute(table.ddl())
    create_views(con)
    return con


def dictionary_page() -> str:
    from trialtrends.load.ddl import TABLES
    from trialtrends.load.views import MACROS, view_docs
    from trialtrends.schemas import ACCEPTED_VALUES, WAREHOUSE_MODELS

    con = _empty_warehouse()
    out = [
        "# Data dictionary",
        "",
        "Generated at every docs build from the pandera models (`src/trialtrends/schemas/`), the view",
        "headers (`src/trialtrends/load/sql/*.sql`) and the one description of each field",
        "(`src/trialtrends/schemas/fields.py`). The same texts are the warehouse's `COMMENT`s:",
        "`select table_name, column_name, comment from duckdb_columns()`.",
        "",
        "## Tables",
        "",
    ]
    for table in TABLES:
        model = WAREHOUSE_MODELS[table.name]
        schema = model.to_schema()
        key = ", ".join(table.primary_key) or "none (rows are records, not keyed)"
        out += [f"### `{table.name}`", "", table.comment, "", f"**Key:** {key}", ""]
        out += ["| column | type | null | description | allowed values |", "|---|---|---|---|---|"]
        for column in table.columns:
            allowed = ""
            for check in schema.columns[column.name].checks:
                values = check.statistics.get("allowed_values")
                if values is not None:
                    allowed = ", ".join(f"`{v}`" for v in values)
            null = "yes" if column.nullable else ""
            mark = " (key)" if column.name in table.primary_key else ""
            out.append(
                f"| `{column.name}`{mark} | {column.sql_type} | {null} | {column.comment} | {allowed} |"
            )
        out.append("")
    out += [
        "## Views",
        "",
        "One SQL file each in `src/trialtrends/load/sql/`, rebuilt at every load. Each header declares",
        "the view's grain and not-null columns; `tests/test_views.py` checks them, and the accepted",
        "values of the fields listed below, on every view. Macros shared by several views: "
        + ", ".join(f"`{m}`" for names in MACROS.values() for m in names)
        + ".",
        "",
    ]
    for name, doc in view_docs().items():
        types = dict(
            con.execute(
                "select column_name, data_type from duckdb_columns() "
                "where table_name = ? and schema_name = 'main'",
                [name],
            ).fetchall()
        )
        comment = doc.comment[:1].upper() + doc.comment[1:]
        out += [f"### `{name}`", "", comment, "", f"**Grain (unique, not null):** {', '.join(doc.grain)}"]
        if doc.not_null:
            out += ["", f"**Also not null:** {', '.join(doc.not_null)}"]
        out += ["", "| column | type | description | accepted values |", "|---|---|---|---|"]
        for column, description in doc.columns.items():
            field = doc.fields[column]
            accepted = ", ".join(f"`{v}`" for v in ACCEPTED_VALUES.get(field, ()))
            via = "" if field == column else f" (field `{field}`)"
            out.append(f"| `{column}`{via} | {types.get(column, '')} | {description} | {accepted} |")
        out.append("")
    out += _report_tables(con)
    con.close()
    return "\n".join(out) + "\n"


def _report_tables(con: Any) -> list[str]:
    """Schema report: what `trialtrends report` reads, rebuilt with the views at every publish."""
    from trialtrends.load.report_tables import COLUMN_FIELDS
    from trialtrends.schemas.fields import FIELDS

    out = [
        "## The report's tables (schema `report`)",
        "",
        "Made with the views at every publish (`src/trialtrends/load/report_tables.py`): the rows of",
        "the views a report reads, so that `trialtrends report` reads a few small tables instead of",
        "recomputing the views. Analysts query the views; these hold the same rows.",
        "",
    ]
    for table, fields in COLUMN_FIELDS.items():
        comment, *_ = con.execute(
            "select comment from duckdb_tables() where schema_name = 'report' and table_name = ?", [table]
        ).fetchone()
        types = dict(
            con.execute(
                "select column_name, data_type from duckdb_columns() "
                "where schema_name = 'report' and table_name = ?",
                [table],
            ).fetchall()
        )
        out += [f"### `report.{table}`", "", comment, ""]
        out += ["| column | type | description |", "|---|---|---|"]
        for column, field in fields.items():
            via = "" if field == column else f" (field `{field}`)"
            out.append(f"| `{column}`{via} | {types.get(column, '')} | {FIELDS[field]} |")
        out.append("")
    return out


PAGES = {
    "reference/cli.md": cli_page,
    "reference/settings.md": settings_page,
    "reference/data-dictionary.md": dictionary_page,
}


def on_files(files: Any, config: Any) -> Any:
    """MkDocs hook: add the generated pages to the site."""
    from mkdocs.structure.files import File

    for path, build in PAGES.items():
        files.append(File.generated(config, path, content=build()))
    return files
