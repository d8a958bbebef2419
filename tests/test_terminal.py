"""The progress display under a real pseudo-terminal: log lines never share a screen line with it.

`trialtrends refresh` runs as its own process with stdin, stdout and stderr on a pty (as in an
interactive shell) against the suite's fake API; the bytes it writes are replayed through a small
terminal interpreter (cursor moves, erase-line, carriage return, autowrap) to get what a user sees.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time

import pytest
from builders import study
from click.testing import CliRunner
from fakeapi import FakeCtgov

from trialtrends.cli import main
from trialtrends.extract.searches import QUERIES

# Each CLI invocation configures the root logger (conftest.restore_logging puts it back).
pytestmark = pytest.mark.usefixtures("restore_logging")


COLS, ROWS = 100, 40
LOG_START = re.compile(r"\d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR)\s")
CSI = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])")
OSC = re.compile(r"\x1b\][^\x07\x1b]*(\x07|\x1b\\)")


class Terminal:
    """Just enough of a VT100 to replay rich's live display: what ends up on which screen line."""

    def __init__(self, cols: int) -> None:
        self.cols = cols
        self.lines: list[list[str]] = [[]]
        self.row = self.col = 0
        self.log_columns: list[int] = []  # the cursor column wherever a log record began

    def _line(self) -> list[str]:
        while len(self.lines) <= self.row:
            self.lines.append([])
        return self.lines[self.row]

    def put(self, ch: str) -> None:
        if self.col >= self.cols:  # autowrap
            self.row, self.col = self.row + 1, 0
        line = self._line()
        line.extend(" " * (self.col - len(line) + 1))
        line[self.col] = ch
        self.col += 1

    def feed(self, text: str) -> None:
        logs = {m.start() for m in LOG_START.finditer(text)}
        i = 0
        while i < len(text):
            if i in logs:
                self.log_columns.append(self.col)
            ch = text[i]
            if ch == "\x1b":
                m = CSI.match(text, i) or OSC.match(text, i)
                if m is None:
                    i += 2
                    continue
                if m.re is CSI:
                    self._csi(m.group(1), m.group(2))
                i = m.end()
                continue
            if ch == "\r":
                self.col = 0
            elif ch == "\n":
                self.row += 1  # a line feed only: the pty's ONLCR sends \r\n
            elif ch == "\b":
                self.col = max(0, self.col - 1)
            elif ch >= " " or ch == "\t":
                self.put(ch)
            i += 1

    def _csi(self, params: str, final: str) -> None:
        if params.startswith("?"):
            return  # cursor show/hide and other modes
        n = int(params.split(";")[0] or 0) if params else 0
        if final == "A":
            self.row = max(0, self.row - (n or 1))
        elif final == "B":
            self.row += n or 1
        elif final == "C":
            self.col += n or 1
        elif final == "D":
            self.col = max(0, self.col - (n or 1))
        elif final == "G":
            self.col = max(0, (n or 1) - 1)
        elif final == "K":
            line = self._line()
            if n == 0:
                del line[self.col :]
            elif n == 1:
                line[: self.col + 1] = [" "] * min(len(line), self.col + 1)
            else:
                line.clear()
        # "m" (colours) and anything else do not move text

    def screen(self) -> list[str]:
        return ["".join(line).rstrip() for line in self.lines]


def _spawn(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))

    def controlling_terminal() -> None:  # in the child: its own session, the pty its terminal
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        [sys.executable, "-m", "trialtrends", *args],
        stdin=slave, stdout=slave, stderr=slave, env=env, preexec_fn=controlling_terminal,
    )  # fmt: skip
    os.close(slave)
    return proc, master


