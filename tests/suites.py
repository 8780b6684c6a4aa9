"""Run a project's own test suite and flowfix itself in subprocesses, for before/after tests."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def run_suite(project: Path, label: str, tests: str = "tests") -> dict[str, str]:
    """Run `project`'s tests against its own (possibly fixed) sources: {test id: outcome}."""
    report = project.parent / f"{label}.xml"
    env = {**os.environ, "PYTHONPATH": str(project), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", tests]
        + [f"--junitxml={report}", "--rootdir", str(project)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    assert report.exists(), done.stdout[-2000:] + done.stderr[-2000:]
    outcomes: dict[str, str] = {}
    for case in ET.parse(report).iter("testcase"):
        kinds = {child.tag for child in case} & {"failure", "error", "skipped"}
        outcomes[f"{case.get('classname')}::{case.get('name')}"] = (kinds or {"passed"}).pop()
    return outcomes


def flowfix(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowfix", *args], cwd=cwd, capture_output=True, text=True
    )


def snapshot(project: Path) -> dict[str, bytes]:
    """Every Python file under `project` by relative path."""
    return {str(p.relative_to(project)): p.read_bytes() for p in project.rglob("*.py")}
