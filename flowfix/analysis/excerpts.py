"""Code quoted in messages and fix data: a node's source as written, and on one line,
shortened."""

from __future__ import annotations

import ast
import re

from flowfix.analysis.model import Model

_LINE_END = re.compile(r"\r\n|\r")


def source_text(model: Model, node: ast.AST, *, line_ends_as_written: bool = False) -> str:
    """The source of `node` (parentheses around it excluded, as `ast` positions have it), its
    lines joined with a newline, or with the file's own line ends when `line_ends_as_written`."""
    text = model.source(node)
    return text if line_ends_as_written else _LINE_END.sub("\n", text)


def code_excerpt(model: Model, node: ast.AST, limit: int = 60, cut_attribute: bool = False) -> str:
    """`node`'s source on one line, shortened with `…` past `limit` characters. With
    `cut_attribute`, `node` is an attribute and the excerpt is its object as written, own
    parentheses included (`(a or b)` of `(a or b).count`)."""
    text = source_text(model, node)
    if cut_attribute:
        text = text[: text.rfind(".")]
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def excerpt_in_parentheses(model: Model, node: ast.AST, limit: int = 60) -> str:
    """`node`'s source on one line with the parentheses around it (the vector rules'
    messages), shortened with `…` past `limit` characters."""
    span = model.span(node)
    lines = model.lines
    start, end = (span.line - 1, span.column - 1), (span.end_line - 1, span.end_column - 1)
    while True:
        before, after = _previous(lines, start), _next(lines, end)
        if before is None or after is None:
            break
        start, end = before, (after[0], after[1] + 1)
    (first, column), (last, end_column) = start, end
    if first == last:
        text = lines[first][column:end_column]
    else:
        text = "\n".join(
            [lines[first][column:], *lines[first + 1 : last], lines[last][:end_column]]
        )
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _previous(lines: list[str], at: tuple[int, int]) -> tuple[int, int] | None:
    """Where an opening parenthesis stands before `at` with only blanks (and line ends)
    between, else None."""
    line, column = at
    while line >= 0:
        text = lines[line][:column].rstrip()
        if text:
            return (line, len(text) - 1) if text.endswith("(") else None
        line -= 1
        column = len(lines[line].split("#", 1)[0]) if line >= 0 else 0
    return None


def _next(lines: list[str], at: tuple[int, int]) -> tuple[int, int] | None:
    """Where a closing parenthesis stands after `at` with only blanks, comments and line
    ends between, else None."""
    line, column = at
    while line < len(lines):
        text = lines[line][column:].split("#", 1)[0]
        stripped = text.lstrip()
        if stripped:
            return (line, column + len(text) - len(stripped)) if stripped[0] == ")" else None
        line, column = line + 1, 0
    return None
