"""Which files a run looks at: explicit files always, directories walked with the usual skips."""

from __future__ import annotations

import errno
import fnmatch
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

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
        # folder: its repository and that repository's resolved work tree, or None
        self._repos: dict[str, tuple[pygit2.Repository, Path] | None] = {}

    def _repo_for(self, folder: Path) -> tuple[pygit2.Repository, Path] | None:
        key = str(folder)
        if key not in self._repos:
            repo = _repository(folder) if _has_git_above(folder) else None
            workdir = repo.workdir if repo is not None else None
            self._repos[key] = (repo, Path(workdir).resolve()) if repo and workdir else None
        return self._repos[key]

    def ignored(self, path: Path, is_dir: bool) -> bool:
        """`path` is resolved (symbolic links followed), or its folder is."""
        found = self._repo_for(path.parent)
        if found is None:
            return False
        repo, workdir = found
        try:
            relative = path.relative_to(workdir).as_posix()
        except ValueError:
            return False
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


def _excluded(path: Path, patterns: Sequence[str]) -> bool:
    posix = path.as_posix()
    return any(fnmatch.fnmatch(posix, p) or fnmatch.fnmatch(path.name, p) for p in patterns)


def discover(
    paths: Sequence[Path], exclude: Sequence[str] = ()
) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Python files under `paths` (sorted, unique) and (path, error) pairs for bad arguments."""
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


def _walk(
    root: Path, exclude: Sequence[str], gitignore: _GitIgnore, errors: list[tuple[Path, str]]
) -> list[Path]:
    found: list[Path] = []
    seen: set[tuple[int, int]] = set()

    def on_error(exc: OSError) -> None:
        errors.append((Path(exc.filename or root), f"cannot list directory: {exc.strerror}"))

    for folder, dirnames, filenames in os.walk(root, onerror=on_error, followlinks=True):
        here = Path(folder)
        resolved = here.resolve()
        info = here.stat()
        if (info.st_dev, info.st_ino) in seen:  # a symlink loop
            dirnames[:] = []
            continue
        seen.add((info.st_dev, info.st_ino))
        dirnames[:] = sorted(
            name
            for name in dirnames
            if name not in SKIPPED_DIRS
            and not (here / name / "pyvenv.cfg").exists()
            and not _excluded(here / name, exclude)
            and not gitignore.ignored((here / name).resolve(), is_dir=True)
        )
        for name in filenames:
            path = here / name
            if name.endswith(".py") and path.is_symlink() and not path.exists():
                # A `*.py` that cannot be opened is reported, as a file that cannot be read is.
                if not _excluded(path, exclude) and not gitignore.ignored(
                    resolved / name, is_dir=False
                ):
                    errors.append((path, _dangling(path)))
                continue
            if (
                name.endswith(".py")
                and path.is_file()
                and not _excluded(path, exclude)
                and not gitignore.ignored(resolved / name, is_dir=False)
            ):
                found.append(path)
    return found
