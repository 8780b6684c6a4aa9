"""The part of a module a fix can touch: codemods parse that, not the whole file.

libcst parses about ten times slower than CPython, and a codemod's visits of a tree cost as
much again, so a fix in a large module paid for every function of it. Before a fix pass, each
run of consecutive top-level functions and classes that no finding of the pass touches is
elided: replaced by one placeholder line, a tuple of the imported names it mentions (so an
import it uses stays used; a mention in a string or comment counts, erring towards keeping);
the names it binds at module level travel beside it (`Elision.bound`), for codemods that
choose new names. The codemod sees the findings with their lines moved to the reduced text;
its change, as line edits, maps back to the original text line for line. A change that
touches a placeholder is refused, and the codemod then runs on the whole text.
"""

from __future__ import annotations

import ast
import bisect
import dataclasses
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from flowfix.line_edits import LineEdit, apply_line_edits, line_edits, lines_of
from flowfix.rules import Finding, Span

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_GLOBAL = re.compile(r"^[ \t]*global[ \t]+([\w \t,]+)", re.MULTILINE)
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass(frozen=True)
class Elision:
    """`text`, and `reduced`: the same text with each run of `runs` (original 0-based lines
    `[start, end)`) replaced by one placeholder line."""

    text: str
    reduced: str
    runs: tuple[tuple[int, int], ...] = ()
    bound: frozenset[str] = frozenset()  # the names the elided statements bind in the module

    @classmethod
    def around(cls, text: str, findings: Sequence[Finding]) -> Elision:
        """The elision of every top-level def and class no line of `findings` falls in."""
        return cls.keeping(text, _lines_named(findings))

    @classmethod
    def keeping(cls, text: str, lines: Iterable[int], tree: ast.Module | None = None) -> Elision:
        """The elision of every top-level def and class none of `lines` (1-based) falls in
        (`tree`: the text's, when the caller has it)."""
        if "\r" in text.replace("\r\n", ""):
            return cls(text, text)  # lines ending at a lone \r: not lines to git's diff
        if tree is None:
            try:
                tree = ast.parse(text)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return cls(text, text)
        kept = set(lines)
        groups: list[list[ast.stmt]] = [[]]
        for statement in tree.body:
            if isinstance(statement, DEFINITIONS) and not any(
                line in kept for line in range(_first_line(statement), _last_line(statement) + 1)
            ):
                groups[-1].append(statement)
            elif groups[-1]:
                groups.append([])
        groups = [group for group in groups if group]
        if not groups:
            return cls(text, text)
        original = lines_of(text)
        mentions = _mentions(_imported_names(tree))
        out: list[str] = []
        runs: list[tuple[int, int]] = []
        bound: set[str] = set()
        cursor = 0
        for group in groups:
            start, end = _first_line(group[0]) - 1, _last_line(group[-1])
            out.extend(original[cursor:start])
            segment = "".join(original[start:end])
            bound.update(statement.name for statement in group)  # type: ignore[attr-defined]
            for names in _GLOBAL.findall(segment):
                bound.update(_IDENTIFIER.findall(names))
            read = set(mentions.findall(segment)) if mentions is not None else set()
            values = "".join(f"{name}, " for name in sorted(read))
            out.append(f"({values})" + _ending(original[end - 1]))
            runs.append((start, end))
            cursor = end
        out.extend(original[cursor:])
        return cls(text, "".join(out), tuple(runs), frozenset(bound))

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
        """The reduced 1-based line of original 1-based line `line` (outside every run)."""
        before = bisect.bisect_right([end for _, end in self.runs], line - 1)
        return line - sum(end - start - 1 for start, end in self.runs[:before])

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


def _lines_named(findings: Sequence[Finding]) -> Iterator[int]:
    """Every line a finding's span, or a span in its data, covers."""
    for finding in findings:
        span = finding.span
        yield from range(span.line, span.end_line + 1)
        for line, end_line in _data_spans(finding.data):
            yield from range(line, end_line + 1)


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
