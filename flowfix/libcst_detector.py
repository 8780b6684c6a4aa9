"""The libcst detector base of the rules not yet ported to flowfix.analysis: a batchable
visitor that reports findings, never changes code."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import libcst as cst
from libcst.metadata import PositionProvider, ProviderT

from flowfix.config import Config
from flowfix.detector import suppressed_codes
from flowfix.prefilter import FileView
from flowfix.project import ProjectIndex
from flowfix.reduction import Reach, Sites
from flowfix.rules import Finding, FixSafety, Severity, Span


class LibcstDetector(cst.BatchableCSTVisitor):
    """Base of every rule's detector. Subclasses set the metadata below and call `report()`.

    The class docstring is the rule's documentation (Markdown, fixed headings), shown by
    `flowfix explain`.
    """

    CODE: ClassVar[str] = ""
    NAME: ClassVar[str] = ""
    SEVERITY: ClassVar[Severity] = Severity.OPTIMIZATION
    CATEGORY: ClassVar[str] = ""
    FIX: ClassVar[FixSafety] = FixSafety.NONE
    FRAMEWORKS: ClassVar[Sequence[str]] = ()
    MESSAGE: ClassVar[str] = ""
    # Text prefilter: the rule runs on a file only if one of these substrings occurs in it.
    TRIGGERS: ClassVar[Sequence[str]] = ()
    # Rules that need the call graph of the whole run (flowfix.project) set this.
    NEEDS_PROJECT: ClassVar[bool] = False
    METADATA_DEPENDENCIES: ClassVar[Sequence[ProviderT]] = (PositionProvider,)
    # What the libcst analysis reads besides the sites `ast_candidate` names (flowfix.reduction).
    REACH: ClassVar[Reach] = "module"

    def __init__(
        self,
        path: str,
        lines: Sequence[str],
        config: Config,
        project: ProjectIndex | None = None,
    ) -> None:
        super().__init__()
        self.path = path
        self.lines = lines
        self.config = config
        self.project = project
        self.findings: list[Finding] = []
        self.suppressed: list[Finding] = []

    @classmethod
    def ast_candidate(cls, view: FileView) -> Sites:
        """Second prefilter, on the text and CPython's AST (see flowfix.prefilter): False only
        when the rule cannot match. It must not walk the whole tree. A rule whose REACH is not
        "module" returns the nodes a finding may start in (and nothing when there are none)."""
        return True

    @classmethod
    def wants(cls, text: str) -> bool:
        """Cheap prefilter on the file's text; exactness comes from the visit itself."""
        return not cls.TRIGGERS or any(token in text for token in cls.TRIGGERS)

    def report(
        self,
        node: cst.CSTNode,
        fix: FixSafety | None = None,
        note: str = "",
        **fields: Any,
    ) -> None:
        """Record a finding at `node`. `fix` may lower (never raise) the rule's fix safety."""
        rng = self.get_metadata(PositionProvider, node)
        span = Span(rng.start.line, rng.start.column + 1, rng.end.line, rng.end.column + 1)
        safety = self.FIX if fix is None or fix.rank > self.FIX.rank else fix
        finding = Finding(
            code=self.CODE,
            path=self.path,
            span=span,
            message=self.MESSAGE.format(**fields),
            fix=safety,
            note=note,
        )
        if self._is_suppressed(span):
            self.suppressed.append(finding)
        else:
            self.findings.append(finding)

    def _is_suppressed(self, span: Span) -> bool:
        for number in {span.line, span.end_line}:
            if 0 < number <= len(self.lines):
                codes = suppressed_codes(self.lines[number - 1])
                if codes is not None and (not codes or self.CODE in codes):
                    return True
        return False
