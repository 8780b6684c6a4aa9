"""How a function uses the local name an executor is bound to: each read classified (a
method call, a plain read, a `with`, a delegated `shutdown`, or an escape), and how often
the name is bound."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Literal

from flowfix.analysis import Binding, Model
from flowfix.analysis.model import DEFINITIONS, FunctionNode
from flowfix.detectors.executors.statement_lines import in_one_line_body, is_line_statement

UseKind = Literal["call", "read", "with", "delegated", "escape"]


@dataclass(frozen=True)
class Use:
    """One read of an executor's name: `kind` is call, read, with, delegated or escape;
    `method` the method called on it (`kind` call)."""

    node: ast.Name
    kind: UseKind
    method: str = ""


def terminal_name(expression: ast.AST) -> str:
    """`c` for `c` and `a.b.c`; "" otherwise."""
    if isinstance(expression, ast.Name):
        return expression.id
    if isinstance(expression, ast.Attribute):
        return expression.attr
    return ""


def is_deletion(binding: Binding) -> bool:
    """`del name`: the model binds the name there; libcst's analysis (and Python's own
    reading of the function) counts it as a use of the name."""
    node = binding.node
    return isinstance(node, ast.Name) and isinstance(node.ctx, ast.Del)


def _in_nested_scope(model: Model, node: ast.AST, func: ast.AST) -> bool:
    for current in model.ancestors(node):
        if current is func:
            return False
        if isinstance(current, DEFINITIONS):
            return True
    return False


def classify(model: Model, node: ast.Name, func: FunctionNode) -> Use:
    """What the read `node` of an executor's name does with it."""
    if _in_nested_scope(model, node, func):
        return Use(node, "escape")
    owner = model.parent(node)
    if isinstance(owner, ast.Attribute) and owner.value is node:
        call = model.parent(owner)
        if isinstance(call, ast.Call) and call.func is owner:
            return Use(node, "call", owner.attr)
        return Use(node, "delegated" if owner.attr == "shutdown" else "read")
    if isinstance(owner, ast.withitem) and owner.context_expr is node:
        return Use(node, "with")
    if isinstance(owner, (ast.Compare, ast.Delete)):
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


def name_uses(model: Model, target: ast.Name, func: FunctionNode) -> tuple[list[Use], int] | None:
    """Every read of the local name `target` binds in `func` (nested scopes included), in
    source order, and how often the function binds that name.

    None when `target` does not bind a local of `func` (`global` / `nonlocal`).
    """
    scope = model.scope_of(target)
    if scope.node is not func:
        return None
    bindings = [b for b in scope.bindings.get(target.id, []) if not is_deletion(b)]
    if not bindings:
        return None
    own = {id(binding) for binding in bindings}
    reads = [
        node
        for node in ast.walk(func)
        if isinstance(node, ast.Name)
        and node.id == target.id
        and not isinstance(node.ctx, ast.Store)
        and any(id(b) in own for b in model.bindings_of(node))
    ]
    reads.sort(key=lambda node: (node.lineno, node.col_offset))
    return [classify(model, node, func) for node in reads], len(bindings)


def local_binding(model: Model, call: ast.Call) -> tuple[ast.Name, ast.stmt] | None:
    """(`name`, its statement) when `call` is the whole value of `name [: T] = call`, a
    statement on its own line(s) (not a one-line body)."""
    owner = model.parent(call)
    target: ast.AST | None = None
    if isinstance(owner, ast.Assign) and owner.value is call and len(owner.targets) == 1:
        target = owner.targets[0]
    elif isinstance(owner, ast.AnnAssign) and owner.value is call:
        target = owner.target
    if not isinstance(target, ast.Name) or owner is None:
        return None
    assert isinstance(owner, (ast.Assign, ast.AnnAssign))
    if in_one_line_body(model, owner):
        return None
    return target, owner


def is_shutdown_statement(model: Model, statement: ast.stmt, name: str) -> bool:
    """`<name>.shutdown(...)` alone on its line."""
    if not isinstance(statement, ast.Expr) or not isinstance(statement.value, ast.Call):
        return False
    func = statement.value.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "shutdown"
        and isinstance(func.value, ast.Name)
        and func.value.id == name
        and is_line_statement(model, statement)
    )
