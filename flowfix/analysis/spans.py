"""Spans as finding data carries them to the codemods: plain JSON lists."""

from __future__ import annotations

import ast

from flowfix.analysis.model import Model


def span_data(model: Model, node: ast.AST) -> list[int]:
    """`node`'s span as finding data carries it: `[line, column, end_line, end_column]`
    (1-based lines, code-point columns, the end exclusive, as `Model.span` has it)."""
    span = model.span(node)
    return [span.line, span.column, span.end_line, span.end_column]
