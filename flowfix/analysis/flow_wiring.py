"""How PocketFlow and KayGraph code wires nodes into a flow: `Flow(start=a)` and `a >> b`,
`a - "action" >> b` transitions between names bound to the nodes (ASY006 and the call graph)."""

from __future__ import annotations

import ast
from collections.abc import Mapping, Set

from flowfix.analysis.arguments import argument_value, ordered_arguments

# Flows that run their nodes' `prep`/`exec`/`post` in the caller's thread, one after another.
SYNC_FLOWS = frozenset(
    {"pocketflow.Flow", "pocketflow.BatchFlow", "kaygraph.Graph", "kaygraph.BatchGraph"}
)


def flow_nodes(
    flow: ast.Call, made: Mapping[str, ast.Call], successors: Mapping[str, Set[str]]
) -> list[ast.Call]:
    """The calls that build the nodes `flow` runs, start first. The start is the first
    argument in source order that is positional or `start=` (or unpacked): a name bound to a
    call (`made`), a node built in place (`Flow(start=Search())`, `Flow(start=(a := Fetch()))`)
    or a chain (`Fetch() >> parse`: `>>` returns its right side, where the flow starts). The
    nodes named by the `successors` transitions of a named start follow it."""
    for arg in ordered_arguments(flow):
        if isinstance(arg, ast.keyword) and arg.arg is not None and arg.arg != "start":
            continue
        start: ast.expr | None = _chain_end(argument_value(arg))
        name = None
        if isinstance(start, ast.NamedExpr):
            name, start = start.target.id, start.value
        elif isinstance(start, ast.Name):
            name, start = start.id, made.get(start.id)
        first = [start] if isinstance(start, ast.Call) else []
        following = reachable(successors, name)[1:] if name is not None else []
        return first + [made[name] for name in following if name in made]
    return []


def transition(node: ast.BinOp) -> tuple[str, str] | None:
    """(`a`, `b`) for `a >> b` and `a - "action" >> b` (the last names of longer chains)."""
    if not isinstance(node.op, ast.RShift):
        return None
    before, after = _last_node_name(node.left), _last_node_name(node.right)
    return (before, after) if before and after else None


def reachable(successors: Mapping[str, Set[str]], start: str) -> list[str]:
    """`start` and every name its transitions lead to, in the order they are found."""
    seen, queue = [start], [start]
    while queue:
        for successor in sorted(successors.get(queue.pop(), ())):
            if successor not in seen:
                seen.append(successor)
                queue.append(successor)
    return seen


def _chain_end(expression: ast.expr) -> ast.expr:
    """The node a `>>` chain evaluates to, its last successor: `a >> b` → b,
    `a - "x" >> b` → b (any other expression as it is)."""
    while isinstance(expression, ast.BinOp) and isinstance(expression.op, ast.RShift):
        expression = expression.right
    return expression


def _last_node_name(expression: ast.expr) -> str | None:
    """The successor a `>>` chain ends with: `a >> b` → b, `a - "x" >> b` → b."""
    if isinstance(expression, ast.Name):
        return expression.id
    if isinstance(expression, ast.BinOp) and isinstance(expression.op, ast.Sub):
        return _last_node_name(expression.left)
    if isinstance(expression, ast.BinOp) and isinstance(expression.op, ast.RShift):
        return _last_node_name(expression.right)
    return None
