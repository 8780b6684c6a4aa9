"""Property tests: flowfix on random Python (hypothesmith) and on generated orchestration code.

- Arbitrary modules (`hypothesmith.from_grammar()` / `from_node()`): check never raises and
  reports an error only for text that CPython or libcst rejects; an unsafe fix yields code that
  compiles and is a fixed point.
- Generated PocketFlow/Dynamiq/async programs (`strategies.programs()`), safe and unsafe: the
  oracle's findings are found, the fixed code compiles, parses, is a fixed point, keeps every
  marker exactly once, keeps the newline style, and leaves near-miss blocks byte-identical.
- Findings are deterministic (in one process and across hash seeds), and a safe-only fix never
  applies an unsafe fix.

Example counts are sized for the "ci" profile (about a minute on 2 cores); run the "fuzz"
profile (`HYPOTHESIS_PROFILE=fuzz`) to hunt for bugs.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import hypothesmith
import libcst as cst
import pytest
from hypothesis import assume, event, example, given, note, settings
from hypothesis import strategies as st
from strategies import Program, examples, programs

from flowfix.engine import FileResult, Options, process_source, with_project
from flowfix.rules import Finding, FixSafety, registry
from flowfix.sources import Source, digest
from flowfix.verify import newline_styles
from helpers import all_codes, run_text

ROOT = Path(__file__).resolve().parent.parent
# hypothesmith writes calls like `1()`, on which compile() warns.
pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")

# --- running flowfix on arbitrary text -----------------------------------------------------


def run_raw(text: str, fix: bool = False, unsafe: bool = False) -> FileResult:
    """Like `helpers.run_text`, but on `text` as is (no decoding step that could change it)."""
    name = "case.py"
    source = Source(
        path=Path(name),
        raw=text.encode("utf-8"),
        text=text,
        encoding="utf-8",
        digest=digest(text.encode("utf-8")),
    )
    options = Options(
        codes=all_codes(), fix=fix, threshold=FixSafety.UNSAFE if unsafe else FixSafety.SAFE
    )
    return process_source(source, name, with_project(options, [(source.path, name, text)]))


def rejection(text: str) -> str:
    """Why CPython (`ast.parse`, `compile`) or libcst rejects `text`; '' when both accept it."""
    try:
        ast.parse(text)
        compile(text, "case.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return f"python: {type(exc).__name__}"
    try:
        cst.parse_module(text)
    except (cst.ParserSyntaxError, RecursionError) as exc:
        return f"libcst: {type(exc).__name__}"
    return ""


def internal_errors(result: FileResult) -> list[str]:
    return [n for n in result.notes if "internal error" in n]


def assert_fixed_code_is_sound(fixed: str, unsafe: bool) -> None:
    """Fixed code compiles, parses with libcst (byte for byte), and is a fixed point."""
    compile(fixed, "fixed.py", "exec", dont_inherit=True)
    assert cst.parse_module(fixed).code == fixed
    again = run_raw(fixed, fix=True, unsafe=unsafe)
    assert not again.errors, again.errors
    if again.new_text is not None:
        note(f"second fix changed the fixed text:\n{again.new_text}")
    assert again.new_text is None, "fixing the fixed text changed it again"


def check_arbitrary_module(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        assume(False)  # lone surrogates: no file on disk can hold them
    why = rejection(text)
    event(why or "accepted by python and libcst")
    checked = run_raw(text)
    if checked.errors:
        note(f"errors: {checked.errors}")
        assert why, f"check reported {checked.errors} for text that python and libcst accept"
        assert len(checked.errors) == 1
        assert re.match(r"(syntax error at |too deeply nested)", checked.errors[0])
    for code in {f.code for f in checked.findings}:
        event(f"finding {code}")
    fixed = run_raw(text, fix=True, unsafe=True)
    assert not internal_errors(fixed), fixed.notes
    assert fixed.errors == checked.errors
    if why:
        assert fixed.new_text is None, "rewrote a file that python or libcst rejects"
        return
    if fixed.new_text is not None:
        event("fix changed the module")
        note(f"fixed:\n{fixed.new_text}")
        assert_fixed_code_is_sound(fixed.new_text, unsafe=True)


@settings(max_examples=examples(40))
@given(hypothesmith.from_grammar())
@example("import time\nasync def f():\n    time.sleep(1)\n")
def test_grammar_modules_check_never_crashes_and_unsafe_fix_is_sound(text: str) -> None:
    check_arbitrary_module(text)


@settings(max_examples=examples(10))
@given(hypothesmith.from_node())
def test_libcst_node_modules_check_never_crashes_and_unsafe_fix_is_sound(text: str) -> None:
    check_arbitrary_module(text)


# --- generated orchestration programs ------------------------------------------------------


def _time_sleep_names(tree: ast.Module) -> tuple[set[str], set[str]]:
    """(names bound to `time.sleep`, names bound to the `time` module) by the module's imports."""
    functions: set[str] = set()
    modules: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            modules |= {a.asname or a.name for a in node.names if a.name == "time"}
        elif isinstance(node, ast.ImportFrom) and node.module == "time":
            functions |= {a.asname or a.name for a in node.names if a.name == "sleep"}
    return functions, modules


