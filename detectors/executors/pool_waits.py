"""Whether code hands work to a pool and whether it waits for the results."""

from __future__ import annotations

import ast
from collections.abc import Sequence

from flowfix.analysis.values import block_nodes
from flowfix.detectors.executors.pool_name_uses import terminal_name

WAIT_CALLS = frozenset({"result", "wait", "as_completed"})


def waits_for_results(statements: Sequence[ast.stmt]) -> bool:
    """`.result(`, `wait(`, `as_completed(` or a consumed `.map(` in `statements`."""
    discarded: set[int] = set()
    for node in block_nodes(statements):
        if isinstance(node, ast.Expr):
            discarded.add(id(node.value))
        elif isinstance(node, ast.Call):
            called = terminal_name(node.func)
            if called in WAIT_CALLS or (
                called == "map"
                and isinstance(node.func, ast.Attribute)
                and id(node) not in discarded
            ):
                return True
    return False


def submits_unconsumed(statements: Sequence[ast.stmt]) -> bool:
    """`.submit(` in `statements`, or a `.map(` whose lazy result is thrown away."""
    for node in block_nodes(statements):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "submit"
        ):
            return True
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute)
            and node.value.func.attr == "map"
        ):
            return True
    return False


def is_result_with_timeout(node: ast.AST) -> bool:
    """`<future>.result(timeout)` / `.result(timeout=...)` (or star arguments that may pass
    one)."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "result"
        and (bool(node.args) or any(k.arg in (None, "timeout") for k in node.keywords))
    )


def calls_result_with_timeout(statements: Sequence[ast.stmt]) -> bool:
    """`<future>.result(timeout)` / `.result(timeout=...)` in `statements`."""
    return any(is_result_with_timeout(node) for node in block_nodes(statements))
