"""Reduced modules: libcst parses and analyses only the functions a candidate rule needs.

libcst and its scope metadata cost ten to a hundred times what CPython's parser does, and a
candidate file of a big framework is mostly methods that no candidate rule looks at. A rule's
AST prefilter therefore names its *sites* (the nodes a finding of it could start in) and the
rule declares its *reach*, what else its libcst analysis reads:

- "function": the outermost function around each site;
- "class": the outermost class (or function) around each site;
- "module": everything (the file is not reduced).

Besides that, every function named in kept code is kept (a helper it calls, `self.method()`),
and so on transitively, and everything outside function bodies is always kept: imports,
module and class statements, each def's decorators and signature. Every other function body
becomes `pass` on its first line followed by blank lines, so each kept line keeps its number
and its text and positions need no mapping. Findings inside a stubbed def are dropped.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Literal, TypeAlias

from flowfix.prefilter import (
    BODIES,
    FUNCTION_DEFS,
    SCOPE_DEFS,
    FileView,
    first_line,
    occurrences,
)

Reach: TypeAlias = Literal["function", "class", "module"]
# A prefilter's answer: no, yes with no sites named (the whole module), or the sites.
Sites: TypeAlias = bool | Sequence[ast.AST]
# A stubbed def: (its first line, decorators included; its body's first line; its last line).
Stub: TypeAlias = tuple[int, int, int]

_LINE = re.compile(r"([^\r\n]*)(\r\n|\r|\n|$)")
_LONE_CR = re.compile(r"\r(?!\n)")


def plan(view: FileView, wanted: Iterable[tuple[Reach, Sites]]) -> tuple[Stub, ...]:
    """The defs to stub so that every `(reach, sites)` keeps what it needs (none: keep all)."""
    if _LONE_CR.search(view.text):  # line numbers would depend on who counts them
        return ()
    units: dict[int, ast.AST] = {}
    for reach, sites in wanted:
        if reach == "module" or isinstance(sites, bool):
            return ()
        types = FUNCTION_DEFS if reach == "function" else SCOPE_DEFS
        for site in sites:
            unit = next((s for s in view.enclosing(site.lineno) if isinstance(s, types)), None)  # type: ignore[attr-defined]
            if unit is not None:
                units[id(unit)] = unit
    defs = list(_outermost_functions(view.tree.body))
    kept = _closure(defs, list(units.values()))
    globals_at = {view.line_of(offset) for offset in occurrences(view.text, "global")}
    return tuple(
        (first_line(node), node.body[0].lineno, node.end_lineno or node.lineno)
        for node in defs
        if id(node) not in kept
        and _stubbable(view, node)
        and not any(node.body[0].lineno <= line <= (node.end_lineno or 0) for line in globals_at)
    )


def _outermost_functions(
    body: Sequence[ast.stmt],
) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Every def in `body` not inside another def (module functions, methods)."""
    stack: list[ast.AST] = list(reversed(body))
    while stack:
        node = stack.pop()
        if isinstance(node, FUNCTION_DEFS):
            yield node
            continue
        for name in BODIES:
            stack.extend(reversed(getattr(node, name, ())))


def _closure(
    defs: Sequence[ast.FunctionDef | ast.AsyncFunctionDef], units: list[ast.AST]
) -> set[int]:
    """ids of the defs kept: those inside a unit, then those named in kept code, transitively."""
    inside = {id(node) for unit in units for node in _defs_in(unit)}
    kept = {id(node) for node in defs if id(node) in inside}
    by_name: dict[str, list[ast.AST]] = {}
    for node in defs:
        if id(node) not in kept:
            by_name.setdefault(node.name, []).append(node)
    pending, seen = list(units), set()
    while pending:
        for name in _identifiers(pending.pop()):
            if name in seen:
                continue
            seen.add(name)
            for named in by_name.pop(name, ()):
                kept.add(id(named))
                pending.append(named)
    return kept


def _defs_in(unit: ast.AST) -> Iterator[ast.AST]:
    if isinstance(unit, FUNCTION_DEFS):
        yield unit
    elif isinstance(unit, ast.ClassDef):
        yield from _outermost_functions(unit.body)


def _identifiers(node: ast.AST) -> Iterator[str]:
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            yield child.id
        elif isinstance(child, ast.Attribute):
            yield child.attr


def _stubbable(view: FileView, node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Does the body start a line of its own (not on the `def` line)?"""
    first = node.body[0]
    before = view.line(first.lineno).encode()[: first.col_offset]
    return first.lineno > node.lineno and not before.strip()


def apply(text: str, stubs: Sequence[Stub]) -> str:
    """`text` with each stubbed body replaced by `pass` and blank lines (same line count)."""
    if not stubs:
        return text
    blank: dict[int, bool] = {}  # line number: True for the `pass` line, False for blank
    for _, body, last in stubs:
        blank[body] = True
        blank.update(dict.fromkeys(range(body + 1, last + 1), False))
    out: list[str] = []
    for number, match in enumerate(_LINE.finditer(text), start=1):
        content, ending = match.groups()
        if number in blank:
            if blank[number]:
                indent = content[: len(content) - len(content.lstrip())]
                out.append(f"{indent}pass{ending}")
            else:
                out.append(ending)
        else:
            out.append(content + ending)
        if not ending:
            break
    return "".join(out)


def stubbed(line: int, stubs: Sequence[Stub]) -> bool:
    """Is `line` inside a stubbed def (decorators to last line)?"""
    return any(first <= line <= last for first, _, last in stubs)
