"""What every `trialtrends` command shares: exit codes, option types, verbosity, error handling.

cli.py keeps the commands thin; this module holds the conventions they follow: case-insensitive
choices passed on in canonical spelling, -v/-q before or after the command, settings validated
once per invocation, folders checked before work starts, and every expected failure turned into
one `Error: ...` line with its exit code (plus a hint when the API could not be reached).
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from trialtrends.errors import Terminated, TrialtrendsError, termination_requested
from trialtrends.output.render import printable
from trialtrends.settings import Settings
from trialtrends.terminal import configure_logging, stderr_is_terminal

# Exit codes (documented in the README).
EXIT_FAILED = 1  # the command ran and failed (API gave up, a gate failed, bad input data)
EXIT_USAGE = 2  # bad options or settings (click's own code for bad options)
EXIT_NO_WAREHOUSE = 3  # no warehouse yet: run `trialtrends refresh`
EXIT_NO_DATA = 4  # the warehouse has no trials for what was asked
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, what a shell reports for a process SIGTERM ended

NETWORK_HINT = "check the network, or use --api-url for a mirror or --source for a bulk file."
# An API answer that no mirror or network fix changes (a bad request, a missing page).
_NOT_NETWORK = re.compile(r"with HTTP 4(?!03|08|29)\d\d")


class CanonicalChoice(click.Choice):
    """A case-insensitive choice that passes on, lists and suggests the canonical spellings
    (click lists case-insensitive choices casefolded: 'car-t')."""

    def __init__(self, choices: tuple[str, ...]) -> None:
        super().__init__(choices, case_sensitive=False)

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "[" + "|".join(map(str, self.choices)) + "]"

    def get_invalid_choice_message(self, value: Any, ctx: click.Context | None) -> str:
        return f"{value!r} is not one of {', '.join(map(repr, self.choices))} (any case)."


def choice(*values: str) -> click.Choice:
    """Case-insensitive choice; the value passed on is the canonical spelling."""
    return CanonicalChoice(values)


class UserError(click.ClickException):
    """An error a user can cause: one sentence, no traceback, a chosen exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def log_level(verbose: int, quiet: bool) -> int:
    return logging.WARNING if quiet else logging.DEBUG if verbose > 1 else logging.INFO


def set_verbosity(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """-v/-q before or after the subcommand: both add up, and logging follows at once."""
    if ctx.resilient_parsing:
        return
    meta = ctx.find_root().meta
    if param.name == "verbose":
        meta["trialtrends.verbose"] = meta.get("trialtrends.verbose", 0) + (value or 0)
    else:
        meta["trialtrends.quiet"] = meta.get("trialtrends.quiet", False) or bool(value)
    configure_logging(log_level(meta.get("trialtrends.verbose", 0), meta.get("trialtrends.quiet", False)))


def verbosity_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "-q", "--quiet", is_flag=True, expose_value=False, callback=set_verbosity,
        help="Only warnings and errors.",
    )(func)  # fmt: skip
    return click.option(
        "-v", "--verbose", count=True, expose_value=False, callback=set_verbosity,
        help="More log output (-vv for debug).",
    )(func)  # fmt: skip


def with_hint(exc: TrialtrendsError) -> str:
    """The error's sentence, plus what to try when the API could not be reached for good."""
    message = str(exc)
    client = sys.modules.get("trialtrends.extract.client")  # loaded only if the API was used
    api_error = getattr(client, "ApiError", None)
    network = api_error is not None and isinstance(exc, api_error) and not _NOT_NETWORK.search(message)
    if network and NETWORK_HINT not in message:
        message = f"{message.rstrip().rstrip('.')}; {NETWORK_HINT}"
    return message


# An `Error:` line stays readable: a URL longer than this is shortened, the line capped.
MAX_URL_CHARS = 80
MAX_ERROR_CHARS = 400
# A URL up to (not including) the sentence's own punctuation after it.
_URL = re.compile(r"https?://\S*[^\s.,;:)\]'\"]")


def _short_url(match: re.Match[str]) -> str:
    url = match.group()
    return url if len(url) <= MAX_URL_CHARS else url[: MAX_URL_CHARS - 1] + "…"


# A capped line keeps its end: that is where the hint (what to try) is.
_KEEP_END = 160


def one_line(message: str) -> str:
    """Errors print as one `Error: ...` line: DuckDB's multi-line messages are joined, control
    characters shown as escapes, long URLs shortened and the whole line capped (in the middle)."""
    text = _URL.sub(_short_url, printable(" ".join(message.split()), one_line=True))
    if len(text) <= MAX_ERROR_CHARS:
        return text
    return text[: MAX_ERROR_CHARS - _KEEP_END - 1] + "…" + text[-_KEEP_END:]


