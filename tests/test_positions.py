"""Positions generated statement by statement are libcst's, node for node."""

from __future__ import annotations

import re
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from flowfix.parents import ParentProvider
from flowfix.positions import StatementPositions
from helpers import PARITY_SOURCES, source_id

TRICKY = [
    "# header comment\n\nimport os; import sys\n\n\n# leading comment\n@dec  # trailing\n"
    "# between decorators\n@other(\n    1,\n)\nclass A(B):\n    x = 1; y = 2\n\n"
    "    # comment\n    @property\n    def f(self):\n        return self.x  # c\n\n"
    "    class Inner:\n        def g(self): pass\n    # footer comment\n\n"
    "def h(a,\n      b): return [\n    a, b]\n# module footer\n",
    "class One: pass\nclass Two: x = 1; y = 2\nif True:\n    def f(): pass\nelse:\n    pass\n",
    "x = 1\r\ny = '\\\r\n'\r\nclass C:\r\n\tdef f(self):\r\n\t\treturn 1\r\n",
    "a = 1\rclass C:\r    def f(self): return 2\r",  # lone carriage returns
    "s = '''\nclass Fake:\n    pass\n'''\n"
    "class Real:\n    v = '''\n    '''\n    def m(self): ...\n",
    "\ufeffx = 1\nclass A:\n    async def f(self):\n        await g()\n",
    "def f():\n    return 1",  # no trailing newline
    "class A:\n    def f(self):\n        return 1",
    "class A:\n    def f(self):\n        return 1\n# footer",
    "",
]


def _check(code: str) -> None:
    """Ask for every node's position, those inside statements first, in reverse order."""
    module = cst.parse_module(code)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    expected = dict(wrapper.resolve(PositionProvider))
    positions = StatementPositions(module, module.code, wrapper.resolve(ParentProvider))
    inside = [node for node in reversed(list(expected)) if positions._unit(node) is not None]
    assert {node: positions[node] for node in inside} == {node: expected[node] for node in inside}
    assert not positions._whole or re.search("\r(?!\n)", code)  # lone CR: the whole module
    assert {node: positions[node] for node in expected} == expected


@pytest.mark.parametrize("path", PARITY_SOURCES, ids=source_id)
def test_same_positions_as_libcst(path: Path) -> None:
    _check(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("code", TRICKY)
def test_tricky_layouts(code: str) -> None:
    _check(code)


def test_one_method_is_generated_alone() -> None:
    code = (
        "import os\n\n\nclass A:\n    def f(self):\n        os.getcwd()\n\n"
        "    def g(self):\n        return 1\n"
    )
    module = cst.parse_module(code)
    parents = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ParentProvider)
    positions = StatementPositions(module, code, parents)
    call = module.body[1].body.body[0].body.body[0].body[0].value  # type: ignore[attr-defined]
    assert (positions[call].start.line, positions[call].start.column) == (6, 8)
    assert len(positions._generated) == 1 and not positions._whole
    g = module.body[1].body.body[1]  # type: ignore[attr-defined]
    assert g not in positions._computed  # not generated


def test_text_that_does_not_match_falls_back_to_the_whole_module() -> None:
    code = "class A:\n    def f(self):\n        return 1\n"
    module = cst.parse_module(code)
    parents = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ParentProvider)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    other = code.replace("1", "2")  # same lines and statements, other code
    positions = StatementPositions(module, other, parents)
    method = module.body[0].body.body[0]  # type: ignore[attr-defined]
    assert positions[method] == expected[method]
    assert positions._whole
