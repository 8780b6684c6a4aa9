"""The pinned real packages flowfix is checked on: downloaded once into `.corpus/downloads/`
(git-ignored), unpacked where the caller says (outside this repository, whose .gitignore would
hide them from discovery). Used by the ecosystem check, the real-world fix test and the
benchmark."""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOWNLOADS = ROOT / ".corpus" / "downloads"
# (requirement, pip's choice of distribution): the wheels hold what users install; PocketFlow's
# sdist also holds its test suite.
PINNED = (
    ("dynamiq==0.69.0", "--only-binary"),
    ("pflow-cli==0.16.0", "--only-binary"),
    ("pocketflow==0.0.3", "--no-binary"),
)
OFFLINE = re.compile(
    r"NewConnectionError|ConnectTimeout|Temporary failure in name resolution|"
    r"Network is unreachable|Max retries exceeded|ProxyError|No matching distribution"
)


class Offline(Exception):
    """The package registry cannot be reached."""


def archive(requirement: str, choice: str) -> Path:
    """The downloaded distribution of `requirement` (downloaded on first use)."""
    name, _, version = requirement.partition("==")
    stem = name.replace("-", "_")
    pattern = f"{stem}-{version}[.-]*" if choice == "--only-binary" else f"{name}-{version}.tar.gz"
    found = sorted(DOWNLOADS.glob(pattern))
    if found:
        return found[-1]
    DOWNLOADS.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", choice, ":all:"]
        + ["--timeout", "30", "--retries", "1", "--dest", str(DOWNLOADS), requirement],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        if OFFLINE.search(done.stderr):
            raise Offline(requirement)
        raise RuntimeError(f"pip download {requirement} failed:\n{done.stderr[-2000:]}")
    return sorted(DOWNLOADS.glob(pattern))[-1]


def unpack(path: Path, into: Path) -> Path:
    """`path` (a wheel or an sdist) unpacked into the folder `into`; returns `into`."""
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as wheel:
            wheel.extractall(into)
    else:
        with tarfile.open(path) as tar:
            tar.extractall(into, filter="data")
    return into


def pinned(into: Path) -> Path:
    """Every pinned package unpacked into `into/<name>/` (downloaded on first use); `into`."""
    for requirement, choice in PINNED:
        target = into / requirement.partition("==")[0]
        if not target.exists():
            unpack(archive(requirement, choice), target)
    return into
