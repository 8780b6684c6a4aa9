"""A method's instance: whether a function is a static or class method, the name its
instance parameter (`self`) has, and whether a node is an attribute of that instance."""

from __future__ import annotations

import ast

from flowfix.analysis.frameworks import decorator_names
from flowfix.analysis.model import FunctionNode, Model

# Decorators that make a method take no instance parameter.
STATIC_DECORATORS = frozenset(
    {"staticmethod", "classmethod", "builtins.staticmethod", "builtins.classmethod"}
)


def is_static(model: Model, function: FunctionNode) -> bool:
    """Whether `function` is decorated `@staticmethod` or `@classmethod`."""
    return bool(decorator_names(model, function) & STATIC_DECORATORS)


def instance_name(model: Model, function: FunctionNode) -> str | None:
    """The name of a method's instance parameter (`self`), None for static/class methods and
    functions without positional parameters."""
    if is_static(model, function):
        return None
    params = [*function.args.posonlyargs, *function.args.args]
    return params[0].arg if params else None


def is_instance_attribute(node: ast.AST, this: str | None, attr: str) -> bool:
    """`node` is `<this>.<attr>`: attribute `attr` of the instance a method calls `this`."""
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == this
        and node.attr == attr
    )