def friendly_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the library's expected failures into one clear sentence and an exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Terminated as exc:
            raise UserError("Terminated.", EXIT_TERMINATED) from exc
        except KeyboardInterrupt as exc:
            if stderr_is_terminal():
                # The terminal echoed ^C at the cursor (the start of a fresh line once a progress
                # display has stopped): wipe it so `Error: ...` starts at column 0 of its own line.
                click.echo("\r\x1b[K", err=True, nl=False)
            raise UserError("Interrupted.", EXIT_INTERRUPTED) from exc
        except Exception as exc:
            if termination_requested():
                # SIGTERM raised inside a library that turned it into its own error (DuckDB:
                # "Query interrupted"): the run was terminated, whatever the error says.
                raise UserError("Terminated.", EXIT_TERMINATED) from exc
            if isinstance(exc, TrialtrendsError):
                raise UserError(one_line(with_hint(exc)), exc.exit_code) from exc
            if isinstance(exc, OSError):
                # The file system said no (permissions, a file where a folder should be, disk full).
                where = f"{exc.filename}: " if exc.filename else ""
                raise UserError(one_line(f"{where}{exc.strerror or exc}."), EXIT_FAILED) from exc
            # A DuckDB file that is not a trialtrends warehouse (another tool's database, one
            # from an incompatible version): the library reads it as one and DuckDB objects.
            duckdb = sys.modules.get("duckdb")
            if duckdb is None or not isinstance(exc, duckdb.Error):
                raise
            raise UserError(
                one_line(f"The warehouse cannot be read as a trialtrends warehouse: {exc}"), EXIT_FAILED
            ) from exc

    return wrapper


def data_dir_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Data folder (raw/ and warehouse/ live here). Env: TRIALTRENDS_DATA_DIR; default ./data.",
    )(func)


def wait_lock_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--wait-lock",
        "lock_wait",
        type=float,
        default=None,
        metavar="SECONDS",
        help="Wait up to this long for another refresh or rebuild holding the data folder "
        "(default 0: fail at once). Env: TRIALTRENDS_LOCK_WAIT.",
    )(func)


# Which option set a setting, so a bad value is reported under the name the user typed.
OPTION_LABELS = {
    "api_url": "--api-url", "max_rps": "--max-rps", "lock_wait": "--wait-lock", "data_dir": "--data-dir",
    "sql_timeout": "--timeout",
}  # fmt: skip


def load_settings(**overrides: Any) -> Settings:
    """The settings of this invocation: environment plus options, validated once."""
    return Settings.from_env(labels=OPTION_LABELS, **overrides)


def check_data_dir(settings: Settings, *, write: bool) -> None:
    """Refuse a data folder that cannot work before any work starts (a pull takes minutes)."""
    data_dir = settings.data_dir
    if write:
        for parent in [data_dir, *data_dir.parents]:
            if parent.exists():
                if not parent.is_dir():
                    raise UserError(
                        f"The data folder {data_dir} cannot be created: {parent} is a file, not a folder.",
                        EXIT_USAGE,
                    )
                if not os.access(parent, os.W_OK | os.X_OK):
                    raise UserError(f"The data folder {data_dir} is not writable ({parent} is read-only).")
                break
    # A folder where the warehouse file should be is the pipeline's to heal (a refresh moves it
    # aside) and output.sql's to name (`sql`, `report`): not refused here.


def read_query(query: str | None, file: Path | None) -> str:
    """The query text: the argument, stdin for `-`, or the --file."""
    if query is not None and file is not None:
        raise UserError("Give the query as an argument or with --file, not both.", EXIT_USAGE)
    if query is None and file is None:
        raise UserError('Give a query: `trialtrends sql "select ..."`, `-` for stdin, or --file.', EXIT_USAGE)
    try:
        if file is not None:
            text = file.read_text(encoding="utf-8")
            where = str(file)
        elif query == "-":
            text = sys.stdin.read()
            where = "stdin"
        else:
            text, where = query or "", "the argument"
    except UnicodeDecodeError as exc:
        raise UserError(
            f"The query in {file or 'stdin'} is not UTF-8 text ({exc.reason}).", EXIT_USAGE
        ) from exc
    if not text.strip().rstrip(";").strip():
        raise UserError(f"The query from {where} is empty.", EXIT_USAGE)
    return text


def check_out_dir(out: Path) -> None:
    """Refuse an output folder that cannot be made before the report is computed."""
    for parent in [out, *out.parents]:
        if parent.exists():
            if not parent.is_dir():
                raise UserError(f"Cannot write the report to {out}: {parent} is a file, not a folder.")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise UserError(f"Cannot write the report to {out}: {parent} is read-only.")
            return
