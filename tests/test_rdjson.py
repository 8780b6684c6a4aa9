"""`--format rdjson` for reviewdog: documents that validate against reviewdog's schema, with
positions as reviewdog reads them and each fix as one suggestion that gives the fixed file."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from flowfix.cli import app
from flowfix.config import Config
from flowfix.engine import FileResult
from flowfix.line_edits import LineEdit, apply_line_edits
from flowfix.report import open_findings, rdjson
from flowfix.rules import Finding, FixSafety, Span
from flowfix.suggest import suggested_fixes
from helpers import run_file

SCHEMA = json.loads(
    (Path(__file__).parent / "schemas" / "rdjson-DiagnosticResult.json").read_text()
)
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

APP = (
    "import time\n"
    "\n"
    "from dynamiq.nodes.agents import Agent\n"
    "\n"
    "\n"
    "async def fetch(url):\n"
    '    label = "café"; time.sleep(1)\n'
    "\n"
    "\n"
    "def build(llm):\n"
    '    return Agent(name="a", llm=llm, max_loops=30)\n'
)


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with no property beyond the format's and a range's `start` required (the
    proto's comments say "Required."; its generated schema requires nothing)."""
    tight = copy.deepcopy(schema)
    for definition in tight["definitions"].values():
        definition["additionalProperties"] = False
    tight["definitions"]["reviewdog.rdf.Range"]["required"] = ["start"]
    tight["definitions"]["reviewdog.rdf.Suggestion"]["required"] = ["range", "text"]
    return tight


def validate(document: dict[str, Any]) -> None:
    jsonschema.Draft4Validator(SCHEMA).validate(document)
    jsonschema.Draft4Validator(strict(SCHEMA)).validate(document)


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    # AGT001 (opt-in) gives the case an optimization-severity finding beside critical ones.
    (tmp_path / "pyproject.toml").write_text('[tool.flowfix]\nextend-select = ["AGT001"]\n')
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "app.py").write_text(APP, encoding="utf-8")
    return tmp_path


def _lines(text: str) -> list[str]:
    return re.findall(r"[^\n]*\n|[^\n]+\Z", text)


def offset(text: str, position: dict[str, int]) -> int:
    """A position as reviewdog documents it (1-based line, 1-based UTF-8 byte column; the
    start of the line after the last one is the end of the text) as a string index."""
    lines = _lines(text)
    line, column = position["line"], position["column"]
    if line == len(lines) + 1 and column == 1:
        return len(text)
    row = lines[line - 1].encode("utf-8")
    assert 1 <= column <= len(row) + 1
    return sum(map(len, lines[: line - 1])) + len(row[: column - 1].decode("utf-8"))


def apply_suggestion(text: str, suggestion: dict[str, Any]) -> str:
    """`text` with the suggestion's range (end exclusive) replaced by its text."""
    start = offset(text, suggestion["range"]["start"])
    end = offset(text, suggestion["range"]["end"])
    assert start <= end
    return text[:start] + suggestion["text"] + text[end:]


def as_github_suggestion(text: str, suggestion: dict[str, Any]) -> str:
    """`text` after a GitHub suggested change made from the suggestion as reviewdog's
    github-pr-review reporter makes it: the comment spans the range's lines, and the block
    is the text with, when the range has columns, the start line's bytes before the start
    and the end line's bytes from the end around it; taking it replaces those lines."""
    rows = text.split("\n")
    first, last = suggestion["range"]["start"], suggestion["range"]["end"]
    if first.get("column") or last.get("column"):
        head = rows[first["line"] - 1].encode()[: first["column"] - 1].decode()
        tail = rows[last["line"] - 1].encode()[last["column"] - 1 :].decode()
        block = (head + suggestion["text"] + tail).split("\n")
    else:
        block = suggestion["text"].split("\n") if suggestion["text"] else []
    return "\n".join(rows[: first["line"] - 1] + block + rows[last["line"] :])


