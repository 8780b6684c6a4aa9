"""Which calls construct an executor, which frameworks pool for you, what owns the code a node
runs in, and spans as finding data."""

from __future__ import annotations

import ast

from flowfix.analysis import Model

EXECUTOR_SUFFIX = "PoolExecutor"
FRAMEWORKS = ("dynamiq", "pocketflow", "kaygraph", "pflow")
# What owns the code a node runs in (comprehensions run in their owner's body).
Owner = ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef


def executor_class(model: Model, call: ast.Call) -> str | None:
    """Short name of the `*PoolExecutor` class `call` constructs (any import form), else None.

    The callee's qualified names are read first; a callee they cannot name is read by its
    last name (`make().ThreadPoolExecutor` → `ThreadPoolExecutor`)."""
    names = model.qualified_names(call.func)
    if not names:
        spelled = _spelled_name(call.func)
        names = {spelled} if spelled else set()
    for name in sorted(names):
        short = name.rsplit(".", 1)[-1]
        if short.endswith(EXECUTOR_SUFFIX):
            return short
    return None


def _spelled_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Call, ast.Subscript)):
        node = node.func if isinstance(node, ast.Call) else node.value
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


def owner_of(model: Model, node: ast.AST) -> Owner:
    """The `def`, `lambda`, `class` or module whose own body runs `node`."""
    scope = model.scope_of(node)
    while scope.kind == "comprehension" and scope.parent is not None:
        scope = scope.parent
    return scope.node  # type: ignore[return-value]


def span_list(model: Model, node: ast.AST) -> list[int]:
    """`node`'s span as JSON data: [line, column, end_line, end_column]."""
    span = model.span(node)
    return [span.line, span.column, span.end_line, span.end_column]
