"""Executor helpers still used by the legacy executor_sizing and agents detectors and by the
codemods that import DEPENDENCIES (EXE001, EXE002 and EXE003 are in detectors/executors/)."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import FunctionScope, PositionProvider

from flowfix.parents import ParentProvider
from flowfix.prefilter import (
    BODIES,
    LOOP_STATEMENTS,
    FileView,
    call_name,
    first_line,
    header_nodes,
    innermost,
)
from flowfix.scope import ScopeProvider
from flowfix.semantics import (
    MetadataReader,
    own_nodes,
    parent,
    qualified_names,
)

EXECUTOR_SUFFIX = "PoolExecutor"
WAIT_CALLS = frozenset({"result", "wait", "as_completed"})
FRAMEWORKS = ("dynamiq", "pocketflow", "kaygraph", "pflow")
DEPENDENCIES = (PositionProvider, ParentProvider, ScopeProvider)


# --- AST prefilter helpers (shared with executor_sizing and agents) -----------------------------


def executor_calls(view: FileView) -> list[ast.Call]:
    """The calls of a `*PoolExecutor` (directly or through an import alias)."""
    aliases = view.statements.aliases
    calls: list[ast.Call] = []
    for call in view.nodes_near(view.expand(["*" + EXECUTOR_SUFFIX]), ast.Call):
        assert isinstance(call, ast.Call)
        name = call_name(call)
        if name.endswith(EXECUTOR_SUFFIX) or aliases.get(name, "").endswith(EXECUTOR_SUFFIX):
            calls.append(call)
    return calls


def statement_chain(view: FileView, node: ast.AST) -> list[ast.AST]:
    """The statements around `node`, outermost first, ending with the one whose header holds
    it (`;` siblings and one-line bodies included); empty when it cannot be told."""
    line = node.lineno  # type: ignore[attr-defined]
    chain = view.enclosing(line)
    for depth in range(len(chain) - 1, -1, -1):
        outer = chain[depth - 1] if depth else view.tree
        for statement in (s for name in BODIES for s in getattr(outer, name, ())):
            if isinstance(statement, ast.match_case):
                continue
            if first_line(statement) <= line <= (statement.end_lineno or 0) and any(
                child is node for child in header_nodes(statement)
            ):
                return [*chain[:depth], statement]
    return []


def iteration_loops(chain: Sequence[ast.AST]) -> list[ast.AST]:
    """The loops of `chain` (from `statement_chain`) that may run its last statement once per
    iteration (`iteration_loop`): within its innermost scope, not from an `else` clause or a
    `for` header."""
    start = innermost(chain)
    loops: list[ast.AST] = []
    for index in range(0 if start is None else start + 1, len(chain)):
        loop = chain[index]
        if not isinstance(loop, LOOP_STATEMENTS):
            continue
        inner = chain[index + 1] if index + 1 < len(chain) else None
        if inner is None and not isinstance(loop, ast.While):
            continue
        if inner is not None and not any(inner is s for s in loop.body):
            continue
        loops.append(loop)
    return loops


def executor_class(reader: MetadataReader, call: cst.Call) -> str | None:
    """Short name of the `*PoolExecutor` class `call` constructs (any import form), else None."""
    names = qualified_names(reader, call.func)
    if not names:
        dotted = cst.helpers.get_full_name_for_node(call.func)
        names = {dotted} if dotted else set()
    for name in sorted(names):
        short = name.rsplit(".", 1)[-1]
        if short.endswith(EXECUTOR_SUFFIX):
            return short
    return None


def _terminal_name(expression: cst.BaseExpression) -> str:
    if isinstance(expression, cst.Name):
        return expression.value
    if isinstance(expression, cst.Attribute):
        return expression.attr.value
    return ""


def waits_for_results(root: cst.CSTNode) -> bool:
    """`.result(`, `wait(`, `as_completed(` or a consumed `.map(` below `root`."""
    discarded: set[int] = set()
    for node in own_nodes(root):
        if isinstance(node, cst.Expr):
            discarded.add(id(node.value))
        elif isinstance(node, cst.Call):
            called = _terminal_name(node.func)
            if called in WAIT_CALLS or (
                called == "map"
                and isinstance(node.func, cst.Attribute)
                and id(node) not in discarded
            ):
                return True
    return False


def submits_unconsumed(root: cst.CSTNode) -> bool:
    """`.submit(` below `root`, or a `.map(` whose lazy result is thrown away."""
    for node in own_nodes(root):
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            if node.func.attr.value == "submit":
                return True
        if isinstance(node, cst.Expr) and isinstance(node.value, cst.Call):
            func = node.value.func
            if isinstance(func, cst.Attribute) and func.attr.value == "map":
                return True
    return False


def calls_result_with_timeout(root: cst.CSTNode) -> bool:
    """`<future>.result(timeout)` / `.result(timeout=...)` below `root`."""
    return any(
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "result"
        and any(arg.keyword is None or arg.keyword.value == "timeout" for arg in node.args)
        for node in own_nodes(root)
    )


@dataclass(frozen=True)
class Use:
    """One read of an executor's name: `kind` is call, read, with, delegated or escape."""

    node: cst.CSTNode
    kind: str
    method: str = ""


