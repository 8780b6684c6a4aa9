"""Where the name of a `def` or `class` is written: `ast` keeps it as a string, without a
position, and findings about a definition point at its name."""

from __future__ import annotations

import ast
import re

from flowfix.analysis import Model

_HEADER = re.compile(rb"(?:async\s+)?(?:def|class)\s+")


def name_node(
    model: Model, definition: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
) -> ast.AST:
    """A positioned node spanning the name of `definition` (after `def`/`async def`/`class`
    on its first line), for `Detector.report`; the whole header keyword line when the name
    is not on that line (a backslash continuation)."""
    line = definition.lineno
    text = model.lines[line - 1].encode("utf-8")
    match = _HEADER.match(text, definition.col_offset)
    start = match.end() if match else definition.col_offset
    name = definition.name.encode("utf-8")
    if text[start : start + len(name)] != name:
        start = definition.col_offset
        end = len(text.rstrip())
    else:
        end = start + len(name)
    node = ast.Name(id=definition.name, ctx=ast.Load())
    node.lineno = node.end_lineno = line
    node.col_offset, node.end_col_offset = start, end
    return node
