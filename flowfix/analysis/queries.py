"""Queries built from a client and run by a later call: `session.query(User).filter(...).all()`
runs its SELECT at `.all()`. ASY002 and the project index (ASY006) ask the same question."""

from __future__ import annotations

import ast
from collections.abc import Callable

from flowfix.analysis.blocking import QUERY_METHODS
from flowfix.analysis.model import Model

# Attributes of a type annotation that wrap the declared class: `Annotated[Session, ...]`,
# `Optional[Session]`.
WRAPPING_TYPES = frozenset(
    {
        *("typing.Annotated", "typing_extensions.Annotated"),
        *("typing.Optional", "typing_extensions.Optional"),
    }
)


def query_source(call: ast.Call) -> ast.expr | None:
    """The client `session` when `call` runs a query built by `session.query(...)`: the
    method of `QUERY_METHODS` that ends a chain of method calls starting there (the first
    such method when several are chained: it is the one that runs the query)."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr in QUERY_METHODS):
        return None
    inner = func.value
    while isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute):
        if inner.func.attr == "query":
            return inner.func.value
        if inner.func.attr in QUERY_METHODS:
            return None
        inner = inner.func.value
    return None


def declared_class(annotation: ast.expr, wraps: Callable[[ast.expr], bool]) -> ast.expr | None:
    """The expression naming the class an annotation declares: the annotation itself (`C`),
    or the class it wraps: `Annotated[C, ...]` and `Optional[C]` when `wraps` says the
    subscript's head names one of `WRAPPING_TYPES` (the caller resolves it: through the
    module's model, or the project index), and `C | None`; None for any other subscript or
    union (`list[C]`, `C | D`)."""
    if isinstance(annotation, ast.Subscript):
        return wrapped_type(annotation) if wraps(annotation.value) else None
    if isinstance(annotation, ast.BinOp):
        return wrapped_type(annotation)
    return annotation


def wrapper_in(model: Model) -> Callable[[ast.expr], bool]:
    """`declared_class`'s test of a subscript's head, through the module's imports."""
    return lambda head: model.resolves_to(head, WRAPPING_TYPES) is not None


def wrapped_type(annotation: ast.expr) -> ast.expr | None:
    """`Session` for `Annotated[Session, Depends(get_db)]` or `Optional[Session]` (the head is
    not resolved here: see `declared_class`) and for `Session | None`; None for any other
    annotation."""
    if isinstance(annotation, ast.Subscript):
        inner = annotation.slice
        return inner.elts[0] if isinstance(inner, ast.Tuple) and inner.elts else inner
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        sides = [
            side
            for side in (annotation.left, annotation.right)
            if not (isinstance(side, ast.Constant) and side.value is None)
        ]
        return sides[0] if len(sides) == 1 else None
    return None
