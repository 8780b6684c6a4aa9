"""`[tool.flowfix]` from the nearest pyproject.toml: rule selection, ignores, test paths and
thresholds."""

from __future__ import annotations

import fnmatch
import functools
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found]

DEFAULT_THRESHOLDS: Mapping[str, int] = {
    "max-loops": 15,
    "top-k": 50,
    "shared-store-bound": 1000,
    "chain-length": 4,
    "max-fix-passes": 25,
}
# Where tests live, as pytest finds them: production-only rules skip these paths.
DEFAULT_TEST_PATHS = ("tests/", "test/", "test_*.py", "*_test.py", "conftest.py")


def path_matches(relpath: str, pattern: str) -> bool:
    """`pattern` matches the path or its file name (fnmatch); a pattern ending in `/` matches
    a folder of that name anywhere in the path (`tests/` matches `pkg/tests/unit/x.py`)."""
    return _matcher((pattern,))(relpath)


@functools.lru_cache(maxsize=64)
def _matcher(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    """Whether a path matches any of `patterns` (as `path_matches`), each set of patterns
    compiled once into two regular expressions: one for folders, one for paths and names."""

    def compiled(globs: list[str]) -> re.Pattern[str] | None:
        parts = [fnmatch.translate(os.path.normcase(glob)) for glob in globs]
        return re.compile("|".join(parts)) if parts else None

    folder = compiled([p.rstrip("/") for p in patterns if p.endswith("/")])
    other = compiled([p for p in patterns if not p.endswith("/")])

    def matches(relpath: str) -> bool:
        relpath = os.path.normcase(relpath)
        folders, _, name = relpath.rpartition("/")
        if other is not None and (other.match(relpath) or other.match(name)):
            return True
        return folder is not None and any(folder.match(part) for part in folders.split("/") if part)

    return matches


class ConfigError(Exception):
    """Invalid configuration; the message names the file and the key."""


@dataclass(frozen=True)
class Config:
    """Effective settings for one run."""

    select: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = ()
    test_paths: tuple[str, ...] = DEFAULT_TEST_PATHS
    unsafe_fixes: bool = False
    thresholds: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    source: str = ""
    # The folder the run's display paths are relative to ("": the current folder). The editor
    # server shows paths from the configuration's folder whatever folder it was started in.
    base: str = ""

    def threshold(self, key: str) -> int:
        return self.thresholds.get(key, DEFAULT_THRESHOLDS[key])

    def ignored_for(self, relpath: str) -> set[str]:
        """Codes, prefixes or groups ignored for this path by `per-file-ignores`."""
        codes: set[str] = set()
        for pattern, pattern_codes in self.per_file_ignores:
            if path_matches(relpath, pattern):
                codes.update(pattern_codes)
        return codes

    def is_test_path(self, relpath: str) -> bool:
        """Whether `relpath` (relative to the project root: `project_path`) is test code."""
        return _matcher(self.test_paths)(relpath)

    def is_test_file(self, display: str) -> bool:
        """Whether the file shown as `display` in this run is test code: its path from the
        project's root (`project_path`) matches `test-paths`. The one answer every part of a
        run uses: the rules it selects for a file, and rules that weigh other files of the
        run by whether they are tests."""
        return self.is_test_path(self.project_path(display))

    def project_path(self, display: str) -> str:
        """`display` (relative to `base`, by default the current folder, or absolute) relative
        to the folder of the configuration file, where `per-file-ignores` and `test-paths`
        patterns are rooted, as ruff roots them: a run from a subfolder matches them as a run
        from the project's root does. Without a configuration file, or outside its folder,
        `display` itself."""
        if not self.source:
            return display
        root = os.path.dirname(os.path.abspath(self.source))
        full = os.path.normpath(os.path.join(self.base or os.getcwd(), display))
        relative = os.path.relpath(full, root)
        if relative == os.pardir or relative.startswith(os.pardir + os.sep):
            return display
        return Path(relative).as_posix()


def find_config_file(start: Path) -> Path | None:
    """The nearest pyproject.toml with a [tool.flowfix] table, walking up from `start`.

    A pyproject.toml that is not valid TOML is skipped, unless it mentions `tool.flowfix`: then
    the user's configuration cannot be read, which is a ConfigError rather than a silent default.
    """
    for folder in [start, *start.parents]:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                text = candidate.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                if "tool.flowfix" in text.replace(" ", ""):
                    raise ConfigError(f"{candidate}: invalid TOML: {exc}") from exc
                continue
            tool = data.get("tool", {})
            if isinstance(tool, dict) and "flowfix" in tool:
                return candidate
    return None


def _codes(value: Any, key: str, path: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{path}: [tool.flowfix] {key} must be a list of rule codes")
    return tuple(item.upper() for item in value)


def _globs(value: Any, key: str, path: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{path}: [tool.flowfix] {key} must be a list of globs")
    return tuple(value)


def load_config(path: Path | None) -> Config:
    """Read and validate `[tool.flowfix]` from `path` (None gives the defaults)."""
    if path is None:
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: cannot read: not valid UTF-8 (byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{path}: [tool] must be a table")
    table = tool.get("flowfix", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.flowfix] must be a table")
    thresholds = dict(DEFAULT_THRESHOLDS)
    known = {
        "select",
        "extend-select",
        "ignore",
        "per-file-ignores",
        "exclude",
        "test-paths",
        "unsafe-fixes",
        *thresholds,
    }
    for key in table:
        if key not in known:
            raise ConfigError(f"{path}: [tool.flowfix] unknown key {key!r}")
    for key in DEFAULT_THRESHOLDS:
        if key in table:
            value = table[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{path}: [tool.flowfix] {key} must be a positive integer")
            thresholds[key] = value
    per_file = table.get("per-file-ignores", {})
    if not isinstance(per_file, dict):
        raise ConfigError(f"{path}: [tool.flowfix] per-file-ignores must be a table")
    exclude = _globs(table.get("exclude", []), "exclude", path)
    test_paths = _globs(table.get("test-paths", list(DEFAULT_TEST_PATHS)), "test-paths", path)
    unsafe = table.get("unsafe-fixes", False)
    if not isinstance(unsafe, bool):
        raise ConfigError(f"{path}: [tool.flowfix] unsafe-fixes must be true or false")
    return Config(
        select=_codes(table.get("select", []), "select", path),
        extend_select=_codes(table.get("extend-select", []), "extend-select", path),
        ignore=_codes(table.get("ignore", []), "ignore", path),
        per_file_ignores=tuple(
            (glob, _codes(codes, f"per-file-ignores.{glob}", path))
            for glob, codes in sorted(per_file.items())
        ),
        exclude=exclude,
        test_paths=test_paths,
        unsafe_fixes=unsafe,
        thresholds=thresholds,
        source=str(path),
    )


def rule_codes(
    config: Config,
    select: Sequence[str] = (),
    extend_select: Sequence[str] = (),
    ignore: Sequence[str] = (),
) -> tuple[str, ...]:
    """The codes a run enables: `config`, overridden by command-line lists.

    Nothing selected means the default rule set. A command-line `select` replaces the file's
    `select` and `extend-select`; every `extend-select` adds to the selection and every
    `ignore` (file and command line) removes. Each list takes codes, prefixes and group names
    (`flowfix.rules.expand_codes`); an unknown one is a ConfigError naming where it was given.
    """
    from flowfix.rules import DEFAULT, expand_codes, select_rules

    where = f"{config.source}: [tool.flowfix] "
    for codes, place in [
        ([*select, *extend_select, *ignore], ""),
        (config.select, where + "select: "),
        (config.extend_select, where + "extend-select: "),
        (config.ignore, where + "ignore: "),
        *((codes, f"{where}per-file-ignores.{glob}: ") for glob, codes in config.per_file_ignores),
    ]:
        try:
            expand_codes(list(codes))  # KeyError: the first unknown one
        except KeyError as exc:
            raise ConfigError(
                f"{place}unknown rule code, prefix or group {exc.args[0]!r} (see `flowfix rules`)"
            ) from None
    chosen = list(select) or list(config.select)
    extend = list(extend_select) + ([] if select else list(config.extend_select))
    rules = select_rules((chosen or [DEFAULT]) + extend, [*ignore, *config.ignore])
    return tuple(rule.code for rule in rules)
