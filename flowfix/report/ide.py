"""`path:line:col: CODE message` lines, the form editors' problem matchers read."""

from __future__ import annotations

from collections.abc import Sequence

from flowfix.engine import FileResult
from flowfix.report import all_errors, all_findings


def render(results: Sequence[FileResult]) -> str:
    lines = [
        f"{f.path}:{f.span.line}:{f.span.column}: {f.code} {f.message}"
        for f in all_findings(results)
        if not f.fixed
    ]
    lines += [f"{path}:1:1: E999 {error}" for path, error in all_errors(results)]
    return "".join(line + "\n" for line in lines)
