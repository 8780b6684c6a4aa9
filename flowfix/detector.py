"""Detector base: one rule's analysis over the file's semantic model; reports findings.

A detector never changes code and never parses with libcst. It reads the model
(`flowfix.analysis.Model`) and reports nodes of CPython's `ast` tree; what its codemod needs
beyond the finding's span travels as the finding's `data`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from flowfix.analysis import Model
from flowfix.config import Config
from flowfix.rules import Finding, FixSafety, OptIn, Severity, Span

if TYPE_CHECKING:
    from flowfix.project import ProjectIndex

_SUPPRESSION = (
    r"\s*(?:noqa(?::\s*(?P<noqa>[A-Z]{3}\d{3}(?:[\s,]+[A-Z]{3}\d{3})*))?"
    r"|flowfix:\s*ignore(?:\[(?P<ff>[A-Z0-9,\s]+)\])?)"
)
# The suppression comments of each comment marker: `#` (Python) and `//` (Rust).
_NOQA = {
    marker: re.compile(re.escape(marker) + _SUPPRESSION, re.IGNORECASE) for marker in ("#", "//")
}


def suppressed_codes(line: str, comment: str = "#") -> set[str] | None:
    """Codes silenced by `# noqa[: CODES]` / `# flowfix: ignore[CODES]` (`//` instead of `#`
    for a `comment` marker `//`); an empty set means all."""
    match = _NOQA[comment].search(line)
    if match is None:
        return None
    codes = match.group("noqa") or match.group("ff") or ""
    return {code.upper() for code in re.split(r"[\s,]+", codes) if code}


class Detector:
    """Base of every rule's detector.

    Subclasses set the metadata below and either define `visit_<AstType>(node)` methods, called
    for every node of that type in source order, or override `run()`. The class docstring is
    the rule's documentation (Markdown, fixed headings), shown by `flowfix explain`.
    """

    CODE: ClassVar[str] = ""
    NAME: ClassVar[str] = ""
    SEVERITY: ClassVar[Severity] = Severity.OPTIMIZATION
    CATEGORY: ClassVar[str] = ""
    FIX: ClassVar[FixSafety] = FixSafety.NONE
    FRAMEWORKS: ClassVar[Sequence[str]] = ()
    MESSAGE: ClassVar[str] = ""
    # Text trigger: the rule runs on a file only if one of these substrings occurs in it, and
    # `NEEDS` as well (a word every match needs, rarer in files than the triggers: tested
    # first, it spares most files the scan for each trigger).
    TRIGGERS: ClassVar[Sequence[str]] = ()
    NEEDS: ClassVar[str] = ""
    # Rules that need the call graph of the whole run (flowfix.project) set this.
    NEEDS_PROJECT: ClassVar[bool] = False
    # The ast node types this rule visits, read from its visit_<Type> methods.
    VISITS: ClassVar[tuple[type[ast.AST], ...]] = ()
    # The language of the files the rule applies to (flowfix.languages), and its comments.
    LANGUAGE: ClassVar[str] = "python"
    COMMENT: ClassVar[str] = "#"
    # Not in the default set: the reason (also the rule's group) and one line saying why.
    OPT_IN: ClassVar[OptIn | None] = None
    WHY_NOT_DEFAULT: ClassVar[str] = ""
    # Skipped on test paths (`test-paths` in the config): the cost only exists in production.
    # Rules that find bugs (code that does not do what it says) set it to False.
    PRODUCTION_ONLY: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.VISITS = tuple(
            getattr(ast, name.removeprefix("visit_"))
            for name in sorted(dir(cls))
            if name.startswith("visit_") and isinstance(getattr(ast, name[6:], None), type)
        )

    def __init__(
        self,
        model: Model,
        path: str,
        config: Config,
        project: ProjectIndex | None = None,
    ) -> None:
        self.model = model
        self.path = path
        self.config = config
        self.project = project
        self.findings: list[Finding] = []
        self.suppressed: list[Finding] = []

    @classmethod
    def wants(cls, text: str, seen: dict[str, bool] | None = None) -> bool:
        """The text trigger: False only when the rule cannot match `text`. `seen` keeps which
        words occur for the other rules asking about the same text (five rules trigger on
        `Executor`: one scan serves them all)."""
        if seen is None:
            seen = {}
        if cls.NEEDS and not _occurs(cls.NEEDS, text, seen):
            return False
        return not cls.TRIGGERS or any(_occurs(word, text, seen) for word in cls.TRIGGERS)

    def run(self) -> None:
        """The analysis: by default, each `visit_<Type>` method on its nodes in source order."""
        for kind in self.VISITS:
            visit = getattr(self, f"visit_{kind.__name__}")
            for node in self.model.nodes(kind):
                visit(node)

    def report(
        self,
        node: ast.AST,
        fix: FixSafety | None = None,
        note: str = "",
        data: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> None:
        """Record a finding at `node`. `fix` may lower (never raise) the rule's fix safety.
        A production-only rule records nothing in test code the file itself marks as such
        (`in_test_code`), unless the test policy is off (`test-paths = []`)."""
        if self.PRODUCTION_ONLY and self.config.test_paths and self.in_test_code(node):
            return
        span = self.model.span(node)
        safety = self.FIX if fix is None or fix.rank > self.FIX.rank else fix
        finding = Finding(
            code=self.CODE,
            path=self.path,
            span=span,
            message=self.MESSAGE.format(**fields),
            fix=safety,
            note=note,
            data=dict(data or {}),
        )
        if self._is_suppressed(span):
            self.suppressed.append(finding)
        else:
            self.findings.append(finding)

    def in_test_code(self, node: Any) -> bool:
        """Whether `node` is test code by the file's own marks (Rust's `#[test]`); Python
        tests are found by their paths (`Config.is_test_path`)."""
        return False

    def _is_suppressed(self, span: Span) -> bool:
        lines = self.model.lines
        for number in {span.line, span.end_line}:
            if 0 < number <= len(lines):
                codes = suppressed_codes(lines[number - 1], self.COMMENT)
                if codes is not None and (not codes or self.CODE in codes):
                    return True
        return False


def _occurs(word: str, text: str, seen: dict[str, bool]) -> bool:
    found = seen.get(word)
    if found is None:
        found = seen[word] = word in text
    return found


def wanted(detectors: Iterable[type[Detector]], text: str) -> list[type[Detector]]:
    """The detectors whose text triggers occur in `text` (each word looked for once)."""
    seen: dict[str, bool] = {}
    return [detector for detector in detectors if detector.wants(text, seen)]


def run_detectors(
    tree: ast.Module,
    text: str,
    path: str,
    detectors: Sequence[type[Detector]],
    config: Config,
    project: ProjectIndex | None = None,
) -> tuple[list[Finding], list[Finding]]:
    """(findings, suppressed findings) of `detectors` on one module, over one model."""
    if not detectors:
        return [], []
    kinds = {kind for detector in detectors for kind in detector.VISITS}
    model = Model(tree, text, kinds)
    running = [detector(model, path, config, project) for detector in detectors]
    try:
        for detector in running:
            detector.run()
    finally:
        model.release()
    findings = [finding for detector in running for finding in detector.findings]
    suppressed = [finding for detector in running for finding in detector.suppressed]
    return findings, suppressed
