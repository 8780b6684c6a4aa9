"""SARIF 2.1.0: one run with every rule, one result per open finding, and its fix when known.

Paths are relative to `%SRCROOT%` (the current folder) and columns count code points, as
GitHub code scanning reads them. A fix is the finding's own rewrite (`line_edits.LineEdit`s) as
replacements of whole lines. Files that could not be checked are tool execution notifications.
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import quote

from flowfix import __version__
from flowfix.engine import FileResult
from flowfix.line_edits import LineEdit, lines_of
from flowfix.report import all_errors, open_findings
from flowfix.rules import Finding, Rule, Severity, registry

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"

Json = dict[str, Any]


def _level(rule: Rule) -> str:
    return "error" if rule.severity is Severity.CRITICAL else "warning"


def _descriptor(rule: Rule) -> Json:
    docs = inspect.cleandoc(rule.docs)
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": docs},
        "help": {"text": docs, "markdown": docs},
        "defaultConfiguration": {"level": _level(rule)},
        "properties": {
            "category": rule.category,
            "severity": rule.severity.value,
            "fixSafety": rule.fix.value,
            "frameworks": list(rule.frameworks),
            "tags": ["performance", rule.category],
        },
    }


def artifact_location(display: str) -> Json:
    """A display path as a URI: relative to `%SRCROOT%`, or a file URI when absolute."""
    if os.path.isabs(display):
        return {"uri": PurePath(display).as_uri()}
    return {"uri": quote(display), "uriBaseId": SRCROOT}


def _position(lines: Sequence[str], index: int) -> tuple[int, int]:
    """(line, column) of the start of line `index`, 0-based; `len(lines)` is the end of text."""
    if index < len(lines):
        return index + 1, 1
    if not lines:
        return 1, 1
    return len(lines), len(lines[-1]) + 1  # the end of the text: after the last line's newline


def deleted_region(text: str, edit: LineEdit) -> Json:
    """The region of `text` holding exactly the lines `edit` replaces (empty for an insertion)."""
    lines = lines_of(text)
    start_line, start_column = _position(lines, edit.start)
    end_line, end_column = _position(lines, edit.end)
    return {
        "startLine": start_line,
        "startColumn": start_column,
        "endLine": end_line,
        "endColumn": end_column,
    }


def _fix(finding: Finding, text: str, edits: Sequence[LineEdit]) -> Json:
    codemod = registry()[finding.code].codemod
    assert codemod is not None  # only fixable rules have fixes
    replacements = [
        {"deletedRegion": deleted_region(text, edit), "insertedContent": {"text": edit.text}}
        for edit in edits
    ]
    return {
        "description": {"text": f"{codemod.DESCRIPTION} ({finding.fix.value} fix)"},
        "artifactChanges": [
            {"artifactLocation": artifact_location(finding.path), "replacements": replacements}
        ],
    }


def render(results: Sequence[FileResult], fixes: Mapping[Finding, Sequence[LineEdit]]) -> str:
    rules = registry()
    index = {code: i for i, code in enumerate(rules)}
    texts = {r.display: r.source.text for r in results if r.source is not None}
    sarif_results: list[Json] = []
    for f in open_findings(results):
        region = {
            "startLine": f.span.line,
            "startColumn": f.span.column,
            "endLine": f.span.end_line,
            "endColumn": f.span.end_column,
        }
        result: Json = {
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": _level(rules[f.code]),
            "message": {"text": f"{f.code} {f.message}"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": artifact_location(f.path),
                        "region": region,
                    }
                }
            ],
        }
        if f in fixes:
            result["fixes"] = [_fix(f, texts[f.path], fixes[f])]
        sarif_results.append(result)
    notifications = [
        {
            "level": "error",
            "message": {"text": error},
            "locations": [{"physicalLocation": {"artifactLocation": artifact_location(path)}}],
        }
        for path, error in all_errors(results)
    ]
    root = Path.cwd().as_uri()
    run = {
        "tool": {
            "driver": {
                "name": "flowfix",
                "version": __version__,
                "rules": [_descriptor(rule) for rule in rules.values()],
            }
        },
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
        "originalUriBaseIds": {SRCROOT: {"uri": root if root.endswith("/") else root + "/"}},
        "columnKind": "unicodeCodePoints",
        "results": sarif_results,
    }
    log = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
