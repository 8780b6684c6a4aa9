"""RuleCodemod.span_of gives a libcst node the span `ast` (and so a finding) gives it."""

from __future__ import annotations

import ast

import libcst as cst
from libcst.codemod import CodemodContext

from flowfix.analysis import Model
from flowfix.codemod import RuleCodemod
from flowfix.rules import Span

SOURCE = """\
def f(items):
    x = (g(1)) - ((h(2)))
    y = (1, (2, 3))
    with (open("a") as a, open("b") as b):
        pass
    for item in items: print(item)
    return (  [item for item in items]  )
"""


class _Spans(RuleCodemod):
    def __init__(self) -> None:
        super().__init__(CodemodContext(), [])
        self.seen: dict[str, set[Span]] = {}

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, (cst.Call, cst.Tuple, cst.With, cst.For, cst.ListComp)):
            self.seen.setdefault(type(node).__name__, set()).add(self.span_of(node))
        return True


def test_span_of_matches_ast() -> None:
    codemod = _Spans()
    codemod.transform_module(cst.parse_module(SOURCE))
    model = Model(ast.parse(SOURCE), SOURCE)
    kinds = {"Call": ast.Call, "Tuple": ast.Tuple, "With": ast.With, "For": ast.For}
    kinds["ListComp"] = ast.ListComp
    for name, kind in kinds.items():
        expected = {model.span(node) for node in ast.walk(model.tree) if isinstance(node, kind)}
        assert codemod.seen[name] == expected, name
