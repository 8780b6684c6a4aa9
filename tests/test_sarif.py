"""`check --format sarif`: a SARIF 2.1.0 log that validates, with exact locations and fixes."""

from __future__ import annotations

import json
import re
from itertools import accumulate
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlparse

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from flowfix import __version__
from flowfix.cli import app
from flowfix.line_edits import LineEdit, line_edits
from flowfix.report.sarif import artifact_location, deleted_region, render
from flowfix.rules import registry
from helpers import run_text

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "sarif-2.1.0-rtm.5.json").read_text())

APP = (
    "import time\n"
    "\n"
    "import requests\n"
    "from dynamiq.nodes.agents import Agent\n"
    "\n"
    "\n"
    "async def poll(client):\n"
    "    time.sleep(1)\n"
    '    return requests.get("https://example.com")\n'
    "\n"
    "\n"
    "def build(llm):\n"
    '    return Agent(name="a", llm=llm, max_loops=30)\n'
)


def invoke(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), input=input)


def sarif(*args: str, input: str | None = None) -> dict[str, Any]:
    """The log of `check --format sarif ARGS` (exit 1: the cases all have findings)."""
    result = invoke("check", "--format", "sarif", "--no-cache", *args, input=input)
    assert result.exit_code == 1, result.output
    log: dict[str, Any] = json.loads(result.stdout)
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    return log


def result_for(log: dict[str, Any], code: str) -> dict[str, Any]:
    (found,) = [r for r in log["runs"][0]["results"] if r["ruleId"] == code]
    return found


def apply_replacements(text: str, replacements: list[dict[str, Any]]) -> str:
    """Apply SARIF replacements to `text` as a viewer would: lines end after each `\\n`, columns
    count code points and include the newline, a region excludes its end position."""
    lines = re.findall(r"[^\n]*\n|[^\n]+\Z", text) or [""]
    starts = [0, *accumulate(len(line) for line in lines)]

    def offset(line: int, column: int) -> int:
        assert 1 <= line <= len(lines) and 1 <= column <= len(lines[line - 1]) + 1
        return starts[line - 1] + column - 1

    spans = sorted(
        (
            offset(r["deletedRegion"]["startLine"], r["deletedRegion"]["startColumn"]),
            offset(r["deletedRegion"]["endLine"], r["deletedRegion"]["endColumn"]),
            r["insertedContent"]["text"],
        )
        for r in replacements
    )
    out, cursor = [], 0
    for start, end, inserted in spans:
        assert cursor <= start <= end
        out += [text[cursor:start], inserted]
        cursor = end
    return "".join(out) + text[cursor:]


def as_replacements(text: str, edits: list[LineEdit]) -> list[dict[str, Any]]:
    return [
        {"deletedRegion": deleted_region(text, e), "insertedContent": {"text": e.text}}
        for e in edits
    ]


