"""The code style of the project a file belongs to, as its own configuration states it.

Fixes follow it: new imports go where the project's isort settings put them (`ImportSettings`),
and new code in a file its formatter accepted is formatted the same way (`format_like`).

Where the settings come from: the nearest folder, walking up from the file, that has one of
`.ruff.toml`, `ruff.toml`, `pyproject.toml` with `[tool.ruff]` (ruff's `line-length`, `src` and
`[lint.isort]`, or the older `[isort]`), or, failing those, `.isort.cfg`, `pyproject.toml` with
`[tool.isort]`, `setup.cfg` with `[isort]` / `[tool:isort]` (isort's names, and its `profile =
"black"`). The isort settings read are listed in `_ISORT_KEYS`. A file whose project has no such
configuration gets ruff's defaults.
"""

from __future__ import annotations

import configparser
import functools
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found]

FUTURE, STANDARD_LIBRARY, THIRD_PARTY, FIRST_PARTY, LOCAL_FOLDER = range(5)
SECTION_NAMES = {
    "future": FUTURE,
    "standard-library": STANDARD_LIBRARY,
    "third-party": THIRD_PARTY,
    "first-party": FIRST_PARTY,
    "local-folder": LOCAL_FOLDER,
}


@dataclass(frozen=True)
class ImportSettings:
    """The isort settings flowfix honours (ruff's names; `flowfix.style` also reads isort's)."""

    known_first_party: tuple[str, ...] = ()
    known_third_party: tuple[str, ...] = ()
    known_local_folder: tuple[str, ...] = ()
    extra_standard_library: tuple[str, ...] = ()
    force_single_line: bool = False
    force_sort_within_sections: bool = False
    order_by_type: bool = True
    case_sensitive: bool = False
    from_first: bool = False
    lines_between_types: int = 0
    no_lines_before: frozenset[int] = frozenset()
    line_length: int = 88
    # Top-level module names of the project itself: its source folders' packages and modules,
    # and the package of the file being fixed (ruff and isort count both as first party).
    first_party: frozenset[str] = frozenset()


# ruff's key (isort's is the same with `_`): the ImportSettings field it sets.
_ISORT_KEYS = {
    "known-first-party": "known_first_party",
    "known-third-party": "known_third_party",
    "known-local-folder": "known_local_folder",
    "extra-standard-library": "extra_standard_library",
    "force-single-line": "force_single_line",
    "force-sort-within-sections": "force_sort_within_sections",
    "order-by-type": "order_by_type",
    "case-sensitive": "case_sensitive",
    "from-first": "from_first",
    "lines-between-types": "lines_between_types",
    "no-lines-before": "no_lines_before",
}
# isort's own names for the sections, in `no_lines_before`.
_ISORT_SECTIONS = {
    "FUTURE": "future",
    "STDLIB": "standard-library",
    "THIRDPARTY": "third-party",
    "FIRSTPARTY": "first-party",
    "LOCALFOLDER": "local-folder",
}


@dataclass(frozen=True)
class CodeStyle:
    """How the project of one file lays out its imports and formats its code."""

    imports: ImportSettings = field(default_factory=ImportSettings)
    # Extra ruff arguments that give ruff's formatter the project's settings when they come
    # from somewhere ruff does not read (black's `[tool.black]`).
    format_args: tuple[str, ...] = ()
    path: Path | None = None  # the file, so that ruff finds the project's configuration


def style_for(path: Path | None) -> CodeStyle:
    """The style of the project `path` belongs to (ruff's defaults without configuration)."""
    if path is None:
        return CodeStyle()
    path = path.absolute()
    base = _folder_style(path.parent)
    own = _own_package(path.parent)
    imports = base.imports
    if own and own not in imports.first_party:
        imports = replace(imports, first_party=imports.first_party | {own})
    return replace(base, imports=imports, path=path)


@functools.lru_cache(maxsize=256)
def _folder_style(folder: Path) -> CodeStyle:
    for parent in (folder, *folder.parents):
        found = _ruff_style(parent) or _isort_style(parent)
        if found is not None:
            return found
    return CodeStyle()


@functools.lru_cache(maxsize=256)
def _own_package(folder: Path) -> str:
    """The top-level package of a module in `folder` ('' for a module outside any package)."""
    top = ""
    while (folder / "__init__.py").is_file():
        top = folder.name
        folder = folder.parent
    return top


