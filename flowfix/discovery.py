"""Which files a run looks at: explicit files always, directories walked with the usual skips."""

from __future__ import annotations

import errno
import fnmatch
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from flowfix.languages import SUFFIXES

if TYPE_CHECKING:
    import pygit2

SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        "build",
        "dist",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".eggs",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".flowfix_cache",
        "node_modules",
        "site-packages",
    }
)


class _GitIgnore:
    """Answers "does git ignore this path?" for the work trees the walk enters. pygit2 is
    imported only when a folder is inside one (it takes longer to import than a warm run of
    a small project takes)."""

    def __init__(self) -> None:
        # folder: its repository and the resolved work tree with a trailing separator, or None
        self._repos: dict[str, tuple[pygit2.Repository, str] | None] = {}

    def _repo_for(self, folder: str) -> tuple[pygit2.Repository, str] | None:
        if folder not in self._repos:
            repo = _repository(Path(folder)) if _has_git_above(Path(folder)) else None
            workdir = repo.workdir if repo is not None else None
            self._repos[folder] = (
                (repo, os.path.join(os.path.realpath(workdir), "")) if repo and workdir else None
            )
        return self._repos[folder]

    def ignored(self, path: str, is_dir: bool) -> bool:
        """`path` is resolved (symbolic links followed), or its folder is."""
        found = self._repo_for(os.path.dirname(path))
        if found is None:
            return False
        repo, workdir = found
        if not path.startswith(workdir):
            return False
        relative = path[len(workdir) :].replace(os.sep, "/")
        return bool(repo.path_is_ignored(relative + ("/" if is_dir else "")))


def _has_git_above(folder: Path) -> bool:
    """Is there a `.git` (folder, or file for worktrees and submodules) here or above?"""
    return any(os.path.lexists(parent / ".git") for parent in (folder, *folder.parents))


def _repository(folder: Path) -> pygit2.Repository | None:
    """The non-bare repository whose work tree holds `folder` (searched upward), or None."""
    import pygit2

    # Repository(path) searches upward itself. pygit2.discover_repository is avoided: in
    # pygit2 1.21 it drops a reference to None each time it finds no repository, which
    # crashes the interpreter after a few thousand folders.
    try:
        repo = pygit2.Repository(str(folder))
    except pygit2.GitError:
        return None
    return None if repo.is_bare else repo


def _excluded(path: str, patterns: Sequence[str]) -> bool:
    if not patterns:
        return False
    posix, name = Path(path).as_posix(), os.path.basename(path)
    return any(fnmatch.fnmatch(posix, p) or fnmatch.fnmatch(name, p) for p in patterns)


def discover(
    paths: Sequence[Path], exclude: Sequence[str] = ()
) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Python and Rust files under `paths` (sorted, unique) and (path, error) pairs for bad
    arguments."""
    files: set[Path] = set()
    errors: list[tuple[Path, str]] = []
    gitignore = _GitIgnore()
    for given in paths:
        if not given.exists() and not given.is_symlink():
            errors.append((given, "no such file or directory"))
        elif given.is_dir():
            files.update(_walk(given, exclude, gitignore, errors))
        elif not given.exists():
            errors.append((given, _dangling(given)))
        else:
            files.add(given)
    return sorted(files), errors


def _dangling(link: Path) -> str:
    """Why a symbolic link cannot be followed."""
    try:
        os.stat(link)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop"
    return "broken symbolic link"


def _cargo_output(folder: str, name: str) -> bool:
    """Is `folder/name` cargo's build folder (`target/` beside a Cargo.toml, or tagged by
    cargo as a cache)? It holds generated and vendored code, not the project's."""
    return name == "target" and (
        os.path.exists(os.path.join(folder, "Cargo.toml"))
        or os.path.exists(os.path.join(folder, name, "CACHEDIR.TAG"))
    )


def _walk(
    root: Path, exclude: Sequence[str], gitignore: _GitIgnore, errors: list[tuple[Path, str]]
) -> list[Path]:
    found: list[Path] = []
    seen: set[tuple[int, int]] = set()

    def on_error(exc: OSError) -> None:
        errors.append((Path(exc.filename or root), f"cannot list directory: {exc.strerror}"))

    # Plain strings, not Path objects: on a large tree pathlib's joins cost more than the walk.
    join = os.path.join
    for folder, dirnames, filenames in os.walk(root, onerror=on_error, followlinks=True):
        info = os.stat(folder)
        if (info.st_dev, info.st_ino) in seen:  # a symlink loop
            dirnames[:] = []
            continue
        seen.add((info.st_dev, info.st_ino))
        resolved = os.path.realpath(folder)
        dirnames[:] = sorted(
            name
            for name in dirnames
            if name not in SKIPPED_DIRS
            and not os.path.exists(join(folder, name, "pyvenv.cfg"))
            and not _cargo_output(folder, name)
            and not _excluded(join(folder, name), exclude)
            and not gitignore.ignored(os.path.realpath(join(folder, name)), is_dir=True)
        )
        for name in filenames:
            if not name.endswith(SUFFIXES):
                continue
            path = join(folder, name)
            if _excluded(path, exclude) or gitignore.ignored(join(resolved, name), is_dir=False):
                continue
            if os.path.isfile(path):
                found.append(Path(path))
            elif os.path.islink(path) and not os.path.exists(path):
                # A source file that cannot be opened is reported, as a file that cannot be read is.
                errors.append((Path(path), _dangling(Path(path))))
    return found
