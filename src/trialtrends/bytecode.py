"""Bytecode for trialtrends' own modules where the interpreter writes none.

`UV_COMPILE_BYTECODE` (the README's setup) compiles the installed libraries, but not the
project's own source: uv installs it editable, straight from `src/`. An interpreter told not to
write bytecode (PYTHONDONTWRITEBYTECODE, as CI images and these machines set it) then compiles
trialtrends' modules from source in every process, about 20 ms of a 125 ms `trialtrends report`.
So when a command ends, `write_own_bytecode` writes the bytecode of the trialtrends modules it
imported that have none, or a stale one; the next commands load it (Python reads bytecode
whatever that variable says, and checks it against the source's timestamp). Only modules the
command used, once; where the source tree is read-only nothing is written and nothing fails.
"""

from __future__ import annotations

import importlib.util
import os
import py_compile
import sys


def write_own_bytecode() -> list[str]:
    """Compile each imported trialtrends module without fresh bytecode; the files written."""
    if not sys.dont_write_bytecode:
        return []  # the interpreter writes it itself
    written = []
    for name, module in list(sys.modules.items()):
        source = getattr(module, "__file__", None)
        if name.partition(".")[0] != "trialtrends" or not source or not source.endswith(".py"):
            continue
        cached = importlib.util.cache_from_source(source)
        try:
            if os.path.exists(cached) and os.stat(cached).st_mtime >= os.stat(source).st_mtime:
                continue
            py_compile.compile(source, cfile=cached, doraise=True)
        except (OSError, ValueError, py_compile.PyCompileError):
            return written  # a read-only tree, a vanished file: the next process compiles again
        written.append(cached)
    return written
