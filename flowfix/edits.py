"""Shared CST edit helpers for codemods (the counterpart of ruff's fix/edits.rs)."""

from __future__ import annotations

import libcst as cst


def module_alias(module: cst.Module, name: str) -> str | None:
    """The name a top-level `import name [as alias]` binds in `module`, if any."""
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Import):
                for alias in small.names:
                    if cst.helpers.get_full_name_for_node(alias.name) == name:
                        if alias.asname is not None:
                            return cst.helpers.get_full_name_for_node(alias.asname.name)
                        if "." not in name:
                            return name
    return None


def dotted(expression: str) -> cst.BaseExpression:
    """`a.b.c` as a Name/Attribute chain."""
    return cst.parse_expression(expression)
