"""Reduced modules: stubbing keeps line numbers, and never changes what a rule finds."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from flowfix import reduction
from flowfix.config import Config
from flowfix.engine import Candidates, detect_candidates
from flowfix.prefilter import FileView
from flowfix.project import ProjectIndex
from flowfix.rules import registry

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SOURCE = '''\
import time


def helper():
    return time.time()


def unrelated(x):
    """Not named by the site's function."""
    y = x + 1
    return y


@decorator
async def site():
    helper()
    time.sleep(1)


class Node:
    def prep(self):
        return 1

    def exec(self):
        time.sleep(1)

    def post(self):
        return 2

    def one_liner(self): return 3


def declares():
    global STATE
    STATE = 1
'''


def view_of(text: str) -> FileView:
    return FileView(text, ast.parse(text))


def sleeps(view: FileView) -> list[ast.AST]:
    return [
        node
        for node in ast.walk(view.tree)
        if isinstance(node, ast.Attribute) and node.attr == "sleep"
    ]


def kept_defs(text: str, stubs: tuple[reduction.Stub, ...]) -> set[str]:
    return {
        node.name
        for node in ast.walk(ast.parse(text))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and not reduction.stubbed(node.lineno, stubs)
    }


def test_function_reach_keeps_each_site_function_and_the_functions_it_names() -> None:
    view = view_of(SOURCE)
    stubs = reduction.plan(view, [("function", sleeps(view))])
    assert kept_defs(SOURCE, stubs) == {"helper", "site", "exec", "one_liner", "declares"}


def test_class_reach_keeps_the_whole_class() -> None:
    view = view_of(SOURCE)
    stubs = reduction.plan(view, [("class", sleeps(view))])
    assert kept_defs(SOURCE, stubs) == {
        *("helper", "site", "prep", "exec", "post", "one_liner", "declares"),
    }


def test_module_reach_or_a_plain_yes_keeps_everything() -> None:
    view = view_of(SOURCE)
    assert reduction.plan(view, [("function", sleeps(view)), ("module", True)]) == ()
    assert reduction.plan(view, [("function", sleeps(view)), ("class", True)]) == ()


def test_reduced_text_keeps_every_line_in_place_and_parses() -> None:
    text = SOURCE.replace("\n", "\r\n")
    view = view_of(text)
    stubs = reduction.plan(view, [("function", sleeps(view))])
    reduced = reduction.apply(text, stubs)
    original, lines = text.split("\r\n"), reduced.split("\r\n")
    assert len(lines) == len(original)
    ast.parse(reduced)
    body_lines = {line for _, body, last in stubs for line in range(body, last + 1)}
    for number, (before, after) in enumerate(zip(original, lines, strict=True), start=1):
        if number not in body_lines:
            assert after == before
        elif any(body == number for _, body, _ in stubs):
            indent = before[: len(before) - len(before.lstrip())]
            assert after == indent + "pass"
        else:
            assert after == ""
    assert "unrelated" in reduced and "y = x + 1" not in reduced


def test_a_lone_carriage_return_turns_reduction_off() -> None:
    text = SOURCE.replace("return 2", "return '''a\rb'''")
    view = view_of(text)
    assert reduction.plan(view, [("function", sleeps(view))]) == ()


CASES = sorted(
    path
    for path in FIXTURES.glob("[A-Z][A-Z][A-Z][0-9][0-9][0-9]/*.py")
    if not path.name.endswith(".fixed.py")
)
REDUCING = [
    rule
    for rule in registry().values()
    if not rule.analyses_ast and rule.detector.REACH != "module"  # type: ignore[union-attr]
]


@pytest.mark.parametrize("case", CASES, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_each_rule_finds_the_same_on_its_reduced_module(case: Path) -> None:
    """Every rule that declares a reach, on every fixture, alone: the findings on the module
    reduced to its own sites are exactly those on the whole module."""
    text = case.read_text(encoding="utf-8")
    view = view_of(text)
    project = ProjectIndex.build([(case, case.name, text)])
    for rule in REDUCING:
        sites = rule.detector.wants(text) and rule.detector.ast_candidate(view)
        if not sites:
            continue
        stubs = reduction.plan(view, [(rule.detector.REACH, sites)])
        whole = detect_candidates(text, case.name, Candidates([rule]), Config(), project)
        reduced = detect_candidates(text, case.name, Candidates([rule], stubs), Config(), project)
        assert reduced == whole, f"{rule.code} with {len(stubs)} stubbed defs"
