"""`flowfix fix --interactive`: decisions per finding, carried through the fix loop (`Picks`),
and the command on a pseudo-terminal."""

from __future__ import annotations

import dataclasses
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flowfix.cli import app
from flowfix.engine import Options, process_source
from flowfix.fixes import Mark, Picks
from flowfix.line_edits import LineEdit
from flowfix.rules import Finding, FixSafety, Span, registry
from flowfix.sources import from_stdin
from helpers import TWO_SLEEPS

TWO = TWO_SLEEPS
SECOND_FIXED = TWO.replace("import time\n", "import asyncio\nimport time\n").replace(
    "time.sleep(2)", "await asyncio.sleep(2)"
)
ALL_FIXED = SECOND_FIXED.replace("import time\n", "").replace(
    "time.sleep(1)", "await asyncio.sleep(1)"
)
THIRD = "import time\n\n\nasync def third():\n    time.sleep(3)\n"
THIRD_FIXED = "import asyncio\n\n\nasync def third():\n    await asyncio.sleep(3)\n"
QUESTION = "Apply this fix? [y]es, [n]o, [a]ll ASY001 fixes, [q]uit: "


def finding(line: int, column: int = 5, end: int | None = None, code: str = "ASY001") -> Finding:
    span = Span(line, column, end or line, column + 13)
    return Finding(code, "a.py", span, "m", FixSafety.SAFE)


# --- decisions followed through edits ---------------------------------------------------


def test_a_mark_moves_with_the_lines_inserted_or_removed_above_it() -> None:
    mark = Mark.of(finding(5))
    moved = mark.through([LineEdit(1, 1, "import asyncio\n"), LineEdit(6, 7, "")])
    assert moved == Mark("ASY001", Span(6, 5, 6, 18), (5, 6))
    assert moved.matches(finding(6)) and not moved.matches(finding(5))
    assert mark.through([LineEdit(0, 2, "")]) == Mark("ASY001", Span(3, 5, 3, 18), (2, 3))


def test_a_mark_whose_lines_are_rewritten_covers_the_rewritten_block() -> None:
    mark = Mark.of(finding(5, end=6))  # lines 4..5, 0-based
    moved = mark.through([LineEdit(0, 0, "a\n"), LineEdit(5, 6, "x\ny\nz\n")])
    assert moved == Mark("ASY001", None, (5, 9))
    assert moved.matches(finding(6, column=40)) and moved.matches(finding(9))
    assert not moved.matches(finding(10)) and not moved.matches(finding(6, code="TIM001"))
    # an insertion strictly inside the finding's lines rewrites it too
    assert mark.through([LineEdit(5, 5, "a\n")]) == Mark("ASY001", None, (4, 7))


def test_declined_wins_over_accepted_and_over_a_rule_accepted_whole() -> None:
    picks = Picks((Mark.of(finding(5)),), (Mark.of(finding(9)),), frozenset({"ASY001"}))
    assert picks.wants(finding(5)) and picks.wants(finding(20))
    assert not picks.wants(finding(9))
    assert not Picks((Mark.of(finding(5)),)).wants(finding(20))


def _fix(text: str, picks: Picks) -> str:
    source = from_stdin(text.encode(), "a.py")
    options = Options(codes=tuple(registry()), fix=True)
    return process_source(source, "a.py", options, None, picks).new_text or text


def test_the_fix_loop_fixes_only_what_the_picks_want() -> None:
    accept_second = Picks((Mark.of(finding(9)),), (Mark.of(finding(5)),))
    assert _fix(TWO, accept_second) == SECOND_FIXED
    assert _fix(TWO, Picks(declined=(Mark.of(finding(5)), Mark.of(finding(9))))) == TWO
    assert _fix(TWO, Picks(rules=frozenset({"ASY001"}))) == ALL_FIXED


def test_a_declined_finding_on_lines_an_accepted_fix_rewrites_stays_unfixed() -> None:
    text = (
        "import time\n"
        "\n"
        "\n"
        "async def fetch():\n"
        "    start = time.time(); time.sleep(1)\n"
        "    return time.time() - start\n"
    )
    source = from_stdin(text.encode(), "a.py")
    options = Options(codes=tuple(registry()), fix=True)
    found = process_source(source, "a.py", dataclasses.replace(options, fix=False)).findings
    asy001, tim001 = sorted(found, key=lambda f: f.code)
    assert (asy001.code, tim001.code) == ("ASY001", "TIM001")
    result = process_source(
        source, "a.py", options, None, Picks((Mark.of(asy001),), (Mark.of(tim001),))
    )
    assert result.new_text == (
        "import asyncio\n"
        "import time\n"
        "\n"
        "\n"
        "async def fetch():\n"
        "    start = time.time(); await asyncio.sleep(1)\n"
        "    return time.time() - start\n"
    )
    assert [(f.code, f.fixed) for f in result.findings] == [("ASY001", True), ("TIM001", False)]


