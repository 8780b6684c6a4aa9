"""Every fixtures/<CODE>/<case>.py (or .rs): markers ↔ findings, exact fixed output, fix
invariants.

A line ending in `# expect: CODE[, CODE]` (`// expect:` in Rust) must get exactly those
findings (starting on that line); every other line none. `<case>.fixed.py` (`.fixed.rs`) is the
exact expected output of `fix`; without it the file must come out unchanged.
`# flowfix: unsafe-fixes` (`// flowfix: unsafe-fixes`) in a case opts into unsafe fixes.
"""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.codemod import CodemodContext

from flowfix.codemod import RuleCodemod
from flowfix.rules import Span
from helpers import expected_markers, opts_into_unsafe, run_file, run_text

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CASES = sorted(
    path
    for suffix in ("py", "rs")
    for path in FIXTURES.glob(f"[A-Z][A-Z][A-Z][0-9][0-9][0-9]/*.{suffix}")
    if not path.name.endswith(f".fixed.{suffix}")
)
PYTHON_CASES = [case for case in CASES if case.suffix == ".py"]


def case_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}" + ("" if path.suffix == ".py" else path.suffix)


def fixed_path(case: Path) -> Path:
    """`<case>.fixed.py` for `<case>.py`, `<case>.fixed.rs` for `<case>.rs`."""
    return case.with_name(f"{case.stem}.fixed{case.suffix}")


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_findings_match_markers(case: Path) -> None:
    result = run_file(case)
    assert not result.errors, result.errors
    actual = sorted((f.span.line, f.code) for f in result.findings)
    assert actual == expected_markers(result.source.text if result.source else "")


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_fixed_output(case: Path) -> None:
    text = case.read_bytes().decode("utf-8")
    unsafe = opts_into_unsafe(text)
    result = run_file(case, fix=True, unsafe=unsafe)
    assert not result.errors, result.errors
    assert not [n for n in result.notes if "internal error" in n], result.notes
    expected_path = fixed_path(case)
    expected = expected_path.read_bytes() if expected_path.exists() else case.read_bytes()
    actual = result.new_raw if result.new_raw is not None else case.read_bytes()
    assert actual.decode("utf-8") == expected.decode("utf-8")
    assert actual == expected


@pytest.mark.parametrize("case", [c for c in CASES if fixed_path(c).exists()], ids=case_id)
def test_fixed_output_is_a_fixed_point(case: Path) -> None:
    path = fixed_path(case)
    fixed = path.read_text(encoding="utf-8")
    if case.suffix == ".py":
        cst.parse_module(fixed)
        compile(fixed, str(path), "exec")
    else:
        from flowfix.rust.syntax import error_count, parse

        assert error_count(parse(fixed.encode()).root_node) == 0
    unsafe = opts_into_unsafe(fixed)
    again = run_text(fixed, path.name, fix=True, unsafe=unsafe)
    assert again.new_text is None, "fixing the fixed output changed it again"
    assert not [f for f in again.findings if f.code == case.parent.name and f.fixed]


def test_every_fixture_folder_is_a_known_rule() -> None:
    from flowfix.rules import registry

    folders = {path.name for path in FIXTURES.glob("[A-Z][A-Z][A-Z][0-9][0-9][0-9]")}
    assert folders <= set(registry())


class _SpanProbe(RuleCodemod):
    """A codemod that changes nothing and records every node by its span as codemods see
    it."""

    def __init__(self, context: CodemodContext) -> None:
        super().__init__(context, [])
        self.found: dict[Span, list[cst.CSTNode]] = {}

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.found.setdefault(self.span_of(node), []).append(node)
        return True


@pytest.mark.parametrize("case", PYTHON_CASES, ids=case_id)
def test_every_fixable_finding_names_a_node_codemods_can_find(case: Path) -> None:
    """A codemod finds its nodes by the finding's span and their type: each span must be the
    span of exactly one node of a type (a statement holding just an expression shares the
    expression's span, but not its type)."""
    from flowfix.rules import registry

    result = run_file(case)
    rules = registry()
    fixable = [f for f in result.findings if rules[f.code].fixable]
    if not fixable:
        return
    probe = _SpanProbe(CodemodContext())
    probe.transform_module(cst.parse_module(case.read_text(encoding="utf-8")))
    for finding in fixable:
        assert finding.span in probe.found, f"{finding.code} at {finding.span}: no node"
        # A codemod matches a node of the type it rewrites: one node of each type per span.
        kinds = [type(node).__name__ for node in probe.found[finding.span]]
        assert len(kinds) == len(set(kinds)), f"{finding.code} at {finding.span}: {kinds}"
