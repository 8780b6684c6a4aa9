"""The part of a module a fix can touch: codemods parse that, not the whole file.

libcst parses about ten times slower than CPython, and a codemod's visits of a tree cost as
much again, so a fix in a large module paid for every function of it. Before a fix pass, each
run of consecutive top-level functions and classes that no finding of the pass touches is
elided: replaced by one placeholder line, `...`. The imported names it mentions travel beside
it (`Elision.read`: an import it uses stays, since a codemod removes only imports nothing
reads; a mention in a string or comment counts, erring towards keeping), and so do the names
it binds at module level (`Elision.bound`), for codemods that choose new names. Inside a
class a finding touches, each run of methods (or of nested classes) no finding touches is
elided the same way, into a one-line `def` (or `class`) at its indentation, so the class
keeps its shape: what comes first, where its methods start. The
methods a codemod reads by name (`RuleCodemod.KEEPS_METHODS`, e.g. the `__init__` it extends)
stay, and a codemod that chooses a new member name reads the whole class from CPython's tree
of the original text (`Elision.original_class`). A run ends after the blank and comment lines
libcst gives to its last statement (up to the last one indented as deep as that statement's
body), so every statement kept owns the same lines as in the whole text.

The codemod sees the findings with their lines moved to the reduced text (a span that
encloses a run, such as a class's, ends on its placeholder line); its change, as line edits,
maps back to the original text line for line. A change that touches a placeholder is refused,
and the codemod then runs on the whole text.
"""

from __future__ import annotations

import ast
import bisect
import dataclasses
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from flowfix.line_edits import LineEdit, apply_line_edits, line_edits, lines_of
from flowfix.rules import Finding, Span
from flowfix.trees import known_tree

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_GLOBAL = re.compile(r"^[ \t]*global[ \t]+([\w \t,]+)", re.MULTILINE)
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
PLACEHOLDER = "_elided"  # the name of a placeholder `def` or `class` in a class body


