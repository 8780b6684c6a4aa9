"""Human-readable terminal output, ruff style: one line per finding, then a summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from flowfix.engine import FileResult
from flowfix.report import all_findings, open_findings, table
from flowfix.rules import Finding, FixSafety, registry

BOLD, RED, GREEN, CYAN, RESET = "\x1b[1m", "\x1b[31m", "\x1b[32m", "\x1b[36m", "\x1b[0m"


def _paint(text: str, style: str, colour: bool) -> str:
    return f"{style}{text}{RESET}" if colour else text


def finding_line(finding: Finding, threshold: FixSafety, colour: bool = False) -> str:
    """`path:line:col: CODE [*] message` (`[*]`: fixable at `threshold`)."""
    marker = " " + _paint("[*]", CYAN, colour) if finding.fix.applies(threshold) else ""
    where = _paint(finding.path, BOLD, colour)
    code = _paint(finding.code, BOLD + RED, colour)
    return f"{where}:{finding.span.line}:{finding.span.column}: {code}{marker} {finding.message}"


def diff(patch: str, colour: bool = False) -> str:
    """A unified diff for a terminal, coloured as git colours it: file headers bold, hunk
    headers cyan, removed lines red, added lines green."""
    if not colour:
        return patch
    out = []
    for line in patch.splitlines(keepends=True):
        body, end = line.rstrip("\r\n"), line[len(line.rstrip("\r\n")) :]
        if line.startswith(("diff --git", "index ", "--- ", "+++ ")):
            body = _paint(body, BOLD, colour)
        elif line.startswith("@@"):
            body = _paint(body, CYAN, colour)
        elif line.startswith("-"):
            body = _paint(body, RED, colour)
        elif line.startswith("+"):
            body = _paint(body, GREEN, colour)
        out.append(body + end)
    return "".join(out)


def render(
    results: Sequence[FileResult],
    threshold: FixSafety,
    colour: bool = False,
    summary_line: bool = True,
) -> str:
    """`path:line:col: CODE [*] message` per open finding (`[*]`: fixable at `threshold`)."""
    lines = [finding_line(finding, threshold, colour) for finding in open_findings(results)]
    if summary_line:
        lines.append(summary(results, threshold))
    return "".join(line + "\n" for line in lines)


@dataclass(frozen=True)
class RuleCount:
    """One rule's row of `--statistics`."""

    code: str
    name: str
    count: int
    suppressed: int
    fixable: int


def rule_counts(results: Sequence[FileResult], threshold: FixSafety) -> list[RuleCount]:
    """Open, suppressed and fixable findings per rule: most findings first, then by code."""
    found = list(open_findings(results))
    counts = Counter(f.code for f in found)
    fixable = Counter(f.code for f in found if f.fix.applies(threshold))
    suppressed = Counter(code for result in results for code in result.suppressed)
    rules = registry()
    rows = [
        RuleCount(code, rules[code].name, counts[code], suppressed[code], fixable[code])
        for code in set(counts) | set(suppressed)
    ]
    return sorted(rows, key=lambda row: (-row.count, -row.suppressed, row.code))


def statistics(
    results: Sequence[FileResult], threshold: FixSafety, summary_line: bool = True
) -> str:
    """A table of `rule_counts`, then the summary line."""
    rows = [("COUNT", "SUPPRESSED", "CODE", "FIX", "NAME")] + [
        (
            str(row.count),
            str(row.suppressed),
            row.code,
            "[*]" if row.fixable else "",
            row.name,
        )
        for row in rule_counts(results, threshold)
    ]
    lines = table(rows, right_aligned=2) if len(rows) > 1 else []
    if summary_line:
        lines.append(summary(results, threshold))
    return "".join(line + "\n" for line in lines)


def summary(results: Sequence[FileResult], threshold: FixSafety) -> str:
    findings = list(open_findings(results))
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
