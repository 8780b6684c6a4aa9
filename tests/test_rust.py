"""Rust files through every command: discovery, configuration, suppressions, cache, output
formats, patches and stdin, as for Python (the rules themselves: fixtures/RS*)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flowfix import runner
from flowfix.cli import app
from flowfix.discovery import discover
from helpers import run_text

SLEEPY = (
    "use std::thread;\n"
    "use std::time::Duration;\n"
    "\n"
    "pub async fn wait() {\n"
    "    thread::sleep(Duration::from_millis(5));\n"
    "}\n"
)
SLEEPY_FIXED = (
    "use std::time::Duration;\n"
    "\n"
    "pub async fn wait() {\n"
    "    tokio::time::sleep(Duration::from_millis(5)).await;\n"
    "}\n"
)
VEC = (
    "pub fn lengths(items: &[String]) -> Vec<usize> {\n"
    "    let mut out = Vec::new();\n"
    "    for item in items {\n"
    "        out.push(item.len());\n"
    "    }\n"
    "    out\n"
    "}\n"
)


def invoke(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), input=input)


@pytest.fixture
def crate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cargo project with a Python helper, a build folder and the current folder set."""
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "demo"\n')
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "lib.rs").write_text(SLEEPY)
    (tmp_path / "src" / "vecs.rs").write_text(VEC)
    (tmp_path / "target" / "debug" / "build").mkdir(parents=True)
    (tmp_path / "target" / "debug" / "build" / "out.rs").write_text(SLEEPY)
    (tmp_path / "tools.py").write_text("import time\nasync def f():\n    time.sleep(1)\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_discovery_finds_rust_and_python_files_and_skips_cargo_target(crate: Path) -> None:
    files, errors = discover([crate])
    assert [p.relative_to(crate).as_posix() for p in files] == [
        "src/lib.rs",
        "src/vecs.rs",
        "tools.py",
    ]
    assert errors == []


def test_check_reports_each_language_with_its_rules(crate: Path) -> None:
    result = invoke("check", "--no-cache", "--format", "ide", "--extend-select", "RSP001", ".")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "src/lib.rs:5:5: RSA001 `thread::sleep` blocks the executor thread in async fn `wait`",
        "src/vecs.rs:2:5: RSP001 `out` grows by one push per iteration over `items`: "
        "create it with `Vec::with_capacity(items.len())`",
        "tools.py:3:5: ASY001 `time.sleep()` blocks the event loop in async `f()`",
    ]


def test_select_ignore_and_per_file_ignores(crate: Path) -> None:
    codes = lambda result: sorted(line.split()[1] for line in result.stdout.splitlines())  # noqa: E731
    assert codes(invoke("check", "--no-cache", "--format", "ide", "--select", "RS", ".")) == [
        "RSA001",
        "RSP001",
    ]
    extend = ("--extend-select", "RSP001")
    assert codes(
        invoke("check", "--no-cache", "--format", "ide", *extend, "--ignore", "RSA", ".")
    ) == [
        "ASY001",
        "RSP001",
    ]
    (crate / "pyproject.toml").write_text(
        '[tool.flowfix]\nextend-select = ["RSP001"]\nper-file-ignores = {"src/*.rs" = ["RSP001"]}\n'
    )
    assert codes(invoke("check", "--no-cache", "--format", "ide", ".")) == ["ASY001", "RSA001"]


def test_suppression_comments(crate: Path) -> None:
    (crate / "src" / "lib.rs").write_text(
        SLEEPY.replace("(5));", "(5)); // noqa: RSA001") + "pub async fn again() {\n"
        "    thread::sleep(Duration::from_millis(5)); // flowfix: ignore[RSA001]\n"
        "}\n"
    )
    result = invoke("check", "--no-cache", "--statistics", "--format", "json", "src/lib.rs")
    assert result.exit_code == 0
    assert [(row["code"], row["suppressed"]) for row in json.loads(result.stdout)] == [
        ("RSA001", 2)
    ]