# --- the command --------------------------------------------------------------------------


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text(TWO)
    (tmp_path / "src" / "b.py").write_text(THIRD)
    return tmp_path


def interact(answers: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["fix", "--interactive", "--no-cache", "src"], input=answers)
    return result.exit_code, result.stdout


def test_skip_accept_and_a_second_try_after_a_wrong_answer(workspace: Path) -> None:
    code, out = interact("n\ny\nmaybe\nyes\n")
    assert code == 1  # the skipped finding remains
    assert (workspace / "src" / "a.py").read_text() == SECOND_FIXED
    assert (workspace / "src" / "b.py").read_text() == THIRD_FIXED
    assert out.count(QUESTION) == 4
    assert "Answer y (apply this fix), n (skip it), a (apply every ASY001 fix) or q (stop)." in out
    assert "src/a.py:5:5: ASY001 [*] `time.sleep()` blocks the event loop" in out
    assert "-    time.sleep(1)\n+    await asyncio.sleep(1)\n" in out  # each fix as its diff
    assert "\x1b[" not in out  # not a terminal: no colour
    assert "Fixed 1 finding in src/a.py\n" in out and "Fixed 1 finding in src/b.py\n" in out
    assert out.endswith(
        "Found 3 findings (2 fixed, 1 remaining; 1 fixable with `flowfix fix`) in 2 files.\n"
    )


def test_all_of_a_rule_stops_asking_about_it(workspace: Path) -> None:
    code, out = interact("a\n")
    assert code == 0
    assert out.count(QUESTION) == 1
    assert (workspace / "src" / "a.py").read_text() == ALL_FIXED
    assert (workspace / "src" / "b.py").read_text() == THIRD_FIXED


@pytest.mark.parametrize("answers", ["y\nn\nq\n", "y\nn\n"])  # quit, or the end of input
def test_quit_keeps_what_was_decided_and_stops(workspace: Path, answers: str) -> None:
    code, out = interact(answers)
    assert code == 1
    assert (workspace / "src" / "a.py").read_text() == SECOND_FIXED.replace(
        "    await asyncio.sleep(2)", "    time.sleep(2)"
    ).replace("    time.sleep(1)", "    await asyncio.sleep(1)")
    assert (workspace / "src" / "b.py").read_text() == THIRD  # asked about, not answered
    assert out.count(QUESTION) == 3
    assert out.count("src/b.py:5:5") == 1


def test_interactive_cannot_fix_stdin(workspace: Path) -> None:
    result = CliRunner().invoke(app, ["fix", "--interactive", "-"], input=TWO)
    assert result.exit_code == 2
    assert "--interactive reads its answers from stdin" in result.stderr


def _read_until(fd: int, wanted: str, seen: list[str], timeout: float = 120) -> str:
    """Terminal output up to and including `wanted` (what came before it is in `seen`)."""
    deadline = time.monotonic() + timeout
    buffer = ""
    while wanted not in buffer:
        assert time.monotonic() < deadline, f"no {wanted!r} in {buffer!r}"
        ready, _, _ = select.select([fd], [], [], 1)
        if ready:
            try:
                chunk = os.read(fd, 4096).decode("utf-8", "replace")
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            buffer += chunk
    seen.append(buffer)
    return buffer


def test_on_a_terminal_each_diff_is_coloured_and_answers_are_typed(workspace: Path) -> None:
    main, replica = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    child = subprocess.Popen(
        [sys.executable, "-m", "flowfix", "fix", "--interactive", "--no-cache", "src"],
        cwd=workspace,
        stdin=replica,
        stdout=replica,
        stderr=replica,
        env={**env, "TERM": "xterm"},
        start_new_session=True,
    )
    os.close(replica)
    seen: list[str] = []
    try:
        first = _read_until(main, "[q]uit: ", seen)
        assert "\x1b[31m-    time.sleep(1)\x1b[0m" in first  # removed line: red
        assert "\x1b[32m+    await asyncio.sleep(1)\x1b[0m" in first  # added line: green
        assert "\x1b[36m@@ -1,8 +1,9 @@\x1b[0m" in first  # hunk header: cyan
        os.write(main, b"n\r")
        _read_until(main, "[q]uit: ", seen)
        os.write(main, b"y\r")
        _read_until(main, "[q]uit: ", seen)
        os.write(main, b"q\r")
        _read_until(main, "in 2 files.", seen)
        assert child.wait(timeout=120) == 1
    finally:
        child.kill()
        os.close(main)
    output = "".join(seen)
    assert "Fixed 1 finding in src/a.py" in output
    assert (workspace / "src" / "a.py").read_text() == SECOND_FIXED
    assert (workspace / "src" / "b.py").read_text() == THIRD