def _own_nodes(function: ast.AST) -> list[ast.AST]:
    """Nodes in `function`'s body, not descending into nested functions, lambdas or classes."""
    found: list[ast.AST] = []
    todo = list(ast.iter_child_nodes(function))
    while todo:
        node = todo.pop()
        found.append(node)
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            todo.extend(ast.iter_child_nodes(node))
    return found


def expected_findings(text: str) -> list[tuple[int, str]]:
    """An independent oracle for two rules the generator always gets right:

    - ASY001: a `time.sleep(...)` call directly in an `async def` (not in a nested scope);
    - TIM001: `t0_k = time.time()` / `start_k = time.time()`, only read as `time.time() - t0_k`.
    """
    tree = ast.parse(text)
    sleeps, time_modules = _time_sleep_names(tree)
    expected: list[tuple[int, str]] = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.AsyncFunctionDef):
            continue
        for node in _own_nodes(function):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if (isinstance(func, ast.Name) and func.id in sleeps) or (
                isinstance(func, ast.Attribute)
                and func.attr == "sleep"
                and isinstance(func.value, ast.Name)
                and func.value.id in time_modules
            ):
                expected.append((node.lineno, "ASY001"))
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(r"\s*(t0|start)_\d+ = [\w.]+\(\)$", line):
            expected.append((number, "TIM001"))
    return sorted(expected)


def near_miss_blocks(program: Program, findings: tuple[Finding, ...]) -> list[str]:
    """The program's top-level blocks that no finding touches, in the program's newline style."""
    newline = "\r\n" if "\r\n" in program.text else "\n"
    return [
        block.replace("\n", newline)
        for first, last, block in program.blocks
        if not any(f.span.line <= last and f.span.end_line >= first for f in findings)
    ]


def describe(result: FileResult) -> str:
    return "\n".join(
        f"{f.span.line}:{f.span.column} {f.code} fix={f.fix.value} fixed={f.fixed} {f.note}"
        for f in result.findings
    )


SAFETY = pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])


