"""Where an executor's local name is bound and shut down: the `name = Executor(...)` statement
on its own line(s), and a `name.shutdown(...)` statement alone on its line."""

from __future__ import annotations

import ast

from flowfix.analysis import Model
from flowfix.analysis.statement_lines import in_one_line_body, is_line_statement


def local_binding(
    model: Model, call: ast.Call, *, by_block_start: bool = False
) -> tuple[ast.Name, ast.stmt] | None:
    """(`name`, its statement) when `call` is the whole value of `name [: T] = call`, a
    statement on its own line(s) (not a one-line body: `in_one_line_body`, `by_block_start`
    as there)."""
    owner = model.parent(call)
    target: ast.AST | None = None
    if isinstance(owner, ast.Assign) and owner.value is call and len(owner.targets) == 1:
        target = owner.targets[0]
    elif isinstance(owner, ast.AnnAssign) and owner.value is call:
        target = owner.target
    if not isinstance(target, ast.Name) or owner is None:
        return None
    assert isinstance(owner, (ast.Assign, ast.AnnAssign))
    if in_one_line_body(model, owner, by_block_start=by_block_start):
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
