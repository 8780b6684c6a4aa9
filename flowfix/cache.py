"""A content-addressed cache of detection results: an unchanged file is analysed only once.

An entry's key hashes everything its findings depend on: the file's bytes and display path,
the rules that run on it, the effective configuration, and flowfix itself (a digest of its
source files plus the libcst and Python versions, so an edited checkout invalidates as surely
as a new release). Findings of cross-file rules also depend on the other files of the run:
such an entry records the modules its call-graph questions read, with their content digests,
and is a hit only while those modules (and the absence of the others it looked up) are
unchanged.
Entries are written to a temp file and renamed into place, so concurrent runs share a cache
safely; an unreadable entry is a miss.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.util
import json
import os
import platform
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flowfix.config import Config
from flowfix.project import ProjectIndex, unchanged
from flowfix.rules import Finding, FixSafety, Span

CACHE_DIR_NAME = ".flowfix_cache"
FORMAT = "1"
PACKAGES = ("flowfix", "flowfix.detectors", "flowfix.codemods")


@dataclasses.dataclass(frozen=True)
class Entry:
    """What detection found in one file (or why it could not), and the call graph it read."""

    findings: tuple[Finding, ...] = ()
    suppressed: tuple[str, ...] = ()
    error: str | None = None
    project: dict[str, str | None] | None = None  # call-graph modules read: their digests


@functools.cache
def code_digest() -> str:
    """Digest of flowfix's source files and of the parser versions it runs on."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{platform.python_version()} libcst {_libcst_version()}".encode())
    h.update(" ".join(_distributions("tree_sitter", "tree_sitter_rust")).encode())
    files: set[Path] = set()
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            files.update(Path(folder).rglob("*.py"))
    for path in sorted(files):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _libcst_version() -> str:
    """libcst's version, read from the `_version.py` its builds carry (importlib.metadata
    takes a tenth of a warm run to import); from its distribution metadata otherwise."""
    spec = importlib.util.find_spec("libcst")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        try:
            return hashlib.blake2b((Path(folder) / "_version.py").read_bytes()).hexdigest()
        except OSError:
            continue
    from importlib.metadata import version

    return version("libcst")


def _distributions(*packages: str) -> list[str]:
    """The installed distributions (name and version, from their `.dist-info` folders) of
    `packages`, found without importing them (the Rust parser: its grammar decides what the
    Rust rules see)."""
    found: list[str] = []
    for package in packages:
        spec = importlib.util.find_spec(package)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            found += sorted(p.name for p in Path(folder).parent.glob(f"{package}-*.dist-info"))
    return found


def _salt(config: Config) -> str:
    settings = dataclasses.asdict(dataclasses.replace(config, source=""))
    text = json.dumps([FORMAT, code_digest(), settings], sort_keys=True, default=sorted)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class ResultCache:
    """Detection results under `folder`, for one configuration."""

    def __init__(self, folder: Path, config: Config) -> None:
        self.folder = folder
        self.salt = _salt(config)

    def key(self, display: str, content_digest: str, codes: Sequence[str]) -> str:
        text = "\0".join([self.salt, display, content_digest, *codes])
        return hashlib.blake2b(text.encode(), digest_size=20).hexdigest()

    def _path(self, key: str) -> Path:
        return self.folder / f"v{FORMAT}" / key[:2] / f"{key}.json"

    def load(self, key: str) -> dict[str, Any] | None:
        """The entry stored under `key`, or None (missing, unreadable or not an entry)."""
        try:
            data = json.loads(self._path(key).read_bytes())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def store(self, key: str, data: dict[str, Any]) -> None:
        """Write an entry atomically; a cache that cannot be written is silently skipped."""
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _ensure_gitignore(self.folder)
            fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(data, handle)
                os.replace(temp, path)
            except BaseException:
                os.unlink(temp)
                raise
        except OSError:
            return


def entry_to_data(entry: Entry) -> dict[str, Any]:
    return {
        "findings": [
            [f.code, dataclasses.astuple(f.span), f.message, f.fix.value, f.note, dict(f.data)]
            for f in entry.findings
        ],
        "suppressed": list(entry.suppressed),
        "error": entry.error,
        "project": entry.project,
    }


def entry_from_data(data: Any, display: str, project: ProjectIndex | None) -> Entry | None:
    """The cached detection, if well-formed and still true of `project`'s call graph."""
    try:
        modules = data["project"]
        if modules is not None and (project is None or not unchanged(project, modules)):
            return None
        findings = tuple(
            Finding(code, display, Span(*span), message, FixSafety(fix), note=note, data=extra)
            for code, span, message, fix, note, extra in data["findings"]
        )
        suppressed = tuple(str(code) for code in data["suppressed"])
        return Entry(findings, suppressed, data["error"], modules)
    except (KeyError, TypeError, ValueError):
        return None


def _ensure_gitignore(folder: Path) -> None:
    """Keep the cache out of version control, as ruff and mypy do for theirs."""
    marker = folder / ".gitignore"
    if not marker.exists():
        marker.write_text("# Automatically created by flowfix.\n*\n", encoding="utf-8")
