"""One finding's fix on its own, and rewrites as whole-line edits (SARIF fixes, LSP edits)."""

from __future__ import annotations

import gc

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowfix.config import Config
from flowfix.line_edits import LineEdit, apply_line_edits, line_edits
from flowfix.rules import FixSafety
from flowfix.suggest import fix_finding, suggested_fixes
from helpers import TWO_SLEEPS, run_text

lines = st.lists(st.sampled_from(["a\n", "b\n", "c\r\n", "\n", "é\n"]), max_size=8)
tails = st.sampled_from(["", "z", "é"])


@given(lines, tails, lines, tails)
def test_line_edits_turn_old_into_new(old: list[str], old_tail: str, new: list[str], tail: str):
    before, after = "".join(old) + old_tail, "".join(new) + tail
    edits = line_edits(before, after)
    assert apply_line_edits(before, edits) == after
    assert all(a.end <= b.start for a, b in zip(edits, edits[1:], strict=False))


def test_line_edits_are_the_changed_lines_only() -> None:
    assert line_edits("a\nb\nc\n", "a\nB\nc\n") == [LineEdit(1, 2, "B\n")]
    assert line_edits("a\nc\n", "a\nb\nc\n") == [LineEdit(1, 1, "b\n")]
    assert line_edits("a\nb\n", "a\n") == [LineEdit(1, 2, "")]
    assert line_edits("same\n", "same\n") == []


def test_fix_finding_fixes_that_finding_alone() -> None:
    result = run_text(TWO_SLEEPS)
    first, second = result.findings
    fixed = fix_finding(TWO_SLEEPS, "case.py", second, Config())
    expected = TWO_SLEEPS.replace("import time\n", "import asyncio\nimport time\n")
    assert fixed == expected.replace("time.sleep(2)", "await asyncio.sleep(2)")
    assert [f.span.line for f in run_text(fixed).findings] == [first.span.line + 1]


def test_no_fix_for_a_rule_without_codemod() -> None:
    text = (
        "from dynamiq.nodes.agents import Agent\n"
        "\n"
        "\n"
        "def build(llm):\n"
        "    return Agent(name='a', llm=llm, max_loops=30)\n"
    )
    (finding,) = run_text(text).findings
    assert finding.code == "AGT001"
    assert fix_finding(text, "case.py", finding, Config()) is None


def test_suggested_fixes_follow_the_threshold() -> None:
    text = (
        "import requests\n"
        "import time\n"
        "\n"
        "\n"
        "async def fetch(url):\n"
        "    time.sleep(1)\n"
        "    return requests.get(url)\n"
    )
    result = run_text(text)
    codes = sorted(f.code for f in result.findings)
    assert codes == ["ASY001", "ASY002"]
    safe = suggested_fixes(result, Config(), FixSafety.SAFE)
    assert [f.code for f in safe] == ["ASY001"]
    (edits,) = safe.values()
    assert apply_line_edits(text, edits).count("await asyncio.sleep(1)") == 1
    unsafe = suggested_fixes(result, Config(), FixSafety.UNSAFE)
    assert sorted(f.code for f in unsafe) == ["ASY001", "ASY002"]


def test_fix_finding_runs_with_the_collector_paused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A quick fix builds libcst's large trees: no collection may walk them meanwhile."""
    import flowfix.suggest as suggest

    seen: list[bool] = []
    real = suggest.apply_codemod

    def recording(*args: object, **kwargs: object) -> object:
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(suggest, "apply_codemod", recording)
    finding = run_text(TWO_SLEEPS).findings[0]
    assert gc.isenabled()
    assert fix_finding(TWO_SLEEPS, "case.py", finding, Config()) is not None
    assert seen == [False]
    assert gc.isenabled()
