"""`flowfix fix --interactive`: each fix shown as its diff and applied only when accepted.

As in Fixit's `fixit fix --interactive`, each finding with a fix is shown (its line, then its
diff) and a question follows: apply it (`y`), skip it (`n`), apply it and every later fix of
its rule without asking (`a`), or stop here (`q`). The diff is the finding's own fix on the
file as it was read (`suggest.fix_finding`). Once a file's findings are decided, the accepted
ones are fixed together by the fix loop, verified as `flowfix fix` verifies its fixes; the
decisions (`fixes.Picks`) follow the findings through each pass, so a skipped finding stays
as it is and a finding that a fix creates is left alone unless its rule was accepted whole.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flowfix.engine import FileResult, Options, detection_entry, process_source
from flowfix.fixes import Mark, Picks, fixable
from flowfix.patches import make_patch
from flowfix.report import text
from flowfix.rules import Finding
from flowfix.sources import SourceError, read_source
from flowfix.suggest import fix_finding


class Answer(str, enum.Enum):
    ACCEPT = "y"
    SKIP = "n"
    RULE = "a"
    QUIT = "q"


QUESTION = "Apply this fix? [y]es, [n]o, [a]ll {code} fixes, [q]uit: "
HELP = "Answer y (apply this fix), n (skip it), a (apply every {code} fix) or q (stop)."


@dataclass
class Session:
    """A review in progress: how to talk to the user, and the answers that last."""

    ask: Callable[[str], str | None]  # a question's answer; None at the end of input
    show: Callable[[str], None]
    colour: bool = False
    rules: set[str] = field(default_factory=set)  # rules whose fixes are all accepted
    stopped: bool = False

    def answer(self, code: str) -> Answer:
        while True:
            reply = self.ask(QUESTION.format(code=code))
            if reply is None:
                return Answer.QUIT
            word = reply.strip().lower()
            for answer, words in _WORDS.items():
                if word in words:
                    return answer
            self.show(HELP.format(code=code))


_WORDS = {
    Answer.ACCEPT: ("y", "yes"),
    Answer.SKIP: ("n", "no"),
    Answer.RULE: ("a", "all"),
    Answer.QUIT: ("q", "quit"),
}


def review(result: FileResult, options: Options, session: Session) -> FileResult:
    """Ask about each fix of the file of `result` (a check's result) and fix the accepted ones;
    the file's result (new text not written), or `result` when there is nothing to ask."""
    if session.stopped or not fixable(result.findings, options.threshold, set()):
        return result
    display = result.display
    try:
        source = read_source(Path(display))
    except SourceError as exc:
        return FileResult(display=display, errors=(str(exc),))
    entry = detection_entry(
        source.text, display, options.rules_for(display), options.config, options.project
    )
    accepted: list[Finding] = []
    declined: list[Finding] = []
    for finding in fixable(list(entry.findings), options.threshold, set()):
        decision = _decide(finding, source.text, source.encoding, options, session)
        (accepted if decision else declined).append(finding)
    picks = Picks(
        tuple(map(Mark.of, accepted)), tuple(map(Mark.of, declined)), frozenset(session.rules)
    )
    return process_source(source, display, options, entry, picks)


def _decide(
    finding: Finding, original: str, encoding: str, options: Options, session: Session
) -> bool:
    """Whether `finding` is to be fixed: asked, unless the answers so far already tell."""
    if session.stopped:
        return False
    if finding.code in session.rules:
        return True
    line = text.finding_line(finding, options.threshold, session.colour)
    fixed = fix_finding(original, finding.path, finding, options.config, encoding, options.project)
    if fixed is None:
        session.show(f"{line}\n  (its fix does not apply on its own here: skipped)")
        return False
    patch = make_patch(original.encode(), fixed.encode(), finding.path).decode()
    session.show(f"{line}\n{text.diff(patch, session.colour)}")
    answer = session.answer(finding.code)
    if answer is Answer.QUIT:
        session.stopped = True
        return False
    if answer is Answer.RULE:
        session.rules.add(finding.code)
    return answer is not Answer.SKIP
