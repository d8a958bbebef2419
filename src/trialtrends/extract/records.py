"""One raw study record as the API or a bulk file gives it: parse it, read its nctId, serialise it.

Pure helpers, no I/O: every later stage (landing, bulk reading, normalising) shares them. They
never raise on a record's content: a record is data, and one bad record must not stop a night
(it is quarantined later, with its reason).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True)
class Malformed:
    """A record that could not even be parsed; normalisation quarantines it."""

    where: str
    reason: str
    text: str


# Deeper JSON than this is cut when a body is too deep to parse (real records nest about 8
# levels; orjson refuses 1,024, Python's json hits its recursion limit near 1,000).
MAX_DEPTH = 64
TOO_DEEP = "(value nested too deep, cut by trialtrends)"
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def _cut_deep(body: bytes, max_depth: int = MAX_DEPTH) -> bytes:
    """`body` with every array or object nested deeper than `max_depth` replaced by a string.

    One regex pass over strings and brackets (a string's brackets are skipped with it), so a
    record nested 2,000 deep costs what reading it costs, not a recursion error.
    """
    out: list[bytes] = []
    depth = 0
    start = 0  # first byte not yet copied
    cut_from = -1  # where the current cut began (its opening bracket), -1 when not cutting
    for match in _TOKENS.finditer(body):
        token = match[0]
        if token in (b"[", b"{"):
            depth += 1
            if depth > max_depth and cut_from < 0:
                out.append(body[start : match.start()])
                cut_from = match.start()
        elif token in (b"]", b"}"):
            depth -= 1
            if cut_from >= 0 and depth == max_depth:
                out.append(orjson.dumps(TOO_DEEP))
                start, cut_from = match.end(), -1
    if cut_from >= 0:  # unbalanced: let the parser say what is wrong with the rest
        out.append(body[cut_from:])
    else:
        out.append(body[start:])
    return b"".join(out)


def loads_lenient(body: bytes) -> Any:
    """JSON from a body the way a record's content cannot stop the run.

    Python's json, not orjson, reads it first: orjson refuses a lone surrogate escape
    (`"\\ud800"`) anywhere in a page and turns integers beyond 64 bits into floats; both are
    one record's problem, quarantined later. Invalid UTF-8 bytes become U+FFFD instead of
    failing the page (the text hygiene of normalisation sees them), and values nested deeper
    than MAX_DEPTH are cut. Raises ValueError only when the body is not JSON at all
    (truncated, HTML): a protocol error, retried by the client.
    """
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        return loads_lenient(body.decode("utf-8", "replace").encode())
    except RecursionError:
        return json.loads(_cut_deep(body))


def parse_record(data: bytes, where: str) -> Any:
    """One record's JSON, or Malformed (quarantined later) when it does not parse."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        try:  # what orjson refuses in one record (surrogate escapes, deep nesting) may still read
            return loads_lenient(data)
        except ValueError:
            pass
        return Malformed(where, f"invalid JSON in {where}: {exc}", data[:200_000].decode("utf-8", "replace"))


# The one identity rule: a study's id is exactly NCT + 8 ASCII digits, the whole JSON string,
# nothing stripped or case-folded (`\Z`, not `$`, which also matches before a final newline).
# A record whose id is anything else is malformed and quarantined as such: it can never pass
# for, displace or take down the genuine study (" NCT01087294" is not NCT01087294).
_NCT = re.compile(r"\ANCT[0-9]{8}\Z")


def canonical_nct_id(value: Any) -> str | None:
    """`value` when it is a canonical nctId, else None."""
    return value if isinstance(value, str) and _NCT.match(value) else None


def nct_id_of(study: Any) -> str | None:
    """The record's nctId when it is canonical (see _NCT), else None."""
    try:
        value = study["protocolSection"]["identificationModule"]["nctId"]
    except (KeyError, TypeError, IndexError):
        return None
    return canonical_nct_id(value)


def dumps_safe(study: Any, *, sort_keys: bool = False) -> str:
    """A record as JSON text, whatever it holds.

    orjson refuses lone surrogates, integers beyond 64 bits and nesting past 254 levels;
    Python's json writes the first two (escaped) and the payload of a record nested deeper than
    that is replaced by a note: the raw body stays landed as received either way.
    """
    try:
        return orjson.dumps(study, option=orjson.OPT_SORT_KEYS if sort_keys else 0).decode()
    except TypeError:
        pass
    try:
        return json.dumps(study, sort_keys=sort_keys, ensure_ascii=True)
    except (RecursionError, TypeError, ValueError) as exc:
        return json.dumps({"unserialisable_record": f"{type(exc).__name__}: {exc}"[:300]})
