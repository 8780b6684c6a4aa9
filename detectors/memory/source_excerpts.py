"""Code quoted in messages: a node's source on one line, shortened."""

from __future__ import annotations

import ast

from flowfix.analysis import Model


def source_of(model: Model, node: ast.AST) -> str:
    """`node`'s source text as written (parentheses around it excluded, as in `ast`)."""
    return model.source(node)


def code_excerpt(model: Model, node: ast.AST, limit: int = 60) -> str:
    """`node`'s source on one line, shortened with `…` past `limit` characters."""
    text = " ".join(source_of(model, node).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
