"""The JSON report: {"version": 1, "files": N, "findings": [...], "errors": [...]}."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence

from flowfix.engine import FileResult
from flowfix.report import all_errors, all_findings
from flowfix.report.text import rule_counts
from flowfix.rules import FixSafety, registry


def render(results: Sequence[FileResult]) -> str:
    rules = registry()
    findings = [
        {
            "code": f.code,
            "name": rules[f.code].name,
            "path": f.path,
            "line": f.span.line,
            "column": f.span.column,
            "end_line": f.span.end_line,
            "end_column": f.span.end_column,
            "message": f.message,
            "severity": rules[f.code].severity.value,
            "fix": f.fix.value,
            "fixed": f.fixed,
            **({"note": f.note} if f.note else {}),
        }
        for f in all_findings(results)
    ]
    errors = [{"path": path, "message": message} for path, message in all_errors(results)]
    document = {"version": 1, "files": len(results), "findings": findings, "errors": errors}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def statistics(results: Sequence[FileResult], threshold: FixSafety) -> str:
    """`--statistics --format json`: one object per rule with findings or suppressions."""
    rows = [dataclasses.asdict(row) for row in rule_counts(results, threshold)]
    return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
