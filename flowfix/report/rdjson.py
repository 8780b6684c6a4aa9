"""Reviewdog Diagnostic Format (rdjson): one diagnostic per finding, its fix as a suggestion.

reviewdog reads it with `-f=rdjson` and posts each diagnostic on the lines of a pull request;
with the `github-pr-review` reporter, a diagnostic's suggestion becomes a GitHub suggested
change when all its lines are in the pull request's diff. Positions follow reviewdog's format
(`proto/rdf/reviewdog.proto`): lines count from 1, columns count UTF-8 bytes from 1, and the
end of a range is exclusive.

A fix is the finding's own rewrite (`fixes.LineEdit`s), given as one suggestion: the lines
from its first edit to its last, as the fix leaves them, so that taking the suggestion takes
the whole fix (an added import with the call that needs it), never half of it. A suggestion
that replaces whole lines by whole lines ends its range before the last line's line ending
and leaves the ending out of its text, the form that maps onto GitHub's line-based
suggestions; one that only inserts or only deletes lines runs from the start of a line to
the start of the line after.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flowfix.engine import FileResult
from flowfix.line_edits import LineEdit, lines_of
from flowfix.report import all_errors
from flowfix.rules import Finding, Severity, registry

Json = dict[str, Any]


def _eol(line: str) -> str:
    """The line ending `line` ends with ('' for a last line without one)."""
    if line.endswith("\r\n"):
        return "\r\n"
    return "\n" if line.endswith("\n") else ""


def _column(line: str, characters: int) -> int:
    """The 1-based UTF-8 byte column after the first `characters` code points of `line`."""
    return len(line[:characters].encode("utf-8", "surrogatepass")) + 1


def _position(line: int, column: int) -> Json:
    return {"line": line, "column": column}


def _boundary(lines: Sequence[str], index: int) -> Json:
    """The position at the start of line `index` (0-based); `len(lines)` is the end of text."""
    if index < len(lines):
        return _position(index + 1, 1)
    if not lines:
        return _position(1, 1)
    last = lines[-1]
    if _eol(last):
        return _position(len(lines) + 1, 1)
    return _position(len(lines), _column(last, len(last)))


def _suggestion(text: str, edits: Sequence[LineEdit]) -> Json:
    """The fix's edits (sorted, of `text`) as one replacement of the lines they span."""
    lines = lines_of(text)
    start, end = edits[0].start, edits[-1].end
    parts, cursor = [], start
    for edit in edits:
        parts += [*lines[cursor : edit.start], edit.text]
        cursor = edit.end
    new = "".join(parts)
    old = lines[start:end]
    if old and new and bool(_eol(old[-1])) == bool(_eol(new)):
        last = old[-1]
        first_position = _position(start + 1, 1)
        last_position = _position(end, _column(last, len(last) - len(_eol(last))))
        replacement = new[: len(new) - len(_eol(new))]
    else:
        first_position, last_position = _boundary(lines, start), _boundary(lines, end)
        replacement = new
    return {"range": {"start": first_position, "end": last_position}, "text": replacement}


def _range(finding: Finding, text: str | None) -> Json:
    span = finding.span
    if text is None:  # the file could not be read back: code-point columns
        start, end = span.column, span.end_column
    else:
        lines = lines_of(text)

        def column(line: int, column: int) -> int:
            return _column(lines[line - 1], column - 1) if line <= len(lines) else column

        start, end = column(span.line, span.column), column(span.end_line, span.end_column)
    return {"start": _position(span.line, start), "end": _position(span.end_line, end)}


def render(
    results: Sequence[FileResult],
    findings: Iterable[Finding],
    fixes: Mapping[Finding, Sequence[LineEdit]],
) -> str:
    """The rdjson document of `findings` (findings of `results`), with `fixes` as suggestions;
    files that could not be checked are diagnostics without a range."""
    rules = registry()
    texts = {r.display: r.source.text for r in results if r.source is not None}
    diagnostics: list[Json] = []
    for finding in findings:
        rule = rules[finding.code]
        text = texts.get(finding.path)
        diagnostic: Json = {
            "message": finding.message,
            "location": {"path": finding.path, "range": _range(finding, text)},
            "severity": "ERROR" if rule.severity is Severity.CRITICAL else "WARNING",
            "code": {"value": finding.code},
        }
        if fixes.get(finding) and text is not None:
            diagnostic["suggestions"] = [_suggestion(text, fixes[finding])]
        diagnostics.append(diagnostic)
    for path, error in all_errors(results):
        location = {"path": path}
        diagnostics.append(
            {"message": error, "location": location, "severity": "ERROR", "code": {"value": "E999"}}
        )
    document = {"source": {"name": "flowfix"}, "diagnostics": diagnostics}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
