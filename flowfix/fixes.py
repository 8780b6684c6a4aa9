"""The fix loop: which findings may be fixed, one pass of fixes, and passes until none is left.

Each pass runs the codemod of every rule with fixable findings on the same text (parsed by
libcst once), turns each result into line edits, and applies at once all those whose edits
do not overlap an earlier rule's (the others wait for the next pass), as ruff's fix loop does.
The merged text is verified and re-detected; a rule whose findings did not go down is dropped.
If the merged pass fails a check, the pass falls back to its first rule alone, verified on its
own, so one bad fix never holds back the others. The loop ends when nothing fixable is left
(every remaining fix failed on the final text, so running it again changes nothing) or at the
pass limit.

A review (`flowfix fix --interactive`) narrows the loop to the findings it accepted: `Picks`
holds its decisions, each carried from text to text through the edits of every pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flowfix.config import Config
from flowfix.elision import Elision
from flowfix.languages import is_rust
from flowfix.line_edits import LineEdit, apply_line_edits, line_edits, lines_of
from flowfix.rules import Finding, FixSafety, Rule, Span, registry
from flowfix.sources import ParseFailure
from flowfix.style import CodeStyle, format_like
from flowfix.verify import parse, rewrite_problem, unreproducible

if TYPE_CHECKING:
    from flowfix.codemod import RuleCodemod


def _touches(a: LineEdit, b: LineEdit) -> bool:
    """Whether two edits of the same text overlap or meet (an insertion at the edge of
    another edit would make their order matter)."""
    return a.start <= b.end and b.start <= a.end


def fixable(findings: Iterable[Finding], threshold: FixSafety, blocked: set[str]) -> list[Finding]:
    """The findings whose fix applies at `threshold`, of rules with a codemod, not blocked."""
    rules = registry()
    return [
        f
        for f in findings
        if f.fix.applies(threshold) and f.code not in blocked and rules[f.code].fixable
    ]


def apply_codemod(
    rule: Rule,
    text: str,
    display: str,
    findings: Sequence[Finding],
    config: Config,
    style: CodeStyle | None = None,
    elision: Elision | None = None,
) -> tuple[str, str]:
    """Run `rule`'s codemod for `findings` on `text` (on `elision`, the part of `text` the
    pass's findings touch, when given; else on the part these findings touch; on all of it
    for a codemod that reads the whole module); returns (new text, reason if unchanged).
    Nothing is rewritten when libcst does not print the text it parses back byte for byte."""
    if rule.language == "rust":
        from flowfix.rust.fixes import apply_rust_fix

        return apply_rust_fix(rule, text, findings, config)
    codemod = _codemod(rule)
    if codemod.READS_MODULE:
        elision = Elision(text, text)
    elif elision is None:
        elision = Elision.around(text, findings, codemod.KEEPS_METHODS)
    problem = unreproducible(elision.reduced)
    if problem:
        return text, f"{problem}; not rewritten"
    new_text, reason = _run_codemod(
        rule, display, elision.findings(findings), config, style, elision
    )
    expanded = elision.expand(new_text)
    if expanded is None:  # the codemod changed an elided line: let it see the whole text
        return apply_codemod(rule, text, display, findings, config, style, Elision(text, text))
    return expanded, reason


def _codemod(rule: Rule) -> type[RuleCodemod]:
    from flowfix.codemod import RuleCodemod

    codemod_class = rule.codemod
    assert codemod_class is not None and issubclass(codemod_class, RuleCodemod)
    return codemod_class


def _run_codemod(
    rule: Rule,
    display: str,
    findings: Sequence[Finding],
    config: Config,
    style: CodeStyle | None,
    elision: Elision,
) -> tuple[str, str]:
    """Run `rule`'s codemod on `elision.reduced` for `findings` (in its lines); returns (new
    text, reason if unchanged)."""
    from libcst.codemod import CodemodContext, SkipFile

    context = CodemodContext(filename=display)
    codemod = _codemod(rule)(context, findings, config, style)
    codemod.elision = elision
    text = elision.reduced
    try:
        new_module = codemod.transform_module(parse(text))
    except SkipFile as exc:
        return text, str(exc) or "codemod skipped the file"
    reason = "; ".join(context.warnings) or "the fix changed nothing"
    return new_module.code, reason


def reraise_interruption(exc: Exception) -> None:
    """Raise the interruption (KeyboardInterrupt, the CLI's signal exception: anything that is
    not an Exception) during whose handling `exc` was raised, if any. A signal that lands in
    libcst's code can make its cleanup fail in turn (a position not recorded yet: KeyError);
    that error must not pass for a codemod bug and swallow the signal."""
    seen: set[int] = set()
    current = exc.__context__
    while current is not None and id(current) not in seen:
        if not isinstance(current, Exception):
            raise current
        seen.add(id(current))
        current = current.__context__


@dataclass(frozen=True)
class Mark:
    """A decision about one finding, followed through rewrites: its rule and where it is.

    `lines` are the finding's lines, 0-based and half-open. While no edit touches them the
    finding keeps its exact `span` (moved by the lines inserted or removed above it); once an
    edit rewrites one of them, `span` is None and `lines` widen to the rewritten block, where
    any finding of the rule carries the decision.
    """

    code: str
    span: Span | None
    lines: tuple[int, int]

    @classmethod
    def of(cls, finding: Finding) -> Mark:
        return cls(finding.code, finding.span, (finding.span.line - 1, finding.span.end_line))

    def matches(self, finding: Finding) -> bool:
        if finding.code != self.code:
            return False
        if self.span is not None:
            return finding.span == self.span
        return self.lines[0] <= finding.span.line - 1 < self.lines[1]

    def through(self, edits: Sequence[LineEdit]) -> Mark:
        """This mark in the text that `edits` (sorted, of the text it is in) make."""
        start, end = self.lines
        shift = 0  # lines added above the finding
        touched: list[tuple[int, int]] = []  # new (start, end) of the edits that rewrite it
        grown = 0  # lines the touching edits added
        for edit in edits:
            size = len(lines_of(edit.text))
            if edit.end <= start:
                shift += size - (edit.end - edit.start)
            elif edit.start < end:
                new_start = edit.start + shift + grown
                touched.append((new_start, new_start + size))
                grown += size - (edit.end - edit.start)
        if not touched:
            span = self.span
            if span is not None:
                span = Span(span.line + shift, span.column, span.end_line + shift, span.end_column)
            return Mark(self.code, span, (start + shift, end + shift))
        new_start = min(start + shift, touched[0][0])
        new_end = max(end + shift + grown, touched[-1][1])
        return Mark(self.code, None, (new_start, new_end))


@dataclass(frozen=True)
class Picks:
    """Which findings the fix loop may fix: a review's decisions. A finding is wanted when no
    declined mark matches it and either its rule was accepted as a whole or an accepted mark
    matches it (so findings a fix creates are left alone unless their rule was accepted)."""

    accepted: tuple[Mark, ...] = ()
    declined: tuple[Mark, ...] = ()
    rules: frozenset[str] = frozenset()

    def wants(self, finding: Finding) -> bool:
        if any(mark.matches(finding) for mark in self.declined):
            return False
        return finding.code in self.rules or any(mark.matches(finding) for mark in self.accepted)

    def through(self, edits: Sequence[LineEdit]) -> Picks:
        """These decisions in the text that `edits` make of theirs."""
        return Picks(
            tuple(mark.through(edits) for mark in self.accepted),
            tuple(mark.through(edits) for mark in self.declined),
            self.rules,
        )


@dataclass
class FixState:
    """Where the fix loop stands: the text, its findings, and the rules whose fix failed."""

    text: str
    findings: list[Finding]
    stuck: dict[str, str] = field(default_factory=dict)
    stuck_at: dict[str, str] = field(default_factory=dict)
    passes: int = 0
    notes: list[str] = field(default_factory=list)
    converged: bool = True
    picks: Picks | None = None  # None: every fixable finding

    def drop(self, code: str, reason: str) -> None:
        """Record that `code`'s fix failed on this text; it is retried once the text changes."""
        self.stuck[code] = reason
        self.stuck_at[code] = self.text

    def fixable(self, threshold: FixSafety) -> list[Finding]:
        blocked = {code for code, text in self.stuck_at.items() if text == self.text}
        return picked(fixable(self.findings, threshold, blocked), self.picks)


