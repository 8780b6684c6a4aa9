"""Running many files: a cheap AST scan of each, then libcst only where a rule may match.

Phase one reads every file, parses it with CPython's `ast` and keeps two small things: the
rules whose prefilters pass and the function bodies their analysis can do without
(flowfix.reduction). The run's cross-file call graph knows every file's module name from the
start and indexes a module when a question first needs it, in phase one already (ASY006's
prefilter asks it). Phase two runs libcst detection (and fixes) on the candidate files only.
Both phases run over worker processes when there are enough files; results come back in file
order, one at a time. With a cache, a file seen before skips phase one's parse, and its
detection is reused; either is reused only while the call-graph modules it read are
unchanged.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from flowfix.cache import Entry, entry_from_data, entry_to_data
from flowfix.engine import (
    Candidates,
    FileResult,
    Options,
    candidate_rules,
    check_syntax,
    detection_entry,
    display_path,
    process_source,
)
from flowfix.fixes import fixable
from flowfix.project import ProjectIndex, unchanged
from flowfix.reduction import Stub
from flowfix.rules import registry
from flowfix.sources import ParseFailure, SourceError, digest, from_bytes, read_bytes, read_source

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Scan:
    """Phase one's view of a file: its problem, or its candidate rules and how to reduce it."""

    path: Path
    display: str
    digest: str = ""
    key: str | None = None
    error: str | None = None
    candidates: tuple[str, ...] = ()
    detection: Any = None  # cached detection data, checked against the call graph in phase two
    stubs: tuple[Stub, ...] = ()  # defs the candidates' analysis does without
    project: dict[str, str | None] | None = None  # call-graph modules the prefilters read

    def to_data(self) -> dict[str, Any]:
        return {
            "error": self.error,
            "candidates": self.candidates,
            "stubs": self.stubs,
            "project": self.project,
        }


def builds_call_graph(options: Options) -> bool:
    """Whether the run must build the call graph: a selected rule reads it, none was given."""
    rules = registry()
    return options.project is None and any(rules[code].needs_project for code in options.codes)


def scan(path: Path, options: Options) -> Scan:
    """Phase one for one file (from the cache when it holds this exact file)."""
    found = _scan(path, options, parse=True)
    assert found is not None
    return found


def cached_scan(path: Path, options: Options) -> Scan | None:
    """Phase one for one file if it needs no parsing: the cache holds it, or it cannot be read
    (None otherwise)."""
    return _scan(path, options, parse=False)


def _scan(path: Path, options: Options, parse: bool) -> Scan | None:
    display = display_path(path)
    try:
        raw = read_bytes(path)
    except SourceError as exc:
        return Scan(path, display, error=str(exc))
    file_digest = digest(raw)
    rules = options.rules_for(display)
    cache, key, project = options.cache, None, options.project
    if project is not None:
        project.know(display, file_digest)
    if cache is not None:
        # An entry exists only for bytes that decoded: a hit needs no decoding.
        key = cache.key(display, file_digest, [rule.code for rule in rules])
        cached = _cached_scan(cache.load(key), project)
        if cached is not None:
            return dataclasses.replace(
                cached, path=path, display=display, digest=file_digest, key=key
            )
    if not parse:
        return None
    try:
        source = from_bytes(path, raw)
    except SourceError as exc:
        return Scan(path, display, error=str(exc))
    try:
        tree = check_syntax(source.text)
    except ParseFailure as exc:
        result = Scan(path, display, source.digest, key, error=str(exc))
    else:
        if project is not None:
            project.record()
        candidates = candidate_rules(source.text, tree, rules, project, display, source.digest)
        result = Scan(
            path,
            display,
            source.digest,
            key,
            None,
            tuple(rule.code for rule in candidates.rules),
            stubs=candidates.stubs,
            project=(project.recorded() or None) if project is not None else None,
        )
    if cache is not None and key is not None:
        cache.store(key, {"scan": result.to_data()})
    return result


def _cached_scan(data: dict[str, Any] | None, project: ProjectIndex | None) -> Scan | None:
    """A cache entry's scan (path fields left blank), if well-formed and still true of the
    call graph its prefilters read."""
    try:
        found = data["scan"] if data else None
        if data is None or found is None:
            return None
        modules = found["project"]
        if modules is not None and (project is None or not unchanged(project, modules)):
            return None
        return Scan(
            Path(),
            "",
            error=found["error"],
            candidates=tuple(found["candidates"]),
            detection=data.get("detection"),
            stubs=tuple((first, body, last) for first, body, last in found["stubs"]),
            project=modules,
        )
    except (KeyError, TypeError, ValueError):
        return None


def settle(found: Scan, options: Options) -> FileResult | Entry | None:
    """Phase two without libcst, when possible: the result, a cached detection to fix from,
    or None when the file must be analysed."""
    if found.error is not None:
        return FileResult(display=found.display, errors=(found.error,))
    if not found.candidates:
        return FileResult(display=found.display)
    if found.detection is None:
        return None
    entry = entry_from_data(found.detection, found.display, options.project)
    if entry is None:
        return None
    if entry.error is not None:
        return FileResult(display=found.display, errors=(entry.error,))
    if options.fix and fixable(entry.findings, options.threshold, set()):
        return entry
    return FileResult(display=found.display, findings=entry.findings, suppressed=entry.suppressed)


