"""flowfix.elision: codemods see only the top-level statements a fix touches, and their
change lands on the original text line for line."""

from __future__ import annotations

from pathlib import Path

from flowfix.config import Config
from flowfix.elision import Elision, changed_lines
from flowfix.engine import Options, detect, process_path
from flowfix.fixes import _run_codemod, apply_codemod
from flowfix.rules import Finding, FixSafety, Span, registry

MODULE = (
    "from time import sleep\n"  # 1
    "\n"
    "\n"
    "@decorated\n"  # 4
    "def first(x: 'Pending') -> int:\n"
    "    return sleep(x)\n"
    "\n"
    "\n"
    "class Second:\n"  # 9
    "    field = 1\n"
    "\n"
    "\n"
    "async def target():\n"  # 13
    "    sleep(1)\n"
    "\n"
    "\n"
    "def last():\n"  # 17
    "    global CACHE\n"
    "    CACHE = {}\n"
)


def findings(text: str, code: str = "ASY001") -> list[Finding]:
    return detect(text, "m.py", [registry()[code]], Config(), None).findings


def test_runs_of_untouched_defs_and_classes_become_one_placeholder_line_each() -> None:
    found = findings(MODULE)
    assert [(f.code, f.span.line) for f in found] == [("ASY001", 14)]
    elision = Elision.around(MODULE, found)
    assert elision.reduced == (
        "from time import sleep\n\n\n(sleep, )\n\n\nasync def target():\n    sleep(1)\n\n\n()\n"
    )
    assert elision.runs == ((3, 10), (16, 19))
    assert elision.bound == {"first", "Second", "last", "CACHE"}
    moved = elision.findings(found)
    assert [f.span for f in moved] == [Span(8, 5, 8, 13)]


def test_data_spans_move_with_the_lines() -> None:
    elision = Elision.keeping(MODULE, [13, 14])
    finding = Finding(
        code="X",
        path="m.py",
        span=Span(14, 5, 14, 13),
        message="",
        fix=FixSafety.SAFE,
        data={"loop": [13, 1, 14, 13], "names": ["a", "b"], "many": [[14, 5, 14, 6]], "n": 3},
    )
    (moved,) = elision.findings([finding])
    assert moved.data == {
        "loop": [7, 1, 8, 13],
        "names": ["a", "b"],
        "many": [[8, 5, 8, 6]],
        "n": 3,
    }


def test_the_fix_lands_on_the_original_and_an_import_used_elsewhere_stays() -> None:
    # `sleep` is still read by the elided `first`: the fix must not remove its import.
    rule = registry()["ASY001"]
    new, _ = apply_codemod(rule, MODULE, "m.py", findings(MODULE), Config())
    assert new == MODULE.replace("    sleep(1)\n", "    await asyncio.sleep(1)\n").replace(
        "from time import sleep\n", "import asyncio\nfrom time import sleep\n"
    )
    whole, _ = _run_codemod(rule, MODULE, "m.py", findings(MODULE), Config())
    assert new == whole


def test_a_change_to_a_placeholder_is_refused() -> None:
    elision = Elision.around(MODULE, findings(MODULE))
    assert elision.expand(elision.reduced.replace("()", "(OTHER, )")) is None
    inserted = elision.reduced.replace("async def", "x = 1\n\n\nasync def")
    assert elision.expand(inserted) == MODULE.replace("async def", "x = 1\n\n\nasync def")


def test_lines_ending_in_a_lone_carriage_return_are_not_elided() -> None:
    text = MODULE.replace("\n", "\r")
    assert Elision.around(text, findings(MODULE)).reduced == text


def test_changed_lines_are_lines_of_the_new_text() -> None:
    old = "a\nb\nc\nd\n"
    assert sorted(set(changed_lines(old, "a\nB\nc\nd\n"))) == [1, 2, 3]
    assert sorted(set(changed_lines(old, "a\nb\nx\ny\nc\nd\n"))) == [2, 3, 4, 5]
    assert sorted(set(changed_lines(old, "a\nd\n"))) == [1, 2]


def test_code_libcst_cannot_reproduce_in_an_untouched_def_does_not_block_a_fix(
    tmp_path: Path,
) -> None:
    # libcst prints `except (A, B) :` back as `except (A, B):`; the bytes of `other` are the
    # original's (libcst never prints them), so the file is fixed and they stay as they were.
    other = (
        "def other():\n    try:\n        pass\n    except (ValueError, KeyError) :\n        pass\n"
    )
    text = "import time\n\n\nasync def f():\n    time.sleep(1)\n\n\n" + other
    path = tmp_path / "m.py"
    path.write_text(text)
    result = process_path(
        path, Options(codes=tuple(registry()), fix=True, threshold=FixSafety.SAFE)
    )
    assert result.new_text == (
        "import asyncio\n\n\nasync def f():\n    await asyncio.sleep(1)\n\n\n" + other
    )
