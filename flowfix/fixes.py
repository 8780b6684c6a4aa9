"""The fix loop: which findings may be fixed, one pass of fixes, and passes until none is left.

Each pass runs the codemod of every rule with fixable findings on the same text (parsed by
libcst once), turns each result into line edits, and applies at once all those whose edits
do not overlap an earlier rule's (the others wait for the next pass), as ruff's fix loop does.
The merged text is verified and re-detected; a rule whose findings did not go down is dropped.
If the merged pass fails a check, the pass falls back to its first rule alone, verified on its
own, so one bad fix never holds back the others. The loop ends when nothing fixable is left
(every remaining fix failed on the final text, so running it again changes nothing) or at the
pass limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from flowfix.config import Config
from flowfix.rules import Finding, FixSafety, Rule, registry
from flowfix.sources import ParseFailure
from flowfix.style import CodeStyle, format_like
from flowfix.verify import parse, rewrite_problem


@dataclass(frozen=True)
class LineEdit:
    """Replace the original's lines `start` up to (not including) `end`, 0-based, by `text`.

    `start == end` inserts `text` before line `start`; `text` is whole lines, each with its
    line ending (the last line of a file may have none).
    """

    start: int
    end: int
    text: str


def lines_of(text: str) -> list[str]:
    """`text` split after each `\\n`, as git splits it (a `\\r` stays in its line)."""
    parts = text.split("\n")
    return [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def line_edits(old: str, new: str) -> list[LineEdit]:
    """The smallest whole-line edits that turn `old` into `new`, in order, not overlapping."""
    import pygit2

    patch = pygit2.Patch.create_from(old.encode(), new.encode(), context_lines=0)
    new_lines = lines_of(new)
    edits: list[LineEdit] = []
    for hunk in patch.hunks:
        # A pure insertion's old_start is the line it goes after; otherwise its first line.
        start = hunk.old_start if hunk.old_lines == 0 else hunk.old_start - 1
        first_new = hunk.new_start - 1
        text = "".join(new_lines[first_new : first_new + hunk.new_lines])
        edits.append(LineEdit(start, start + hunk.old_lines, text))
    return edits


def apply_line_edits(old: str, edits: Sequence[LineEdit]) -> str:
    """`old` with `edits` (sorted, not overlapping) applied (the inverse of `line_edits`)."""
    lines = lines_of(old)
    out: list[str] = []
    cursor = 0
    for edit in edits:
        out.extend(lines[cursor : edit.start])
        out.append(edit.text)
        cursor = edit.end
    out.extend(lines[cursor:])
    return "".join(out)


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
) -> tuple[str, str]:
    """Run `rule`'s codemod on `text` for `findings`; returns (new text, reason if unchanged)."""
    codemod_class = rule.codemod
    assert codemod_class is not None
    from libcst.codemod import CodemodContext, SkipFile

    context = CodemodContext(filename=display)
    codemod = codemod_class(context, findings, config, style)
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

    def drop(self, code: str, reason: str) -> None:
        """Record that `code`'s fix failed on this text; it is retried once the text changes."""
        self.stuck[code] = reason
        self.stuck_at[code] = self.text

    def fixable(self, threshold: FixSafety) -> list[Finding]:
        blocked = {code for code, text in self.stuck_at.items() if text == self.text}
        return fixable(self.findings, threshold, blocked)


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
    style: CodeStyle | None = None,
) -> FixState:
    """Fix passes over `text` until nothing fixable is left or the pass limit is hit; then,
    when the file was formatted, the new code is formatted the same way."""
    style = style or CodeStyle()
    state = FixState(text=text, findings=findings)
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
    for code in dict.fromkeys(finding.code for finding in pending):
        targets = [finding for finding in pending if finding.code == code]
        try:
            new_text, reason = apply_codemod(
                by_code[code], state.text, display, targets, config, style
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
    checks a fix pass passes; the findings are those of the formatted text."""
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
        merged = apply_line_edits(state.text, sorted(taken, key=lambda e: (e.start, e.end)))
        if _accept(state, chosen, merged, threshold, display, encoding, redetect, quiet=True):
            return True
    first = chosen[0]
    return _accept(state, [first], first.text, threshold, display, encoding, redetect)


def _accept(
    state: FixState,
    applied: list[_Proposal],
    new_text: str,
    threshold: FixSafety,
    display: str,
    encoding: str,
    redetect: Redetect,
    quiet: bool = False,
) -> bool:
    """Verify `new_text` and make it the state's text if every applied rule made progress.
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
    left = fixable(new_findings, threshold, set())
    for proposal in applied:
        if sum(1 for f in left if f.code == proposal.code) >= proposal.before:
            if quiet:
                return False
            return fail("the {code} fix did not remove its findings; dropped")
    state.text, state.findings = new_text, new_findings
    for proposal in applied:
        state.stuck.pop(proposal.code, None)
        state.stuck_at.pop(proposal.code, None)
    return True
