"""Every command and exit code, through typer's CliRunner (stdout = data only)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flowfix.cli import app

BLOCKING = (
    "import time\n\n\nasync def fetch(client):\n    time.sleep(1)\n    return await client.get()\n"
)
FIXED = (
    "import asyncio\n"
    "\n"
    "\n"
    "async def fetch(client):\n"
    "    await asyncio.sleep(1)\n"
    "    return await client.get()\n"
)
UNFIXABLE = "import time\n\n\nasync def lazy():\n    return (time.sleep(0) for _ in range(2))\n"
CLEAN = "import asyncio\n\n\nasync def ok():\n    await asyncio.sleep(1)\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "nodes.py").write_text(BLOCKING)
    (tmp_path / "pkg" / "clean.py").write_text(CLEAN)
    return tmp_path


def invoke(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), input=input)


def test_check_clean_exits_0(project: Path) -> None:
    result = invoke("check", "pkg/clean.py")
    assert result.exit_code == 0
    assert result.stdout == "All checks passed (1 file).\n"


def test_check_text_lists_findings_and_exits_1(project: Path) -> None:
    result = invoke("check", "pkg")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "pkg/nodes.py:5:5: ASY001 [*] `time.sleep()` blocks the event loop in async `fetch()`",
        "Found 1 finding (1 fixable with `flowfix fix`) in 2 files.",
    ]


def test_check_ide_format_is_one_line_per_finding(project: Path) -> None:
    result = invoke("check", "--format", "ide", "pkg/nodes.py")
    assert result.exit_code == 1
    assert result.stdout == (
        "pkg/nodes.py:5:5: ASY001 `time.sleep()` blocks the event loop in async `fetch()`\n"
    )


def test_check_github_format_annotates_each_finding(project: Path) -> None:
    result = invoke("check", "--format", "github", "pkg/nodes.py")
    assert result.exit_code == 1
    assert result.stdout == (
        "::error title=flowfix (ASY001 blocking-sleep-in-async),file=pkg/nodes.py,line=5,col=5,"
        "endLine=5,endColumn=18::ASY001 `time.sleep()` blocks the event loop in async `fetch()`\n"
    )


def test_github_format_escapes_workflow_command_syntax() -> None:
    from flowfix.engine import FileResult
    from flowfix.report import github
    from flowfix.rules import Finding, FixSafety, Span

    finding = Finding(
        "EXE004", "odd,name:100%.py", Span(2, 1, 2, 9), "size 8\nof 100%", FixSafety.UNSAFE
    )
    results = [
        FileResult("odd,name:100%.py", findings=(finding,)),
        FileResult("bad.py", errors=("syntax error at 1:2: invalid syntax",)),
    ]
    assert github.render(results).splitlines() == [
        "::warning title=flowfix (EXE004 hard-coded-pool-size),file=odd%2Cname%3A100%25.py,"
        "line=2,col=1,endLine=2,endColumn=9::EXE004 size 8%0Aof 100%25",
        "::error title=flowfix (E999),file=bad.py,line=1,col=1::"
        "syntax error at 1:2: invalid syntax",
    ]


def test_check_json_format(project: Path) -> None:
    result = invoke("check", "--format", "json", "pkg")
    document = json.loads(result.stdout)
    assert document["version"] == 1 and document["files"] == 2 and document["errors"] == []
    assert document["findings"] == [
        {
            "code": "ASY001",
            "name": "blocking-sleep-in-async",
            "path": "pkg/nodes.py",
            "line": 5,
            "column": 5,
            "end_line": 5,
            "end_column": 18,
            "message": "`time.sleep()` blocks the event loop in async `fetch()`",
            "severity": "critical",
            "fix": "safe",
            "fixed": False,
        }
    ]


def test_check_markdown_to_output_file(project: Path) -> None:
    result = invoke("check", "--format", "markdown", "--output", "report.md", "pkg")
    assert result.exit_code == 1 and result.stdout == ""
    report = (project / "report.md").read_text()
    assert "### Critical Issues\n- [ ] ASY001 `time.sleep()`" in report
    assert "— pkg/nodes.py:5:5 (fix: safe)" in report


def test_select_and_ignore(project: Path) -> None:
    assert invoke("check", "--ignore", "ASY001", "pkg").exit_code == 0
    assert invoke("check", "--select", "ASY", "pkg").exit_code == 1
    assert invoke("check", "--select", "ASY001", "--ignore", "ASY", "pkg").exit_code == 0


def test_unknown_rule_code_is_a_usage_error(project: Path) -> None:
    result = invoke("check", "--select", "XYZ123", "pkg")
    assert result.exit_code == 2
    assert "unknown rule code, prefix or group 'XYZ123'" in result.stderr


def test_diff_prints_patch_writes_nothing_exits_1(project: Path) -> None:
    result = invoke("diff", "pkg")
    assert result.exit_code == 1
    assert result.stdout.startswith("diff --git a/pkg/nodes.py b/pkg/nodes.py\n")
    assert "+    await asyncio.sleep(1)\n" in result.stdout
    assert (project / "pkg" / "nodes.py").read_text() == BLOCKING
    applied = subprocess.run(["git", "apply", "-"], input=result.stdout, text=True, cwd=project)
    assert applied.returncode == 0
    assert (project / "pkg" / "nodes.py").read_text() == FIXED


def test_diff_clean_exits_0_with_empty_output(project: Path) -> None:
    result = invoke("diff", "pkg/clean.py")
    assert result.exit_code == 0 and result.stdout == ""


def test_diff_patch_file(project: Path) -> None:
    result = invoke("diff", "--patch-file", "fixes.diff", "pkg")
    assert result.exit_code == 1 and result.stdout == ""
    assert (project / "fixes.diff").read_text().startswith("diff --git a/pkg/nodes.py")


def test_fix_rewrites_and_reports(project: Path) -> None:
    result = invoke("fix", "--report", "report.md", "pkg")
    assert result.exit_code == 0, result.output
    assert (project / "pkg" / "nodes.py").read_text() == FIXED
    assert "Fixed 1 finding in pkg/nodes.py" in result.stdout
    assert "- [x] ASY001" in (project / "report.md").read_text()
    assert invoke("check", "pkg").exit_code == 0


def test_fix_exits_1_when_findings_remain(project: Path) -> None:
    (project / "pkg" / "lazy.py").write_text(UNFIXABLE)
    result = invoke("fix", "pkg")
    assert result.exit_code == 1
    assert (project / "pkg" / "lazy.py").read_text() == UNFIXABLE
    assert (project / "pkg" / "nodes.py").read_text() == FIXED


def test_fix_stdin_prints_fixed_code_and_writes_nothing(project: Path) -> None:
    result = invoke("fix", "--stdin-filename", "pkg/nodes.py", "-", input=BLOCKING)
    assert result.exit_code == 0
    assert result.stdout == FIXED
    assert (project / "pkg" / "nodes.py").read_text() == BLOCKING


def test_check_stdin_ide_lines_use_stdin_filename(project: Path) -> None:
    result = invoke("check", "--format", "ide", "--stdin-filename", "app/x.py", "-", input=BLOCKING)
    assert result.exit_code == 1
    assert result.stdout.startswith("app/x.py:5:5: ASY001 ")


def test_apply_edited_patch(project: Path) -> None:
    (project / "pkg" / "other.py").write_text(BLOCKING)
    patch = invoke("diff", "pkg").stdout
    # Drop the second file's part, as a reviewer would.
    first = patch.split("diff --git a/pkg/other.py")[0]
    (project / "reviewed.diff").write_text(first)
    result = invoke("apply", "reviewed.diff")
    assert result.exit_code == 0
    assert "Applied 1 hunk to pkg/nodes.py" in result.stdout
    assert (project / "pkg" / "nodes.py").read_text() == FIXED
    assert (project / "pkg" / "other.py").read_text() == BLOCKING


def test_apply_refuses_stale_file_applies_others(project: Path) -> None:
    (project / "pkg" / "other.py").write_text(BLOCKING)
    (project / "fixes.diff").write_text(invoke("diff", "pkg").stdout)
    (project / "pkg" / "nodes.py").write_text(BLOCKING.replace("time.sleep(1)", "time.sleep(2)"))
    result = invoke("apply", "fixes.diff")
    assert result.exit_code == 1
    assert "pkg/nodes.py: not applied: hunk 1" in result.stderr
    assert (project / "pkg" / "other.py").read_text() == FIXED


def test_apply_corrupt_patch_is_usage_error(project: Path) -> None:
    (project / "bad.diff").write_text("not a patch\n")
    result = invoke("apply", "bad.diff")
    assert result.exit_code == 2 and "bad.diff" in result.stderr


def test_syntax_error_reported_other_files_processed(project: Path) -> None:
    (project / "pkg" / "broken.py").write_text("async def f(:\n    time.sleep(1)\n")
    result = invoke("check", "--format", "json", "pkg")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert [e["path"] for e in document["errors"]] == ["pkg/broken.py"]
    assert "syntax error" in document["errors"][0]["message"]
    assert [f["path"] for f in document["findings"]] == ["pkg/nodes.py"]
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("pkg/broken.py: ")


def test_missing_path_is_reported_and_others_run(project: Path) -> None:
    result = invoke("check", "nope.py", "pkg/nodes.py")
    assert result.exit_code == 1
    assert "nope.py: no such file or directory" in result.stderr
    assert "pkg/nodes.py:5:5" in result.stdout


def test_config_ignore_and_cli_select(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.flowfix]\nignore = ["ASY001"]\n')
    assert invoke("check", "pkg").exit_code == 0
    (project / "pyproject.toml").write_text('[tool.flowfix]\nselect = "ASY001"\n')
    result = invoke("check", "pkg")
    assert result.exit_code == 2 and "pyproject.toml" in result.stderr and "select" in result.stderr


def test_rules_and_explain() -> None:
    listing = invoke("rules")
    assert listing.exit_code == 0 and "ASY001  blocking-sleep-in-async" in listing.stdout
    doc = invoke("explain", "ASY001")
    assert doc.exit_code == 0
    assert "## Why is this bad?" in doc.stdout and "## Fix safety" in doc.stdout
    assert invoke("explain", "blocking-sleep-in-async").exit_code == 0
    assert invoke("explain", "NOPE01").exit_code == 2


def test_console_script_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "flowfix", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.startswith("flowfix ")


def test_threshold_from_config_reaches_the_fix(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.flowfix]\nshared-store-bound = 50\n")
    (project / "pkg" / "chat.py").write_text(
        "from pocketflow import Node\n\n\n"
        "class Chat(Node):\n"
        "    def post(self, shared, prep_res, exec_res):\n"
        '        shared["history"].append(exec_res)\n'
        '        return "continue"\n'
    )
    result = invoke("fix", "--unsafe-fixes", "--select", "MEM001", "pkg/chat.py")
    assert result.exit_code == 0, result.output
    assert (
        'shared["history"] = shared["history"][-50:]' in (project / "pkg" / "chat.py").read_text()
    )


def test_summary_counts_files_that_could_not_be_checked(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "clean.py").write_text("X = 1\n")
    (tmp_path / "broken.py").write_text("def f(:\n")
    result = invoke("check", ".")
    assert result.exit_code == 1
    assert result.stdout == "No findings in 1 file; 1 file could not be checked.\n"
    (tmp_path / "slow.py").write_text("import time\n\n\nasync def f():\n    time.sleep(1)\n")
    result = invoke("check", ".")
    assert result.stdout.endswith("in 3 files; 1 file could not be checked.\n")


def test_the_command_flushes_all_output_before_it_exits(tmp_path: Path) -> None:
    """`python -m flowfix` leaves without tearing the interpreter down (`cli.entry`): output
    larger than a pipe's buffer still arrives whole, and the exit code is the run's."""
    for n in range(300):
        (tmp_path / f"m{n}.py").write_text("import time\n\n\nasync def f():\n    time.sleep(1)\n")
    done = subprocess.run(
        [sys.executable, "-m", "flowfix", "check", "--no-cache", "--format", "json", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1, done.stderr
    assert len(done.stdout) > 65536
    assert [f["code"] for f in json.loads(done.stdout)["findings"]] == ["ASY001"] * 300