@SAFETY
@settings(max_examples=examples(8))
@given(program=programs())
def test_fixing_programs_compiles_is_idempotent_and_keeps_markers_newlines_near_misses(
    unsafe: bool, program: Program
) -> None:
    note(program.text)
    checked = run_text(program.text)
    assert not checked.errors, checked.errors
    note(f"check:\n{describe(checked)}")
    found = {(f.span.line, f.code) for f in checked.findings}
    missing = [e for e in expected_findings(program.text) if e not in found]
    assert not missing, f"expected findings not reported: {missing}"

    result = run_text(program.text, fix=True, unsafe=unsafe)
    note(f"fix notes: {result.notes}")
    assert not result.errors, result.errors
    assert not internal_errors(result), result.notes
    for code in sorted({f.code for f in result.findings if f.fixed}):
        event(f"fixed {code}")
    for why in result.notes:
        event(f"note: {why.split(':')[0]}")
    fixed = result.new_text if result.new_text is not None else program.text
    note(f"fixed text:\n{fixed}")

    compile(fixed, "fixed.py", "exec", dont_inherit=True)
    assert cst.parse_module(fixed).code == fixed
    again = run_text(fixed, fix=True, unsafe=unsafe)
    assert again.new_text is None, f"second fix changed the text:\n{again.new_text}"

    lines = [line.strip() for line in fixed.splitlines()]
    for marker in program.markers + program.comment_markers:
        assert lines.count(marker) == 1, f"marker {marker!r} appears {lines.count(marker)} times"

    assert newline_styles(fixed) == newline_styles(program.text)

    blocks = near_miss_blocks(program, checked.findings)
    event(f"{len(blocks)} of {len(program.blocks)} blocks are near misses")
    for block in blocks:
        assert block in fixed, f"near-miss block changed:\n{block}"


# --- determinism, and safe fixes only at the safe threshold --------------------------------


def summary(findings: tuple[Finding, ...]) -> list[tuple[object, ...]]:
    return [
        (f.code, f.path, f.span.line, f.span.column, f.span.end_line, f.span.end_column)
        + (f.message, f.fix.value, f.fixed, f.note)
        for f in findings
    ]


@settings(max_examples=examples(6))
@given(program=programs())
def test_check_is_deterministic_and_safe_fix_applies_only_safe_fixes(program: Program) -> None:
    note(program.text)
    first = run_text(program.text)
    assert summary(run_text(program.text).findings) == summary(first.findings)

    safe = run_text(program.text, fix=True, unsafe=False)
    note(f"safe fix:\n{describe(safe)}\nnotes: {safe.notes}")
    rules = registry()
    fixed_codes = {f.code for f in safe.findings if f.fixed}
    for code in sorted(fixed_codes):
        event(f"safe fix fixed {code}")
    assert all(f.fix is FixSafety.SAFE for f in safe.findings if f.fixed)
    assert all(rules[code].fix is FixSafety.SAFE for code in fixed_codes)

    # Every finding whose fix is only unsafe is still there, unfixed, after the safe fix.
    unsafe_before = Counter(
        (f.code, f.message) for f in first.findings if f.fix is FixSafety.UNSAFE
    )
    after = run_text(safe.new_text) if safe.new_text is not None else first
    unsafe_after = Counter((f.code, f.message) for f in after.findings if f.fix is FixSafety.UNSAFE)
    assert not unsafe_before - unsafe_after, "the safe-only fix removed unsafe-only findings"


CROSS_SEED_SCRIPT = """
import json, sys
sys.path.insert(0, "tests")
from helpers import run_text
out = []
for text in json.load(sys.stdin):
    out.append([[f.code, f.span.line, f.span.column, f.span.end_line, f.span.end_column,
                 f.message, f.fix.value, f.note] for f in run_text(text).findings])
print(json.dumps(out))
"""


def findings_in_subprocess(texts: list[str], seed: str) -> list[list[list[object]]]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    done = subprocess.run(
        [sys.executable, "-c", CROSS_SEED_SCRIPT],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=True,
    )
    return json.loads(done.stdout)


@settings(max_examples=examples(1))
@given(batch=st.lists(programs(), min_size=6, max_size=6))
def test_findings_are_the_same_under_different_hash_seeds(batch: list[Program]) -> None:
    texts = [program.text for program in batch]
    assert findings_in_subprocess(texts, "1") == findings_in_subprocess(texts, "2")
