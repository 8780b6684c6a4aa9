"""Test helpers: run flowfix on text in memory."""

from __future__ import annotations

import re
from pathlib import Path

from flowfix.engine import FileResult, Options, process_source, with_project
from flowfix.rules import FixSafety, registry
from flowfix.sources import Source, digest, from_stdin

MARKER = re.compile(r"(?:#|//)\s*expect:\s*(?P<codes>[A-Z]{3}\d{3}(?:\s*,\s*[A-Z]{3}\d{3})*)")
UNSAFE_HEADER = "# flowfix: unsafe-fixes"
TWO_SLEEPS = (
    "import time\n"
    "\n"
    "\n"
    "async def first():\n"
    "    time.sleep(1)\n"
    "\n"
    "\n"
    "async def second():\n"
    "    time.sleep(2)\n"
)
RUST_UNSAFE_HEADER = "// flowfix: unsafe-fixes"


def opts_into_unsafe(text: str) -> bool:
    """Whether a fixture case asks for unsafe fixes (a `# ` or `// flowfix: unsafe-fixes`)."""
    return UNSAFE_HEADER in text or RUST_UNSAFE_HEADER in text


def all_codes() -> tuple[str, ...]:
    return tuple(registry())


def _options(source: Source, name: str, fix: bool, unsafe: bool) -> Options:
    """All rules; the call graph is the file itself (as in editor mode)."""
    options = Options(
        codes=all_codes(), fix=fix, threshold=FixSafety.UNSAFE if unsafe else FixSafety.SAFE
    )
    return with_project(options, [(source.path, name, source.text)])


def run_text(
    text: str, name: str = "case.py", fix: bool = False, unsafe: bool = False
) -> FileResult:
    source = from_stdin(text.encode("utf-8"), name)
    return process_source(source, name, _options(source, name, fix, unsafe))


def run_file(path: Path, fix: bool = False, unsafe: bool = False) -> FileResult:
    raw = path.read_bytes()
    decoded = from_stdin(raw, path.name)
    source = Source(
        path=path, raw=raw, text=decoded.text, encoding=decoded.encoding, digest=digest(raw)
    )
    return process_source(source, path.name, _options(source, path.name, fix, unsafe))


def expected_markers(text: str) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = MARKER.search(line)
        if match:
            found.extend((number, code.strip()) for code in match.group("codes").split(","))
    return sorted(found)


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Each `relative path: text` of `files` written under `root` (folders made); `root`."""
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def check_tree(root: Path, files: dict[str, str], select: str, *paths: str) -> list[str]:
    """The lines `flowfix check --select <select> -q <paths>` (default `.`) prints for `files`
    written under `root`, the working folder."""
    from typer.testing import CliRunner

    from flowfix.cli import app

    write_tree(root, files)
    args = ["check", "--select", select, "--no-cache", "-q", *(paths or ["."])]
    return CliRunner().invoke(app, args).stdout.splitlines()


def module_names(root: Path, paths: list[str]) -> list[str | None]:
    """The names a run's call graph gives the (empty) files `paths`, written under `root`."""
    from flowfix.project import ProjectIndex

    write_tree(root, dict.fromkeys(paths, ""))
    index = ProjectIndex.lazy((root / path, path) for path in paths)
    return [index.module_for(path) for path in paths]