def test_cached_rust_results_are_not_analysed_again(
    crate: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = invoke("check", "--format", "ide", "-j", "1", "src")
    assert first.exit_code == 1

    def no_analysis(path: Path, options: object) -> None:
        raise AssertionError(f"{path} analysed again")

    monkeypatch.setattr(runner, "analyse", no_analysis)
    second = invoke("check", "--format", "ide", "-j", "1", "src")
    assert second.stdout == first.stdout


@pytest.mark.parametrize("output", ["text", "github", "markdown", "json", "sarif", "junit"])
def test_every_output_format_names_the_rust_finding(crate: Path, output: str) -> None:
    result = invoke("check", "--no-cache", "--format", output, "src/lib.rs")
    assert result.exit_code == 1
    assert "RSA001" in result.stdout and "src/lib.rs" in result.stdout


def test_sarif_carries_the_unsafe_rust_fix(crate: Path) -> None:
    result = invoke("check", "--no-cache", "--format", "sarif", "--unsafe-fixes", "src/lib.rs")
    (found,) = json.loads(result.stdout)["runs"][0]["results"]
    replaced = found["fixes"][0]["artifactChanges"][0]["replacements"]
    assert any("tokio::time::sleep" in r["insertedContent"]["text"] for r in replaced)


def test_diff_is_a_patch_git_applies_and_fix_writes_it(crate: Path) -> None:
    subprocess.run(["git", "init", "-q"], check=True)
    result = invoke("diff", "--no-cache", "--unsafe-fixes", "src/lib.rs")
    assert result.exit_code == 1
    (crate / "fix.patch").write_text(result.stdout)
    subprocess.run(["git", "apply", "--check", "fix.patch"], check=True)
    assert invoke("fix", "--no-cache", "--unsafe-fixes", "src/lib.rs").exit_code == 0
    assert (crate / "src" / "lib.rs").read_text() == SLEEPY_FIXED


def test_stdin_with_a_rust_name(crate: Path) -> None:
    result = invoke("fix", "--unsafe-fixes", "--stdin-filename", "src/lib.rs", "-", input=SLEEPY)
    assert result.stdout == SLEEPY_FIXED


def test_a_fix_where_the_code_does_not_parse_is_not_made(crate: Path) -> None:
    broken = SLEEPY.replace("Duration::from_millis(5));", "Duration::from_millis(5)); let = ;")
    (crate / "src" / "lib.rs").write_text(broken)
    result = invoke("fix", "--no-cache", "--unsafe-fixes", "src/lib.rs")
    assert result.exit_code == 1
    assert (crate / "src" / "lib.rs").read_text() == broken


def test_a_crlf_file_keeps_its_line_endings(crate: Path) -> None:
    (crate / "src" / "lib.rs").write_bytes(SLEEPY.replace("\n", "\r\n").encode())
    assert invoke("fix", "--no-cache", "--unsafe-fixes", "src/lib.rs").exit_code == 0
    assert (crate / "src" / "lib.rs").read_bytes() == SLEEPY_FIXED.replace("\n", "\r\n").encode()


def test_rules_lists_the_language() -> None:
    lines = invoke("rules").stdout.splitlines()
    assert lines[0].split()[:3] == ["CODE", "NAME", "LANGUAGE"]
    assert any(
        line.split()[:3] == ["RSA001", "blocking-sleep-in-async-rust", "rust"] for line in lines
    )
    assert any(
        line.split()[:3] == ["ASY001", "blocking-sleep-in-async", "python"] for line in lines
    )


def test_a_python_run_does_not_import_tree_sitter(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import time\nasync def f():\n    time.sleep(1)\n")
    code = (
        "import sys\n"
        "from flowfix.cli import main\n"
        f"sys.argv = ['flowfix', 'check', '--no-cache', '-j', '1', {str(tmp_path)!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "assert not [m for m in sys.modules if m.startswith('tree_sitter')], 'imported'\n"
        "assert 'flowfix.rust' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


ENTRY_MAIN = """use std::fs;

#[tokio::main]
async fn main() {
    fs::write("report.txt", "setup").unwrap();
}
"""


@pytest.mark.parametrize(
    ("text", "found"),
    [
        # A runtime's entry `main` that starts nothing beside itself: nothing else runs while
        # it blocks (an example's setup or a CLI's single job), as ASY003's script entry.
        (ENTRY_MAIN, []),
        (ENTRY_MAIN.replace("#[tokio::main]", '#[tokio::main(flavor = "current_thread")]'), []),
        # Work spawned beside it, or joined with it, is stalled by the blocking call.
        (ENTRY_MAIN.replace("{\n", "{\n    tokio::spawn(async {});\n", 1), [6]),
        (ENTRY_MAIN.replace("{\n", "{\n    let _ = tokio::join!(a(), b());\n", 1), [6]),
        # Any other async fn, or a `main` without a runtime attribute, is reported as before.
        (ENTRY_MAIN.replace("fn main", "fn serve"), [5]),
        (ENTRY_MAIN.replace("#[tokio::main]\n", ""), [4]),
    ],
    ids=["alone", "current-thread", "spawns", "joins", "not-main", "no-runtime"],
)
def test_an_entry_main_that_runs_alone_may_block(text: str, found: list[int]) -> None:
    result = run_text(text, "main.rs")
    assert [f.span.line for f in result.findings if f.code == "RSA002"] == found
