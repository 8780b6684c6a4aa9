"""Rewrites are checked before writing: parse, compile, encoding, newlines, fixed point."""

from __future__ import annotations

from pathlib import Path

import pytest

import flowfix.fixes as fixes
from flowfix.engine import Options, process_path
from flowfix.rules import FixSafety, registry
from flowfix.verify import rewrite_problem

BLOCKING = "import time\n\n\nasync def f():\n    time.sleep(1)\n"
FIXED = "import asyncio\n\n\nasync def f():\n    await asyncio.sleep(1)\n"


def options() -> Options:
    return Options(codes=tuple(registry()), fix=True, threshold=FixSafety.SAFE)


@pytest.mark.parametrize(
    ("new", "encoding", "problem"),
    [
        (FIXED, "utf-8", None),
        (FIXED.replace("(1)", "(1"), "utf-8", "does not parse"),
        (FIXED + "return 1\n", "utf-8", "does not compile"),
        (FIXED + "NAME = '\u2603'\n", "latin-1", "cannot be encoded as latin-1 ('\u2603')"),
        (FIXED.replace("asyncio\n", "asyncio\r\n", 1), "utf-8", "mixes line endings"),
    ],
    ids=["good", "not-parsing", "not-compiling", "not-encodable", "mixed-newlines"],
)
def test_rewrite_problem(new: str, encoding: str, problem: str | None) -> None:
    found = rewrite_problem(BLOCKING, new, "m.py", encoding)
    assert found == problem if problem is None else problem in (found or "")


def test_crlf_original_accepts_crlf_rewrite_only() -> None:
    crlf = BLOCKING.replace("\n", "\r\n")
    assert rewrite_problem(crlf, FIXED.replace("\n", "\r\n"), "m.py", "utf-8") is None
    assert "mixes line endings" in (rewrite_problem(crlf, FIXED, "m.py", "utf-8") or "")


def test_unencodable_fix_leaves_latin1_file_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        fixes,
        "apply_codemod",
        lambda rule, text, display, findings, config, style: (
            text.replace("time.sleep(1)", "pass  # \u2603"),
            "",
        ),
    )
    raw = b"# -*- coding: latin-1 -*-\n" + BLOCKING.encode() + b"NAME = '\xe9'\n"
    path = tmp_path / "m.py"
    path.write_bytes(raw)
    result = process_path(path, options())
    assert not result.changed
    assert "cannot be encoded as iso-8859-1" in result.findings[0].note


TWO_RULES = (
    "import time\nfrom concurrent.futures import ThreadPoolExecutor\n\n\n"
    "async def f():\n    time.sleep(1)\n\n\n"
    "def g(items):\n    pool = ThreadPoolExecutor(max_workers=4)\n"
    "    return list(pool.map(str, items))\n"
)


def _asy001_declines(times: int, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make the ASY001 fix decline its first `times` runs; returns the codes of all fix runs."""
    real = fixes.apply_codemod
    seen: list[str] = []

    def picky(rule, text, display, findings, config, style):  # type: ignore[no-untyped-def]
        seen.append(rule.code)
        if rule.code == "ASY001" and seen.count("ASY001") <= times:
            return text, "declined"
        return real(rule, text, display, findings, config, style)

    monkeypatch.setattr(fixes, "apply_codemod", picky)
    return seen


def test_fix_that_fails_on_the_final_text_leaves_its_finding_and_the_rest_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ASY001 declines on the original and again on the text after the executor fix: the loop
    # ends there (a fix that failed on the final text would fail again: no second run), writes
    # the executor fix and reports ASY001 unfixed with the codemod's reason.
    seen = _asy001_declines(2, monkeypatch)
    path = tmp_path / "m.py"
    path.write_text(TWO_RULES)
    result = process_path(path, options())
    assert result.changed and "finally:" in (result.new_text or "")
    fixed = {f.code: f for f in result.findings}
    assert fixed["EXE002"].fixed and not fixed["ASY001"].fixed
    assert fixed["ASY001"].note == "declined"
    assert seen.count("ASY001") == 2


def test_fixes_that_do_not_overlap_are_applied_in_one_pass(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(TWO_RULES)
    result = process_path(path, options())
    assert result.passes == 1
    assert "await asyncio.sleep(1)" in (result.new_text or "")
    assert "pool.shutdown(wait=True)" in (result.new_text or "")
    fixed = {f.code: f.fixed for f in result.findings}
    assert fixed["ASY001"] and fixed["EXE002"]


def test_rule_stuck_on_one_text_is_retried_after_another_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The ASY001 fix declines on the original text but works once another rule changed it:
    # the loop retries it instead of reporting it stuck.
    seen = _asy001_declines(1, monkeypatch)
    path = tmp_path / "m.py"
    path.write_text(TWO_RULES)
    result = process_path(path, options())
    assert result.changed
    assert "await asyncio.sleep(1)" in (result.new_text or "")
    assert seen.count("ASY001") == 2
    assert not any("declined" in note for note in result.notes)


def test_file_the_interpreter_cannot_compile_is_never_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    source = BLOCKING + "\nreturn 1\n"
    path.write_text(source)
    result = process_path(path, options())
    assert not result.changed
    assert result.notes == ("the running Python does not compile this file; not rewritten",)
    assert [f.code for f in result.findings] == ["ASY001"]


def test_pass_limit_hit_mid_way_is_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flowfix.config import Config

    # ASY001 declines in the first pass and waits for the second, which the limit forbids.
    _asy001_declines(1, monkeypatch)
    path = tmp_path / "m.py"
    path.write_text(TWO_RULES)
    limited = Options(
        codes=tuple(registry()), config=Config(thresholds={"max-fix-passes": 1}), fix=True
    )
    result = process_path(path, limited)
    assert not result.changed
    assert "did not converge" in result.notes[-1]


def test_an_interruption_inside_a_codemod_is_not_taken_for_its_bug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A signal landing in libcst's code can make its cleanup fail in turn (seen: a KeyError in
    # the position provider while SIGTERM unwound): the interruption must go on, not become a
    # dropped fix and a finished run.
    def interrupted_then_broken(*args: object) -> tuple[str, str]:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise KeyError("a node whose position was never recorded") from None

    monkeypatch.setattr(fixes, "apply_codemod", interrupted_then_broken)
    path = tmp_path / "m.py"
    path.write_text(BLOCKING)
    with pytest.raises(KeyboardInterrupt):
        process_path(path, options())
    assert path.read_text() == BLOCKING
