"""`flowfix diff --patch-dir DIR`: the fixes as a series of `git format-patch` mails.

`git am DIR/*.patch` turns each mail into one commit: one per rule (or one per file), its
subject naming the rule and the number of fixes, its body explaining the rule from its
documentation and listing the findings fixed, then a diffstat and the patch.

The patches of a series by rule apply in order: the rules are fixed one after the other, each
by the fix loop restricted to that rule (`engine.process_source` with only its code), on the
files as the patches before it left them. When a rule's fixes give an earlier rule something
to fix, another round follows (at most `max-fix-passes` rounds), so the series ends where the
fix loop of all rules would (on the frameworks' GitHub sources, byte for byte), up to the
order in which two rules' new imports land at the same place.
"""

from __future__ import annotations

import dataclasses
import email.header
import email.utils
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flowfix import __version__
from flowfix.engine import FileResult, Options, process_source
from flowfix.patches import make_patch
from flowfix.rules import Finding, registry
from flowfix.sources import from_bytes

# The separator line `git format-patch --zero-commit` writes; `git am` needs its form only.
MBOX_FROM = "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001"
FALLBACK_AUTHOR = ("flowfix", "flowfix@localhost")
NAME_MAX = 64  # git format-patch's limit on the subject part of a file name
DIFFSTAT_WIDTH = 72


@dataclass(frozen=True)
class FileChange:
    """One file's change in one patch, and the findings it fixes (positions in `old`)."""

    display: str
    old: bytes
    new: bytes
    fixed: tuple[Finding, ...]


@dataclass(frozen=True)
class Step:
    """One patch of a series: its subject (without the `[PATCH n/m]` prefix), body and changes."""

    subject: str
    body: str
    changes: tuple[FileChange, ...]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'es' if count != 1 else ''}"


def _fixes_list(changes: Iterable[FileChange]) -> list[str]:
    return [
        f"- {f.path}:{f.span.line}:{f.span.column}: {f.code} {f.message} ({f.fix.value} fix)"
        for change in changes
        for f in sorted(change.fixed, key=lambda f: (f.span, f.code))
    ]


def _explanation(code: str) -> list[str]:
    """What the rule finds and why it matters, from its documentation."""
    rule = registry()[code]
    return [f"{rule.summary}", "", "Why is this bad?", rule.section("Why is this bad?")]


def _rule_step(code: str, changes: Sequence[FileChange]) -> Step:
    rule = registry()[code]
    count = sum(len(change.fixed) for change in changes)
    body = [
        *_explanation(code),
        "",
        "Fix safety:",
        rule.section("Fix safety"),
        "",
        "Fixed:",
        *_fixes_list(changes),
        "",
        f"See `flowfix explain {code}`.",
    ]
    return Step(f"{code}: {rule.name} ({_plural(count, 'fix')})", "\n".join(body), tuple(changes))


def by_rule(results: Sequence[FileResult], options: Options) -> list[Step]:
    """The fixes of a `diff` run (`results`, with their sources), one step per rule, in code
    order; each step's files are as the steps before it left them."""
    sources = {r.display: r.source for r in results if r.changed and r.source is not None}
    codes = sorted(code for code in options.codes if registry()[code].fixable)
    steps: list[Step] = []
    for _ in range(options.config.threshold("max-fix-passes")):
        progressed = False
        for code in codes:
            alone = dataclasses.replace(options, codes=(code,), fix=True)
            changes = []
            for display, source in list(sources.items()):
                result = process_source(source, display, alone)
                if result.new_raw is None:
                    continue
                fixed = tuple(f for f in result.findings if f.fixed)
                changes.append(FileChange(display, source.raw, result.new_raw, fixed))
                sources[display] = from_bytes(source.path, result.new_raw)
            if changes:
                steps.append(_rule_step(code, changes))
                progressed = True
        if not progressed:
            break
    return steps


