"""The pinned real code flowfix is checked on: packages downloaded once into
`.corpus/downloads/` (git-ignored), and the GitHub sources of the same projects read from
local git mirrors at pinned commits; both written where the caller says (outside this
repository, whose .gitignore would hide them from discovery). Used by the ecosystem check, the
real-world fix test and the benchmark."""

from __future__ import annotations

import os
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


# The GitHub sources as their repositories hold them (examples, cookbooks and tests included):
# (folder, repository, commit, the repository's folder taken: "" for all of it). Read from bare
# mirrors (`$FLOWFIX_MIRRORS/<owner>+<name>/repo`, default /work/.mirror), since the machine
# that runs the tests may not reach GitHub. DashFlow is the `dashflow/` folder of dTOOL: its
# Rust crates, with their examples, benchmarks and scripts.
GITHUB = (
    ("dynamiq", "dynamiq-ai/dynamiq", "9fcec5f14f96e311212f240ca14fd0f1f2ccc771", ""),
    ("pflow", "spinje/pflow", "dae0c4592d2c04e7b8ac419c50047aae83ddbdb0", ""),
    ("PocketFlow", "The-Pocket/PocketFlow", "43ef382bb0c9dae8167528618bb40f5a3f9a28a5", ""),
    ("dashflow", "dropbox/dTOOL", "1389e20c36e0c3819fa5f5043a4936afba6bdce2", "dashflow"),
)
SOURCE_SUFFIXES = (".py", ".rs")


class NoMirror(Exception):
    """No local mirror holds a pinned commit."""


def mirror(repository: str) -> Path:
    root = Path(os.environ.get("FLOWFIX_MIRRORS", "/work/.mirror"))
    return root / repository.replace("/", "+") / "repo"


def checkout(repository: str, commit: str, into: Path, under: str = "") -> Path:
    """The Python and Rust files of `repository` at `commit` (of its folder `under` only, when
    given), written into `into`; `into`.

    Read blob by blob (`git ls-tree`, `git cat-file --batch`) rather than with `git archive`:
    a mirror may lack the large binary files, which `git archive` cannot skip."""
    git_dir = mirror(repository)
    git = ["git", f"--git-dir={git_dir}"]
    known = subprocess.run([*git, "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True)
    if known.returncode != 0:
        raise NoMirror(f"{repository} at {commit[:12]}: no mirror with that commit at {git_dir}")
    listing = subprocess.run(
        [*git, "ls-tree", "-r", "-z", commit, *([under] if under else [])],
        capture_output=True,
        check=True,
    ).stdout
    blobs: list[tuple[str, str]] = []
    for entry in listing.split(b"\0"):
        meta, _, name = entry.decode("utf-8").partition("\t")
        if meta.split(" ")[1:2] == ["blob"] and name.endswith(SOURCE_SUFFIXES):
            blobs.append((meta.split(" ")[2], name))
    batch = subprocess.run(
        [*git, "cat-file", "--batch"],
        input="".join(f"{sha}\n" for sha, _ in blobs).encode(),
        capture_output=True,
        check=True,
    ).stdout
    offset = 0
    for _, name in blobs:
        header_end = batch.index(b"\n", offset)
        size = int(batch[offset:header_end].split()[2])
        target = into / name.removeprefix(f"{under}/" if under else "")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(batch[header_end + 1 : header_end + 1 + size])
        offset = header_end + 1 + size + 1
    return into


def github_sources(into: Path) -> Path:
    """Every pinned GitHub source checked out into `into/<folder>/`; `into` (NoMirror when a
    mirror or a commit is missing)."""
    for folder, repository, commit, under in GITHUB:
        checkout(repository, commit, into / folder, under)
    return into
