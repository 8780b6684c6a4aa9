"""Every Rust fixture is a crate rustc compiles (a library, metadata only, edition 2021), and
its fixed output compiles too, with no warning the original did not have (an unused `use`
left by a fix would be one).

Fixtures that call tokio or serde_json declare a small local stand-in module for them
(crates.io is not reachable where the tests run).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CASES = sorted(
    path
    for path in FIXTURES.glob("[A-Z][A-Z][A-Z][0-9][0-9][0-9]/*.rs")
    if not path.name.endswith(".fixed.rs")
)
RUSTC = shutil.which("rustc")
pytestmark = pytest.mark.skipif(RUSTC is None, reason="rustc is not installed")


def case_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def compile_warnings(path: Path, out: Path) -> Counter[str]:
    """rustc's warnings on `path` (their messages, without positions); fails on an error."""
    assert RUSTC is not None
    args = [RUSTC, "--crate-type", "lib", "--crate-name", "fixture", "--emit=metadata"]
    args += ["--edition", "2021", "--error-format=json", "--out-dir", str(out), str(path)]
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    messages = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    errors = [m["rendered"] for m in messages if m["level"] == "error"]
    assert proc.returncode == 0, f"{path.name} does not compile:\n" + "".join(errors)
    return Counter(m["message"] for m in messages if m["level"] == "warning")


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_fixture_compiles(case: Path, tmp_path: Path) -> None:
    compile_warnings(case, tmp_path)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.with_name(f"{c.stem}.fixed.rs").exists()], ids=case_id
)
def test_fixed_output_compiles_with_no_new_warning(case: Path, tmp_path: Path) -> None:
    before = compile_warnings(case, tmp_path)
    after = compile_warnings(case.with_name(f"{case.stem}.fixed.rs"), tmp_path)
    assert not after - before, f"new warnings: {sorted(after - before)}"
