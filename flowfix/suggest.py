"""Fixes as edits for other tools: one finding's fix on its own, and any rewrite as line edits.

SARIF `fixes` and the language server's code actions both describe a rewrite as replacements
of whole lines of the original text, computed here with libgit2's diff (as patches are).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from flowfix.config import Config
from flowfix.engine import FileResult, detect, gc_paused
from flowfix.fixes import apply_codemod, fixable, reraise_interruption
from flowfix.line_edits import LineEdit, line_edits
from flowfix.project import ProjectIndex
from flowfix.rules import Finding, FixSafety, Rule, registry
from flowfix.sources import SourceError, read_source
from flowfix.style import style_for
from flowfix.verify import rewrite_problem


def fix_finding(
    text: str,
    display: str,
    finding: Finding,
    config: Config,
    encoding: str = "utf-8",
    project: ProjectIndex | None = None,
    before: int | None = None,
) -> str | None:
    """`text` with this one finding fixed, or None when its rule's codemod cannot fix it here.

    The rewrite is checked as the fix loop checks a pass: it must pass `rewrite_problem` and
    leave fewer findings of its rule than `before` (the count in `text`, when known). The
    cyclic garbage collector is paused meanwhile, as for a file the engine fixes: libcst's
    trees are large, and a collection during the fix walked them in vain (an editor's quick
    fix took 65 ms instead of 31 ms when one fell in it).
    """
    rule = registry()[finding.code]
    if not rule.fixable:
        return None
    with gc_paused():
        return _fixed(rule, text, display, finding, config, encoding, project, before)


def _fixed(
    rule: Rule,
    text: str,
    display: str,
    finding: Finding,
    config: Config,
    encoding: str,
    project: ProjectIndex | None,
    before: int | None,
) -> str | None:
    try:
        style = style_for(Path(display))
        new_text, _ = apply_codemod(rule, text, display, [finding], config, style)
    except Exception as exc:  # a codemod bug: no suggestion, as the fix loop drops such a pass
        reraise_interruption(exc)
        return None
    if new_text == text or rewrite_problem(text, new_text, display, encoding):
        return None
    if before is None:
        before = len(detect(text, display, [rule], config, project).findings)
    after = detect(new_text, display, [rule], config, project).findings
    return new_text if len(after) < before else None


def _fixable(result: FileResult, threshold: FixSafety) -> list[Finding]:
    """The open findings of `result` its codemods may fix at `threshold`."""
    return fixable([f for f in result.findings if not f.fixed], threshold, set())


def with_source(result: FileResult, threshold: FixSafety | None) -> FileResult:
    """`result` with its file's source when it has a finding to fix at `threshold` (with None:
    when it has any open finding).

    A check run keeps no file contents once a file is done; the file is read again from its
    display path (relative to the current folder, or absolute).
    """
    if threshold is None:
        wanted = any(not f.fixed for f in result.findings)
    else:
        wanted = bool(_fixable(result, threshold))
    if result.source is not None or not wanted:
        return result
    try:
        return dataclasses.replace(result, source=read_source(Path(result.display)))
    except SourceError:
        return result


def suggested_fixes(
    result: FileResult,
    config: Config,
    threshold: FixSafety,
    project: ProjectIndex | None = None,
    findings: Sequence[Finding] | None = None,
) -> dict[Finding, list[LineEdit]]:
    """Each open finding of `result` whose fix applies at `threshold` (or each of `findings`,
    findings of its source's text), with its own edits (none when `result` carries no source:
    see `with_source`)."""
    wanted = _fixable(result, threshold) if findings is None else list(findings)
    source = result.source
    if not wanted or source is None:
        return {}
    counts = Counter(f.code for f in result.findings if not f.fixed) if findings is None else None
    fixes: dict[Finding, list[LineEdit]] = {}
    for finding in wanted:
        new_text = fix_finding(
            source.text,
            result.display,
            finding,
            config,
            source.encoding,
            project,
            counts[finding.code] if counts is not None else None,
        )
        if new_text is not None:
            fixes[finding] = line_edits(source.text, new_text)
    return fixes