def picked(findings: list[Finding], picks: Picks | None) -> list[Finding]:
    """`findings` that `picks` want (all of them without picks)."""
    return findings if picks is None else [f for f in findings if picks.wants(f)]


@dataclass(frozen=True)
class _Proposal:
    code: str
    before: int  # fixable findings of the rule in the pass's text
    text: str
    edits: tuple[LineEdit, ...]


Redetect = Callable[[str], list[Finding]]  # may raise ParseFailure


def fix_loop(
    text: str,
    display: str,
    rules: Sequence[Rule],
    config: Config,
    threshold: FixSafety,
    findings: list[Finding],
    redetect: Redetect,
    encoding: str = "utf-8",
    picks: Picks | None = None,
    style: CodeStyle | None = None,
) -> FixState:
    """Fix passes over `text` until nothing fixable is left or the pass limit is hit (with
    `picks`, only the findings they want are fixed); then, when the file was formatted, the
    new code is formatted the same way."""
    style = style or CodeStyle()
    state = FixState(text=text, findings=findings, picks=picks)
    limit = config.threshold("max-fix-passes")
    by_code = {rule.code: rule for rule in rules}
    while True:
        pending = state.fixable(threshold)
        if not pending:
            _format(state, text, style, display, encoding, redetect)
            return state
        if state.passes >= limit:
            state.notes.append(f"stopped after {limit} fix passes with fixable findings left")
            state.converged = False
            return state
        proposals = _propose(state, pending, by_code, display, config, style)
        if proposals and _apply_pass(state, proposals, threshold, display, encoding, redetect):
            state.passes += 1


