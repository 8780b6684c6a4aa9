"""Statements in a method's own body: what it assigns, what it stores on the instance."""

from __future__ import annotations

import ast

from flowfix.analysis.methods import is_instance_attribute
from flowfix.analysis.model import FunctionNode
from flowfix.analysis.values import assigned_targets, block_nodes


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
