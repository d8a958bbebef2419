"""Counted nouns for every message a person reads (log lines, errors, reports): '1 page', '2 pages'."""

from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 page', '2 pages', '1 query' / '3 queries' (give `many` when adding 's' is wrong)."""
    return f"{n:,} {word if n == 1 else many or word + 's'}"
