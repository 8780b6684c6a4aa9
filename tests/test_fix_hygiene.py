"""Fixes keep what the code's own checks accepted: isort order (ruff's `I` rules), `ruff
format`, pyflakes (`F`) and its comments.

The fixtures' expected outputs (`<case>.fixed.py`, which test_fixtures.py compares byte for byte
with what `fix` writes) are judged against their inputs with flowfix's own ruff settings, as
`fix` formats them; the demo app is fixed in a copy laid out as in this repository (so the same
settings apply) and judged the same way. benchmarks/fix_hygiene.py does this on any folder.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tokenize
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from ruff.__main__ import find_ruff_bin
from suites import flowfix

ROOT = Path(__file__).resolve().parent.parent
PAIRS = sorted(
    (case, case.with_name(case.stem + ".fixed.py"))
    for case in (ROOT / "fixtures").glob("[A-Z][A-Z][A-Z][0-9][0-9][0-9]/*.py")
    if not case.name.endswith(".fixed.py") and case.with_name(case.stem + ".fixed.py").exists()
)


def _ruff(cwd: Path, args: list[str], files: Iterable[Path]) -> set[str]:
    """The files among `files` that `ruff <args>` reports (with the configuration of `cwd`)."""
    done = subprocess.run(
        [find_ruff_bin(), *args, "--no-cache", "--output-format", "json", *map(str, files)],
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    return {str(Path(item["filename"]).resolve()) for item in json.loads(done.stdout or "[]")}


def isort_rejects(cwd: Path, files: Iterable[Path]) -> set[str]:
    return _ruff(cwd, ["check", "--select", "I", "--exit-zero"], files)


def format_rejects(cwd: Path, files: Iterable[Path]) -> set[str]:
    return _ruff(cwd, ["format", "--check"], files)


def pyflakes(cwd: Path, files: list[Path]) -> dict[str, Counter[tuple[str, str]]]:
    done = subprocess.run(
        [find_ruff_bin(), "check", "--select", "F", "--exit-zero", "--no-cache"]
        + ["--output-format", "json", *map(str, files)],
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    found: dict[str, Counter[tuple[str, str]]] = {str(f.resolve()): Counter() for f in files}
    for item in json.loads(done.stdout):
        found[str(Path(item["filename"]).resolve())][(item["code"], item["message"])] += 1
    return found


def comments(text: str) -> Counter[str]:
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    return Counter(t.string.strip() for t in tokens if t.type == tokenize.COMMENT)


def _broken(check: object, cwd: Path, pairs: list[tuple[Path, Path]]) -> list[str]:
    """The cases whose input the check accepts and whose fixed output it rejects."""
    assert callable(check)
    before = check(cwd, [case for case, _ in pairs])
    after = check(cwd, [fixed for _, fixed in pairs])
    return [
        f"{case.parent.name}/{case.stem}"
        for case, fixed in pairs
        if str(case.resolve()) not in before and str(fixed.resolve()) in after
    ]


def test_fixed_fixtures_keep_import_order() -> None:
    assert _broken(isort_rejects, ROOT, PAIRS) == []


def test_fixed_fixtures_keep_their_formatting() -> None:
    assert _broken(format_rejects, ROOT, PAIRS) == []


def test_fixed_fixtures_keep_their_comments() -> None:
    lost = {}
    for case, fixed in PAIRS:
        gone = comments(case.read_text("utf-8")) - comments(fixed.read_text("utf-8"))
        if gone:
            lost[f"{case.parent.name}/{case.stem}"] = sorted(gone.elements())
    assert lost == {}


def test_fixed_fixtures_add_no_pyflakes_warning() -> None:
    before = pyflakes(ROOT, [case for case, _ in PAIRS])
    after = pyflakes(ROOT, [fixed for _, fixed in PAIRS])
    new = {}
    for case, fixed in PAIRS:
        extra = after[str(fixed.resolve())] - before[str(case.resolve())]
        if extra:
            new[f"{case.parent.name}/{case.stem}"] = sorted(f"{c} {m}" for c, m in extra.elements())
    assert new == {}


def test_demo_fix_keeps_imports_sorted_formatting_and_pyflakes(tmp_path: Path) -> None:
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")  # flowfix's ruff settings
    demo = tmp_path / "examples" / "demo"
    shutil.copytree(ROOT / "examples" / "demo", demo, ignore=shutil.ignore_patterns("__pycache__"))
    files = sorted((demo / "demo_app").glob("*.py"))
    texts = {path: path.read_text("utf-8") for path in files}
    assert not isort_rejects(tmp_path, files) and not format_rejects(tmp_path, files)
    flakes = pyflakes(tmp_path, files)

    done = flowfix(demo, "fix", "--unsafe-fixes", "--no-cache", "demo_app")
    assert done.returncode == 1, done.stderr  # report-only findings remain

    changed = [path for path in files if path.read_text("utf-8") != texts[path]]
    assert [path.name for path in changed] == [
        "clients.py",
        "framework.py",
        "main.py",
        "nodes.py",
        "tools.py",
    ]
    assert isort_rejects(tmp_path, changed) == set()
    assert format_rejects(tmp_path, changed) == set()
    assert pyflakes(tmp_path, changed) == {
        str(p.resolve()): flakes[str(p.resolve())] for p in changed
    }
    for path in changed:
        assert comments(texts[path]) - comments(path.read_text("utf-8")) == Counter(), path.name
    nodes = (demo / "demo_app" / "nodes.py").read_text("utf-8")
    assert nodes.split("\n\n")[2:5] == [
        "import asyncio\nimport atexit\nimport functools\nimport json\nimport os\n"
        "import urllib.request\nfrom concurrent.futures import ThreadPoolExecutor\n"
        "from pathlib import Path",
        "from pocketflow import AsyncFlow, AsyncNode, BatchNode, Flow, Node",
        "from .clients import EmbeddingClient, call_llm",
    ]
