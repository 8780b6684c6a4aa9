"""How a client constructed in a function is used there: kept in a local, used inline, used as
a context manager, closed, or escaping the call (returned, stored, passed on)."""

from __future__ import annotations

import ast
from typing import Literal

from flowfix.analysis import Model
from flowfix.analysis.model import FunctionNode
from flowfix.analysis.names import spelled_name
from flowfix.analysis.statement_lines import TRY_STATEMENTS
from flowfix.analysis.values import kind_between

Usage = Literal["local", "inline", "context", "closed"]
# Calls that keep their argument: container and registry methods, and constructors.
STORE_METHODS = frozenset(
    {"append", "appendleft", "add", "extend", "insert", "setdefault", "update", "put", "register"}
)
ESCAPES = (
    ast.Return,
    ast.Yield,
    ast.YieldFrom,
    ast.Lambda,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
)
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
BINDS = (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr)
# Where a construction runs on some calls only, or may be skipped by an exception.
CONDITIONAL = (
    ast.If,
    *TRY_STATEMENTS,
    ast.ExceptHandler,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.Match,
    ast.IfExp,
    ast.BoolOp,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)


def assigned_local(model: Model, call: ast.Call) -> str | None:
    """`name` for `name = call` / `name: T = call`."""
    owner = model.parent(call)
    if isinstance(owner, ast.Assign) and owner.value is call and len(owner.targets) == 1:
        target = owner.targets[0]
        return target.id if isinstance(target, ast.Name) else None
    if (
        isinstance(owner, ast.AnnAssign)
        and owner.value is call
        and isinstance(owner.target, ast.Name)
    ):
        return owner.target.id
    return None


def construction_usage(model: Model, call: ast.Call, function: FunctionNode) -> Usage | None:
    """How the new client is used in `function`; None when it escapes."""
    owner = model.parent(call)
    if isinstance(owner, ast.withitem) and owner.context_expr is call:
        return "context"
    if isinstance(owner, ast.Attribute) and owner.value is call:
        return "inline"
    local = assigned_local(model, call)
    if local is None or local in _declared_outer(function):
        return None
    usages = {_reference_usage(model, node, function) for node in _mentions(function, local)}
    if "escape" in usages:
        return None
    if "context" in usages:
        return "context"
    return "closed" if "closed" in usages else "local"


def _declared_outer(function: FunctionNode) -> set[str]:
    """Names declared `global` or `nonlocal` anywhere in the body (nested functions too)."""
    names: set[str] = set()
    for statement in function.body:
        for node in ast.walk(statement):
            if isinstance(node, (ast.Global, ast.Nonlocal)):
                names.update(node.names)
    return names


def _mentions(function: FunctionNode, local: str) -> list[ast.AST]:
    """Where the body (nested functions included) mentions the variable `local`: its reads,
    its other stores and deletions (not the plain `local = ...` targets), parameters and
    functions or classes of that name."""
    found: list[ast.AST] = []
    plain_targets: set[int] = set()
    for statement in function.body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Assign):
                plain_targets.update(id(t) for t in node.targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.Name) and node.id == local:
                found.append(node)
            elif isinstance(node, ast.arg) and node.arg == local:
                found.append(node)
            elif isinstance(node, DEFINITIONS) and node.name == local:
                found.append(node)
    return [node for node in found if id(node) not in plain_targets]


def _reference_usage(model: Model, mention: ast.AST, function: FunctionNode) -> str:
    """`closed`, `context`, `escape` or `use` for one mention of the client's variable."""
    if isinstance(mention, DEFINITIONS):
        return "escape"
    owner = model.parent(mention)
    if isinstance(owner, ast.Attribute) and owner.value is mention:
        if owner.attr in {"close", "aclose"}:
            return "closed"
        return "context" if owner.attr in {"__enter__", "__aenter__"} else "use"
    if isinstance(owner, ast.withitem) and owner.context_expr is mention:
        return "context"
    if isinstance(owner, ast.AnnAssign) and owner.target is mention:
        return "use"
    node: ast.AST = mention
    while owner is not None and owner is not function:
        if isinstance(owner, ast.ClassDef) and node in owner.bases:
            return "use"  # a class base is an argument of no call
        if isinstance(owner, ESCAPES):
            return "escape"
        if isinstance(owner, BINDS):
            return "escape" if node is owner.value else "use"
        if isinstance(owner, ast.keyword):
            return _argument_usage(model.parent(owner))
        if isinstance(owner, ast.Call) and node is not owner.func:
            return _argument_usage(owner)
        if isinstance(owner, ast.stmt):
            return "use"
        node, owner = owner, model.parent(owner)
    return "use"


def _argument_usage(call: ast.AST | None) -> str:
    """An argument escapes into a call that stores it (`items.append(c)`) or a constructor."""
    callee = spelled_name(call.func) if isinstance(call, ast.Call) else None
    last = (callee or "").rsplit(".", 1)[-1]
    return "escape" if last in STORE_METHODS or last[:1].isupper() else "use"


def is_conditional(model: Model, call: ast.Call, function: FunctionNode) -> bool:
    """The construction runs only on some calls, or inside `try`."""
    return kind_between(model, call, function, CONDITIONAL)