def _propose(
    state: FixState,
    pending: list[Finding],
    by_code: dict[str, Rule],
    display: str,
    config: Config,
    style: CodeStyle,
) -> list[_Proposal]:
    """Each pending rule's rewrite of the pass's text (rules whose codemod fails are
    dropped), in the order of their first finding in the file."""
    proposals: list[_Proposal] = []
    elision = None
    codes = dict.fromkeys(finding.code for finding in pending)
    if not is_rust(display):
        # One reduced text for the pass, so that its codemods share one libcst parse.
        keep = frozenset().union(*(_codemod(by_code[code]).KEEPS_METHODS for code in codes))
        elision = Elision.around(state.text, pending, keep)
        problem = unreproducible(elision.reduced)
        if problem:
            for code in codes:
                state.drop(code, f"{problem}; not rewritten")
            return []
    for code in codes:
        targets = [finding for finding in pending if finding.code == code]
        try:
            new_text, reason = apply_codemod(
                by_code[code], state.text, display, targets, config, style, elision
            )
        except Exception as exc:  # a codemod bug must not lose the run: drop the fix, say why
            reraise_interruption(exc)
            state.drop(code, f"internal error in the {code} fix: {type(exc).__name__}: {exc}")
            continue
        if new_text == state.text:
            state.drop(code, reason)
            continue
        edits = tuple(line_edits(state.text, new_text))
        proposals.append(_Proposal(code, len(targets), new_text, edits))
    return proposals


def _format(
    state: FixState,
    original: str,
    style: CodeStyle,
    display: str,
    encoding: str,
    redetect: Redetect,
) -> None:
    """The fixed text formatted like the original (`format_like`), when that passes the
    checks a fix pass passes; the findings are those of the formatted text. Python only."""
    if is_rust(display) or state.text == original:
        return
    formatted = format_like(original, state.text, style)
    if formatted == state.text or rewrite_problem(state.text, formatted, display, encoding):
        return
    try:
        findings = redetect(formatted)
    except ParseFailure:
        return
    state.text, state.findings = formatted, findings


def _apply_pass(
    state: FixState,
    proposals: list[_Proposal],
    threshold: FixSafety,
    display: str,
    encoding: str,
    redetect: Redetect,
) -> bool:
    """Apply the non-overlapping proposals together, else the first alone; whether the text
    changed."""
    chosen: list[_Proposal] = []
    taken: list[LineEdit] = []
    for proposal in proposals:
        if not any(_touches(edit, other) for edit in proposal.edits for other in taken):
            chosen.append(proposal)
            taken.extend(proposal.edits)
    if len(chosen) > 1:
        edits = sorted(taken, key=lambda e: (e.start, e.end))
        merged = apply_line_edits(state.text, edits)
        if _accept(state, chosen, merged, edits, threshold, display, encoding, redetect, True):
            return True
    first = chosen[0]
    return _accept(state, [first], first.text, first.edits, threshold, display, encoding, redetect)


def _accept(
    state: FixState,
    applied: list[_Proposal],
    new_text: str,
    edits: Sequence[LineEdit],
    threshold: FixSafety,
    display: str,
    encoding: str,
    redetect: Redetect,
    quiet: bool = False,
) -> bool:
    """Verify `new_text` (the state's text with `edits`) and make it the state's text if every
    applied rule made progress on the findings the state wants.
    Unless `quiet` (a merged pass that may still be retried rule by rule), a failure drops the
    applied rule with its reason."""

    def fail(reason: str) -> bool:
        if not quiet:
            for proposal in applied:
                state.drop(proposal.code, reason.format(code=proposal.code))
        return False

    problem = rewrite_problem(state.text, new_text, display, encoding)
    if problem:
        return fail(f"{problem}; the {{code}} fix was dropped")
    try:
        new_findings = redetect(new_text)
    except ParseFailure as exc:
        return fail(f"the {{code}} fix produced code flowfix cannot analyse ({exc}); dropped")
    picks = state.picks.through(edits) if state.picks is not None else None
    left = picked(fixable(new_findings, threshold, set()), picks)
    for proposal in applied:
        if sum(1 for f in left if f.code == proposal.code) >= proposal.before:
            if quiet:
                return False
            return fail("the {code} fix did not remove its findings; dropped")
    state.text, state.findings, state.picks = new_text, new_findings, picks
    for proposal in applied:
        state.stuck.pop(proposal.code, None)
        state.stuck_at.pop(proposal.code, None)
    return True
