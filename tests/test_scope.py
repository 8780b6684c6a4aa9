"""flowfix's scope metadata matches libcst's: the same stores, the same scopes and names."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import libcst.metadata as metadata
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesmith import from_grammar
from libcst.metadata import ExpressionContext, ExpressionContextProvider, MetadataWrapper

from flowfix.parents import ParentProvider
from flowfix.scope import ScopeProvider, stored_names
from helpers import PARITY_SOURCES, source_id

TRICKY = """\
import a.b as c, d
from e import (f as g)
x, *y = z[i] = w.v = 1
(p := 2)
q: int = 3
r += [s for t, u in k if (m := t)]
del aa, bb.cc, dd[ee]
with open(ff) as (gg, hh.ii), jj as kk[ll]:
    for mm, (nn, *oo) in pp: pass
try: pass
except Exception as qq: pass
class C[T](B, metaclass=M):
    attr: T = lambda rr=ss, *tt, uu: rr
    def method[U](self, vv: U = ww, /, *xx, yy=zz, **kw) -> U:
        global gl
        nonlocal_ = [aaa async for bbb in ccc]
match ddd:
    case [eee, *fff] | {"k": ggg, **hhh}: pass
    case Point(x=iii) as jjj: pass
type Alias[V] = list[V]
f(kwarg=kkk)
"""


def _libcst_stores(module: cst.Module) -> set[cst.CSTNode]:
    contexts = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ExpressionContextProvider)
    return {
        node
        for node, context in contexts.items()
        if isinstance(node, cst.Name) and context is ExpressionContext.STORE
    }


class _Names:
    """Names for nodes that hold across runs: a node of the module by its place in a walk, a
    node libcst made itself (parsing a string annotation) by its type and code."""

    def __init__(self, module: cst.Module) -> None:
        walk = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ParentProvider)
        self.places = {id(node): place for place, node in enumerate([module, *walk])}

    def node(self, node: cst.CSTNode) -> object:
        place = self.places.get(id(node))
        return (
            place
            if place is not None
            else (type(node).__name__, cst.Module([]).code_for_node(node))
        )

    def assignment(self, assignment: object) -> object:
        node = getattr(assignment, "node", None)  # builtins have none
        return self.node(node) if node is not None else assignment.name  # type: ignore[attr-defined]


def _scope_summary(module: cst.Module, provider: type) -> list[object]:
    """Every node's scope, and each scope's assignments and accesses, in a comparable form."""
    scopes = MetadataWrapper(module, unsafe_skip_copy=True).resolve(provider)
    names = _Names(module)
    numbers: dict[int, int] = {}
    by_node = []
    for node, scope in scopes.items():
        number = None if scope is None else numbers.setdefault(id(scope), len(numbers))
        by_node.append((repr(names.node(node)), type(scope).__name__, number))
    summary: list[object] = sorted(by_node)
    for scope in {id(s): s for s in scopes.values() if s is not None}.values():
        summary.append(
            (
                numbers[id(scope)],
                sorted(repr((a.name, names.assignment(a))) for a in scope.assignments),
                sorted(
                    repr(
                        (names.node(a.node), sorted(map(repr, map(names.assignment, a.referents))))
                    )
                    for a in scope.accesses
                ),
            )
        )
    return summary


@pytest.mark.parametrize("path", PARITY_SOURCES, ids=source_id)
def test_same_stores_and_scopes_as_libcst(path: Path) -> None:
    module = cst.parse_module(path.read_bytes())
    assert stored_names(module) == _libcst_stores(module)
    assert _scope_summary(module, ScopeProvider) == _scope_summary(module, metadata.ScopeProvider)


def test_every_kind_of_target() -> None:
    module = cst.parse_module(TRICKY)
    stores = stored_names(module)
    assert stores == _libcst_stores(module)
    names = {name.value for name in stores}
    assert {"c", "g", "x", "y", "p", "q", "r", "t", "u", "m", "gg", "mm", "nn"} <= names
    assert {"oo", "qq", "C", "attr", "rr", "tt", "uu", "method", "vv", "xx", "yy", "kw"} <= names
    assert names.isdisjoint({"d", "z", "w", "v", "aa", "cc", "ee", "ii", "kwarg", "T", "U", "V"})
    assert _scope_summary(module, ScopeProvider) == _scope_summary(module, metadata.ScopeProvider)


@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
@given(from_grammar())
def test_generated_modules(source: str) -> None:
    try:
        module = cst.parse_module(source)
    except (cst.ParserSyntaxError, RecursionError):
        return
    assert stored_names(module) == _libcst_stores(module)
