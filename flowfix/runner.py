"""Running many files: each file read, parsed and analysed once, over worker processes.

A file the cache holds (same bytes, rules, configuration and flowfix, and unchanged call-graph
modules for the findings that read them) costs a read and a hash in this process. The others
are analysed (detected, and fixed when asked) by `analyse`, in worker processes when there
are enough of them, the largest first; results come back in file order, one at a time.
"""

from __future__ import annotations

import dataclasses
import gc
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TypeVar

from flowfix.cache import entry_from_data, entry_to_data
from flowfix.engine import (
    FileResult,
    Options,
    detection_entry,
    display_path,
    gc_paused,
    process_source,
)
from flowfix.fixes import fixable
from flowfix.project import ProjectIndex
from flowfix.rules import registry
from flowfix.sources import SourceError, digest, from_bytes, read_bytes

T = TypeVar("T")
R = TypeVar("R")
Progress = Callable[[int, int], None]  # (files done, total)


def builds_call_graph(options: Options) -> bool:
    """Whether the run must build the call graph: a selected rule reads it, none was given."""
    rules = registry()
    return options.project is None and any(rules[code].needs_project for code in options.codes)


def with_call_graph(options: Options, files: Iterable[Path]) -> Options:
    """`options` with the call graph of `files` when the run must build one."""
    if not builds_call_graph(options):
        return options
    return dataclasses.replace(options, project=_call_graph(files))


def cached(path: Path, options: Options) -> FileResult | None:
    """The file's result from the cache, when it holds this exact file and the run needs no
    more than its detection (None otherwise)."""
    cache, project = options.cache, options.project
    if cache is None:
        return None
    display = display_path(path)
    try:
        raw = read_bytes(path)
    except SourceError:
        return None  # analysed (and its error reported) like any other file
    file_digest = digest(raw)
    if project is not None:
        project.know(display, file_digest)
    key = cache.key(display, file_digest, [rule.code for rule in options.rules_for(display)])
    data = cache.load(key)
    entry = entry_from_data(data.get("detection"), display, project) if data else None
    if entry is None:
        return None
    if entry.error is not None:
        return FileResult(display=display, errors=(entry.error,))
    if options.fix and fixable(entry.findings, options.threshold, set()):
        return None
    return FileResult(display=display, findings=entry.findings, suppressed=entry.suppressed)


def analyse(path: Path, options: Options) -> FileResult:
    """Read, detect (storing the detection in the cache) and, with `options.fix`, fix one
    file, with the garbage collector paused (fixes build large trees too)."""
    with gc_paused():
        return _analyse(path, options)


def _analyse(path: Path, options: Options) -> FileResult:
    display = display_path(path)
    try:
        raw = read_bytes(path)
        source = from_bytes(path, raw)
    except SourceError as exc:
        return FileResult(display=display, errors=(str(exc),))
    if options.project is not None:
        # The call graph may take this file's tree rather than read and parse it again.
        options.project.know(display, source.digest)
    rules = options.rules_for(display)
    entry = detection_entry(
        source.text, display, rules, options.config, options.project, source.raw
    )
    if options.cache is not None:
        key = options.cache.key(display, source.digest, [rule.code for rule in rules])
        options.cache.store(key, {"detection": entry_to_data(entry)})
    return process_source(source, display, options, entry)


def run(
    files: Sequence[Path], options: Options, jobs: int = 1, progress: Progress | None = None
) -> Iterator[FileResult]:
    """Process `files` (sorted, unique), yielding one result per file in the same order."""
    report = progress or (lambda done, total: None)
    options = with_call_graph(options, files)
    # Cache hits cost a read and a hash: they stay in this process, and only the files left to
    # analyse decide whether worker processes are worth starting.
    hits = [cached(path, options) for path in files]
    missing = [path for path, hit in zip(files, hits, strict=True) if hit is None]
    workers = max(1, min(jobs, (len(missing) + 3) // 4))
    analysed = _in_order(missing, options, workers)
    for done, hit in enumerate(hits, start=1):
        result = hit if hit is not None else next(analysed)
        report(done, len(files))
        # A check keeps no file contents once a file is done: memory stays flat.
        yield result if options.fix else dataclasses.replace(result, source=None)


def _in_order(files: Sequence[Path], options: Options, workers: int) -> Iterator[FileResult]:
    """`analyse` of each file, yielded in order.

    Over several workers the largest files start first, so that a big file picked up last does
    not keep one worker busy while the others wait; results that come early wait here (without
    their source, in a check) until their turn.
    """
    if workers <= 1 or len(files) < 2:
        yield from (analyse(path, options) for path in files)
        return
    order = sorted(range(len(files)), key=lambda index: -_size(files[index]))
    chunk = max(1, len(files) // (workers * 16))
    # Options (with the call graph) reach each worker once, not once per file.
    with ProcessPoolExecutor(
        max_workers=workers, initializer=_set_worker_options, initargs=(options,)
    ) as pool:
        results = zip(
            order,
            pool.map(_analyse_in_worker, [files[index] for index in order], chunksize=chunk),
            strict=True,
        )
        early: dict[int, FileResult] = {}
        for wanted in range(len(files)):
            while wanted not in early:
                index, result = next(results)
                early[index] = result if options.fix else dataclasses.replace(result, source=None)
            yield early.pop(wanted)


def _size(path: Path) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


_worker_options: Options | None = None


def _set_worker_options(options: Options) -> None:
    global _worker_options
    _worker_options = options
    tune_gc()


def _analyse_in_worker(path: Path) -> FileResult:
    assert _worker_options is not None
    return analyse(path, _worker_options)


def tune_gc() -> None:
    """For a flowfix process: leave the objects alive so far (imported modules) out of
    garbage collection, and collect the young generation less often. Parsing allocates many
    short-lived objects that reference counting frees anyway (the ast scan ran 15-25%
    faster in back-to-back runs on the benchmark corpus)."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def default_jobs() -> int:
    return max(
        1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )


def _call_graph(files: Iterable[Path]) -> ProjectIndex:
    """The run's call graph (of its Python modules), indexed module by module as queries need
    them."""
    return ProjectIndex.lazy((path, display_path(path)) for path in files if path.suffix == ".py")
