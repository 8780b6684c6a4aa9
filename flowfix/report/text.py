"""Human-readable terminal output, ruff style: one line per finding, then a summary."""

from __future__ import annotations

from collections.abc import Sequence

from flowfix.engine import FileResult
from flowfix.report import all_findings
from flowfix.rules import FixSafety


def render(results: Sequence[FileResult], threshold: FixSafety) -> str:
    lines: list[str] = []
    open_findings = [f for f in all_findings(results) if not f.fixed]
    for finding in open_findings:
        marker = " [*]" if finding.fix.applies(threshold) else ""
        lines.append(
            f"{finding.path}:{finding.span.line}:{finding.span.column}: "
            f"{finding.code}{marker} {finding.message}"
        )
    lines.append(summary(results, threshold))
    return "\n".join(lines) + "\n"


def summary(results: Sequence[FileResult], threshold: FixSafety) -> str:
    findings = [f for f in all_findings(results) if not f.fixed]
    fixed = sum(1 for f in all_findings(results) if f.fixed)
    failed = sum(1 for r in results if r.errors)
    unchecked = f"; {_files(failed)} could not be checked" if failed else ""
    if not findings and not fixed:
        if failed:
            return f"No findings in {_files(len(results) - failed)}{unchecked}."
        return f"All checks passed ({_files(len(results))})."
    fixable = sum(1 for f in findings if f.fix.applies(threshold))
    unsafe = sum(1 for f in findings if f.fix is FixSafety.UNSAFE and not f.fix.applies(threshold))
    parts = [f"Found {len(findings) + fixed} finding{'s' if len(findings) + fixed != 1 else ''}"]
    details = []
    if fixed:
        details.append(f"{fixed} fixed, {len(findings)} remaining")
    if fixable:
        details.append(f"{fixable} fixable with `flowfix fix`")
    if unsafe:
        details.append(f"{unsafe} more with `--unsafe-fixes`")
    if details:
        parts.append(f" ({'; '.join(details)})")
    return "".join(parts) + f" in {_files(len(results))}{unchecked}."


def _files(count: int) -> str:
    return f"{count} file{'s' if count != 1 else ''}"
