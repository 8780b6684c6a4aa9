"""flowfix's batched visit calls the same methods on the same nodes, in order, as libcst's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesmith import from_grammar

from flowfix import traversal
from flowfix.traversal import visit_batched, visited_fields
from helpers import PARITY_SOURCES, source_id


def _recorder_class() -> type[cst.BatchableCSTVisitor]:
    """A visitor with `visit_` and `leave_` methods for every concrete node type."""
    names = {
        value.__name__
        for value in vars(cst).values()
        if isinstance(value, type) and issubclass(value, cst.CSTNode)
    }
    methods: dict[str, object] = {}
    for name in names:
        for kind in ("visit", "leave"):

            def record(self: Any, node: cst.CSTNode, event: tuple[str, str] = (kind, name)) -> None:
                self.events.append((*event, id(node)))

            record.__name__ = f"{kind}_{name}"  # libcst finds visitor methods by name
            methods[record.__name__] = record
    return type("Recorder", (cst.BatchableCSTVisitor,), methods)


Recorder = _recorder_class()


def _events(module: cst.Module, visit: object) -> list[tuple[str, str, int]]:
    first, second = Recorder(), Recorder()
    first.events, second.events = [], []  # type: ignore[attr-defined]
    visit(module, [first, second])  # type: ignore[operator]
    assert first.events == second.events  # type: ignore[attr-defined]
    return first.events  # type: ignore[attr-defined,no-any-return]


def _same_as_libcst(code: str) -> None:
    module = cst.parse_module(code)
    expected = _events(module, cst.visit_batched)
    assert expected
    assert _events(module, visit_batched) == expected


@pytest.mark.parametrize("path", PARITY_SOURCES, ids=source_id)
def test_same_events_as_libcst(path: Path) -> None:
    _same_as_libcst(path.read_text(encoding="utf-8"))


def test_conditionally_visited_fields() -> None:
    _same_as_libcst('from a import *\nfrom b import (c, d)\nf"{x!r:>{width}}" f"{y}"\n')
    assert visited_fields(cst.FormattedStringExpression)[-1] == "format_spec"


def test_attribute_hooks_go_to_libcst() -> None:
    class Hooked(cst.BatchableCSTVisitor):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[str] = []

        def visit_Call_func(self, node: cst.Call) -> None:
            self.seen.append(cst.Module([]).code_for_node(node.func))

    hooked = Hooked()
    visit_batched(cst.parse_module("f(g(1))\n"), [hooked])
    assert hooked.seen == ["f", "g"]


def test_without_libcst_source_the_visit_is_libcst_own(monkeypatch: pytest.MonkeyPatch) -> None:
    def unreadable(_: object) -> str:
        raise OSError("could not get source code")

    monkeypatch.setattr(traversal, "_ORDERS", None)
    monkeypatch.setattr(traversal.inspect, "getsource", unreadable)
    module = cst.parse_module("def f(x):\n    return [y for y in x]\n")
    expected = _events(module, cst.visit_batched)
    assert _events(module, visit_batched) == expected
    assert traversal._ORDERS == {}


@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
@given(from_grammar())
def test_generated_modules(source: str) -> None:
    try:
        cst.parse_module(source)
    except (cst.ParserSyntaxError, RecursionError):
        return
    _same_as_libcst(source)
