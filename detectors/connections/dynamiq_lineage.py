"""Dynamiq classes as far as one module shows them: a class's ancestors (classes of the
module, or the names of imported ones), and whether they make it a Dynamiq node, a
`ConnectionNode` with the generic `ensure_client()`, or a flow."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from flowfix.analysis import Model
from flowfix.analysis.frameworks import find_method
from flowfix.analysis.values import dotted_name

# Dynamiq's `ConnectionNode` and its subclass in the same module, whose `ensure_client()` only
# knows how to rebuild the client the connection manager makes.
CONNECTION_NODES = frozenset({"ConnectionNode", "VectorStoreNode"})
# Recognised by name when an import cannot be resolved (relative imports, star imports).
NODE_NAMES = frozenset({"Node", *CONNECTION_NODES})
FLOW_MODULES = ("dynamiq.flows.", "dynamiq.workflow.")
FLOW_SUFFIXES = ("Flow", "Workflow")
MAX_DEPTH = 10
# Names of test doubles (the last part of a dotted name): they replace hooks on purpose.
TEST_DOUBLE = re.compile(r"(?:.*\.)?_*(?:Fake|Mock|Stub|Dummy|Spy|Recording)(?:[A-Z0-9_]|$)")


def base_names(model: Model, base: ast.expr) -> set[str]:
    """What a base expression refers to: qualified names, else the name as written."""
    if isinstance(base, ast.Starred):
        base = base.value
    names = model.qualified_names(base)
    if names:
        return names
    dotted = dotted_name(base)
    return {dotted} if dotted else set()


def local_class(model: Model, base: ast.expr) -> ast.ClassDef | None:
    """The class of this module that `base` names, if that is all it can be."""
    if not isinstance(base, ast.Name):
        return None
    bindings = model.bindings_of(base)
    node = bindings[0].node if len(bindings) == 1 else None
    return node if isinstance(node, ast.ClassDef) else None


def lineage(model: Model, cls: ast.ClassDef, depth: int = 0) -> Iterator[ast.ClassDef | str]:
    """`cls`, then its ancestors: classes of this module, or the names of imported ones."""
    yield cls
    if depth >= MAX_DEPTH:
        return
    for base in cls.bases:
        local = local_class(model, base)
        if local is not None and local is not cls:
            yield from lineage(model, local, depth + 1)
        elif local is None:
            yield from sorted(base_names(model, base))


def _unresolved(name: str) -> bool:
    """A relative import or a name bound nowhere in the module: only its spelling is known."""
    return name.startswith(".") or "." not in name


def is_dynamiq_node_name(name: str) -> bool:
    """A Dynamiq node class (every one of them has `init_components`), mixins excluded."""
    last = name.rsplit(".", 1)[-1]
    if name.startswith("dynamiq.nodes."):
        return not last.endswith("Mixin")
    return _unresolved(name) and last in NODE_NAMES


def is_connection_node_name(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    return last in CONNECTION_NODES and (name.startswith("dynamiq.") or _unresolved(name))


def is_dynamiq_node_class(model: Model, cls: ast.ClassDef) -> bool:
    """`cls` derives, directly or through classes of this module, from a Dynamiq node."""
    return any(
        isinstance(ancestor, str) and is_dynamiq_node_name(ancestor)
        for ancestor in lineage(model, cls)
    )


def inherits_generic_ensure_client(model: Model, cls: ast.ClassDef) -> bool:
    """A `ConnectionNode` subclass that neither it nor a class of this module in between
    gives its own `ensure_client()`."""
    for ancestor in lineage(model, cls):
        if isinstance(ancestor, str):
            if is_connection_node_name(ancestor):
                return True
        elif find_method(ancestor, "ensure_client") is not None:
            return False
    return False


def is_flow_class(model: Model, cls: ast.ClassDef) -> bool:
    """A Dynamiq `Flow`/`Workflow` (resolved through its bases) or a class named like one."""
    if cls.name.endswith(FLOW_SUFFIXES):
        return True
    return any(
        name.startswith(FLOW_MODULES) or name == "dynamiq.Workflow"
        for base in cls.bases
        for name in base_names(model, base)
    )


def is_test_double(model: Model, cls: ast.ClassDef) -> bool:
    """A class defined inside a function (a test's local stand-in), or one named, or derived
    from one named, as a double (`FakeEmbedder`, `_StubRetriever`, `MockLLM`, ...)."""
    if model.scope_of(cls).kind in ("function", "lambda"):
        return True
    return any(
        TEST_DOUBLE.match(ancestor if isinstance(ancestor, str) else ancestor.name)
        for ancestor in lineage(model, cls)
    )
