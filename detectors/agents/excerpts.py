"""Source text of a node for messages, as the user wrote it."""

from __future__ import annotations

import ast

from flowfix.analysis import Model


def source_text(model: Model, node: ast.AST) -> str:
    """The source of `node` (parentheses around it excluded, as `ast` positions have it)."""
    line, end_line = node.lineno, node.end_lineno or node.lineno  # type: ignore[attr-defined]
    start, end = node.col_offset, node.end_col_offset  # type: ignore[attr-defined]
    lines = [text.encode("utf-8") for text in model.lines[line - 1 : end_line]]
    if len(lines) == 1:
        chunk = lines[0][start:end]
    else:
        chunk = b"\n".join([lines[0][start:], *lines[1:-1], lines[-1][:end]])
    return chunk.decode("utf-8", "replace")


def code_excerpt(model: Model, node: ast.AST, limit: int = 60, cut_attribute: bool = False) -> str:
    """`node`'s source on one line, shortened with `…` past `limit` characters. With
    `cut_attribute`, `node` is an attribute and the excerpt is its object as written, own
    parentheses included (`(a or b)` of `(a or b).count`)."""
    text = source_text(model, node)
    if cut_attribute:
        text = text[: text.rfind(".")]
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