def _read_until_exit(
    proc: subprocess.Popen, master: int, timeout: float = 120, until: str | None = None
) -> str:
    """Everything the process writes to the pty until it exits (or until `until` appears)."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the pty
                break
            if not data:
                break
            chunks.append(data)
            if until and until in b"".join(chunks).decode("utf-8", "replace"):
                return b"".join(chunks).decode("utf-8", "replace")
        elif proc.poll() is not None:
            break
    else:
        proc.kill()
        pytest.fail("the refresh did not finish under the pty")
    return b"".join(chunks).decode("utf-8", "replace")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR", "TERM")}
    env.update(TERM="xterm-256color", TRIALTRENDS_MAX_RETRIES="0")
    env.pop("TRIALTRENDS_DATA_DIR", None)
    return env


@pytest.fixture
def slow_fake():
    studies = [study(f"NCT9{i:07d}", title="Anti-CD19 CAR-T cells in lymphoma") for i in range(30)]
    # Five studies a page and a pause on each: several pages, log lines and redraws interleave.
    with FakeCtgov(studies, max_page_size=5) as fake:
        fake.inject("slow", times=100, path="/studies", seconds=0.1)
        yield fake


def _assert_logs_on_their_own_lines(term: Terminal, screen: list[str]) -> None:
    assert term.log_columns, "no log line was written"
    assert set(term.log_columns) == {0}, f"log lines started mid-line at columns {term.log_columns}"
    for line in screen:
        starts = [m.start() for m in LOG_START.finditer(line)]
        assert starts in ([], [0]), f"a log line glued to other text: {line!r}"
        if starts:
            assert "━" not in line and "unique studies so far" not in line, (
                f"log and progress share: {line!r}"
            )


def test_refresh_progress_under_a_pty(slow_fake, tmp_path):
    proc, master = _spawn(
        ["refresh", "--api-url", slow_fake.url, "--data-dir", str(tmp_path), "--max-rps", "0"], _env()
    )
    try:
        raw = _read_until_exit(proc, master)
        assert proc.wait(timeout=30) == 0, raw
    finally:
        os.close(master)
    term = Terminal(COLS)
    term.feed(raw)
    screen = term.screen()
    text = "\n".join(screen)
    # Every stage was shown: pull with pages and studies, then process/load/publish.
    assert "query car_t page 3: 15 unique studies so far (totalCount 30)" in raw
    assert "processing / loading / publishing" in raw or "studies scanned" in raw
    n = len(QUERIES)  # the recall searches plus the product-dictionary batches
    assert re.search(rf"✓ pull .* {n}/{n} 30 unique studies", text), text
    assert re.search(r"✓ process .* published", text), text
    # The log lines are all there, each on its own screen line starting at column 0.
    for message in ("landing raw responses", "query car_t: 6 pages", "published "):
        assert any(LOG_START.match(line) and message in line for line in screen), (message, text)
    _assert_logs_on_their_own_lines(term, screen)
    assert screen[-1].startswith("run ") or any(
        line.startswith("run ") and "published" in line for line in screen
    )
    assert "Traceback" not in raw


def test_interrupt_under_a_pty_starts_error_on_its_own_line(slow_fake, tmp_path):
    slow_fake.reset_faults()  # faults fire in the order armed: the hang first, after 3 pages
    slow_fake.inject("hang", times=1, path="/studies", skip=3, max_seconds=30)
    slow_fake.inject("slow", times=100, path="/studies", seconds=0.1)
    proc, master = _spawn(
        ["refresh", "--api-url", slow_fake.url, "--data-dir", str(tmp_path), "--max-rps", "0"], _env()
    )
    try:
        head = _read_until_exit(proc, master, until="page 3:")
        time.sleep(0.5)  # the display is live and the client is waiting on the hung request
        os.write(master, b"\x03")  # Ctrl-C typed at the terminal: the line discipline sends SIGINT
        rest = _read_until_exit(proc, master)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        os.close(master)
    raw = head + rest
    assert code == 130, raw
    term = Terminal(COLS)
    term.feed(raw)
    screen = term.screen()
    errors = [line for line in screen if "Error:" in line]
    assert errors == ["Error: Interrupted."], "\n".join(screen)
    _assert_logs_on_their_own_lines(term, screen)
    assert "Traceback" not in raw
    assert any("pull" in line and "━" in line for line in screen)  # the last frame stays visible


def test_no_progress_display_off_a_terminal(tmp_path):
    with FakeCtgov([study("NCT90000001")]) as fake:
        result = CliRunner().invoke(
            main, ["refresh", "--api-url", fake.url, "--data-dir", str(tmp_path), "--max-rps", "0"]
        )
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\r" not in result.output and "━" not in result.output
    log_lines = result.stderr.splitlines()
    assert log_lines and all(LOG_START.match(line) for line in log_lines), result.stderr


def test_terminal_interpreter_sees_a_glued_line():
    """The check above can fail: a \\r progress line overwritten by a shorter log line shows."""
    progress, log = "  page 3: 1500 unique studies so far", "09:00:00 INFO    short"
    term = Terminal(80)
    term.feed(f"{progress}\r{log}\n")
    assert term.screen()[0] == log + progress[len(log) :]
    term = Terminal(80)
    term.feed(progress + "09:00:00 INFO    next\r\n")
    assert term.log_columns == [len(progress)]


def test_progress_stages_follow_the_events():
    import io

    from rich.console import Console

    from trialtrends.terminal import RefreshProgress

    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    display = RefreshProgress(console, queries=2, page_size=10, api_url="http://x")
    with display:
        pull = display.progress.tasks[0]
        assert (
            pull.description == "pull"
            and pull.total == 2
            and "connecting to http://x" in pull.fields["detail"]
        )
        display("query", {"query": "a"})
        display("page", {"query": "a", "page": 1, "studies": 10, "total": 15})
        display("page", {"query": "a", "page": 2, "studies": 15, "total": 15})
        assert pull.completed == 0 and len(display.progress.tasks) == 1  # query a done, b not started
        display("query", {"query": "b"})
        assert pull.completed == 1
        display(
            "page", {"query": "b", "page": 1, "studies": 18, "total": 3}
        )  # the last page of the last query
        assert pull.finished and pull.fields["detail"] == "18 unique studies"
        process = display.progress.tasks[1]
        assert process.description == "process" and process.total is None
        assert process.fields["detail"] == "processing / loading / publishing"
        display("scan", {"studies": 9})
        assert process.fields["detail"] == "9 of 18 studies scanned"
        display("scan", {"studies": 18})
        assert process.fields["detail"] == "18 studies scanned; gates, load, publish"
        display.finish()
        assert process.finished and process.fields["detail"] == "published"


def test_bulk_progress_has_a_read_stage(tmp_path):
    import io

    from rich.console import Console

    from trialtrends.terminal import RefreshProgress

    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    with RefreshProgress(console, source=tmp_path / "ctg-studies.json.zip") as display:
        read = display.progress.tasks[0]
        assert read.description == "read" and "ctg-studies.json.zip" in read.fields["detail"]
        display("scan", {"studies": 5000})
        assert read.finished and display.progress.tasks[1].fields["detail"] == "5000 studies scanned"


def test_a_restarted_crawl_starts_the_pull_over():
    import io

    from rich.console import Console

    from trialtrends.terminal import RefreshProgress

    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    with RefreshProgress(console, queries=2, page_size=10) as display:
        pull = display.progress.tasks[0]
        display("query", {"query": "a"})
        display("query", {"query": "b"})
        display("page", {"query": "b", "page": 1, "studies": 4, "total": 4})
        assert pull.finished and len(display.progress.tasks) == 2
        display("query", {"query": "a"})  # the data changed mid-crawl: the pull starts again
        pull = display.progress.tasks[0]
        assert not pull.finished and pull.completed == 0 and len(display.progress.tasks) == 1


def test_rebuild_progress_shows_only_processing():
    import io

    from rich.console import Console

    from trialtrends.terminal import RefreshProgress

    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    with RefreshProgress(console, rebuild_of="20260101T000000.000000Z-abcd") as display:
        (task,) = display.progress.tasks
        assert task.description == "rebuild" and "20260101T000000.000000Z-abcd" in task.fields["detail"]
        display("scan", {"studies": 40})
        assert task.fields["detail"] == "40 studies scanned"
        display.finish()
        assert task.finished and len(display.progress.tasks) == 1
