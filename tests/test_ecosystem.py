"""The ecosystem check: what flowfix reports on pinned real code, against committed snapshots
(as ruff's CI does): the packages users install (`tests/ecosystem.txt`), and the GitHub sources
of the same projects at pinned commits, examples, cookbooks and tests included, with DashFlow's
Rust crates (`tests/ecosystem_github.txt`). Every rule runs (`--select ALL,PREVIEW`), with the
default tests policy. A change in findings is a reviewed change of a snapshot:
`FLOWFIX_UPDATE_FIXTURES=1 python -m pytest tests/test_ecosystem.py` rewrites them, and
`git diff` shows what changed."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from corpus import GITHUB, NoMirror, Offline, github_sources, pinned
from suites import flowfix

pytestmark = pytest.mark.realworld

HERE = Path(__file__).resolve().parent
PACKAGES = HERE / "ecosystem.txt"
PACKAGES_HEADER = (
    "# flowfix check --select ALL,PREVIEW on dynamiq 0.69.0, pflow-cli 0.16.0, pocketflow 0.0.3:"
    " code path:line\n"
)
SOURCES = HERE / "ecosystem_github.txt"
SOURCES_HEADER = "".join(
    [
        "# flowfix check --select ALL,PREVIEW on the GitHub sources: code path:line\n",
        *(
            f"# {folder}/: {repository} at {commit}{f' (its {under}/ folder)' if under else ''}\n"
            for folder, repository, commit, under in GITHUB
        ),
    ]
)


def snapshot_of(root: Path, header: str) -> str:
    """`header`, then one `CODE path:line` line per finding and one line per file error."""
    done = flowfix(
        root, "check", "--select", "ALL,PREVIEW", "--format", "json", "--no-cache", "-q", "."
    )
    assert done.returncode in (0, 1), done.stderr
    report = json.loads(done.stdout)
    lines = sorted(f"{f['code']} {f['path']}:{f['line']}" for f in report["findings"])
    errors = sorted(f"error {e['path']}: {e['message']}" for e in report["errors"])
    return header + "".join(f"{line}\n" for line in lines + errors)


def packages(into: Path) -> Path:
    try:
        return pinned(into)
    except Offline as exc:
        pytest.skip(f"cannot reach the package registry to download {exc}")


def sources(into: Path) -> Path:
    try:
        return github_sources(into)
    except NoMirror as exc:
        pytest.skip(f"the GitHub sources are read from local git mirrors (FLOWFIX_MIRRORS): {exc}")


@pytest.mark.parametrize(
    ("unpack", "snapshot", "header"),
    [(packages, PACKAGES, PACKAGES_HEADER), (sources, SOURCES, SOURCES_HEADER)],
    ids=["packages", "github"],
)
def test_findings_on_pinned_code_match_the_snapshot(
    tmp_path: Path, unpack: Callable[[Path], Path], snapshot: Path, header: str
) -> None:
    actual = snapshot_of(unpack(tmp_path), header)
    if os.environ.get("FLOWFIX_UPDATE_FIXTURES") and not os.environ.get("CI"):
        snapshot.write_text(actual, encoding="utf-8")
    assert actual == snapshot.read_text(encoding="utf-8")