@dataclass(frozen=True)
class Elision:
    """`text`, and `reduced`: the same text with each run of `runs` (original 0-based lines
    `[start, end)`) replaced by one placeholder line."""

    text: str
    reduced: str
    runs: tuple[tuple[int, int], ...] = ()
    bound: frozenset[str] = frozenset()  # the names the elided statements bind in the module
    read: frozenset[str] = frozenset()  # the imported names the elided statements mention
    tree: ast.Module | None = field(default=None, compare=False, repr=False)  # `text`'s

    @classmethod
    def around(cls, text: str, findings: Sequence[Finding], keep: Collection[str] = ()) -> Elision:
        """The elision of every def and class (at top level, or a member of a class kept)
        that no span of `findings` touches, but the members named in `keep`."""
        return cls.keeping(text, _spans_named(findings), keep=keep)

    @classmethod
    def keeping(
        cls,
        text: str,
        spans: Iterable[tuple[int, int]],
        tree: ast.Module | None = None,
        keep: Collection[str] = (),
    ) -> Elision:
        """The elision of every def and class at top level, and of every member def and
        class of a class kept, that none of `spans` (first and last 1-based line) touches,
        but the members named in `keep` (`tree`: the text's, when the caller has it).

        A span touches a statement when it starts in it (or in the comment lines after it
        that libcst gives to it) or ends in it before its last line: a span that encloses it
        (a class's span, its members) does not."""
        if "\r" in text.replace("\r\n", ""):
            return cls(text, text)  # lines ending at a lone \r: not lines to git's diff
        if tree is None:
            tree = known_tree(text)
        if tree is None:
            try:
                tree = ast.parse(text)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return cls(text, text)
        starts, ends = set(), set()
        for first, last in spans:
            starts.add(first)
            ends.add(last)

        original = lines_of(text)

        def touched(statement: ast.stmt) -> bool:
            first, last = _first_line(statement), _last_line(statement)
            owned = _footer_end(original, statement)  # its lines, and the comments it owns
            return any(line in starts for line in range(first, owned + 1)) or any(
                line in ends for line in range(first, last)
            )

        groups = list(_groups(tree.body, touched, frozenset(keep), False))
        if not groups:
            return cls(text, text, tree=tree)
        mentions = _mentions(_imported_names(tree))
        out: list[str] = []
        runs: list[tuple[int, int]] = []
        bound: set[str] = set()
        read: set[str] = set()
        cursor = 0
        for group, in_class in groups:
            start = _first_line(group[0]) - 1
            end = _footer_end(original, group[-1])
            out.extend(original[cursor:start])
            segment = "".join(original[start:end])
            if not in_class:
                bound.update(statement.name for statement in group)  # type: ignore[attr-defined]
            for names in _GLOBAL.findall(segment):
                bound.update(_IDENTIFIER.findall(names))
            if mentions is not None:
                read.update(mentions.findall(segment))
            line = "..."
            if in_class:
                indent = _indent(original[start])
                header = "class {}:" if isinstance(group[0], ast.ClassDef) else "def {}():"
                line = f"{indent}{header.format(PLACEHOLDER)} {line}"
            out.append(line + _ending(original[end - 1]))
            runs.append((start, end))
            cursor = end
        out.extend(original[cursor:])
        return cls(text, "".join(out), tuple(runs), frozenset(bound), frozenset(read), tree)

    def original_class(self, line: int) -> ast.ClassDef:
        """The class whose `class` keyword is on line `line` (1-based) of the reduced text, as
        CPython's tree of the original text has it: every member, the elided ones too."""
        target = self._original(line - 1, self._placeholders()) + 1
        blocks = [(self.tree or ast.parse(self.text)).body]
        while blocks:
            for statement in blocks.pop():
                if statement.lineno <= target <= _last_line(statement):
                    if isinstance(statement, ast.ClassDef) and statement.lineno == target:
                        return statement
                    blocks.extend(_blocks(statement))
                    break
        raise LookupError(f"no class starts on line {line}")

    def findings(self, findings: Sequence[Finding]) -> list[Finding]:
        """`findings` with their spans (and the spans in their data) in reduced lines."""
        if not self.runs:
            return list(findings)
        return [
            dataclasses.replace(f, span=self._span(f.span), data=self._data(f.data))
            for f in findings
        ]

    def expand(self, new_reduced: str) -> str | None:
        """The original text with the change from `reduced` to `new_reduced` made to it, or
        None when the change touches a placeholder."""
        if not self.runs:
            return new_reduced
        edits: list[LineEdit] = []
        placeholders = self._placeholders()
        for edit in line_edits(self.reduced, new_reduced):
            if any(edit.start <= line < edit.end for line in placeholders):
                return None
            start, end = (
                self._original(edit.start, placeholders),
                self._original(edit.end, placeholders),
            )
            edits.append(LineEdit(start, end, edit.text))
        return apply_line_edits(self.text, edits)

    def _placeholders(self) -> list[int]:
        """The reduced (0-based) line of each run's placeholder."""
        lines, removed = [], 0
        for start, end in self.runs:
            lines.append(start - removed)
            removed += end - start - 1
        return lines

    def _original(self, line: int, placeholders: list[int]) -> int:
        """The original 0-based line of reduced line `line` (a line boundary: the line after a
        placeholder is the line after its run)."""
        shift = 0
        for (start, end), placeholder in zip(self.runs, placeholders, strict=True):
            if line <= placeholder:
                break
            shift += end - start - 1
        return line + shift

    def _reduced(self, line: int) -> int:
        """The reduced 1-based line of original 1-based line `line` (a line of a run: the
        line of its placeholder)."""
        before = bisect.bisect_right([end for _, end in self.runs], line - 1)
        removed = sum(end - start - 1 for start, end in self.runs[:before])
        if before < len(self.runs) and self.runs[before][0] <= line - 1:
            return self.runs[before][0] - removed + 1
        return line - removed

    def _span(self, span: Span) -> Span:
        return dataclasses.replace(
            span, line=self._reduced(span.line), end_line=self._reduced(span.end_line)
        )

    def _data(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: self._data(item) for key, item in value.items()}
        if _is_span(value):
            return [self._reduced(value[0]), value[1], self._reduced(value[2]), value[3]]
        if isinstance(value, list):
            return [self._data(item) for item in value]
        return value