def test_check_gives_each_finding_and_each_fix_as_one_suggestion(project: Path) -> None:
    result = invoke("check", "--format", "rdjson", "--no-cache", "pkg")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    validate(document)
    fixed = APP.replace("import time\n", "import asyncio\n")
    fixed = fixed.replace("time.sleep(1)", "await asyncio.sleep(1)")
    assert document == {
        "source": {"name": "flowfix"},
        "diagnostics": [
            {
                "message": "`time.sleep()` blocks the event loop in async `fetch()`",
                "location": {
                    "path": "pkg/app.py",
                    # `é` is two bytes in UTF-8: the columns count bytes, as reviewdog's do
                    "range": {"start": {"line": 7, "column": 22}, "end": {"line": 7, "column": 35}},
                },
                "severity": "ERROR",
                "code": {"value": "ASY001"},
                "suggestions": [
                    {
                        # the whole fix, from the import it removes to the call it rewrites
                        "range": {
                            "start": {"line": 1, "column": 1},
                            "end": {"line": 7, "column": 35},
                        },
                        "text": "".join(_lines(fixed)[:7]).removesuffix("\n"),
                    }
                ],
            },
            {
                "message": "`max_loops=30` is above the limit of 15 agent iterations",
                "location": {
                    "path": "pkg/app.py",
                    "range": {
                        "start": {"line": 11, "column": 37},
                        "end": {"line": 11, "column": 49},
                    },
                },
                "severity": "WARNING",
                "code": {"value": "AGT001"},
            },
        ],
    }
    (suggestion,) = document["diagnostics"][0]["suggestions"]
    assert apply_suggestion(APP, suggestion) == fixed
    assert as_github_suggestion(APP, suggestion) == fixed


def test_unsafe_fixes_are_suggested_only_with_unsafe_fixes(project: Path) -> None:
    (project / "pkg" / "app.py").write_text(
        "import requests\n\n\nasync def fetch(url):\n    return requests.get(url)\n"
    )

    def suggestions(*flags: str) -> list[Any]:
        result = invoke("check", "--format", "rdjson", "--no-cache", *flags, "pkg")
        document = json.loads(result.stdout)
        validate(document)
        (diagnostic,) = document["diagnostics"]
        assert diagnostic["code"] == {"value": "ASY002"}
        return list(diagnostic.get("suggestions", []))

    assert suggestions() == []
    assert len(suggestions("--unsafe-fixes")) == 1


def test_diff_lists_the_findings_it_fixes_with_their_fixes(project: Path) -> None:
    result = invoke("diff", "--format", "rdjson", "--no-cache", "pkg")
    assert result.exit_code == 1  # there is something to fix
    document = json.loads(result.stdout)
    validate(document)
    (diagnostic,) = document["diagnostics"]  # AGT001 has no fix: not in the diff
    assert diagnostic["code"] == {"value": "ASY001"}
    (suggestion,) = diagnostic["suggestions"]
    assert "await asyncio.sleep(1)" in apply_suggestion(APP, suggestion)
    assert (project / "pkg" / "app.py").read_text() == APP  # nothing written


def test_diff_with_nothing_to_fix_is_an_empty_document(project: Path) -> None:
    (project / "pkg" / "app.py").write_text("def f():\n    return 1\n")
    result = invoke("diff", "--format", "rdjson", "--no-cache", "pkg")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"source": {"name": "flowfix"}, "diagnostics": []}


def test_a_file_that_cannot_be_checked_is_a_diagnostic_without_range(project: Path) -> None:
    (project / "pkg" / "broken.py").write_text("def f(:\n")
    result = invoke("check", "--format", "rdjson", "--no-cache", "pkg/broken.py")
    document = json.loads(result.stdout)
    validate(document)
    (diagnostic,) = document["diagnostics"]
    assert diagnostic["location"] == {"path": "pkg/broken.py"}
    assert diagnostic["severity"] == "ERROR" and diagnostic["code"] == {"value": "E999"}


