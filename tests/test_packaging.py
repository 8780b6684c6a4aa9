"""The built wheel ships flowfix.detectors and flowfix.codemods and runs without the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_imports_rule_packages(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        check=True,
    )
    wheel = next((tmp_path / "dist").glob("flowfix-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert (
        "flowfix/detectors/async_/blocking_sleep.py" in names
        and "flowfix/codemods/use_asyncio_sleep.py" in names
    )
    assert not any(
        name.startswith(("detectors/", "codemods/", "tests/", "fixtures/")) for name in names
    )
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    # -S skips site, so the editable install's import hook is not loaded; dependencies come
    # from this interpreter's site-packages as a plain path entry, flowfix from the wheel.
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(target), sysconfig.get_paths()["purelib"]]),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-S",
            "-c",
            "import flowfix, flowfix.cli as c; from flowfix.rules import registry; "
            "print(flowfix.__file__); print(sorted(registry()))",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith(str(target))
    assert "ASY001" in done.stdout