def analyse(task: tuple[Scan, Entry | None], options: Options) -> FileResult:
    """Phase two with libcst for one candidate file (detection, then fixes if asked)."""
    found, entry = task
    try:
        source = read_source(found.path)
    except SourceError as exc:
        return FileResult(display=found.display, errors=(str(exc),))
    if source.digest != found.digest:  # changed since phase one: start over on the new text
        return process_source(source, found.display, options)
    if entry is None:
        rules = registry()
        candidates = Candidates([rules[code] for code in found.candidates], found.stubs)
        entry = detection_entry(
            source.text, found.display, [], options.config, options.project, candidates
        )
        if options.cache is not None and found.key is not None:
            options.cache.store(
                found.key, {"scan": found.to_data(), "detection": entry_to_data(entry)}
            )
    return process_source(source, found.display, options, entry)


Progress = Callable[[str, int, int], None]  # (phase, done, total)


def run(
    files: Sequence[Path], options: Options, jobs: int = 1, progress: Progress | None = None
) -> Iterator[FileResult]:
    """Process `files` (sorted, unique), yielding one result per file in the same order.

    `progress` hears ("scan", done, total) as files are scanned and ("analyse", done, total)
    as candidate files are analysed."""
    report = progress or (lambda phase, done, total: None)
    if builds_call_graph(options):
        options = dataclasses.replace(options, project=_call_graph(files))
    # Cache hits cost a read and a hash: they stay in this process, and only the files left to
    # parse decide whether worker processes are worth starting.
    hits = [cached_scan(path, options) if options.cache else None for path in files]
    missing = [path for path, found in zip(files, hits, strict=True) if found is None]
    workers = max(1, min(jobs, (len(missing) + 3) // 4))
    chunk = max(1, len(missing) // (workers * 8))
    with _Workers(options) as pool:
        parsed = pool.map(scan, missing, workers, chunk)
        scans = []
        for hit in hits:
            scans.append(hit if hit is not None else next(parsed))
            report("scan", len(scans), len(files))
        if options.project is not None:  # the digests phase one read: phase two need not again
            known = options.project.module_of_path
            options.project.digests.update(
                {known[found.display]: found.digest for found in scans if found.digest}
            )
        settled = [settle(found, options) for found in scans]
        tasks = [
            (found, outcome if isinstance(outcome, Entry) else None)
            for found, outcome in zip(scans, settled, strict=True)
            if not isinstance(outcome, FileResult)
        ]
        analysed = _analyse_in_order(tasks, options, pool, min(jobs, len(tasks)))
        done = 0
        report("analyse", 0, len(tasks))
        for outcome in settled:
            if isinstance(outcome, FileResult):
                result = outcome
            else:
                result, done = next(analysed), done + 1
                report("analyse", done, len(tasks))
            # A check keeps no file contents once a file is done: memory stays flat.
            yield result if options.fix else dataclasses.replace(result, source=None)


def _analyse_in_order(
    tasks: Sequence[tuple[Scan, Entry | None]], options: Options, pool: _Workers, workers: int
) -> Iterator[FileResult]:
    """`analyse` of each task, yielded in task order.

    Over several workers the largest files start first, so that a big file picked up last does
    not keep one worker busy while the others wait; results that come early wait here (without
    their source, in a check) until their turn.
    """
    if workers <= 1:
        yield from pool.map(analyse, tasks, workers, chunk=1)
        return
    order = sorted(range(len(tasks)), key=lambda index: -_size(tasks[index][0].path))
    ordered = [tasks[index] for index in order]
    results = zip(order, pool.map(analyse, ordered, workers, chunk=1), strict=True)
    early: dict[int, FileResult] = {}
    for wanted in range(len(tasks)):
        while wanted not in early:
            index, result = next(results)
            early[index] = result if options.fix else dataclasses.replace(result, source=None)
        yield early.pop(wanted)


def _size(path: Path) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


class _Workers:
    """The worker processes of a run, started when a phase first has work for several, then
    kept for the next phase: each worker imports libcst and fills its call graph once."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.pool is not None:
            self.pool.__exit__(*exc_info)  # type: ignore[arg-type]

    def map(
        self, function: Callable[[T, Options], R], items: Sequence[T], workers: int, chunk: int
    ) -> Iterator[R]:
        """`function(item, options)` for each item, in order; over processes when `workers`
        > 1 (a pool already started keeps its size)."""
        if workers <= 1 or len(items) < 2:
            yield from (function(item, self.options) for item in items)
            return
        if self.pool is None:
            # Options (with the call graph) reach each worker once, not once per item.
            self.pool = ProcessPoolExecutor(
                max_workers=workers, initializer=_set_worker_options, initargs=(self.options,)
            )
        yield from self.pool.map(functools.partial(_in_worker, function), items, chunksize=chunk)


_worker_options: Options | None = None


def _set_worker_options(options: Options) -> None:
    global _worker_options
    _worker_options = options
    tune_gc()


def tune_gc() -> None:
    """For a flowfix process: leave the objects alive so far (imported modules) out of
    garbage collection, and collect the young generation less often. Parsing allocates many
    short-lived objects that reference counting frees anyway (the scan phase ran 15-25%
    faster in back-to-back runs on the benchmark corpus)."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def _in_worker(function: Callable[[T, Options], R], item: T) -> R:
    assert _worker_options is not None
    return function(item, _worker_options)


def default_jobs() -> int:
    return max(
        1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )


def _call_graph(files: Iterable[Path]) -> ProjectIndex:
    """The run's call graph, indexed module by module as queries need them."""
    return ProjectIndex.lazy((path, display_path(path)) for path in files)