def fix_of(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The replacements of a result's only fix, which changes the result's own file."""
    (fix,) = result["fixes"]
    (change,) = fix["artifactChanges"]
    assert (
        change["artifactLocation"] == result["locations"][0]["physicalLocation"]["artifactLocation"]
    )
    replaced: list[dict[str, Any]] = change["replacements"]
    return replaced


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    # AGT001 (opt-in) gives the case an optimization-severity finding beside critical ones.
    (tmp_path / "pyproject.toml").write_text('[tool.flowfix]\nextend-select = ["AGT001"]\n')
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "app.py").write_text(APP)
    return tmp_path


def test_log_describes_the_tool_and_each_finding(project: Path) -> None:
    log = sarif("pkg")
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    assert run["columnKind"] == "unicodeCodePoints"
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": project.resolve().as_uri() + "/"}}
    assert run["invocations"] == [{"executionSuccessful": True, "toolExecutionNotifications": []}]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("flowfix", __version__)
    assert [r["ruleId"] for r in run["results"]] == ["ASY001", "ASY002", "AGT001"]
    agent = result_for(log, "AGT001")
    assert agent == {
        "ruleId": "AGT001",
        "ruleIndex": 0,
        "level": "warning",
        "message": {"text": "AGT001 `max_loops=30` is above the limit of 15 agent iterations"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": "pkg/app.py", "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": 13, "startColumn": 37, "endLine": 13, "endColumn": 49},
                }
            }
        ],
    }
    assert APP.splitlines()[12][36:48] == "max_loops=30"
    for result in run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    assert result_for(log, "ASY001")["level"] == "error"


def test_rules_carry_their_metadata_and_docs(project: Path) -> None:
    rules = sarif("pkg")["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(registry())
    asy002 = next(r for r in rules if r["id"] == "ASY002")
    assert asy002["name"] == "blocking-io-in-async"
    assert asy002["defaultConfiguration"] == {"level": "error"}
    assert asy002["properties"] == {
        "category": "async",
        "severity": "critical",
        "fixSafety": "unsafe",
        "frameworks": ["dynamiq", "pocketflow", "kaygraph", "pflow"],
        "tags": ["performance", "async"],
    }
    assert asy002["help"]["markdown"].startswith(asy002["shortDescription"]["text"] + "\n\n")
    assert "## Fix safety\n" in asy002["help"]["markdown"]
    assert next(r for r in rules if r["id"] == "AGT001")["defaultConfiguration"] == {
        "level": "warning"
    }


def test_fixes_only_where_the_fix_applies(project: Path) -> None:
    safe = sarif("--stdin-filename", "pkg/app.py", "-", input=APP)
    unsafe = sarif("--unsafe-fixes", "--stdin-filename", "pkg/app.py", "-", input=APP)
    assert [sorted(r) for r in safe["runs"][0]["results"]] == [
        ["fixes", "level", "locations", "message", "ruleId", "ruleIndex"],
        ["level", "locations", "message", "ruleId", "ruleIndex"],
        ["level", "locations", "message", "ruleId", "ruleIndex"],
    ]
    assert "fixes" in result_for(unsafe, "ASY002")
    assert "fixes" not in result_for(unsafe, "AGT001")
    assert result_for(unsafe, "ASY001") == result_for(safe, "ASY001")
    assert result_for(safe, "ASY001")["fixes"][0]["description"] == {
        "text": "Replace `time.sleep(...)` in coroutines with `await asyncio.sleep(...)` (safe fix)"
    }


@pytest.mark.parametrize(("code", "flags"), [("ASY001", ()), ("ASY002", ("--unsafe-fixes",))])
def test_a_fix_gives_what_fix_gives_for_that_finding(
    project: Path, code: str, flags: tuple[str, ...]
) -> None:
    log = sarif(*flags, "--stdin-filename", "pkg/app.py", "-", input=APP)
    suggested = apply_replacements(APP, fix_of(result_for(log, code)))
    assert invoke("fix", *flags, "--select", code, "pkg/app.py").exit_code == 0
    assert suggested == (project / "pkg" / "app.py").read_text()
    assert suggested != APP


def test_fixes_for_files_on_disk(project: Path) -> None:
    assert "fixes" in result_for(sarif("pkg"), "ASY001")


@pytest.mark.parametrize(
    ("text", "edit", "region", "fixed"),
    [
        ("a\nb\nc\n", LineEdit(1, 2, "B\n"), (2, 1, 3, 1), "a\nB\nc\n"),
        ("a\nb\n", LineEdit(1, 2, "B\n"), (2, 1, 2, 3), "a\nB\n"),  # the last line
        ("a\nb", LineEdit(1, 2, "B\n"), (2, 1, 2, 2), "a\nB\n"),  # ... without newline
        ("a\nb", LineEdit(0, 2, ""), (1, 1, 2, 2), ""),  # the whole file
        ("a\n", LineEdit(1, 1, "b\n"), (1, 3, 1, 3), "a\nb\n"),  # insertion at the end
        ("a\n", LineEdit(0, 0, "z\n"), (1, 1, 1, 1), "z\na\n"),  # ... at the start
        ("", LineEdit(0, 0, "z\n"), (1, 1, 1, 1), "z\n"),  # ... into an empty file
        ("a\r\nb\r\n", LineEdit(1, 2, "c\r\n"), (2, 1, 2, 4), "a\r\nc\r\n"),  # CRLF
        ("x = '𝔘é'\n", LineEdit(0, 1, "y\n"), (1, 1, 1, 10), "y\n"),  # code points
    ],
)
def test_deleted_region_covers_exactly_the_replaced_lines(
    text: str, edit: LineEdit, region: tuple[int, int, int, int], fixed: str
) -> None:
    keys = ("startLine", "startColumn", "endLine", "endColumn")
    assert deleted_region(text, edit) == dict(zip(keys, region, strict=True))
    assert apply_replacements(text, as_replacements(text, [edit])) == fixed


lines = st.lists(st.sampled_from(["a\n", "b\n", "c\r\n", "\n", "é\n", "𝔘\n"]), max_size=8)
tails = st.sampled_from(["", "z", "𝔘"])


@given(lines, tails, lines, tails)
def test_replacements_turn_old_into_new(old: list[str], old_tail: str, new: list[str], tail: str):
    before, after = "".join(old) + old_tail, "".join(new) + tail
    assert apply_replacements(before, as_replacements(before, line_edits(before, after))) == after


def test_unparsable_file_is_a_notification(project: Path) -> None:
    (project / "pkg" / "bad.py").write_text("def broken(:\n")
    log = sarif("pkg")
    (invocation,) = log["runs"][0]["invocations"]
    assert invocation == {
        "executionSuccessful": True,
        "toolExecutionNotifications": [
            {
                "level": "error",
                "message": {"text": "syntax error at 1:12: invalid syntax"},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": "pkg/bad.py", "uriBaseId": "%SRCROOT%"}
                        }
                    }
                ],
            }
        ],
    }
    assert len(log["runs"][0]["results"]) == 3


def test_non_ascii_path_and_columns(project: Path) -> None:
    text = "import time\n\n\nasync def f():\n    s = 'naïve 𝔘'; time.sleep(1)\n"
    path = project / "pkg" / "données #1.py"
    path.write_text(text)
    log = sarif("pkg/données #1.py")
    (result,) = log["runs"][0]["results"]
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "pkg/donn%C3%A9es%20%231.py"
    assert location["region"] == {"startLine": 5, "startColumn": 20, "endLine": 5, "endColumn": 33}
    assert text.splitlines()[4][19:32] == "time.sleep(1)"
    root = log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    resolved = urlparse(urljoin(root, location["artifactLocation"]["uri"]))
    assert Path(unquote(resolved.path)) == path


def test_absolute_paths_are_file_uris() -> None:
    assert artifact_location("/srv/app/x y.py") == {"uri": "file:///srv/app/x%20y.py"}
    assert artifact_location("a:b/c.py") == {"uri": "a%3Ab/c.py", "uriBaseId": "%SRCROOT%"}


def test_output_does_not_depend_on_result_order() -> None:
    first, second = run_text(APP, "b.py"), run_text(APP, "a.py")
    assert render([first, second], {}) == render([second, first], {})


def test_log_of_all_fixtures_validates(fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(fixtures_dir.parent)
    run = sarif("--select", "ALL,PREVIEW", "fixtures")["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert {r["ruleId"] for r in run["results"]} == {r["id"] for r in rules}
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in run["results"])
    (notification,) = run["invocations"][0]["toolExecutionNotifications"]
    assert notification["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "fixtures/_report/basic/input/app/broken.py"
    )
