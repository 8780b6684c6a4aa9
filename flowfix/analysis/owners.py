"""What owns the code a node runs in: the def, lambda, class or module whose own code runs it
(or, header included, that it stands in), and the outermost def around a nested one."""

from __future__ import annotations

import ast

from flowfix.analysis.model import DEFINITIONS, FUNCTIONS, FunctionNode, Model, ScopeNode


def owner_of(model: Model, node: ast.AST) -> ScopeNode:
    """The def, lambda, class or module whose own code runs `node` (comprehensions are part
    of it; a def's defaults and decorators run where the def stands)."""
    scope = model.scope_of(node)
    while scope.kind == "comprehension" and scope.parent is not None:
        scope = scope.parent
    return scope.node  # type: ignore[return-value]


def outermost_function(model: Model, func: FunctionNode) -> FunctionNode:
    """The outermost def whose code runs `func`'s definition, lambdas passed through (`func`
    itself when it is not nested in a def)."""
    outermost, current = func, owner_of(model, func)
    while isinstance(current, (*FUNCTIONS, ast.Lambda)):
        if isinstance(current, FUNCTIONS):
            outermost = current
        current = owner_of(model, current)
    return outermost


def enclosing_definition(model: Model, node: ast.AST) -> ast.AST:
    """The nearest def, lambda or class around `node`, its header (decorators, defaults)
    included, else the module."""
    for current in model.ancestors(node):
        if isinstance(current, DEFINITIONS):
            return current
    return model.tree
