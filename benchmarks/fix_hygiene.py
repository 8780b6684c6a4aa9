"""Do `flowfix fix --unsafe-fixes` results pass the checks the code passed before?

    python benchmarks/fix_hygiene.py                    # the demo, the fixtures, /work/corpus/*
    python benchmarks/fix_hygiene.py path/to/project    # or any folders
    python benchmarks/fix_hygiene.py --python other/venv/bin/python   # another flowfix

Each folder is copied to a temporary directory (with the nearest ruff / isort configuration
above it, so ruff judges the copy by the project's own settings) and fixed there; the original
is never touched. For the files the fix changed it counts:

- import lines added (top-level `import x` / `from x import y` lines in the diff);
- files whose imports `ruff check --select I` accepted before and rejects after;
- files `ruff format --check` accepted before and rejects after;
- pyflakes warnings (`ruff check --select F`, compared by code and message) new after the fix;
- comments present before and missing after (compared as a multiset per file).

Fixture cases (`fixtures/<CODE>/<case>.py`) are copied without their `.fixed.py`. It prints one
row per folder and asserts nothing: tests/test_fix_hygiene.py holds the checked examples.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import tokenize
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ruff.__main__ import find_ruff_bin

ROOT = Path(__file__).resolve().parent.parent
CONFIG_NAMES = ("pyproject.toml", "ruff.toml", ".ruff.toml", ".isort.cfg", "setup.cfg")
IMPORT_LINE = re.compile(r"^\+(?:import \w|from [\w.]+ import )")


def defaults() -> list[Path]:
    corpus = Path("/work/corpus")
    extra = sorted(p for p in corpus.iterdir() if p.is_dir()) if corpus.is_dir() else []
    return [ROOT / "examples" / "demo", ROOT / "fixtures", *extra]


def nearest_config(folder: Path) -> Path | None:
    """The configuration file ruff would read for `folder`: the nearest one naming ruff or
    isort settings, walking up."""
    for parent in (folder, *folder.parents):
        for name in CONFIG_NAMES:
            candidate = parent / name
            if candidate.is_file():
                text = candidate.read_text(encoding="utf-8", errors="replace")
                if name.endswith("ruff.toml") or "tool.ruff" in text or "isort" in text:
                    return candidate
    return None


def copy_project(folder: Path, into: Path, config: Path | None = None) -> Path:
    """`folder` copied under `into` at the place it has relative to its configuration file
    (which is copied too; `config` puts another in its place); returns the copy of `folder`.
    The fixtures, which flowfix's own configuration keeps out of ruff's way, are copied as
    `cases/` beside it."""
    if config is not None:
        shutil.copy2(config, into / config.name)
        target = into / folder.name
        shutil.copytree(folder, target, ignore=shutil.ignore_patterns("__pycache__"))
        return target
    config = nearest_config(folder)
    fixtures = folder == ROOT / "fixtures"
    if config is None:
        target = into / folder.name
    elif fixtures:
        target = into / "cases"
    else:
        target = into / folder.relative_to(config.parent)
    if config is not None:
        shutil.copy2(config, into / config.name)
    ignore = ["__pycache__", ".flowfix_cache", "*.fixed.py"] + (["_*"] if fixtures else [])
    shutil.copytree(folder, target, ignore=shutil.ignore_patterns(*ignore))
    return target


def ruff(args: list[str], cwd: Path, files: Iterable[Path]) -> subprocess.CompletedProcess[str]:
    names = [str(f) for f in files]
    command = [find_ruff_bin(), *args, "--no-cache", *names]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True)


def lint(cwd: Path, files: list[Path], select: str) -> dict[str, Counter[tuple[str, str]]]:
    """(code, message) of each finding of the `select` rules, per file path."""
    found: dict[str, Counter[tuple[str, str]]] = {str(f): Counter() for f in files}
    if not files:
        return found
    done = ruff(["check", "--select", select, "--output-format", "json", "--exit-zero"], cwd, files)
    for item in json.loads(done.stdout or "[]"):
        found.setdefault(item["filename"], Counter())[(item["code"], item["message"])] += 1
    return found


def unformatted(cwd: Path, files: list[Path]) -> set[str]:
    """The files `ruff format --check` would reformat."""
    if not files:
        return set()
    done = ruff(["format", "--check", "--output-format", "json"], cwd, files)
    return {item["filename"] for item in json.loads(done.stdout or "[]")}


def comments(text: str) -> Counter[str]:
    found: Counter[str] = Counter()
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                found[token.string.strip()] += 1
    except (tokenize.TokenError, SyntaxError):
        pass
    return found


@dataclass
class Tally:
    name: str
    changed: int = 0
    imports_added: int = 0
    isort_clean: int = 0
    isort_broken: list[str] = field(default_factory=list)
    format_clean: int = 0
    format_broken: list[str] = field(default_factory=list)
    new_pyflakes: list[str] = field(default_factory=list)
    lost_comments: list[str] = field(default_factory=list)


def measure(
    folder: Path, tmp: Path, python: str = sys.executable, config: Path | None = None
) -> Tally:
    copy = copy_project(folder, tmp, config)
    files = sorted(p.resolve() for p in copy.rglob("*.py"))
    texts = {p: p.read_text(encoding="utf-8", errors="surrogateescape") for p in files}
    isort_before = lint(tmp, files, "I")
    pyflakes_before = lint(tmp, files, "F")
    format_before = unformatted(tmp, files)
    subprocess.run(
        [python, "-m", "flowfix", "fix", "--unsafe-fixes", "--no-cache", "-q", str(copy)],
        cwd=tmp,
        capture_output=True,
        text=True,
    )
    changed = [p for p in files if p.read_text("utf-8", "surrogateescape") != texts[p]]
    tally = Tally(folder.name, changed=len(changed))
    isort_after = lint(tmp, changed, "I")
    pyflakes_after = lint(tmp, changed, "F")
    format_after = unformatted(tmp, changed)
    for path in changed:
        key, shown = str(path), str(path.relative_to(tmp))
        new = path.read_text("utf-8", "surrogateescape")
        tally.imports_added += _added_imports(texts[path], new)
        if not isort_before.get(key):
            tally.isort_clean += 1
            if isort_after.get(key):
                tally.isort_broken.append(shown)
        if key not in format_before:
            tally.format_clean += 1
            if key in format_after:
                tally.format_broken.append(shown)
        extra = pyflakes_after.get(key, Counter()) - pyflakes_before.get(key, Counter())
        tally.new_pyflakes.extend(f"{shown}: {code} {message}" for code, message in extra)
        lost = comments(texts[path]) - comments(new)
        tally.lost_comments.extend(f"{shown}: {comment}" for comment in lost)
    return tally


def _added_imports(old: str, new: str) -> int:
    """Top-level import lines in `new` beyond those in `old` (a moved line counts once, as
    added and removed)."""
    lines = Counter(line for line in new.splitlines() if IMPORT_LINE.match("+" + line))
    lines.subtract(line for line in old.splitlines() if IMPORT_LINE.match("+" + line))
    return sum(count for count in lines.values() if count > 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--details", action="store_true", help="list each broken file")
    parser.add_argument(
        "--config", type=Path, help="a pyproject.toml or ruff.toml to judge the folders by"
    )
    parser.add_argument(
        "--python", default=sys.executable, help="the interpreter whose flowfix is measured"
    )
    args = parser.parse_args()
    folders = [f.resolve() for f in args.folders] or defaults()
    header = ("folder", "changed", "+imports", "I broken", "format broken", "new F", "lost #")
    print("{:<28} {:>8} {:>9} {:>9} {:>14} {:>6} {:>7}".format(*header))
    total = Tally("total")
    for folder in folders:
        with tempfile.TemporaryDirectory(prefix="flowfix-hygiene-") as tmp:
            tally = measure(folder, Path(tmp), args.python, args.config)
        _row(tally)
        total.changed += tally.changed
        total.imports_added += tally.imports_added
        for name in ("isort_clean", "format_clean"):
            setattr(total, name, getattr(total, name) + getattr(tally, name))
        for name in ("isort_broken", "format_broken", "new_pyflakes", "lost_comments"):
            getattr(total, name).extend(getattr(tally, name))
    _row(total)
    if args.details:
        for name in ("isort_broken", "format_broken", "new_pyflakes", "lost_comments"):
            for entry in getattr(total, name):
                print(f"{name}: {entry}")


def _row(t: Tally) -> None:
    isort = f"{len(t.isort_broken):>4}/{t.isort_clean:<4}"
    formatting = f"{len(t.format_broken):>7}/{t.format_clean:<6}"
    print(
        f"{t.name:<28} {t.changed:>8} {t.imports_added:>9} {isort} {formatting} "
        f"{len(t.new_pyflakes):>6} {len(t.lost_comments):>7}"
    )


if __name__ == "__main__":
    main()
