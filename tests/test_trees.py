"""The last trees parsed for a check or an editor are handed to the step after."""

from __future__ import annotations

import ast

from flowfix.trees import known_tree, remember_tree
from flowfix.verify import rewrite_problem


def test_the_last_two_trees_are_kept_by_text() -> None:
    trees = {text: ast.parse(text) for text in ("a = 1\n", "b = 2\n", "c = 3\n")}
    for text, tree in trees.items():
        remember_tree(text, tree)
    assert known_tree("a = 1\n") is None
    assert known_tree("b = 2\n") is trees["b = 2\n"]
    assert known_tree("c = 3\n") is trees["c = 3\n"]
    assert known_tree("c = 3") is None  # the text itself, not one like it


def test_a_checked_rewrite_leaves_its_tree_for_the_detection_after() -> None:
    new = "import asyncio\n\n\nasync def f():\n    await asyncio.sleep(1)\n"
    assert rewrite_problem("x = 1\n", new, "m.py", "utf-8") is None
    tree = known_tree(new)
    assert isinstance(tree, ast.Module) and ast.unparse(tree) == ast.unparse(ast.parse(new))
    assert rewrite_problem("x = 1\n", "return 1\n", "m.py", "utf-8") is not None
    assert known_tree("return 1\n") is None  # not sound: not kept
