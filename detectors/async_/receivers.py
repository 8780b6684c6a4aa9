"""What a receiver holds: the values a name or a `self.attr` is bound to, and the one class of
a set (a sync client, a `pathlib.Path`) that every binding constructs or declares."""

from __future__ import annotations

import ast
from collections.abc import Callable

from flowfix.analysis import Model
from flowfix.analysis.methods import instance_name
from flowfix.analysis.model import FUNCTIONS
from flowfix.analysis.names import full_name
from flowfix.analysis.values import own_nodes

# (assigned value, declared type) of one binding of a name; either may be missing.
BoundValue = tuple[ast.expr | None, ast.expr | None]


def shown_callee(func: ast.expr) -> str:
    """How a finding names the callee: `full_name`, or its last attribute, or `call`."""
    dotted = full_name(func)
    if dotted and not dotted.startswith("None"):
        return dotted
    return func.attr if isinstance(func, ast.Attribute) else "call"


def name_bindings(model: Model, name: ast.Name) -> list[BoundValue] | None:
    """What every binding of `name` (as seen from where it is read) assigns, or None when a
    binding is not a plain `name = value`, `name: T [= value]`, `with value as name` or an
    annotated parameter (imports, loops, tuple targets, ...)."""
    bindings = model.bindings_of(name)
    if not bindings:
        return None
    found: list[BoundValue] = []
    for binding in bindings:
        value = _bound_value(model, binding.node)
        if value is None:
            return None
        found.append(value)
    return found


def _bound_value(model: Model, target: ast.AST) -> BoundValue | None:
    if isinstance(target, ast.arg):
        return (None, target.annotation) if target.annotation is not None else None
    if not isinstance(target, ast.Name):
        return None
    owner = model.parent(target)
    if isinstance(owner, ast.Assign) and target in owner.targets:
        return owner.value, None
    if isinstance(owner, ast.AnnAssign) and owner.target is target:
        return owner.value, owner.annotation
    if isinstance(owner, ast.withitem) and owner.optional_vars is target:
        return owner.context_expr, None
    return None


def attribute_bindings(model: Model, cls: ast.ClassDef, attr: str) -> list[BoundValue]:
    """Every `<self>.attr = value` in the class's methods and `attr [: T] = value` in its
    body (statements directly in it)."""
    found: list[BoundValue] = []
    for statement in cls.body:
        if isinstance(statement, FUNCTIONS):
            this = instance_name(model, statement)
            if this is not None:
                found += _assigned_to(own_nodes(statement), _self_attribute(this, attr))
        elif isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            found += _assigned_to([statement], lambda target: _is_name(target, attr))
    return found


def _is_name(node: ast.AST, value: str) -> bool:
    return isinstance(node, ast.Name) and node.id == value


def _self_attribute(this: str, attr: str) -> Callable[[ast.AST], bool]:
    def matches(target: ast.AST) -> bool:
        return (
            isinstance(target, ast.Attribute)
            and _is_name(target.value, this)
            and target.attr == attr
        )

    return matches


def _assigned_to(nodes: object, matches: Callable[[ast.AST], bool]) -> list[BoundValue]:
    """(value, annotation) of the assignments among `nodes` to a matching target; augmented
    or unpacking assignments count as unknown values."""
    found: list[BoundValue] = []
    for node in nodes:  # type: ignore[attr-defined]
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if matches(target):
                    found.append((node.value, None))
                elif isinstance(target, (ast.Tuple, ast.List)) and any(
                    matches(element.value if isinstance(element, ast.Starred) else element)
                    for element in target.elts
                ):
                    found.append((None, None))
        elif isinstance(node, ast.AnnAssign) and matches(node.target):
            found.append((node.value, node.annotation))
        elif isinstance(node, ast.AugAssign) and matches(node.target):
            found.append((None, None))
    return found


def self_attribute_class(model: Model, expr: ast.AST) -> tuple[ast.ClassDef, str] | None:
    """(class, attribute) for `self.attr` read in a method of that class."""
    if not (isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name)):
        return None
    owner = model.function_of(expr)
    if not isinstance(owner, FUNCTIONS):
        return None
    cls = model.class_of(owner)
    if cls is None or instance_name(model, owner) != expr.value.id:
        return None
    return cls, expr.attr


def _is_none(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def bound_class(
    model: Model,
    expr: ast.expr,
    classes: frozenset[str],
    constructs: Callable[[ast.expr], str | None],
) -> str | None:
    """The one class of `classes` that every binding of `expr` (a name, or `self.attr` of the
    enclosing class) holds: constructed (`constructs(value)`), or declared with that type.
    `None` values are ignored; any other value makes the answer unknown (None)."""
    bindings: list[BoundValue] | None
    if isinstance(expr, ast.Name):
        bindings = name_bindings(model, expr)
    else:
        owner = self_attribute_class(model, expr)
        bindings = attribute_bindings(model, *owner) if owner else None
    if not bindings:
        return None
    found: set[str] = set()
    for value, annotation in bindings:
        held = model.resolves_to(annotation, classes) if annotation is not None else None
        held = held or (constructs(value) if value is not None else None)
        if held is not None:
            found.add(held)
        elif not _is_none(value):
            return None
    return found.pop() if len(found) == 1 else None
