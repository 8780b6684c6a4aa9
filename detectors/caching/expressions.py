"""Expressions as the caching rules compare and read them: structural identity, substitution,
a call's arguments as written."""

from __future__ import annotations

import ast
import copy
from collections.abc import Mapping
from dataclasses import dataclass

from flowfix.analysis.arguments import ordered_arguments


def identity(node: ast.AST) -> str:
    """A key equal for two expressions exactly when their syntax trees are equal, literal
    values included (`indent="  "` and `indent="    "` differ); positions and layout are not
    part of it."""
    return ast.dump(node)


def substituted(node: ast.AST, values: Mapping[str, ast.AST]) -> ast.AST:
    """A copy of `node` with every read of a name in `values` replaced by (a copy of) that
    expression, itself substituted with the other values."""
    if not values:
        return node

    class _Substitute(ast.NodeTransformer):
        def visit_Name(self, name: ast.Name) -> ast.AST:
            value = values.get(name.id)
            if value is None or not isinstance(name.ctx, ast.Load):
                return name
            rest = {key: expr for key, expr in values.items() if key != name.id}
            return substituted(copy.deepcopy(value), rest)

    result: ast.AST = _Substitute().visit(copy.deepcopy(node))
    return result


@dataclass(frozen=True)
class Argument:
    """One argument of a call as written: `keyword` (None when positional), `star` ("", "*"
    or "**") and its value."""

    keyword: str | None
    star: str
    value: ast.expr


def arguments(call: ast.Call) -> list[Argument]:
    """The call's arguments in source order (`ast` keeps positional and keyword ones apart)."""
    return [
        Argument(arg.arg, "" if arg.arg else "**", arg.value)
        if isinstance(arg, ast.keyword)
        else Argument(None, "*", arg.value)
        if isinstance(arg, ast.Starred)
        else Argument(None, "", arg)
        for arg in ordered_arguments(call)
    ]


def first_argument(call: ast.Call) -> ast.expr | None:
    """The first argument when it is positional and not starred."""
    found = arguments(call)
    if found and found[0].keyword is None and not found[0].star:
        return found[0].value
    return None
