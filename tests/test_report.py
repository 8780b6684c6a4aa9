"""Report snapshots: fixtures/_report/<scenario>/input → expected.md / expected.json / fixed.md."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flowfix.cli import app

SCENARIOS = sorted((Path(__file__).resolve().parent.parent / "fixtures" / "_report").iterdir())
UPDATE = os.environ.get("FLOWFIX_UPDATE_FIXTURES") == "1" and not os.environ.get("CI")


def _compare(actual: str, expected: Path) -> None:
    if UPDATE:
        expected.write_text(actual, encoding="utf-8")
    assert actual == expected.read_text(encoding="utf-8")


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.name)
@pytest.mark.parametrize("fmt", ["markdown", "json"])
def test_check_report(scenario: Path, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(scenario / "input")
    result = CliRunner().invoke(app, ["check", "--format", fmt, "."])
    assert result.exit_code == 1
    _compare(result.stdout, scenario / f"expected.{'md' if fmt == 'markdown' else fmt}")


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.name)
def test_fix_report_checks_fixed_boxes(
    scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(scenario / "input", tmp_path / "input")
    monkeypatch.chdir(tmp_path / "input")
    result = CliRunner().invoke(app, ["fix", "--report", str(tmp_path / "report.md"), "."])
    assert result.exit_code == 1
    _compare((tmp_path / "report.md").read_text(encoding="utf-8"), scenario / "fixed.md")
