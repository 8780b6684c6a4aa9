"""The name a method calls its instance (`self`), when it has one."""

from __future__ import annotations

import ast

from flowfix.analysis import Model
from flowfix.analysis.frameworks import decorator_names

NOT_INSTANCE_METHODS = frozenset(
    {"staticmethod", "classmethod", "builtins.staticmethod", "builtins.classmethod"}
)


def instance_name(model: Model, function: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """The name of a method's instance parameter (`self`), None for static/class methods and
    functions without positional parameters."""
    if decorator_names(model, function) & NOT_INSTANCE_METHODS:
        return None
    params = [*function.args.posonlyargs, *function.args.args]
    return params[0].arg if params else None
