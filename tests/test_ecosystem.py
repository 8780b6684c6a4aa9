"""The ecosystem check: what flowfix reports on pinned real packages, against a committed
snapshot (as ruff's CI does). A change in findings is a reviewed change of
`tests/ecosystem.txt`: `FLOWFIX_UPDATE_FIXTURES=1 python -m pytest tests/test_ecosystem.py`
rewrites it, and `git diff` shows what changed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from corpus import Offline, pinned
from suites import flowfix

pytestmark = pytest.mark.realworld

SNAPSHOT = Path(__file__).resolve().parent / "ecosystem.txt"
HEADER = "# flowfix check on dynamiq 0.69.0, pflow-cli 0.16.0, pocketflow 0.0.3: code path:line\n"


def test_findings_on_pinned_packages_match_the_snapshot(tmp_path: Path) -> None:
    try:
        root = pinned(tmp_path)
    except Offline as exc:
        pytest.skip(f"cannot reach the package registry to download {exc}")
    done = flowfix(root, "check", "--format", "json", "--no-cache", "--quiet", ".")
    assert done.returncode in (0, 1), done.stderr
    report = json.loads(done.stdout)
    lines = sorted(f"{f['code']} {f['path']}:{f['line']}" for f in report["findings"])
    errors = sorted(f"error {e['path']}: {e['message']}" for e in report["errors"])
    actual = HEADER + "".join(f"{line}\n" for line in lines + errors)
    if os.environ.get("FLOWFIX_UPDATE_FIXTURES"):
        SNAPSHOT.write_text(actual, encoding="utf-8")
    assert actual == SNAPSHOT.read_text(encoding="utf-8")