def changed_lines(old: str, new: str) -> Iterator[int]:
    """The 1-based lines of `new` that differ from `old`, and the lines on both sides of each
    place where lines of `old` were removed."""
    delta = 0
    for edit in line_edits(old, new):
        start, count = edit.start + delta, len(lines_of(edit.text))
        yield from range(max(start, 1), start + count + 2)
        delta += count - (edit.end - edit.start)


def _first_line(statement: ast.stmt) -> int:
    decorators: list[ast.expr] = getattr(statement, "decorator_list", [])
    return min([statement.lineno, *(decorator.lineno for decorator in decorators)])


def _last_line(statement: ast.stmt) -> int:
    return statement.end_lineno or statement.lineno


def _is_span(value: object) -> bool:
    """Finding data carries spans as `[line, column, end_line, end_column]`."""
    return isinstance(value, list) and len(value) == 4 and all(type(i) is int for i in value)


def _spans_named(findings: Sequence[Finding]) -> Iterator[tuple[int, int]]:
    """The first and last line of each finding's span, and of each span in its data."""
    for finding in findings:
        yield finding.span.line, finding.span.end_line
        yield from _data_spans(finding.data)


def _groups(
    body: list[ast.stmt], touched: Callable[[ast.stmt], bool], keep: frozenset[str], in_class: bool
) -> Iterator[tuple[list[ast.stmt], bool]]:
    """The runs to elide in `body` and in the classes of it that stay, in order: consecutive
    defs and classes not `touched` (in a class body: not named in `keep`, and of one kind,
    functions or classes, so a placeholder of that kind stands for them), each with whether
    it is in a class body."""
    group: list[ast.stmt] = []
    for statement in body:
        elided = (
            isinstance(statement, DEFINITIONS)
            and not touched(statement)
            and not (in_class and statement.name in keep)
        )
        if group and (not elided or in_class and _is_class(statement) != _is_class(group[0])):
            yield group, in_class
            group = []
        if elided:
            group.append(statement)
        elif isinstance(statement, ast.ClassDef):
            yield from _groups(statement.body, touched, keep, True)
    if group:
        yield group, in_class


def _is_class(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.ClassDef)


def _footer_end(lines: list[str], statement: ast.stmt) -> int:
    """The 0-based line after `statement` and the lines libcst gives to its body: of the blank
    and comment lines that follow it, those up to the last one that starts with the body's
    indentation (the lines after that belong to what follows)."""
    end = _last_line(statement)
    body: list[ast.stmt] = getattr(statement, "body", [])
    if not body or body[0].lineno == statement.lineno:
        return end  # a one-line body: no block of its own
    indent = _indent(lines[body[0].lineno - 1])
    owned = end
    for index in range(end, len(lines)):
        stripped = lines[index].strip()
        if stripped and not stripped.startswith("#"):
            break
        if lines[index].startswith(indent):
            owned = index + 1
    return owned


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _blocks(statement: ast.stmt) -> Iterator[list[ast.stmt]]:
    """The statement lists nested in `statement` (bodies, branches, handlers, cases)."""
    for name in ("body", "orelse", "finalbody"):
        block = getattr(statement, name, None)
        if isinstance(block, list):
            yield block
    for part in [*getattr(statement, "handlers", []), *getattr(statement, "cases", [])]:
        yield part.body


def _data_spans(value: object) -> Iterator[tuple[int, int]]:
    """(line, end line) of each span in finding data."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _data_spans(item)
    elif _is_span(value):
        yield value[0], value[2]  # type: ignore[index]
    elif isinstance(value, list):
        for item in value:
            yield from _data_spans(item)


def _ending(line: str) -> str:
    return line[len(line.rstrip("\r\n")) :]


def _imported_names(tree: ast.Module) -> set[str]:
    """The names imports bind at module level (outside functions and classes)."""
    names: set[str] = set()
    for statement in tree.body:
        if isinstance(statement, DEFINITIONS):
            continue
        for node in ast.walk(statement):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    if alias.name != "*":
                        names.add(alias.asname or alias.name.partition(".")[0])
    return names


def _mentions(names: set[str]) -> re.Pattern[str] | None:
    """A pattern for any of `names` as a whole word (a mention in a string or a comment
    counts: an import is kept rather than lost)."""
    if not names:
        return None
    words = "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))
    return re.compile(rf"\b(?:{words})\b")
