"""check's --statistics, --quiet/--verbose, colour, and extend-select (file and command line)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flowfix.cli import app

BLOCKING = (
    "import time\n"
    "\n"
    "\n"
    "async def fetch(client):\n"
    "    time.sleep(1)\n"
    "    time.sleep(2)  # noqa: ASY001\n"
    "    start = time.time()\n"
    "    await client.get()\n"
    "    return time.time() - start\n"
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "nodes.py").write_text(BLOCKING)
    (tmp_path / "pkg" / "more.py").write_text(BLOCKING.replace("fetch", "more"))
    return tmp_path


def invoke(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["check", "--no-cache", *args], env=env)


def test_statistics_counts_per_rule_with_suppressed(project: Path) -> None:
    result = invoke("--statistics", "--extend-select", "TIM001", "pkg")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "COUNT  SUPPRESSED  CODE    FIX  NAME",
        "    2           2  ASY001  [*]  blocking-sleep-in-async",
        "    2           0  TIM001  [*]  wall-clock-duration",
        "Found 4 findings (4 fixable with `flowfix fix`) in 2 files.",
    ]


def test_statistics_as_json(project: Path) -> None:
    result = invoke("--statistics", "--format", "json", "--select", "ASY", "pkg")
    assert json.loads(result.stdout) == [
        {
            "code": "ASY001",
            "name": "blocking-sleep-in-async",
            "count": 2,
            "suppressed": 2,
            "fixable": 2,
        }
    ]


def test_statistics_lists_a_rule_whose_findings_are_all_suppressed(project: Path) -> None:
    (project / "pkg" / "more.py").unlink()
    (project / "pkg" / "nodes.py").write_text(BLOCKING.replace("time.sleep(1)\n", "pass\n"))
    result = invoke("--statistics", "--select", "ASY001", "pkg")
    assert result.exit_code == 0
    row = result.stdout.splitlines()[1]
    assert row == "    0           1  ASY001       blocking-sleep-in-async"


def test_statistics_rejects_other_formats(project: Path) -> None:
    result = invoke("--statistics", "--format", "sarif", "pkg")
    assert result.exit_code == 2
    assert result.stderr == "flowfix: error: --statistics works with --format text or json\n"


def test_quiet_prints_findings_only(project: Path) -> None:
    result = invoke("-q", "--select", "ASY", "pkg")
    assert result.exit_code == 1
    assert result.stdout == (
        "pkg/more.py:5:5: ASY001 [*] `time.sleep()` blocks the event loop in async `more()`\n"
        "pkg/nodes.py:5:5: ASY001 [*] `time.sleep()` blocks the event loop in async `fetch()`\n"
    )
    assert result.stderr == ""


def test_quiet_fix_and_diff_print_no_summary(project: Path) -> None:
    diff = CliRunner().invoke(app, ["diff", "-q", "--no-cache", "pkg/nodes.py"])
    assert diff.exit_code == 1 and diff.stdout.startswith("diff --git") and diff.stderr == ""
    fixed = CliRunner().invoke(app, ["fix", "--quiet", "--no-cache", "pkg/nodes.py"])
    assert fixed.exit_code == 0 and fixed.stdout == "" and fixed.stderr == ""
    assert "await asyncio.sleep(1)" in (project / "pkg" / "nodes.py").read_text()


def test_verbose_says_what_runs_on_stderr(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.flowfix]\nselect = ["TIM"]\n')
    result = CliRunner().invoke(app, ["check", "-v", "-j1", "--cache-dir", "cc", "pkg"])
    assert result.exit_code == 1 and result.stdout.count("TIM001") == 2
    lines = result.stderr.splitlines()
    assert lines[:4] == [
        f"flowfix: config: {project / 'pyproject.toml'}",
        "flowfix: 1 rules: TIM001",
        "flowfix: test paths, where production-only rules do not run: tests/, test/, test_*.py,"
        " *_test.py, conftest.py",
        "flowfix: cache: cc",
    ]
    assert lines[4].startswith("flowfix: 2 files, 1 jobs, ")
    assert len(lines) == 5


def test_quiet_and_verbose_together_is_a_usage_error(project: Path) -> None:
    assert invoke("-q", "-v", "pkg").exit_code == 2


RED_CODE = "\x1b[1m\x1b[31mASY001\x1b[0m"


def test_no_colour_when_piped_colour_when_forced_never_with_no_color(project: Path) -> None:
    plain = invoke("--select", "ASY001", "pkg/nodes.py")
    assert "\x1b[" not in plain.stdout
    forced = invoke("--select", "ASY001", "pkg/nodes.py", env={"FORCE_COLOR": "1"})
    assert forced.stdout.startswith("\x1b[1mpkg/nodes.py\x1b[0m:5:5: " + RED_CODE)
    both = invoke("--select", "ASY001", "pkg/nodes.py", env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert both.stdout == plain.stdout


def _on_terminal(args: list[str], env: dict[str, str]) -> str:
    """stdout of `flowfix` run with its stdout on a pseudo-terminal."""
    leader, follower = pty.openpty()
    done = subprocess.run(
        [sys.executable, "-m", "flowfix", *args],
        stdout=follower,
        stderr=subprocess.DEVNULL,
        env=env,
        timeout=120,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the terminal is closed and drained
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert done.returncode == 1
    return b"".join(chunks).decode()


def test_colour_on_a_real_terminal_unless_no_color(project: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    args = ["check", "--no-cache", "--select", "ASY001", "pkg/nodes.py"]
    assert RED_CODE in _on_terminal(args, env)
    assert "\x1b[" not in _on_terminal(args, {**env, "NO_COLOR": "1"})


def test_extend_select_adds_to_the_file_select(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.flowfix]\nselect = ["TIM"]\nextend-select = ["ASY001"]\n'
    )
    assert sorted(_codes(invoke("--format", "json", "pkg/nodes.py"))) == ["ASY001", "TIM001"]
    # the command line's --extend-select adds to it
    (project / "pyproject.toml").write_text('[tool.flowfix]\nselect = ["TIM"]\n')
    extended = invoke("--format", "json", "--extend-select", "ASY", "pkg/nodes.py")
    assert sorted(_codes(extended)) == ["ASY001", "TIM001"]


def test_command_line_select_replaces_the_file_select_and_extend_select(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.flowfix]\nselect = ["TIM"]\nextend-select = ["ASY001"]\n'
    )
    assert _codes(invoke("--format", "json", "--select", "TIM", "pkg/nodes.py")) == ["TIM001"]


def test_unknown_code_in_extend_select_names_file_and_key(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.flowfix]\nextend-select = ["NOPE9"]\n')
    result = invoke("pkg")
    assert result.exit_code == 2
    assert result.stderr == (
        f"flowfix: error: {project / 'pyproject.toml'}: [tool.flowfix] extend-select: "
        "unknown rule code, prefix or group 'NOPE9' (see `flowfix rules`)\n"
    )


def _codes(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [finding["code"] for finding in json.loads(result.stdout)["findings"]]


def test_junit_one_suite_per_file(project: Path) -> None:
    import xml.etree.ElementTree as ET

    (project / "pkg" / "clean.py").write_text("X = 1\n")
    (project / "pkg" / "broken.py").write_text("def (:\n")
    result = invoke("--format", "junit", "--select", "ASY", "pkg")
    assert result.exit_code == 1
    root = ET.fromstring(result.stdout)
    assert root.attrib == {"name": "flowfix", "tests": "4", "failures": "2", "errors": "1"}
    suites = {suite.get("name"): suite for suite in root}
    assert sorted(suites) == ["pkg/broken.py", "pkg/clean.py", "pkg/more.py", "pkg/nodes.py"]
    (case,) = suites["pkg/nodes.py"]
    assert case.attrib == {
        "name": "ASY001 blocking-sleep-in-async",
        "classname": "pkg/nodes.py",
        "file": "pkg/nodes.py",
        "line": "5",
    }
    (failure,) = case
    assert failure.get("type") == "ASY001"
    assert failure.text == (
        "pkg/nodes.py:5:5: ASY001 `time.sleep()` blocks the event loop in async `fetch()`"
    )
    (passed,) = suites["pkg/clean.py"]
    assert passed.get("name") == "flowfix" and len(passed) == 0
    (broken,) = suites["pkg/broken.py"]
    assert broken[0].tag == "error" and broken[0].get("message", "").startswith("syntax error")


def test_output_files_are_replaced_whole_keeping_their_mode(project: Path) -> None:
    report = project / "report.md"
    report.write_text("old report\n")
    report.chmod(0o640)
    result = invoke("--format", "markdown", "--output", "report.md", "pkg")
    assert result.exit_code == 1 and "ASY001" in report.read_text()
    assert report.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in project.iterdir()) == ["pkg", "report.md"]


def test_an_output_file_that_cannot_be_written_is_one_error_and_no_temp_file(
    project: Path,
) -> None:
    (project / "out").mkdir()
    for target in ("out", "missing/report.md"):
        result = invoke("--format", "json", "--output", target, "pkg")
        assert result.exit_code == 2
        assert result.stderr.startswith(f"flowfix: error: {target}: cannot write: ")
        assert result.stderr.count("\n") == 1
    assert list((project / "out").iterdir()) == []
    assert sorted(p.name for p in project.iterdir()) == ["out", "pkg"]


def test_lsp_without_pygls_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pygls" else real(name, *a)
    )
    result = CliRunner().invoke(app, ["lsp"])
    assert result.exit_code == 2
    assert result.stderr == (
        "flowfix: error: the language server needs pygls: `pip install 'flowfix[lsp]'`\n"
    )


def test_help_shows_brackets_literally() -> None:
    runner = CliRunner()
    top = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert "pip install 'flowfix[lsp]'" in top.stdout
    check_help = runner.invoke(app, ["check", "--help"], env={"COLUMNS": "200"})
    assert "pyproject.toml to read [tool.flowfix] from" in check_help.stdout
