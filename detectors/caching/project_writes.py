"""Whether another file of the run writes a file of a given name: a file the program writes
(one stage's output that the next stage reads back) is its own data, not a configuration
(CAC002). Only files whose text holds the name are parsed."""

from __future__ import annotations

import ast
from collections.abc import Callable

from flowfix.project import ProjectIndex


def file_name(node: ast.AST) -> str | None:
    """The name of the file a path expression ends in: the last part of its last string
    literal (`analysis_data.json` for `"report/analysis_data.json"`,
    `os.path.join(out, "analysis_data.json")` or `Path(out) / "analysis_data.json"`); None
    when no literal ends it (`f"{out}/data.json"` names no literal)."""
    literals = [
        child
        for child in ast.walk(node)
        if isinstance(child, ast.Constant)
        and isinstance(child.value, str)
        and not isinstance(_parent_of(node, child), ast.JoinedStr)
    ]
    if not literals:
        return None
    last = max(literals, key=lambda c: (c.end_lineno or 0, c.end_col_offset or 0))
    name = last.value.replace("\\", "/").rsplit("/", 1)[-1]
    return name or None


def _parent_of(root: ast.AST, target: ast.AST) -> ast.AST | None:
    for node in ast.walk(root):
        if target in ast.iter_child_nodes(node):
            return node
    return None


def written_elsewhere(
    index: ProjectIndex,
    display: str,
    name: str,
    names_of: Callable[[str | None], set[str]],
    counts: Callable[[str], bool],
) -> bool:
    """Some file of the run other than `display` that `counts` (the program's code, not its
    tests, whose temporary files share names with the real ones) writes a file named `name`:
    one of the names `names_of` finds in its text."""
    return any(
        name in _written_names(index, other, names_of)
        for other in _mentioning(index, display, name)
        if counts(other)
    )


def _mentioning(index: ProjectIndex, display: str, name: str) -> list[str]:
    """The files of the run (but `display`) whose text holds `name`; every file is consulted,
    so that a writer added anywhere invalidates a cached answer."""
    key = ("mentions", "*", name)
    found = index.memo.get(key)
    if found is None:
        found = index.memo[key] = [
            other for other in index.run_files if name in (index.source(other) or "")
        ]
    else:
        for other in index.run_files:
            index.module_for(other)
    assert isinstance(found, list)
    return [other for other in found if other != display]


def _written_names(
    index: ProjectIndex, display: str, names_of: Callable[[str | None], set[str]]
) -> set[str]:
    """The names of the files the file `display` writes, by `names_of` its text (memoized
    per file)."""
    key = ("written-names", display)
    found = index.memo.get(key)
    if found is None:
        found = index.memo[key] = names_of(index.source(display))
    else:
        index.module_for(display)
    assert isinstance(found, set)
    return found
