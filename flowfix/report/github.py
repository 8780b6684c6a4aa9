"""GitHub Actions workflow commands: one `::error` / `::warning` annotation per finding.

A step that runs `flowfix check --format github` shows each finding on the pull request's diff,
as ruff's `github` format does. Critical findings and files that could not be checked are
errors, optimizations warnings.
"""

from __future__ import annotations

from collections.abc import Sequence

from flowfix.engine import FileResult
from flowfix.report import all_errors, open_findings
from flowfix.rules import Severity, registry


def _data(text: str) -> str:
    """A command's message, escaped as the runner expects."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render(results: Sequence[FileResult]) -> str:
    rules = registry()
    lines: list[str] = []
    for f in open_findings(results):
        rule = rules[f.code]
        level = "error" if rule.severity is Severity.CRITICAL else "warning"
        where = (
            f"file={_property(f.path)},line={f.span.line},col={f.span.column},"
            f"endLine={f.span.end_line},endColumn={f.span.end_column}"
        )
        title = _property(f"flowfix ({f.code} {rule.name})")
        lines.append(f"::{level} title={title},{where}::{_data(f'{f.code} {f.message}')}")
    for path, error in all_errors(results):
        title = _property("flowfix (E999)")
        lines.append(f"::error title={title},file={_property(path)},line=1,col=1::{_data(error)}")
    return "".join(line + "\n" for line in lines)
