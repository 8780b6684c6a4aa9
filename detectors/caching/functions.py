"""Which function runs a node per call, and what a function's own code binds and holds."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from flowfix.analysis import Model
from flowfix.analysis.frameworks import ENTRY_FUNCTIONS, is_cached_function
from flowfix.analysis.model import FUNCTIONS, FunctionNode
from flowfix.analysis.values import local_bindings, own_nodes


def runs_in_function(model: Model, node: ast.AST) -> FunctionNode | None:
    """The function whose own body runs `node`, unless it is an entry point or it, or a
    function around it, is cached."""
    func = model.function_of(node)
    if not isinstance(func, FUNCTIONS) or func.name in ENTRY_FUNCTIONS:
        return None
    for current in (func, *model.ancestors(func)):
        if isinstance(current, FUNCTIONS) and is_cached_function(model, current):
            return None
    return func


def function_nodes(func: FunctionNode) -> Iterator[ast.AST]:
    """The statements of `func`'s body and every node below them that runs in its scope."""
    for statement in func.body:
        yield statement
        yield from own_nodes(statement)


def names_bound_by(node: ast.stmt) -> set[str]:
    """Every name `node` (a statement) and the code below it bind in its scope: its own target
    too (a `for` loop's), see `local_bindings`."""
    return {
        name
        for names, _ in local_bindings(ast.Module(body=[node], type_ignores=[]))
        for name in names
    }


def result_name(model: Model, value: ast.AST) -> str | None:
    """The local `name` in `name = <value>` (or `name: T = <value>`)."""
    owner = model.parent(value)
    if isinstance(owner, ast.Assign) and owner.value is value and len(owner.targets) == 1:
        target = owner.targets[0]
        return target.id if isinstance(target, ast.Name) else None
    if isinstance(owner, ast.AnnAssign) and owner.value is value:
        return owner.target.id if isinstance(owner.target, ast.Name) else None
    return None


def within(model: Model, node: ast.AST, ancestor: ast.AST) -> bool:
    """`node` lies below `ancestor`."""
    return any(current is ancestor for current in model.ancestors(node))


def imported_names(model: Model) -> frozenset[str]:
    """Every name an import binds somewhere in the module."""
    return frozenset(
        binding.name
        for scope in model.scopes.values()
        for bindings in scope.bindings.values()
        for binding in bindings
        if binding.is_import
    )


def may_call(func: ast.expr, last_names: frozenset[str], imported: frozenset[str]) -> bool:
    """A cheap test before `model.resolves_to(func, targets)`: `func` is an attribute named
    like the last part of a target (`last_names`: `loads` for `j.loads`), or a name an import
    binds (`imported`: `from json import loads as parse`)."""
    if isinstance(func, ast.Attribute):
        return func.attr in last_names
    return isinstance(func, ast.Name) and func.id in imported
