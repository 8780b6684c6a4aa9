"""PocketFlow's own test suite passes the same before and after flowfix fixes PocketFlow.

The sdist is downloaded once into `.corpus/downloads/` (git-ignored) and unpacked per run. The
test skips only when the package registry cannot be reached.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from suites import flowfix, run_suite, snapshot

pytestmark = pytest.mark.realworld

ROOT = Path(__file__).resolve().parent.parent
DOWNLOADS = ROOT / ".corpus" / "downloads"
POCKETFLOW = "pocketflow==0.0.3"
OFFLINE = re.compile(
    r"NewConnectionError|ConnectTimeout|Temporary failure in name resolution|"
    r"Network is unreachable|Max retries exceeded|ProxyError|No matching distribution"
)


def _sdist(requirement: str) -> Path:
    name = requirement.split("==")[0]
    cached = sorted(DOWNLOADS.glob(f"{name}-*.tar.gz"))
    if cached:
        return cached[-1]
    DOWNLOADS.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
        + ["--timeout", "30", "--retries", "1", "--dest", str(DOWNLOADS), requirement],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        if OFFLINE.search(done.stderr):
            pytest.skip(f"cannot reach the package registry to download {requirement}")
        pytest.fail(f"pip download {requirement} failed:\n{done.stderr[-2000:]}")
    return sorted(DOWNLOADS.glob(f"{name}-*.tar.gz"))[-1]


def _unpack(archive: Path, into: Path) -> Path:
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    (project,) = into.iterdir()
    return project


def test_pocketflow_suite_unchanged_by_fixes(tmp_path: Path) -> None:
    project = _unpack(_sdist(POCKETFLOW), tmp_path)
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

    # Safe fixes first (what `flowfix fix` does by default), then the unsafe ones on top.
    for stage, flags in (("safe", ()), ("unsafe", ("--unsafe-fixes",))):
        done = flowfix(project, "fix", *flags, ".")
        assert done.returncode in (0, 1), f"{stage}: {done.stderr}"
        assert "error" not in done.stderr.lower(), done.stderr
        after = run_suite(project, stage)
        assert after == before, f"{stage} fixes changed test outcomes"
        again = flowfix(project, "diff", *flags, ".")
        assert again.returncode == 0 and again.stdout == "", f"{stage}: not a fixed point"

    changed = {name for name, raw in snapshot(project).items() if original[name] != raw}
    # PocketFlow's shared-store lists in its fallback tests are bounded by MEM001's unsafe fix;
    # the suite must run the rewritten file, so the test is known to exercise real rewrites.
    assert changed == {"tests/test_fall_back.py"}
    for name in changed:
        compile((project / name).read_text(), name, "exec")
