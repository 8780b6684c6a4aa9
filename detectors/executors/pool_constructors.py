"""Which calls construct an executor, where a statement stands, and what name it binds."""

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


def containing_body(model: Model, statement: ast.AST) -> list[ast.stmt] | None:
    """The statement list (a body, `orelse`, `finalbody`) that holds `statement`."""
    owner = model.parent(statement)
    if owner is None:
        return None
    for _, value in ast.iter_fields(owner):
        if type(value) is list and any(item is statement for item in value):
            return value
    return None


def starts_line(model: Model, node: ast.AST) -> bool:
    """Nothing but indentation precedes `node` on its first line."""
    line = model.lines[node.lineno - 1]  # type: ignore[attr-defined]
    return not line[: model.span(node).column - 1].strip()


def in_one_line_block(model: Model, statement: ast.stmt) -> bool:
    """`statement` sits in a block written on its header's line (`if flag: x = 1`)."""
    body = containing_body(model, statement)
    if not body or isinstance(model.parent(statement), ast.Module):
        return False
    return not starts_line(model, body[0])


def shares_line(model: Model, statement: ast.stmt) -> bool:
    """Another statement of the same block stands on `statement`'s lines (`a; b`)."""
    body = containing_body(model, statement) or [statement]
    index = next(i for i, s in enumerate(body) if s is statement)
    before = body[index - 1] if index else None
    after = body[index + 1] if index + 1 < len(body) else None
    return (before is not None and before.end_lineno == statement.lineno) or (
        after is not None and after.lineno == statement.end_lineno
    )


def local_binding(model: Model, call: ast.Call) -> tuple[ast.Name, ast.stmt] | None:
    """(`name`, its statement) when `call` is the whole value of `name [: T] = call`, the
    statement written on its own line of an indented block or module (not `if x: name = ...`)."""
    owner = model.parent(call)
    target: ast.AST | None = None
    if isinstance(owner, ast.Assign) and owner.value is call and len(owner.targets) == 1:
        target = owner.targets[0]
    elif isinstance(owner, ast.AnnAssign) and owner.value is call:
        target = owner.target
    if not isinstance(target, ast.Name):
        return None
    assert isinstance(owner, (ast.Assign, ast.AnnAssign))
    if in_one_line_block(model, owner):
        return None
    return target, owner


def statement_index(model: Model, node: ast.AST, body: list[ast.stmt]) -> int | None:
    """Index in `body` of the statement that contains `node`, if any."""
    positions = {id(statement): index for index, statement in enumerate(body)}
    if id(node) in positions:
        return positions[id(node)]
    for ancestor in model.ancestors(node):
        if id(ancestor) in positions and body[positions[id(ancestor)]] is ancestor:
            return positions[id(ancestor)]
    return None


def is_below(model: Model, node: ast.AST, statements: list[ast.stmt]) -> bool:
    """`node` lies inside one of `statements`."""
    return statement_index(model, node, statements) is not None


def span_list(model: Model, node: ast.AST) -> list[int]:
    """`node`'s span as JSON data: [line, column, end_line, end_column]."""
    span = model.span(node)
    return [span.line, span.column, span.end_line, span.end_column]
