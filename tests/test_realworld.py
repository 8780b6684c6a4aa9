"""PocketFlow's own test suite passes the same before and after flowfix fixes PocketFlow.

The sdist is downloaded once (tests/corpus.py) and unpacked per run. The test skips only when
the package registry cannot be reached.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from corpus import Offline, archive, unpack
from suites import flowfix, run_suite, snapshot

pytestmark = pytest.mark.realworld

POCKETFLOW = "pocketflow==0.0.3"


def test_pocketflow_suite_unchanged_by_fixes(tmp_path: Path) -> None:
    try:
        sdist = archive(POCKETFLOW, "--no-binary")
    except Offline:
        pytest.skip(f"cannot reach the package registry to download {POCKETFLOW}")
    (project,) = unpack(sdist, tmp_path).iterdir()
    imported = subprocess.run(
        [sys.executable, "-c", "import pocketflow; print(pocketflow.__file__)"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(project)},
        capture_output=True,
        text=True,
    )
    assert imported.stdout.strip().startswith(str(project)), "the suite must test the unpacked copy"

    before = run_suite(project, "before")
    assert len(before) >= 50 and set(before.values()) == {"passed"}, before
    original = snapshot(project)

    # Every rule, on every file, tests included (the point is that fixes keep the suite's
    # outcomes): opt-in rules selected, the tests policy off.
    config = tmp_path / "flowfix.toml"
    config.write_text('[tool.flowfix]\nselect = ["ALL"]\ntest-paths = []\n')
    # Safe fixes first (what `flowfix fix` does by default), then the unsafe ones on top.
    for stage, unsafe in (("safe", ()), ("unsafe", ("--unsafe-fixes",))):
        flags = ("--config", str(config), *unsafe)
        done = flowfix(project, "fix", *flags, ".")
        assert done.returncode in (0, 1), f"{stage}: {done.stderr}"
        assert "error" not in done.stderr.lower(), done.stderr
        after = run_suite(project, stage)
        assert after == before, f"{stage} fixes changed test outcomes"
        again = flowfix(project, "diff", *flags, ".")
        assert again.returncode == 0 and again.stdout == "", f"{stage}: not a fixed point"

    changed = {name for name, raw in snapshot(project).items() if original[name] != raw}
    # flowfix finds nothing to fix in PocketFlow 0.0.3: the lists its fallback tests extend
    # were MEM001's only findings, and each of those nodes runs once per flow run (issue 15),
    # so no file may change.
    assert changed == set()
