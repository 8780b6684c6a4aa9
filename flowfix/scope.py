"""Scope metadata: libcst's scope analysis, told which names are assigned by a direct walk.

libcst's scope analysis asks ExpressionContextProvider, for each `Name`, whether it is an
assignment target (a store) or a read; it never asks anything else of it. That provider walks
the tree with a fresh visitor per target, which costs about as much as the scope analysis
itself. `stored_names` finds the same stores in one walk over dataclass fields (same answers:
tested against libcst's), and `ScopeProvider` here runs libcst's scope visitor with that walk
behind the one question it asks. Every flowfix rule and codemod asks scopes of this provider.
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import (
    BaseMetadataProvider,
    ExpressionContext,
    ExpressionContextProvider,
    Scope,
)
from libcst.metadata.scope_provider import ScopeVisitor

from flowfix.parents import fields_of, nodes_in

STORE = ExpressionContext.STORE

# For the node types where ExpressionContextProvider changes the context: which fields it
# visits, and in which context (True: store; False: read; None: the node's own context).
# Fields left out are not visited at all (`Attribute.attr`, a def's type parameters). Other
# node types get every field in their own context, added here as they are first met.
_FIELDS: dict[type[cst.CSTNode], tuple[tuple[str, bool | None], ...]] = {
    cst.Assign: (("targets", True), ("value", None)),
    cst.AnnAssign: (("target", True), ("annotation", None), ("value", None)),
    cst.AugAssign: (("target", True), ("value", None)),
    cst.NamedExpr: (("target", True), ("value", None)),
    cst.AsName: (("name", True),),
    cst.CompFor: (("target", True), ("iter", None), ("ifs", None), ("inner_for_in", None)),
    cst.For: (("target", True), ("iter", None), ("body", None), ("orelse", None)),
    cst.Del: (("target", False),),  # deleted, not stored
    cst.Attribute: (("value", False),),
    cst.Subscript: (("value", False), ("slice", False)),
    cst.ClassDef: (
        ("name", True),
        ("body", None),
        ("bases", None),
        ("keywords", None),
        ("decorators", None),
    ),
    cst.FunctionDef: (
        ("name", True),
        ("params", None),
        ("body", None),
        ("decorators", None),
        ("returns", None),
    ),
    cst.Param: (("name", True), ("annotation", None), ("default", None)),
}


def stored_names(module: cst.Module) -> set[cst.Name]:
    """The `Name`s that ExpressionContextProvider gives the STORE context."""
    stored: set[cst.Name] = set()
    stack: list[tuple[cst.CSTNode, bool]] = [(module, False)]
    pop, push = stack.pop, stack.append
    while stack:
        node, store = pop()
        if type(node) is cst.Name:
            if store:
                stored.add(node)
            continue
        for name, context in _visited(node):
            inner = store if context is None else context
            for child in nodes_in(getattr(node, name)):
                push((child, inner))
    return stored


def _visited(node: cst.CSTNode) -> tuple[tuple[str, bool | None], ...]:
    fields = _FIELDS.get(type(node))
    if fields is None:
        fields = _FIELDS[type(node)] = tuple((name, None) for name in fields_of(node))
    return fields


class ScopeProvider(BaseMetadataProvider[Scope | None]):
    """libcst's scope analysis (its ScopeVisitor, as in libcst's ScopeProvider), with the
    assignment targets found by `stored_names`. Not a batchable provider: resolving it needs
    no batched traversal of the module besides the scope visitor's own."""

    def _gen_impl(self, module: cst.Module) -> None:
        self._stored = stored_names(module)
        visitor = ScopeVisitor(self)  # type: ignore[arg-type]
        module.visit(visitor)
        visitor.infer_accesses()

    def get_metadata(self, key, node, *default):  # type: ignore[no-untyped-def]
        if key is ExpressionContextProvider:  # the one question ScopeVisitor asks of it
            return STORE if node in self._stored else None
        return super().get_metadata(key, node, *default)
