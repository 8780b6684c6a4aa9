"""Statements in a method's own body: what it assigns, what it stores on the instance."""

from __future__ import annotations

import ast

from flowfix.analysis.methods import is_instance_attribute
from flowfix.analysis.model import FunctionNode
from flowfix.analysis.values import block_nodes


def assigned_targets(statement: ast.AST | None) -> list[ast.expr]:
    """Targets of an assignment (tuples, lists and starred targets unpacked), else []."""
    if isinstance(statement, ast.Assign):
        targets = list(statement.targets)
    elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
        targets = [statement.target]
    else:
        return []
    flat: list[ast.expr] = []
    while targets:
        target = targets.pop()
        if isinstance(target, (ast.Tuple, ast.List)):
            targets.extend(target.elts)
        elif isinstance(target, ast.Starred):
            targets.append(target.value)
        else:
            flat.append(target)
    return flat


def stores_attribute(function: FunctionNode, this: str, attr: str) -> bool:
    """`<this>.<attr> = ...` somewhere in `function`'s own body."""
    return any(
        is_instance_attribute(target, this, attr)
        for node in block_nodes(function.body)
        for target in assigned_targets(node)
    )


def rebinds(function: FunctionNode, name: str) -> bool:
    """`name` is assigned to in `function`'s own body."""
    return any(
        isinstance(target, ast.Name) and target.id == name
        for node in block_nodes(function.body)
        for target in assigned_targets(node)
    )
