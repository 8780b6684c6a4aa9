"""Where a client constructed per call runs, and where its construction can move: the node
class's init hook, a `functools.cached_property`, or a cached module-level factory."""

from __future__ import annotations

import ast
from typing import Literal

from flowfix.analysis import Model
from flowfix.analysis.frameworks import (
    base_class,
    find_method,
    framework_of,
)
from flowfix.analysis.methods import instance_name
from flowfix.analysis.model import FunctionNode
from flowfix.detectors.connections.call_inputs import references
from flowfix.detectors.connections.client_constructors import is_data_class, is_slotted

Route = Literal["init_components", "__init__", "cached_property", "factory"]
HOOKS: dict[str, str] = {
    "init_components": "`init_components()`",
    "__init__": "`__init__()`",
    "cached_property": "a `functools.cached_property`",
    "factory": "a `functools.cache` factory",
    "service": "the object's `__init__()`",
    "wrapper": "the decorator, outside its wrapper",
}


def _is_simple_suite(model: Model, function: FunctionNode) -> bool:
    """`def f(): return` — the body on the header's line."""
    first = function.body[0]
    line = model.lines[first.lineno - 1]
    return bool(line[: model.column(first.lineno, first.col_offset)].strip())


def trailing_return(model: Model, function: FunctionNode) -> ast.Return | None:
    """The body's last statement when it is a bare `return` alone on its line, in an indented
    body."""
    last = function.body[-1]
    if not isinstance(last, ast.Return) or last.value is not None:
        return None
    if _is_simple_suite(model, function):
        return None
    if len(function.body) > 1 and function.body[-2].end_lineno == last.lineno:
        return None  # `x = 1; return`
    return last


def returns_early(model: Model, function: FunctionNode) -> bool:
    """A `return` anywhere in the body but a trailing bare `return`."""
    trailing = trailing_return(model, function)
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Return) and node is not trailing:
            return True
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))
    return False


def has_dynamiq_base(model: Model, cls: ast.ClassDef) -> bool:
    return any(
        name.startswith("dynamiq.")
        for base in cls.bases
        for name in model.qualified_names(base_class(base))
    )


def inherits_init_components(model: Model, cls: ast.ClassDef, depth: int = 0) -> bool:
    """A base class defined in the same module (or its own bases) defines `init_components`:
    the node's framework calls it, so an override runs (a Dynamiq-like base of the project)."""
    if depth > 10:
        return False
    for base in cls.bases:
        named = base_class(base)
        if not isinstance(named, ast.Name):
            continue
        for binding in model.module_scope.bindings.get(named.id, []):
            node = binding.node
            if isinstance(node, ast.ClassDef) and node is not cls:
                if find_method(node, "init_components") is not None:
                    return True
                if inherits_init_components(model, node, depth + 1):
                    return True
    return False


def hoist_route(model: Model, function: FunctionNode, call: ast.Call) -> tuple[Route | None, str]:
    """Where the construction can move to, or (None, why not)."""
    cls = model.class_of(function)
    if cls is None:
        return "factory", ""
    this = instance_name(model, function)
    if this is None:
        return None, f"`{function.name}()` has no instance parameter"
    if is_slotted(model, cls):
        return None, f"`{cls.name}` uses `__slots__`; add a slot for the client by hand"
    init_components = find_method(cls, "init_components")
    if framework_of(model, cls) == "dynamiq" and (
        has_dynamiq_base(model, cls)
        or init_components is not None
        or inherits_init_components(model, cls)
    ):
        if init_components is not None:
            if returns_early(model, init_components):
                return None, "`init_components()` returns early"
            if instance_name(model, init_components) != this and this in references(call):
                return None, "`init_components()` names its instance parameter differently"
        return "init_components", ""
    if is_data_class(model, cls) or this in references(call):
        return "cached_property", ""
    init = find_method(cls, "__init__")
    if init is not None and returns_early(model, init):
        return "cached_property", ""
    return "__init__", ""


def default_hook(model: Model, function: FunctionNode) -> Route:
    """The hook the message names when the construction cannot move."""
    cls = model.class_of(function)
    if cls is None:
        return "factory"
    return "init_components" if framework_of(model, cls) == "dynamiq" else "__init__"
