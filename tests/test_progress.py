"""The progress bar: on stderr only, only for a terminal and many files; results unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import flowfix.cli as cli

SLEEPER = "import time\n\n\nasync def tick_{n}():\n    time.sleep(1)\n"


@pytest.fixture
def many(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for n in range(cli.PROGRESS_MIN_FILES + 5):
        (tmp_path / f"m{n:03}.py").write_text(SLEEPER.format(n=n) if n < 3 else f"X = {n}\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _check(terminal: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.setattr(cli, "_stderr_is_terminal", lambda: terminal)
    done = CliRunner().invoke(cli.app, ["check", "--no-cache", "-j1", "--format", "ide", "."])
    return done.exit_code, done.stdout, done.stderr


def test_bar_on_a_terminal_goes_to_stderr_only(many: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = _check(False, monkeypatch)
    barred = _check(True, monkeypatch)
    assert plain[0] == barred[0] == 1
    assert barred[1] == plain[1] and plain[1].count("ASY001") == 3
    assert plain[2] == ""
    assert "checking" in barred[2]


def test_no_bar_for_a_few_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "one.py").write_text(SLEEPER.format(n=1))
    monkeypatch.chdir(tmp_path)
    code, out, err = _check(True, monkeypatch)
    assert code == 1 and "ASY001" in out and err == ""
