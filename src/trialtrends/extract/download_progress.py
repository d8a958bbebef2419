"""Progress of a long download: throttled events with a rate and an ETA, and their wording.

A "download" event is ("download", {"bytes", "total" (None when unknown), "rate" (bytes/s over
the last RATE_WINDOW seconds), "eta" (seconds, None when unknown), "resumes", "restarts"}),
sent at most every PROGRESS_EVERY seconds and once when the body is complete; `bytes` falls
back to 0 when the download restarts from zero (`restarts` then grows).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

# progress(event, detail), as the other extract stages call it.
Progress = Callable[[str, dict[str, Any]], None]

PROGRESS_EVERY = 0.25  # seconds between "download" events
RATE_WINDOW = 10.0  # seconds of history behind the rate and the ETA


class RateMeter:
    """Turns bytes written into throttled "download" events with a rate over a recent window."""

    def __init__(self, progress: Progress | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.progress = progress
        self.clock = clock
        self.window: deque[tuple[float, int]] = deque()
        self.last = float("-inf")

    def reset(self) -> None:
        """Forget the history (the download restarted from zero)."""
        self.window.clear()

    def tick(self, done: int, total: int | None, extra: dict[str, Any], force: bool = False) -> None:
        if self.progress is None:
            return
        now = self.clock()
        if not force and now - self.last < PROGRESS_EVERY:
            return
        self.last = now
        # Sampled at each event, not each chunk: a few dozen points span the window.
        self.window.append((now, done))
        while len(self.window) > 2 and now - self.window[0][0] > RATE_WINDOW:
            self.window.popleft()
        first_time, first_done = self.window[0]
        rate = (done - first_done) / (now - first_time) if now > first_time else 0.0
        eta = (total - done) / rate if total is not None and rate > 0 else None
        self.progress("download", {"bytes": done, "total": total, "rate": rate, "eta": eta, **extra})


def human_bytes(n: float) -> str:
    """A size for people: GB or MB with one decimal, plain bytes below a megabyte."""
    if n >= 1e9:
        return f"{n / 1e9:.1f} GB"
    if n >= 1e6:
        return f"{n / 1e6:.1f} MB"
    return f"{n:,.0f} bytes"


def describe_progress(detail: dict[str, Any]) -> str:
    """A "download" event as one short line for a terminal: done of total, rate, time left."""
    done, total = detail["bytes"], detail.get("total")
    text = f"{human_bytes(done)} of {human_bytes(total)}" if total else human_bytes(done)
    if detail.get("rate"):
        text += f", {human_bytes(detail['rate'])}/s"
    eta = detail.get("eta")
    if eta is not None:
        minutes, seconds = divmod(round(eta), 60)
        text += f", about {minutes} min {seconds:02d} s left" if minutes else f", about {seconds} s left"
    return text
