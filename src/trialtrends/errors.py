"""The base of every error a user can cause or must hear about in one sentence.

The CLI turns a TrialtrendsError into `Error: <message>` and its `exit_code`, never a
traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class TrialtrendsError(RuntimeError):
    """An expected failure; the message is one sentence for the user."""

    exit_code = 1
