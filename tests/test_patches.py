"""Diff snapshots in fixtures/_patches/<case>/: exact text, accepted by git apply and patch -p1."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import unidiff

from flowfix.patches import PatchError, apply_patch, make_patch, parse_patch

CASES = sorted(
    p for p in (Path(__file__).resolve().parent.parent / "fixtures" / "_patches").iterdir()
)
UPDATE = os.environ.get("FLOWFIX_UPDATE_FIXTURES") == "1" and not os.environ.get("CI")


def _patch_for(case: Path) -> bytes:
    return make_patch(
        (case / "before.py").read_bytes(), (case / "after.py").read_bytes(), "example.py"
    )


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_patch_matches_snapshot(case: Path) -> None:
    patch = _patch_for(case)
    expected = case / "expected.diff"
    if UPDATE:
        expected.write_bytes(patch)
    assert patch == expected.read_bytes()
    parsed = unidiff.PatchSet(patch.decode("latin-1"))
    assert [f.path for f in parsed] == ["example.py"]


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
@pytest.mark.parametrize(
    "command",
    [["git", "apply", "--check", "patch.diff"], ["patch", "-p1", "--dry-run", "-i", "patch.diff"]],
    ids=["git-apply", "patch-p1"],
)
def test_external_tools_accept_patch(case: Path, command: list[str], tmp_path: Path) -> None:
    if shutil.which(command[0]) is None:
        pytest.skip(f"{command[0]} is not installed")
    shutil.copyfile(case / "before.py", tmp_path / "example.py")
    (tmp_path / "patch.diff").write_bytes(_patch_for(case))
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr + done.stdout


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_git_apply_gives_after(case: Path, tmp_path: Path) -> None:
    shutil.copyfile(case / "before.py", tmp_path / "example.py")
    (tmp_path / "patch.diff").write_bytes(_patch_for(case))
    subprocess.run(["git", "apply", "patch.diff"], cwd=tmp_path, check=True)
    assert (tmp_path / "example.py").read_bytes() == (case / "after.py").read_bytes()


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_flowfix_apply_gives_after(case: Path, tmp_path: Path) -> None:
    shutil.copyfile(case / "before.py", tmp_path / "example.py")
    outcomes = list(apply_patch(_patch_for(case), tmp_path))
    assert [o.error for o in outcomes] == [""]
    assert (tmp_path / "example.py").read_bytes() == (case / "after.py").read_bytes()


def test_identical_text_gives_empty_patch() -> None:
    assert make_patch(b"x = 1\n", b"x = 1\n", "a.py") == b""


def test_apply_refuses_file_whose_hunk_no_longer_matches(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "several_hunks")
    before = (case / "before.py").read_bytes()
    edited = before.replace(b"line25 = 25", b"line25 = 'edited by someone'")
    (tmp_path / "example.py").write_bytes(edited)
    outcomes = list(apply_patch(_patch_for(case), tmp_path))
    assert len(outcomes) == 1 and "hunk 2" in outcomes[0].error
    assert (tmp_path / "example.py").read_bytes() == edited


def test_apply_finds_hunk_after_lines_were_inserted_above(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "several_hunks")
    shifted = b"# a header someone added\n" + (case / "before.py").read_bytes()
    (tmp_path / "example.py").write_bytes(shifted)
    outcomes = list(apply_patch(_patch_for(case), tmp_path))
    assert [o.error for o in outcomes] == [""]
    expected = b"# a header someone added\n" + (case / "after.py").read_bytes()
    assert (tmp_path / "example.py").read_bytes() == expected


def test_corrupt_patch_is_rejected() -> None:
    with pytest.raises(PatchError):
        parse_patch(b"this is not a diff\n")
    with pytest.raises(PatchError):
        parse_patch(b"--- a/x.py\n+++ b/x.py\n@@ -1,3 +1,3 @@\n garbage\n")
