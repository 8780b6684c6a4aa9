"""How a function uses the local name an executor is bound to: each read, classified."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Literal

from flowfix.analysis import Model, Scope
from flowfix.analysis.model import DEFINITIONS, FunctionNode
from flowfix.analysis.statement_lines import TRY_STATEMENTS
from flowfix.analysis.values import kind_between

UseKind = Literal["call", "read", "with", "delegated", "escape"]


@dataclass(frozen=True)
class Use:
    """One read of an executor's name.

    `kind`: `call` (`name.method(...)`, or the executor of `run_in_executor(name, ...)`),
    `read` (compared, tested, negated, deleted, an attribute read), `with` (`with name:`),
    `delegated` (`name.shutdown` handed on uncalled) or `escape` (anything else: returned,
    passed, stored, combined, read in a nested function)."""

    node: ast.Name
    kind: UseKind
    method: str = ""


def terminal_name(node: ast.AST) -> str:
    """`c` in `a.b.c`, `f` in `f`; '' for other callees."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def classify(
    model: Model, node: ast.Name, func: ast.AST, *, del_with_others_reads: bool = False
) -> Use:
    """What the read `node` of an executor's name does with it. `del name` reads it; so does
    `del name, other` when `del_with_others_reads` (EXE005), else that is an escape."""
    if kind_between(model, node, func, DEFINITIONS):
        return Use(node, "escape")
    owner = model.parent(node)
    if isinstance(owner, ast.Attribute) and owner.value is node:
        call = model.parent(owner)
        if isinstance(call, ast.Call) and call.func is owner:
            return Use(node, "call", owner.attr)
        return Use(node, "delegated" if owner.attr == "shutdown" else "read")
    if isinstance(owner, ast.withitem) and owner.context_expr is node:
        return Use(node, "with")
    if isinstance(owner, ast.Compare):
        return Use(node, "read")
    if isinstance(owner, ast.Delete) and (len(owner.targets) == 1 or del_with_others_reads):
        return Use(node, "read")
    if isinstance(owner, (ast.If, ast.While)) and owner.test is node:
        return Use(node, "read")
    if isinstance(owner, ast.UnaryOp) and isinstance(owner.op, ast.Not):
        return Use(node, "read")
    if (
        isinstance(owner, ast.Call)
        and owner.args
        and owner.args[0] is node
        and terminal_name(owner.func) == "run_in_executor"
    ):
        return Use(node, "call", "run_in_executor")
    return Use(node, "escape")


def name_uses(
    model: Model, target: ast.Name, func: FunctionNode, *, del_with_others_reads: bool = False
) -> tuple[list[Use], int] | None:
    """Every read of the local that `target` binds in `func` (nested scopes included, in
    source order, each classified as `classify` does) and how many times `func` binds that
    name (`del` is not a binding).

    None when the name is not a local of `func` (`global` / `nonlocal`)."""
    name = target.id
    scope = model.scope_of(target)
    if scope.node is not func or name in scope.globals or name in scope.nonlocals:
        return None
    bindings = [
        binding
        for binding in scope.bindings.get(name, [])
        if not (isinstance(binding.node, ast.Name) and isinstance(binding.node.ctx, ast.Del))
    ]
    if not bindings:
        return None
    uses = [
        classify(model, node, func, del_with_others_reads=del_with_others_reads)
        for node in ast.walk(func)
        if isinstance(node, ast.Name)
        and node.id == name
        and isinstance(node.ctx, (ast.Load, ast.Del))
        and _resolves_to(model, node, scope)
    ]
    uses.sort(key=lambda use: (use.node.lineno, use.node.col_offset))
    return uses, len(bindings)


def _resolves_to(model: Model, node: ast.Name, scope: Scope) -> bool:
    found = model.bindings_of(node)
    return bool(found) and found[0].scope is scope


def in_finally(model: Model, node: ast.AST, func: ast.AST) -> bool:
    """`node` runs in the `finally` block of a `try` inside `func`."""
    child = node
    for current in model.ancestors(node):
        if current is func:
            return False
        if isinstance(current, TRY_STATEMENTS) and any(s is child for s in current.finalbody):
            return True
        child = current
    return False
