"""The result cache: same results as without it, and invalidated by exactly what it must."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import flowfix.cache as cache_module
import flowfix.runner as runner
from flowfix.cache import Entry, ResultCache
from flowfix.config import Config
from flowfix.discovery import discover
from flowfix.engine import FileResult, Options
from flowfix.rules import registry
from flowfix.runner import run

SLEEPER = "import time\n\n\nasync def tick():\n    time.sleep(1)\n"
CLEAN = "def add(a, b):\n    return a + b\n"
# ASY006 reads the call graph: `work()` blocks because helpers.wait() sleeps.
CALLER = "from helpers import wait\n\n\nasync def work():\n    wait()\n"
HELPER_BLOCKING = "import time\n\n\ndef wait():\n    time.sleep(1)\n"
HELPER_HARMLESS = "def wait():\n    return None\n"


def _run(root: Path, cache: ResultCache | None, jobs: int = 1, **config: object) -> list[str]:
    """Findings of a check over `root` as `path:line:col: CODE message` lines."""
    options = Options(codes=tuple(registry()), config=Config(**config), cache=cache)  # type: ignore[arg-type]
    files, _ = discover([root], ())
    results: list[FileResult] = list(run(files, options, jobs))
    return sorted(
        f"{f.path}:{f.span.line}:{f.span.column}: {f.code} {f.message} [{f.fix.value}] {f.note}"
        for r in results
        for f in r.findings
    ) + sorted(f"{r.display}: {e}" for r in results for e in r.errors)


class Analyses:
    """Records the files the runner analyses (reads and detects again), by name."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
        self.analysed: list[str] = []
        analyse = runner.detection_entry

        def analysing(text: str, display: str, *args: Any, **kwargs: Any) -> Entry:
            self.analysed.append(Path(display).name)
            return analyse(text, display, *args, **kwargs)

        monkeypatch.setattr(runner, "detection_entry", analysing)

    @property
    def seen(self) -> list[str]:
        return sorted(set(self.analysed))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "sleeper.py").write_text(SLEEPER)
    (root / "clean.py").write_text(CLEAN)
    (root / "caller.py").write_text(CALLER)
    (root / "helpers.py").write_text(HELPER_BLOCKING)
    (root / "broken.py").write_text("def broken(:\n")
    monkeypatch.chdir(tmp_path)
    return root


def _cache(tmp_path: Path, **config: object) -> ResultCache:
    return ResultCache(tmp_path / "cache", Config(**config))  # type: ignore[arg-type]


