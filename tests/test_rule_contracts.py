"""Every registered rule keeps the contract: metadata, docs headings, runnable doc examples,
detector ↔ codemod pairing, fixtures, and the README table."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from flowfix.rules import FixSafety, Rule, Severity, registry
from helpers import expected_markers, opts_into_unsafe, run_text

ROOT = Path(__file__).resolve().parent.parent
RULES = list(registry().values())
HEADINGS = [
    "## Why is this bad?",
    "## Example",
    "## Use instead",
    "## Fix safety",
    "## Metric to monitor",
]
CATEGORIES = {
    "async",
    "connections",
    "executors",
    "caching",
    "agents",
    "memory",
    "timing",
    "dag",
    "vector",
}


def docs(rule: Rule) -> str:
    return inspect.cleandoc(rule.docs)


SUFFIX = {"python": "py", "rust": "rs"}


def example(rule: Rule, heading: str) -> str:
    section = docs(rule).split(heading, 1)[1]
    match = re.search(rf"```{rule.language}\n(.*?)```", section, re.DOTALL)
    assert match, f"{rule.code}: no {rule.language} block under {heading}"
    return match.group(1)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_an_opt_in_rule_says_why(rule: Rule) -> None:
    """Default rules have no reason to give; an opt-in rule has a group and one line, no
    final period (explain adds it)."""
    assert (rule.opt_in is None) == (rule.why_not_default == "")
    assert not rule.why_not_default.endswith(".")


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_metadata(rule: Rule) -> None:
    assert re.fullmatch(r"[A-Z]{3}\d{3}", rule.code)
    assert re.fullmatch(r"[a-z]+(-[a-z]+)+", rule.name)
    assert isinstance(rule.severity, Severity) and isinstance(rule.fix, FixSafety)
    assert rule.category in CATEGORIES
    assert rule.detector.MESSAGE and not rule.detector.MESSAGE.endswith(".")
    assert (rule.codemod is not None) == (rule.fix is not FixSafety.NONE)


def test_names_are_unique() -> None:
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_docs_headings_in_order(rule: Rule) -> None:
    text = docs(rule)
    wanted = [h for h in HEADINGS if h != "## Fix safety" or rule.fix is not FixSafety.NONE]
    positions = [text.find(h) for h in wanted]
    assert -1 not in positions, f"{rule.code}: missing {wanted[positions.index(-1)]}"
    assert positions == sorted(positions)
    assert ("## Fix safety" in text) == (rule.fix is not FixSafety.NONE)
    assert text.splitlines()[0].strip() and not text.splitlines()[0].startswith("#")


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_doc_examples_behave(rule: Rule) -> None:
    bad, good = example(rule, "## Example"), example(rule, "## Use instead")
    name = f"case.{SUFFIX[rule.language]}"
    found = [f.code for f in run_text(bad, name).findings]
    assert found.count(rule.code) == 1, found
    assert rule.code not in [f.code for f in run_text(good, name).findings]
    if rule.fix is FixSafety.SAFE:
        fixed = run_text(bad, name, fix=True)
        assert fixed.new_text == good


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_fixtures_cover_the_rule(rule: Rule) -> None:
    folder = ROOT / "fixtures" / rule.code
    suffix = SUFFIX[rule.language]
    cases = [p for p in folder.glob(f"*.{suffix}") if not p.name.endswith(f".fixed.{suffix}")]
    positive = [p for p in cases if any(c == rule.code for _, c in expected_markers(p.read_text()))]
    near_miss = [
        p for p in cases if not any(c == rule.code for _, c in expected_markers(p.read_text()))
    ]
    assert positive, f"{rule.code}: no positive fixture"
    assert near_miss, f"{rule.code}: no near-miss fixture"
    if rule.fix is not FixSafety.NONE:
        fixed = list(folder.glob(f"*.fixed.{suffix}"))
        assert fixed, f"{rule.code}: fixable but no .fixed.{suffix} fixture"
        if rule.fix is FixSafety.UNSAFE:
            assert any(opts_into_unsafe(p.read_text()) for p in fixed)


def rules_table() -> str:
    rows = [
        "| code | name | language | severity | fix | default |",
        "|---|---|---|---|---|---|",
    ]
    rows += [
        f"| {r.code} | {r.name} | {r.language} | {r.severity.value} | {r.fix.value} "
        f"| {'yes' if r.default else f'no ({r.opt_in.value})' if r.opt_in else ''} |"
        for r in RULES
    ]
    return "\n".join(rows) + "\n"


def test_readme_rules_table_is_current() -> None:
    readme = (ROOT / "README.md").read_text()
    assert rules_table() in readme, "README's rules table is out of date:\n" + rules_table()