def _in_nested_scope(reader: MetadataReader, node: cst.CSTNode, func: cst.FunctionDef) -> bool:
    current = parent(reader, node)
    while current is not None and current is not func:
        if isinstance(current, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return True
        current = parent(reader, current)
    return False


def _classify(reader: MetadataReader, node: cst.CSTNode, func: cst.FunctionDef) -> Use:
    if not isinstance(node, cst.Name) or _in_nested_scope(reader, node, func):
        return Use(node, "escape")
    owner = parent(reader, node)
    if isinstance(owner, cst.Attribute) and owner.value is node:
        call = parent(reader, owner)
        if isinstance(call, cst.Call) and call.func is owner:
            return Use(node, "call", owner.attr.value)
        return Use(node, "delegated" if owner.attr.value == "shutdown" else "read")
    if isinstance(owner, cst.WithItem) and owner.item is node:
        return Use(node, "with")
    if isinstance(owner, (cst.Comparison, cst.ComparisonTarget, cst.Del)):
        return Use(node, "read")
    if isinstance(owner, (cst.If, cst.While)) and owner.test is node:
        return Use(node, "read")
    if isinstance(owner, cst.UnaryOperation) and isinstance(owner.operator, cst.Not):
        return Use(node, "read")
    if isinstance(owner, cst.Arg) and owner.keyword is None:
        call = parent(reader, owner)
        if (
            isinstance(call, cst.Call)
            and _terminal_name(call.func) == "run_in_executor"
            and call.args
            and call.args[0] is owner
        ):
            return Use(node, "call", "run_in_executor")
    return Use(node, "escape")


def name_uses(
    reader: MetadataReader, name: cst.Name, func: cst.FunctionDef
) -> tuple[list[Use], int] | None:
    """Every read of local `name` in `func` (nested scopes included) and how often it is bound.

    None when `name` is not a local of `func` (`global` / `nonlocal`).
    """
    scope = reader.get_metadata(ScopeProvider, name, None)
    if not isinstance(scope, FunctionScope):
        return None
    assignments = scope.assignments[name.value]
    if not assignments:
        return None
    nodes = {access.node for assignment in assignments for access in assignment.references}
    uses = [_classify(reader, node, func) for node in nodes]

    def position(use: Use) -> tuple[int, int]:
        start = reader.get_metadata(PositionProvider, use.node).start  # type: ignore[attr-defined]
        return (start.line, start.column)

    return sorted(uses, key=position), len(assignments)


def local_binding(
    reader: MetadataReader, call: cst.Call
) -> tuple[cst.Name, cst.SimpleStatementLine] | None:
    """(`name`, its statement) when `call` is the whole value of `name [: T] = call`."""
    owner = parent(reader, call)
    target: cst.BaseExpression | None = None
    if isinstance(owner, cst.Assign) and owner.value is call and len(owner.targets) == 1:
        target = owner.targets[0].target
    elif isinstance(owner, cst.AnnAssign) and owner.value is call:
        target = owner.target
    statement = parent(reader, owner) if owner is not None else None
    if isinstance(target, cst.Name) and isinstance(statement, cst.SimpleStatementLine):
        return target, statement
    return None


def statement_index(
    reader: MetadataReader, node: cst.CSTNode, block: cst.IndentedBlock
) -> int | None:
    """Index in `block.body` of the statement that contains `node`, if any."""
    current: cst.CSTNode | None = node
    while current is not None:
        owner = parent(reader, current)
        if owner is block:
            for index, statement in enumerate(block.body):
                if statement is current:
                    return index
            return None
        current = owner
    return None


def is_shutdown_statement(statement: cst.BaseStatement, name: str) -> bool:
    """`<name>.shutdown(...)` alone on its line."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    expr = statement.body[0]
    if not isinstance(expr, cst.Expr) or not isinstance(expr.value, cst.Call):
        return False
    func = expr.value.func
    return (
        isinstance(func, cst.Attribute)
        and func.attr.value == "shutdown"
        and isinstance(func.value, cst.Name)
        and func.value.value == name
    )


def _is_below(reader: MetadataReader, node: cst.CSTNode, ancestor: cst.CSTNode) -> bool:
    current = parent(reader, node)
    while current is not None and current is not ancestor:
        current = parent(reader, current)
    return current is ancestor