def by_file(results: Sequence[FileResult]) -> list[Step]:
    """The fixes of a `diff` run, one step per changed file (in path order)."""
    steps = []
    for result in sorted(results, key=lambda r: r.display):
        if result.source is None or result.new_raw is None:
            continue
        fixed = tuple(f for f in result.findings if f.fixed)
        change = FileChange(result.display, result.source.raw, result.new_raw, fixed)
        codes = sorted({f.code for f in fixed})
        body: list[str] = []
        for code in codes:
            count = sum(1 for f in fixed if f.code == code)
            rule = registry()[code]
            body += [f"{code} {rule.name} ({_plural(count, 'fix')}):", *_explanation(code), ""]
        body += ["Fixed:", *_fixes_list([change])]
        subject = f"{result.display}: {_plural(len(fixed), 'fix')} ({', '.join(codes)})"
        steps.append(Step(subject, "\n".join(body), (change,)))
    return steps


def author() -> str:
    """The `From:` of the mails: the git identity (GIT_AUTHOR_NAME/EMAIL, else `user.name`
    and `user.email` of git's configuration here), else flowfix's."""
    name = os.environ.get("GIT_AUTHOR_NAME")
    mail = os.environ.get("GIT_AUTHOR_EMAIL")
    if not (name and mail):
        config = _git_config()
        name = name or config.get("user.name")
        mail = mail or config.get("user.email")
    if not (name and mail):
        name, mail = FALLBACK_AUTHOR
    return email.utils.formataddr((name, mail), charset="utf-8")


def _git_config() -> dict[str, str]:
    """`user.name` and `user.email` from the git configuration in force in this folder."""
    import pygit2

    try:
        found = pygit2.discover_repository(os.getcwd())
        config = pygit2.Repository(found).config if found else pygit2.Config.get_global_config()
        return {key: str(config[key]) for key in ("user.name", "user.email") if key in config}
    except (OSError, KeyError, pygit2.GitError):
        return {}


def _header(text: str) -> str:
    """A header value: as is when ASCII, else RFC 2047-encoded (as git format-patch does)."""
    if text.isascii():
        return text
    return email.header.Header(text, "utf-8", maxlinelen=998).encode()


def _message_line(line: str) -> str:
    """A body line that `git mailinfo` cannot take for the start of the patch."""
    if line.rstrip() == "---" or line.startswith(("diff -", "Index: ")):
        return " " + line
    return line


def file_name(number: int, subject: str) -> str:
    """`0001-ASY001-blocking-sleep-in-async-2-fixes.patch`, as git format-patch names them."""
    slug = re.sub(r"[^A-Za-z0-9._]+", "-", subject).strip("-.")[:NAME_MAX].rstrip("-.")
    return f"{number:04d}-{slug}.patch"


def mail(step: Step, number: int, total: int, sender: str) -> bytes:
    """`step` as one mbox mail `git am` takes: headers, message, diffstat, patch."""
    import pygit2

    diff = b"".join(make_patch(c.old, c.new, c.display) for c in step.changes)
    stats = pygit2.Diff.parse_diff(diff).stats.format(
        pygit2.enums.DiffStatsFormat.FULL, DIFFSTAT_WIDTH
    )
    message = "\n".join(_message_line(line) for line in step.body.splitlines())
    head = "\n".join(
        [
            MBOX_FROM,
            f"From: {sender}",
            f"Subject: {_header(f'[PATCH {number}/{total}] {step.subject}')}",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=UTF-8",
            "Content-Transfer-Encoding: 8bit",
            "",
            message,
            "---",
            stats.rstrip("\n"),
            "",
            "",
        ]
    )
    tail = f"-- \nflowfix {__version__}\n\n"
    return head.encode("utf-8") + diff + tail.encode("utf-8")


def mails(steps: Sequence[Step], sender: str) -> list[tuple[str, bytes]]:
    """Each step's file name and mail, numbered from 1."""
    return [
        (file_name(number, step.subject), mail(step, number, len(steps), sender))
        for number, step in enumerate(steps, start=1)
    ]
