"""Where the name of a `def` or `class` is written: `ast` keeps it as a string, without a
position, and findings about a definition point at its name."""

from __future__ import annotations

import ast
import re

from flowfix.analysis import Model

# The keywords before the name; a backslash continuation may put the name on a later line.
_HEADER = re.compile(rb"(?:async(?:\s|\\\n)+)?(?:def|class)(?:\s|\\\n)+")
_MAX_LINES = 8


def name_node(
    model: Model, definition: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
) -> ast.AST:
    """A positioned node spanning the name of `definition` (after `def`/`async def`/`class`),
    for `Detector.report`; the header's first line when the name cannot be found."""
    first = definition.lineno
    lines = model.lines[first - 1 : first - 1 + _MAX_LINES]
    text = "\n".join(lines).encode("utf-8")
    name = definition.name.encode("utf-8")
    match = _HEADER.match(text, definition.col_offset)
    node = ast.Name(id=definition.name, ctx=ast.Load())
    if match is None or text[match.end() : match.end() + len(name)] != name:
        node.lineno = node.end_lineno = first
        node.col_offset = definition.col_offset
        node.end_col_offset = len(lines[0].encode("utf-8").rstrip())
        return node
    before = text[: match.end()]
    node.lineno = node.end_lineno = first + before.count(b"\n")
    node.col_offset = len(before) - (before.rfind(b"\n") + 1)
    node.end_col_offset = node.col_offset + len(name)
    return node
