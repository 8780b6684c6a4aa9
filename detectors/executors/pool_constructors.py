"""Which frameworks pool for you, and what owns the code a node runs in."""

from __future__ import annotations

import ast

from flowfix.analysis import Model

FRAMEWORKS = ("dynamiq", "pocketflow", "kaygraph", "pflow")
# What owns the code a node runs in (comprehensions run in their owner's body).
Owner = ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef


def owner_of(model: Model, node: ast.AST) -> Owner:
    """The `def`, `lambda`, `class` or module whose own body runs `node`."""
    scope = model.scope_of(node)
    while scope.kind == "comprehension" and scope.parent is not None:
        scope = scope.parent
    return scope.node  # type: ignore[return-value]
