"""The pre-commit hooks: their entries, run as pre-commit runs them on staged files."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
HOOKS = {hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
BLOCKING = "import time\n\n\nasync def fetch(url):\n    time.sleep(1)\n"


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True)
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with one staged file with a finding and one unstaged one."""
    git(tmp_path, "init", "-q")
    (tmp_path / "staged.py").write_text(BLOCKING)
    (tmp_path / "unstaged.py").write_text(BLOCKING)
    (tmp_path / "notes.txt").write_text("time.sleep in async code\n")
    git(tmp_path, "add", "staged.py", "notes.txt")
    return tmp_path


def run_hook(repo: Path, hook_id: str) -> subprocess.CompletedProcess[str]:
    """What pre-commit does: the hook's entry plus the staged files of its types."""
    hook = HOOKS[hook_id]
    staged = git(repo, "diff", "--cached", "--name-only").split()
    files = [name for name in staged if name.endswith(".py")]  # `types: [python]`
    program, *args = shlex.split(hook["entry"])
    assert program == "flowfix"
    command = [sys.executable, "-m", "flowfix", *args, *files]
    return subprocess.run(command, cwd=repo, capture_output=True, text=True)


def test_hooks_are_python_hooks_run_once_over_all_files() -> None:
    assert set(HOOKS) == {"flowfix-check", "flowfix-fix"}
    for hook in HOOKS.values():
        assert hook["language"] == "python" and hook["types"] == ["python"]
        assert hook["require_serial"] is True


def test_check_hook_fails_on_a_staged_finding_only(repo: Path) -> None:
    done = run_hook(repo, "flowfix-check")
    assert done.returncode == 1
    assert "staged.py:5:5: ASY001" in done.stdout
    assert "unstaged.py" not in done.stdout


def test_fix_hook_rewrites_the_staged_file_and_check_then_passes(repo: Path) -> None:
    done = run_hook(repo, "flowfix-fix")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "await asyncio.sleep(1)" in (repo / "staged.py").read_text()
    assert (repo / "unstaged.py").read_text() == BLOCKING
    assert run_hook(repo, "flowfix-check").returncode == 0
