"""What a name or a `self` attribute is bound to: the values and declared types of its
bindings, the one class of a set (a sync client, a `pathlib.Path`) that every binding
constructs or declares, the functions it names."""

from __future__ import annotations

import ast
from collections.abc import Callable, Collection

from flowfix.analysis import Binding, Model
from flowfix.analysis.methods import instance_name, is_instance_attribute
from flowfix.analysis.model import FUNCTIONS, FunctionNode
from flowfix.analysis.values import block_nodes

# (assigned value, declared type) of one binding of a name; either may be missing.
BoundValue = tuple[ast.expr | None, ast.expr | None]


def self_attribute(model: Model, expr: ast.AST) -> tuple[ast.ClassDef, str] | None:
    """(class, attribute) for `self.attr` read in a method of that class."""
    if not (isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name)):
        return None
    function = model.function_of(expr)
    if not isinstance(function, FUNCTIONS):
        return None
    cls = model.class_of(function)
    if cls is None or instance_name(model, function) != expr.value.id:
        return None
    return cls, expr.attr


def name_bindings(model: Model, name: ast.Name) -> list[BoundValue] | None:
    """What every binding of `name` (as seen from where it is read) assigns, or None when a
    binding is not a plain `name = value`, `name: T [= value]`, `with value as name` or an
    annotated parameter (imports, loops, tuple targets, `global` from elsewhere...)."""
    bindings = _bindings(model, name)
    if not bindings:
        return None
    found: list[BoundValue] = []
    for binding in bindings:
        value = _bound_value(model, binding.node)
        if value is None:
            return None
        found.append(value)
    return found


def _bindings(model: Model, name: ast.Name) -> list[Binding]:
    """The bindings of `name` that assign it (`del name` does not)."""
    return [
        binding
        for binding in model.bindings_of(name)
        if not (isinstance(binding.node, ast.Name) and isinstance(binding.node.ctx, ast.Del))
    ]


def _bound_value(model: Model, target: ast.AST) -> BoundValue | None:
    if isinstance(target, ast.arg):
        return (None, target.annotation) if target.annotation is not None else None
    if not isinstance(target, ast.Name):
        return None
    owner = model.parent(target)
    if isinstance(owner, ast.Assign) and any(t is target for t in owner.targets):
        return owner.value, None
    if isinstance(owner, ast.AnnAssign) and owner.target is target:
        return owner.value, owner.annotation
    if isinstance(owner, ast.withitem) and owner.optional_vars is target:
        return owner.context_expr, None
    return None


def attribute_bindings(model: Model, cls: ast.ClassDef, attr: str) -> list[BoundValue]:
    """Every `<self>.attr = value` in the class's methods and `attr [: T] = value` in its
    body's simple statements; augmented or unpacking assignments count as unknown values."""
    found: list[BoundValue] = []
    for statement in cls.body:
        if isinstance(statement, FUNCTIONS):
            this = instance_name(model, statement)
            if this is not None:
                on_self = _attribute_of(this, attr)
                for node in block_nodes(statement.body):
                    found += _assigned(node, on_self)
        else:  # a compound statement (`if`, `class`, ...) at class level is not looked into
            found += _assigned(statement, lambda t: isinstance(t, ast.Name) and t.id == attr)
    return found


def _attribute_of(this: str, attr: str) -> Callable[[ast.AST], bool]:
    """The test for a `<this>.attr` target."""

    def matches(target: ast.AST) -> bool:
        return is_instance_attribute(target, this, attr)

    return matches


def _assigned(node: ast.AST, matches: Callable[[ast.AST], bool]) -> list[BoundValue]:
    if isinstance(node, ast.Assign):
        found: list[BoundValue] = []
        for target in node.targets:
            if matches(target):
                found.append((node.value, None))
            elif isinstance(target, (ast.Tuple, ast.List)) and any(
                matches(e.value if isinstance(e, ast.Starred) else e) for e in target.elts
            ):
                found.append((None, None))
        return found
    if isinstance(node, ast.AnnAssign) and matches(node.target):
        return [(node.value, node.annotation)]
    if isinstance(node, ast.AugAssign) and matches(node.target):
        return [(None, None)]
    return []


def is_none(node: ast.AST | None) -> bool:
    """`node` is the constant `None`."""
    return isinstance(node, ast.Constant) and node.value is None


def bound_class(
    model: Model,
    expr: ast.AST,
    classes: Collection[str],
    constructs: Callable[[ast.expr], str | None],
    declares: Callable[[ast.expr], str | None] | None = None,
) -> str | None:
    """The one class of `classes` that every binding of `expr` (a name, or `self.attr` of the
    enclosing class) holds: constructed (`constructs(value)`), or declared with that type
    (`declares(annotation)` when given: a rule that reads `Annotated[...]` or aliases).
    `None` values are ignored; any other value makes the answer unknown (None)."""
    bindings: list[BoundValue] | None
    if isinstance(expr, ast.Name):
        bindings = name_bindings(model, expr)
    else:
        owner = self_attribute(model, expr)
        bindings = attribute_bindings(model, *owner) if owner else None
    if not bindings:
        return None
    found: set[str] = set()
    for value, annotation in bindings:
        held = None
        if annotation is not None:
            held = declares(annotation) if declares else model.resolves_to(annotation, classes)
        held = held or (constructs(value) if value is not None else None)
        if held is not None:
            found.add(held)
        elif not is_none(value):
            return None
    return found.pop() if len(found) == 1 else None


def defined_functions(model: Model, name: ast.Name) -> list[FunctionNode]:
    """The `def`s that `name` refers to; empty when any binding of it is something else."""
    nodes = [binding.node for binding in _bindings(model, name)]
    if not all(isinstance(node, FUNCTIONS) for node in nodes):
        return []
    return [node for node in nodes if isinstance(node, FUNCTIONS)]
