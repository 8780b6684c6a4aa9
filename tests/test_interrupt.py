"""SIGINT/SIGTERM during `flowfix fix`: a clean stop, and no file lost or half written.

`python -m flowfix fix` runs as a subprocess on many distinct fixable files; once it has
rewritten at least one, it gets the signal. Then: exit 130 (SIGINT) or 143 (SIGTERM), one
`flowfix: interrupted` line and no traceback on stderr, every file exactly its old bytes or
exactly the bytes `fix` gives it, the files reported as fixed on stdout are exactly the
rewritten ones, no temp file left, and no worker process left behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flowfix.engine import Options, process_path
from flowfix.rules import FixSafety, registry

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

FILES = 32  # each takes a few hundred ms to fix: the run lasts far longer than the wait for it
OLD = (
    "import time\n\n\nasync def fetch_{i}(client):\n"
    "    time.sleep({i})\n    return await client.get({i})\n"
)
NEW = (
    "import asyncio\n\n\nasync def fetch_{i}(client):\n"
    "    await asyncio.sleep({i})\n    return await client.get({i})\n"
)
START_TIMEOUT = 90.0  # seconds until the first file is rewritten (a loaded CI machine)
EXIT_TIMEOUT = 30.0  # seconds from the signal to the exit


def name(index: int) -> str:
    return f"m{index:03d}.py"


def test_templates_match_what_fix_produces(tmp_path: Path) -> None:
    """The expected new bytes below are what `fix` makes of a fresh copy."""
    path = tmp_path / name(7)
    path.write_text(OLD.format(i=7))
    options = Options(codes=tuple(registry()), fix=True, threshold=FixSafety.SAFE)
    assert process_path(path, options).new_raw == NEW.format(i=7).encode()


def make_files(folder: Path) -> dict[str, tuple[bytes, bytes]]:
    folder.mkdir()
    expected = {}
    for index in range(FILES):
        old, new = OLD.format(i=index).encode(), NEW.format(i=index).encode()
        (folder / name(index)).write_bytes(old)
        expected[name(index)] = (old, new)
    return expected


def rewritten(folder: Path, expected: dict[str, tuple[bytes, bytes]]) -> int:
    count = 0
    for file_name, (old, _) in expected.items():
        try:
            count += (folder / file_name).read_bytes() != old
        except FileNotFoundError:  # never expected: os.replace keeps the name in place
            count += 1
    return count


def start(argv: list[str], cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_until(condition: object, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while process.poll() is None and not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"flowfix did not get going within {START_TIMEOUT} s")
        time.sleep(0.01)


def finish(process: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        return process.communicate(timeout=EXIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"flowfix hung after the signal; stderr: {err[-2000:]}")


def leftover_processes(marker: str) -> list[str]:
    """Command lines of live processes mentioning `marker` (forked workers share the parent's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            status = (entry / "status").read_text()
        except OSError:
            continue
        if marker in cmdline and "State:\tZ" not in status:
            found.append(cmdline)
    return found


def check_outcome(
    folder: Path,
    expected: dict[str, tuple[bytes, bytes]],
    returncode: int,
    out: str,
    err: str,
    signum: int,
) -> set[str]:
    """The common assertions; returns the names of the rewritten files."""
    assert "Traceback" not in err, err
    if returncode == 0:  # finished before the signal landed: then every file is fixed
        assert err == ""
    else:
        assert returncode == 128 + signum, (returncode, err)
        assert err == "flowfix: interrupted\n", err
    new = set()
    for file_name, (old, fixed) in expected.items():
        data = (folder / file_name).read_bytes()
        assert data in (old, fixed), f"{file_name} is neither its old nor its fixed version"
        if data == fixed:
            new.add(file_name)
    if returncode == 0:
        assert new == set(expected)
    assert sorted(p.name for p in folder.iterdir()) == sorted(expected), "temp files left"
    reported = {
        line.removeprefix(f"Fixed 1 finding in {folder.name}/")
        for line in out.splitlines()
        if line.startswith("Fixed 1 finding in ")
    }
    assert reported == new, "stdout must report exactly the files rewritten"
    return new


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_mid_run_stops_cleanly(tmp_path: Path, signum: int, jobs: int) -> None:
    folder = tmp_path / "src"
    expected = make_files(folder)
    # The absolute path marks the command line of flowfix and of its (forked) workers.
    argv = [sys.executable, "-m", "flowfix", "fix", str(folder), "--jobs", str(jobs)]
    process = start(argv, tmp_path)
    wait_until(lambda: rewritten(folder, expected) >= 1, process)
    process.send_signal(signum)
    out, err = finish(process)
    new = check_outcome(folder, expected, process.returncode, out, err, signum)
    assert process.returncode == 0 or len(new) < FILES, "a run that was stopped fixed everything"
    if Path("/proc/self/cmdline").exists():
        deadline = time.monotonic() + 5
        while leftover_processes(str(folder)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert leftover_processes(str(folder)) == [], "worker processes outlived flowfix"


# Runs `flowfix fix` with every fsync slowed down, so that a signal sent as soon as a temp file
# appears lands in the middle of replacing that file.
SLOW_FSYNC_MAIN = """
import os, sys, time
real_fsync = os.fsync
def slow_fsync(fd):
    time.sleep(0.3)
    real_fsync(fd)
os.fsync = slow_fsync
from flowfix.cli import main
sys.argv = ["flowfix", "fix", "--jobs", "1", sys.argv[1]]
main()
"""


def test_signal_during_a_file_replacement_waits_for_it(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    expected = make_files(folder)
    process = start([sys.executable, "-c", SLOW_FSYNC_MAIN, "src"], tmp_path)
    temp_files: list[str] = []

    def writing() -> bool:
        temp_files.extend(p.name for p in folder.iterdir() if p.name.endswith(".flowfix"))
        return bool(temp_files)

    wait_until(writing, process)
    process.send_signal(signal.SIGTERM)
    out, err = finish(process)
    new = check_outcome(folder, expected, process.returncode, out, err, signal.SIGTERM)
    assert process.returncode == 143, "the signal was sent mid-run"
    # The temp file is named `.<file>.<random>.flowfix`: that file was completed, not dropped.
    being_written = temp_files[0].split(".")[1] + ".py"
    assert being_written in new