def _render(text: str, edits: list[LineEdit]) -> dict[str, Any]:
    """The suggestion of a finding on line 1 of `text` whose fix is `edits`."""
    from flowfix.sources import from_stdin

    finding = Finding("ASY001", "x.py", Span(1, 1, 1, 2), "m", FixSafety.SAFE)
    source = from_stdin(text.encode(), "x.py")
    result = FileResult(display="x.py", findings=(finding,), source=source)
    document = json.loads(rdjson.render([result], [finding], {finding: edits}))
    validate(document)
    (suggestion,) = document["diagnostics"][0]["suggestions"]
    assert apply_suggestion(text, suggestion) == apply_line_edits(text, edits)
    assert as_github_suggestion(text, suggestion) == apply_line_edits(text, edits)
    return dict(suggestion)


@pytest.mark.parametrize(
    ("text", "edits", "expected"),
    [
        # whole lines for whole lines: up to the last line's end, its newline left out
        ("a\nbé\nc\n", [LineEdit(1, 2, "B\n")], ((2, 1), (2, 4), "B")),
        # an insertion: from the start of the line it goes before, to the same place
        ("a\nc\n", [LineEdit(1, 1, "b\n")], ((2, 1), (2, 1), "b\n")),
        # a deletion at the end: up to the start of the line after the last one
        ("a\nb\n", [LineEdit(1, 2, "")], ((2, 1), (3, 1), "")),
        # a last line without a newline, replaced by one without
        ("a\nb", [LineEdit(1, 2, "B")], ((2, 1), (2, 2), "B")),
        # a last line without a newline, replaced by one with: start of line to end of text
        ("a\nb", [LineEdit(1, 2, "B\n")], ((2, 1), (2, 2), "B\n")),
        # two edits: one suggestion over the lines they span
        (
            "a\nb\nc\n",
            [LineEdit(0, 0, "z\n"), LineEdit(2, 3, "C\n")],
            ((1, 1), (3, 2), "z\na\nb\nC"),
        ),
    ],
)
def test_suggestion_ranges(
    text: str, edits: list[LineEdit], expected: tuple[tuple[int, int], tuple[int, int], str]
) -> None:
    (start_line, start_column), (end_line, end_column), replacement = expected
    assert _render(text, edits) == {
        "range": {
            "start": {"line": start_line, "column": start_column},
            "end": {"line": end_line, "column": end_column},
        },
        "text": replacement,
    }


def _fixture_cases() -> list[Path]:
    """The first two fixed cases of each rule, and the patch cases (CRLF, BOM, latin-1, no
    final newline, several hunks)."""
    cases = sorted(FIXTURES.glob("_patches/*/before.py"))
    for folder in sorted(FIXTURES.glob("[A-Z][A-Z][A-Z][0-9][0-9][0-9]")):
        fixed = sorted(folder.glob("*.fixed.py"))[:2]
        cases += [path.with_name(path.name.removesuffix(".fixed.py") + ".py") for path in fixed]
    return cases


def test_fixture_fixes_taken_as_suggestions_give_the_findings_fixes() -> None:
    """On fixtures of every fixable rule: each finding's suggestion, applied as reviewdog
    documents ranges and as GitHub applies the suggested change reviewdog makes of it, gives
    that finding's fix (`suggest.fix_finding`, tested in test_suggest.py)."""
    checked = 0
    for path in _fixture_cases():
        result = run_file(path, unsafe=True)
        assert result.source is not None
        text = result.source.text
        fixes = suggested_fixes(result, Config(), FixSafety.UNSAFE)
        findings = list(open_findings([result]))
        document = json.loads(rdjson.render([result], findings, fixes))
        validate(document)
        for diagnostic, finding in zip(document["diagnostics"], findings, strict=True):
            if finding not in fixes:
                assert "suggestions" not in diagnostic
                continue
            (suggestion,) = diagnostic["suggestions"]
            fixed = apply_line_edits(text, fixes[finding])  # that finding's fix alone
            assert apply_suggestion(text, suggestion) == fixed, path
            assert as_github_suggestion(text, suggestion) == fixed, path
            checked += 1
    assert checked > 30