def test_fixture_results_identical_with_cache_cold_warm_and_jobs(
    tmp_path: Path, fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "fixtures"
    shutil.copytree(fixtures_dir, corpus, ignore=shutil.ignore_patterns("*.fixed.py", "_*"))
    monkeypatch.chdir(tmp_path)
    expected = _run(corpus, None)
    assert len(expected) > 100
    cache = _cache(tmp_path)
    assert _run(corpus, cache, jobs=2) == expected  # cold, workers fill the cache
    counter = Analyses(monkeypatch, corpus)
    assert _run(corpus, cache) == expected  # warm, one process
    assert counter.seen == []


def test_changed_file_is_the_only_one_analysed_again(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = _cache(tmp_path)
    first = _run(project, cache)
    counter = Analyses(monkeypatch, project)
    (project / "clean.py").write_text(CLEAN + "\n\ndef sub(a, b):\n    return a - b\n")
    assert _run(project, cache) == first
    assert counter.seen == ["clean.py"]


def test_parse_errors_are_cached_too(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = _cache(tmp_path)
    first = _run(project, cache)
    assert any("broken.py: syntax error" in line for line in first)
    counter = Analyses(monkeypatch, project)
    assert _run(project, cache) == first and counter.seen == []


def test_changed_configuration_invalidates_every_entry(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(project, _cache(tmp_path))
    counter = Analyses(monkeypatch, project)
    thresholds = {**Config().thresholds, "top-k": 5}
    _run(project, _cache(tmp_path, thresholds=thresholds), thresholds=thresholds)
    assert sorted(counter.seen) == [
        "broken.py",
        "caller.py",
        "clean.py",
        "helpers.py",
        "sleeper.py",
    ]


def test_changed_rule_selection_invalidates_every_entry(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = _cache(tmp_path)
    _run(project, cache)
    counter = Analyses(monkeypatch, project)
    options = Options(codes=("ASY001",), cache=cache)
    files, _ = discover([project], ())
    results = list(run(files, options))
    assert len(counter.seen) == 5
    assert [f.code for r in results for f in r.findings] == ["ASY001"]


def test_new_flowfix_code_invalidates_every_entry(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(project, _cache(tmp_path))
    monkeypatch.setattr(cache_module, "code_digest", lambda: "a different flowfix")
    counter = Analyses(monkeypatch, project)
    _run(project, _cache(tmp_path))
    assert len(counter.seen) == 5


def test_cross_file_findings_follow_the_call_graph(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = _cache(tmp_path)
    first = _run(project, cache)
    assert any("caller.py" in line and "ASY006" in line for line in first)
    counter = Analyses(monkeypatch, project)
    (project / "helpers.py").write_text(HELPER_HARMLESS)
    second = _run(project, cache)
    assert not any("ASY006" in line for line in second)
    # helpers.py changed; caller.py read the call graph, which changed; the rest is cached.
    assert sorted(counter.seen) == ["caller.py", "helpers.py"]
    assert second == _run(project, None)


def test_a_clean_file_whose_callee_starts_blocking_is_analysed_again(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """caller.py has no finding while wait() is harmless, and must be analysed again once
    helpers.py makes it block."""
    (project / "helpers.py").write_text(HELPER_HARMLESS)
    cache = _cache(tmp_path)
    assert not any("ASY006" in line for line in _run(project, cache))
    counter = Analyses(monkeypatch, project)
    (project / "helpers.py").write_text(HELPER_BLOCKING)
    second = _run(project, cache)
    assert any("caller.py" in line and "ASY006" in line for line in second)
    assert sorted(counter.seen) == ["caller.py", "helpers.py"]
    assert second == _run(project, None)


def test_corrupt_entry_is_a_miss_and_is_rewritten(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = _cache(tmp_path)
    first = _run(project, cache)
    entries = sorted((tmp_path / "cache").rglob("*.json"))
    assert len(entries) == 5
    entries[0].write_text('{"findings": [')
    entries[1].write_bytes(b"")
    counter = Analyses(monkeypatch, project)
    assert _run(project, cache) == first
    assert len(counter.seen) == 2
    assert all(json.loads(p.read_text()) is not None for p in entries)


def test_cache_folder_ignored_by_git_and_no_temp_files(project: Path, tmp_path: Path) -> None:
    _run(project, _cache(tmp_path))
    folder = tmp_path / "cache"
    assert (folder / ".gitignore").read_text().splitlines()[-1] == "*"
    assert not [p for p in folder.rglob(".tmp-*")]


def test_unwritable_cache_does_not_fail_the_run(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be")
    assert _run(project, _cache(tmp_path)) == _run(project, None)


def test_salt_ignores_where_the_config_came_from(tmp_path: Path) -> None:
    one = ResultCache(tmp_path, Config(source="a/pyproject.toml"))
    other = ResultCache(tmp_path, dataclasses.replace(Config(), source="b/pyproject.toml"))
    assert one.salt == other.salt


def test_the_libcst_build_is_part_of_the_code_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.machinery
    from importlib.metadata import version

    spec = importlib.machinery.ModuleSpec("libcst", None, is_package=True)
    spec.submodule_search_locations = [str(tmp_path)]
    monkeypatch.setattr(cache_module.importlib.util, "find_spec", lambda name: spec)
    assert cache_module._libcst_version() == version("libcst")  # no _version.py: metadata
    (tmp_path / "_version.py").write_text("__version__ = '1.0'\n")
    first = cache_module._libcst_version()
    (tmp_path / "_version.py").write_text("__version__ = '1.1'\n")
    assert cache_module._libcst_version() != first