def _read_toml(path: Path) -> Mapping[str, Any] | None:
    try:
        data: Mapping[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        return data
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None


def _table(data: Mapping[str, Any] | None, *keys: str) -> Mapping[str, Any] | None:
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data if isinstance(data, Mapping) else None


def _ruff_style(folder: Path) -> CodeStyle | None:
    for name in (".ruff.toml", "ruff.toml", "pyproject.toml"):
        candidate = folder / name
        if not candidate.is_file():
            continue
        data = _read_toml(candidate)
        settings = data if name != "pyproject.toml" else _table(data, "tool", "ruff")
        if settings is None:
            continue
        isort = _table(settings, "lint", "isort") or _table(settings, "isort") or {}
        length = settings.get("line-length", 88)
        sources = settings.get("src", [".", "src"])
        return CodeStyle(_import_settings(isort, "-", folder, sources, length))
    return None


def _isort_style(folder: Path) -> CodeStyle | None:
    black = _table(_read_toml(folder / "pyproject.toml"), "tool", "black") or {}
    isort: Mapping[str, Any] | None = None
    if (folder / ".isort.cfg").is_file():
        isort = _ini_section(folder / ".isort.cfg", ("settings", "isort"))
    if isort is None:
        isort = _table(_read_toml(folder / "pyproject.toml"), "tool", "isort")
    if isort is None and (folder / "setup.cfg").is_file():
        isort = _ini_section(folder / "setup.cfg", ("isort", "tool:isort"))
    if isort is None and not black:
        return None
    isort = isort or {}
    profile_length = 88 if isort.get("profile") == "black" or black else 79
    length = int(isort.get("line_length", black.get("line-length", profile_length)))
    sources = isort.get("src_paths", [".", "src"])
    format_args: tuple[str, ...] = ()
    if black:
        format_args = ("--line-length", str(black.get("line-length", 88)))
        if black.get("skip-string-normalization"):
            format_args += ("--config", "format.quote-style='preserve'")
        if black.get("skip-magic-trailing-comma"):
            format_args += ("--config", "format.skip-magic-trailing-comma=true")
    settings = _import_settings(isort, "_", folder, sources, length)
    return CodeStyle(settings, format_args=format_args)


def _ini_section(path: Path, names: tuple[str, ...]) -> Mapping[str, Any] | None:
    parser = configparser.ConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return None
    for name in names:
        if parser.has_section(name):
            return dict(parser.items(name))
    return None


def _import_settings(
    table: Mapping[str, Any], dash: str, root: Path, sources: Any, length: Any
) -> ImportSettings:
    values: dict[str, Any] = {}
    defaults = ImportSettings()
    for key, attribute in _ISORT_KEYS.items():
        raw = table.get(key.replace("-", dash))
        if raw is None:
            continue
        default = getattr(defaults, attribute)
        if isinstance(default, bool):
            values[attribute] = raw if isinstance(raw, bool) else str(raw).lower() == "true"
        elif isinstance(default, int):
            values[attribute] = int(raw)
        elif attribute == "no_lines_before":
            names = [_ISORT_SECTIONS.get(str(n).upper(), str(n)) for n in _names(raw)]
            values[attribute] = frozenset(SECTION_NAMES[n] for n in names if n in SECTION_NAMES)
        else:
            values[attribute] = _names(raw)
    first_party = frozenset(
        name for source in _names(sources) for name in _modules_in((root / source).resolve())
    )
    return ImportSettings(**values, line_length=int(length), first_party=first_party)


def _names(raw: Any) -> tuple[str, ...]:
    """A list setting: a TOML list, or isort's comma-separated string in an ini file."""
    if isinstance(raw, str):
        return tuple(part.strip() for part in raw.replace("\n", ",").split(",") if part.strip())
    return tuple(str(item) for item in raw) if isinstance(raw, list) else ()


@functools.lru_cache(maxsize=64)
def _modules_in(folder: Path) -> frozenset[str]:
    """Names importable from a source folder: its packages (folders) and modules."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return frozenset()
    return frozenset(
        entry.stem if entry.suffix in (".py", ".pyi") else entry.name
        for entry in entries
        if entry.name.isidentifier() or entry.suffix in (".py", ".pyi")
        if entry.is_dir() or entry.suffix in (".py", ".pyi")
    )


@functools.lru_cache(maxsize=1)
def _ruff() -> str | None:
    try:
        from ruff.__main__ import find_ruff_bin  # type: ignore[import-untyped]

        return str(find_ruff_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("ruff")


def _formatted(text: str, style: CodeStyle) -> str | None:
    """`text` as ruff's formatter (with the project's settings) writes it; None when ruff is
    missing or refuses it."""
    binary = _ruff()
    if binary is None:
        return None
    command = [binary, "format", "--no-cache", *style.format_args]
    if style.path is not None:
        command += ["--stdin-filename", str(style.path)]
    command.append("-")
    try:
        done = subprocess.run(
            command, input=text.encode("utf-8"), capture_output=True, timeout=120, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8")


def format_like(old: str, new: str, style: CodeStyle) -> str:
    """`new` (a fix of `old`) formatted by the project's formatter when `old` was formatted
    by it, so a file the formatter accepted still passes; else `new` unchanged (formatting
    a file that was not formatted would rewrite code the fix did not touch)."""
    if old == new or _formatted(old, style) != old:
        return new
    return _formatted(new, style) or new
