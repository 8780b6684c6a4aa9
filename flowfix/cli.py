"""The `flowfix` command line: check, diff, fix, apply, rules, explain.

Exit codes: 0 clean, 1 findings (or a non-empty diff), 2 usage or internal error,
130/143 interrupted by SIGINT/SIGTERM.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import functools
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Annotated, NoReturn, ParamSpec, TextIO

import typer

from flowfix import __version__
from flowfix.cache import CACHE_DIR_NAME, ResultCache
from flowfix.config import Config, ConfigError, find_config_file, load_config, rule_codes
from flowfix.discovery import discover
from flowfix.engine import (
    FileResult,
    Options,
    display_path,
    process_source,
    with_project,
)
from flowfix.report import github, ide, json_, junit, markdown, table, text
from flowfix.rules import FixSafety, Rule, registry
from flowfix.runner import Progress, default_jobs, run, tune_gc, with_call_graph
from flowfix.sources import (
    SourceError,
    defer_signal,
    from_stdin,
    hold_signals,
    write_atomic,
    write_if_unchanged,
)

P = ParamSpec("P")

app = typer.Typer(
    name="flowfix",
    help="Find and fix performance anti-patterns in LLM/agent orchestration code.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Help texts are rich markup: a literal `[` is escaped with a backslash ("\\[" in source).


class OutputFormat(str, enum.Enum):
    text = "text"
    ide = "ide"
    github = "github"
    markdown = "markdown"
    json = "json"
    sarif = "sarif"
    junit = "junit"
    rdjson = "rdjson"


class DiffFormat(str, enum.Enum):
    patch = "patch"
    rdjson = "rdjson"


class SplitBy(str, enum.Enum):
    rule = "rule"
    file = "file"


class UsageError(Exception):
    """Bad command-line input or configuration: exit 2 with this one-line message."""


def _user_errors(command: Callable[P, None]) -> Callable[P, None]:
    """Turn a UsageError raised by a command into a one-line message and exit code 2."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            command(*args, **kwargs)
        except UsageError as exc:
            _err(f"flowfix: error: {exc}")
            raise typer.Exit(2) from exc

    return wrapper


PathsArg = Annotated[
    list[Path] | None,  # noqa: UP007 - typer needs Optional on 3.10
    typer.Argument(help="Files or folders to analyse ('-' reads stdin). Default: current folder."),
]
SelectOpt = Annotated[
    str | None,  # noqa: UP007
    typer.Option(
        "--select",
        help="Comma-separated rule codes, prefixes or groups to enable instead of the default"
        " set (e.g. ASY,CON001; ALL; DEFAULT,TUNING).",
    ),
]
ExtendSelectOpt = Annotated[
    str | None,  # noqa: UP007
    typer.Option(
        "--extend-select",
        help="Comma-separated rule codes, prefixes or groups to enable on top of select (e.g."
        " an opt-in rule: TIM001).",
    ),
]
IgnoreOpt = Annotated[
    str | None,  # noqa: UP007
    typer.Option("--ignore", help="Comma-separated rule codes, prefixes or groups to disable."),
]
ConfigOpt = Annotated[
    Path | None,  # noqa: UP007
    typer.Option(
        "--config", help="pyproject.toml to read \\[tool.flowfix] from (default: nearest)."
    ),
]
UnsafeOpt = Annotated[
    bool,
    typer.Option(
        "--unsafe-fixes", help="Also apply fixes that may change behaviour in corner cases."
    ),
]
JobsOpt = Annotated[
    int, typer.Option("--jobs", "-j", min=0, help="Worker processes (0: one per core).")
]
NoCacheOpt = Annotated[
    bool,
    typer.Option("--no-cache", help="Analyse every file afresh; do not use the cache."),
]
CacheDirOpt = Annotated[
    Path | None,  # noqa: UP007
    typer.Option(
        "--cache-dir",
        envvar="FLOWFIX_CACHE_DIR",
        help="Cache folder (default: .flowfix_cache beside the pyproject.toml in use, else here).",
    ),
]
QuietOpt = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="Print findings and errors only: no summary, no progress."),
]
VerboseOpt = Annotated[
    bool,
    typer.Option(
        "--verbose", "-v", help="Also say on stderr which config, rules, cache and workers run."
    ),
]
StdinNameOpt = Annotated[
    str | None,  # noqa: UP007
    typer.Option("--stdin-filename", help="Name to report for source read from stdin ('-')."),
]


def _err(message: str) -> None:
    sys.stderr.write(message + "\n")


@dataclasses.dataclass
class _Verbosity:
    quiet: bool = False
    verbose: bool = False


_verbosity = _Verbosity()


def _set_verbosity(quiet: bool, verbose: bool) -> None:
    if quiet and verbose:
        raise UsageError("--quiet and --verbose cannot be used together")
    _verbosity.quiet, _verbosity.verbose = quiet, verbose


def _info(message: str) -> None:
    """A `--verbose` line on stderr."""
    if _verbosity.verbose:
        _err(f"flowfix: {message}")


def _no_color() -> bool:
    """NO_COLOR (https://no-color.org): set to anything but the empty string, no colour."""
    return bool(os.environ.get("NO_COLOR"))


def _colour(stream: TextIO) -> bool:
    """Colour on a terminal (or with FORCE_COLOR), never with NO_COLOR."""
    if _no_color():
        return False
    return bool(os.environ.get("FORCE_COLOR")) or stream.isatty()


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _load_config(config_path: Path | None) -> Config:
    if config_path is not None and not config_path.is_file():
        raise UsageError(f"{config_path}: config file not found")
    try:
        return load_config(config_path or find_config_file(Path.cwd()))
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc


@dataclasses.dataclass(frozen=True)
class Selection:
    """The rule selection given on the command line (comma-separated codes or prefixes)."""

    select: str | None = None
    extend_select: str | None = None
    ignore: str | None = None


def _options(selection: Selection, config_path: Path | None, fix: bool, unsafe: bool) -> Options:
    """The run's options: the config file, overridden by the command line (`rule_codes`)."""
    config = _load_config(config_path)
    try:
        codes = rule_codes(
            config,
            _split(selection.select),
            _split(selection.extend_select),
            _split(selection.ignore),
        )
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    threshold = FixSafety.UNSAFE if unsafe or config.unsafe_fixes else FixSafety.SAFE
    options = Options(codes=codes, config=config, fix=fix, threshold=threshold)
    _info(f"config: {config.source or 'none found (defaults)'}")
    _info(f"{len(options.codes)} rules: {' '.join(options.codes)}")
    paths = ", ".join(config.test_paths) or "none (test policy off)"
    _info(f"test paths, where production-only rules do not run: {paths}")
    return options


def _with_cache(options: Options, no_cache: bool, cache_dir: Path | None) -> Options:
    """Options with the result cache, unless `--no-cache`."""
    if no_cache:
        _info("cache: off")
        return options
    if cache_dir is None:
        home = Path(options.config.source).parent if options.config.source else Path.cwd()
        cache_dir = home / CACHE_DIR_NAME
    _info(f"cache: {cache_dir}")
    return dataclasses.replace(options, cache=ResultCache(cache_dir, options.config))


def _results(
    paths: Sequence[Path] | None, options: Options, jobs: int, stdin_name: str | None
) -> Iterator[FileResult]:
    """Run on stdin ('-') or on the discovered files; yield results as they come.

    Bad command-line paths come first, then the files in order. Each result's errors are
    printed (one `path: problem` line each) before it is yielded.
    """
    given = list(paths or [Path(".")])
    if [str(p) for p in given] == ["-"]:
        name = stdin_name or "<stdin>"
        try:
            source = from_stdin(sys.stdin.buffer.read(), name)
        except SourceError as exc:
            results = iter([FileResult(display=name, errors=(str(exc),))])
        else:
            options = with_project(options, [(Path(name), name, source.text)])
            results = iter([process_source(source, name, options)])
    else:
        files, bad = discover(given, options.config.exclude)
        for path, why in bad:
            _err(f"{display_path(path)}: {why}")
            yield FileResult(display=display_path(path), errors=(why,))
        jobs = jobs or default_jobs()
        started = time.perf_counter()
        with _progress_bar(len(files)) as bar:
            yield from _reported(run(files, options, jobs, bar))
        elapsed = time.perf_counter() - started
        _info(f"{len(files)} files, {jobs} jobs, {elapsed:.2f} s")
        return
    yield from _reported(results)


def _reported(results: Iterable[FileResult]) -> Iterator[FileResult]:
    """`results`, each one's errors printed (one `path: problem` line each) first."""
    for result in results:
        for error in result.errors:
            _err(f"{result.display}: {error}")
        yield result


PROGRESS_MIN_FILES = 50


@contextlib.contextmanager
def _progress_bar(total: int) -> Iterator[Progress | None]:
    """A progress bar on stderr for runs over many files, when stderr is a terminal."""
    if total < PROGRESS_MIN_FILES or _verbosity.quiet or not _stderr_is_terminal():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    console = Console(stderr=True, force_terminal=True, no_color=_no_color())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("checking", total=total)

        def update(done: int, size: int) -> None:
            bar.update(task, completed=done, total=size)

        yield update


def _stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def _collect(
    paths: Sequence[Path] | None, options: Options, jobs: int, stdin_name: str | None
) -> list[FileResult]:
    """Every result, sorted by path (file errors are printed as they come)."""
    return sorted(_results(paths, options, jobs, stdin_name), key=lambda r: r.display)


def _exit(code: int) -> NoReturn:
    raise typer.Exit(code)


def _write(output: Path | None, content: str) -> None:
    if output is None:
        sys.stdout.write(content)
        return
    _write_file(output, content.encode("utf-8"))


def _write_file(path: Path, data: bytes) -> None:
    """Write a report or patch file atomically; a usage error naming it if it cannot be."""
    try:
        write_atomic(path, data)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write: {exc.strerror or exc}") from exc


@app.command()
@_user_errors
def check(
    paths: PathsArg = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="Output format.")
    ] = OutputFormat.text,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report here.")
    ] = None,  # noqa: UP007
    statistics: Annotated[
        bool,
        typer.Option(
            "--statistics", help="Counts per rule (suppressed ones too) instead of each finding."
        ),
    ] = False,
    select: SelectOpt = None,
    extend_select: ExtendSelectOpt = None,
    ignore: IgnoreOpt = None,
    config: ConfigOpt = None,
    unsafe_fixes: UnsafeOpt = False,
    jobs: JobsOpt = 0,
    no_cache: NoCacheOpt = False,
    cache_dir: CacheDirOpt = None,
    stdin_filename: StdinNameOpt = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Report findings; exit 1 when there are any."""
    _set_verbosity(quiet, verbose)
    if statistics and output_format not in (OutputFormat.text, OutputFormat.json):
        raise UsageError("--statistics works with --format text or json")
    selection = Selection(select, extend_select, ignore)
    options = _options(selection, config, fix=False, unsafe=unsafe_fixes)
    options = _with_cache(options, no_cache, cache_dir)
    if output_format in (OutputFormat.sarif, OutputFormat.rdjson):  # fixes: the call graph
        options = _with_run_call_graph(paths, options)
    results = _collect(paths, options, jobs, stdin_filename)
    colour = output is None and _colour(sys.stdout)
    renderers = {
        OutputFormat.text: lambda: text.render(results, options.threshold, colour, not quiet),
        OutputFormat.ide: lambda: ide.render(results),
        OutputFormat.github: lambda: github.render(results),
        OutputFormat.markdown: lambda: markdown.render(results),
        OutputFormat.json: lambda: json_.render(results),
        OutputFormat.sarif: lambda: _sarif(results, options),
        OutputFormat.junit: lambda: junit.render(results),
        OutputFormat.rdjson: lambda: _rdjson(results, options, fixed=False),
    }
    if statistics:
        renderers = {
            OutputFormat.text: lambda: text.statistics(results, options.threshold, not quiet),
            OutputFormat.json: lambda: json_.statistics(results, options.threshold),
        }
    _write(output, renderers[output_format]())
    problems = any(r.findings or r.errors for r in results)
    _exit(1 if problems else 0)


@app.command()
@_user_errors
def diff(
    paths: PathsArg = None,
    unsafe_fixes: UnsafeOpt = False,
    patch_file: Annotated[
        Path | None,  # noqa: UP007
        typer.Option("--patch-file", help="Write the patch (or rdjson) here instead of stdout."),
    ] = None,
    output_format: Annotated[
        DiffFormat,
        typer.Option(
            "--format", help="patch: a unified diff; rdjson: the fixes as reviewdog suggestions."
        ),
    ] = DiffFormat.patch,
    patch_dir: Annotated[
        Path | None,  # noqa: UP007
        typer.Option(
            "--patch-dir", help="Write a `git am` series here: one mail per rule (or file)."
        ),
    ] = None,
    split_by: Annotated[
        SplitBy | None,  # noqa: UP007
        typer.Option("--split-by", help="With --patch-dir: one patch per rule (default) or file."),
    ] = None,
    select: SelectOpt = None,
    extend_select: ExtendSelectOpt = None,
    ignore: IgnoreOpt = None,
    config: ConfigOpt = None,
    jobs: JobsOpt = 0,
    no_cache: NoCacheOpt = False,
    cache_dir: CacheDirOpt = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Print the patch `fix` would apply (or rdjson, or a `git am` series); exit 1 when it is not
    empty. No source file is written."""
    _set_verbosity(quiet, verbose)
    _check_diff_outputs(output_format, patch_file, patch_dir, split_by)
    selection = Selection(select, extend_select, ignore)
    options = _options(selection, config, fix=True, unsafe=unsafe_fixes)
    options = _with_cache(options, no_cache, cache_dir)
    if output_format is DiffFormat.rdjson or patch_dir is not None:  # fixes computed again
        options = _with_run_call_graph(paths, options)
    results = _collect(paths, options, jobs, None)
    from flowfix.patches import make_patch  # pygit2: imported by the commands that diff

    patch = b"".join(
        make_patch(r.source.raw, r.new_raw, r.display)
        for r in results
        if r.source is not None and r.new_raw is not None
    )
    if patch_dir is not None:
        _write_series(patch_dir, results, options, split_by or SplitBy.rule)
    elif output_format is DiffFormat.rdjson:
        _write(patch_file, _rdjson(results, options, fixed=True))
    elif patch_file is not None:
        _write_file(patch_file, patch)
    else:
        sys.stdout.buffer.write(patch)
        sys.stdout.flush()
    changed = sum(1 for r in results if r.changed)
    fixes = sum(1 for r in results for f in r.findings if f.fixed)
    if not quiet:
        _err(
            f"{fixes} fix{'es' if fixes != 1 else ''} in {changed} "
            f"file{'s' if changed != 1 else ''} would be applied."
        )
    _report_notes(results)
    _exit(1 if patch else 0)


def _sarif(results: Sequence[FileResult], options: Options) -> str:
    """The SARIF log, each fixable finding carrying its own fix (its codemod run alone)."""
    from flowfix.report import sarif
    from flowfix.suggest import suggested_fixes, with_source

    fixes = {}
    complete = [with_source(result, options.threshold) for result in results]
    for result in complete:
        fixes.update(suggested_fixes(result, options.config, options.threshold, options.project))
    return sarif.render(complete, fixes)


# --- Review flows: rdjson for reviewdog, patch series for `git am`, interactive fix -----------


def _with_run_call_graph(paths: Sequence[Path] | None, options: Options) -> Options:
    """`options` with the call graph of the files `paths` name, when a selected rule reads it:
    the run and the fixes computed after it (one finding's, one rule's) then share it."""
    given = list(paths or [Path(".")])
    if [str(p) for p in given] == ["-"]:
        return options
    files, _ = discover(given, options.config.exclude)  # bad paths are reported by the run
    return with_call_graph(options, files)


def _rdjson(results: Sequence[FileResult], options: Options, fixed: bool) -> str:
    """The rdjson document for reviewdog: the open findings of a check (each fixable one with
    its own fix as suggestions) or, with `fixed`, the findings a diff run fixes."""
    from flowfix.report import all_findings, open_findings, rdjson
    from flowfix.suggest import suggested_fixes, with_source

    if fixed:
        complete = list(results)
        findings = [f for f in all_findings(complete) if f.fixed]
    else:
        complete = [with_source(result, None) for result in results]
        findings = list(open_findings(complete))
    fixes = {}
    for result in complete:
        wanted = [f for f in result.findings if f.fixed] if fixed else None
        if wanted == []:
            continue
        fixes.update(
            suggested_fixes(result, options.config, options.threshold, options.project, wanted)
        )
    return rdjson.render(complete, findings, fixes)


def _check_diff_outputs(
    output_format: DiffFormat,
    patch_file: Path | None,
    patch_dir: Path | None,
    split_by: SplitBy | None,
) -> None:
    if patch_dir is not None and patch_file is not None:
        raise UsageError("--patch-dir and --patch-file cannot be used together")
    if patch_dir is not None and output_format is not DiffFormat.patch:
        raise UsageError("--patch-dir writes patches: it cannot be used with --format rdjson")
    if split_by is not None and patch_dir is None:
        raise UsageError("--split-by needs --patch-dir")


def _write_series(
    folder: Path, results: Sequence[FileResult], options: Options, split_by: SplitBy
) -> None:
    """Write the fixes as numbered `git am` mails into `folder`; print each file's path."""
    from flowfix.series import author, by_file, by_rule, mails

    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder}: not a folder")
    stale = sorted(folder.glob("[0-9][0-9][0-9][0-9]-*.patch")) if folder.is_dir() else []
    if stale:
        raise UsageError(f"{folder}: already holds patches ({stale[0].name}...); use a new folder")
    steps = by_rule(results, options) if split_by is SplitBy.rule else by_file(results)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{folder}: cannot create: {exc.strerror or exc}") from exc
    for name, data in mails(steps, author()):
        _write_file(folder / name, data)
        print(folder / name, flush=True)


def _fix_interactively(
    paths: Sequence[Path] | None, options: Options, jobs: int, quiet: bool
) -> list[FileResult]:
    """`fix --interactive`: check, then ask about each fix file by file, writing each file
    once its fixes are decided; the files' results."""
    from flowfix.interactive import Session, review

    options = _with_run_call_graph(paths, options)
    checked = _collect(paths, dataclasses.replace(options, fix=False), jobs, None)
    session = Session(ask=_ask, show=print, colour=_colour(sys.stdout))
    results = []
    for found in checked:
        reviewed = review(found, options, session)
        if reviewed is not found:  # the file was read again: new errors are possible
            for error in reviewed.errors:
                _err(f"{reviewed.display}: {error}")
        with hold_signals():  # a signal waits until the file is written and reported
            result = _write_result(reviewed)
            results.append(result)
            _say_fixed(result, quiet)
    return results


def _ask(question: str) -> str | None:
    """One line typed in answer to `question` (None at the end of input)."""
    sys.stdout.write(question)
    sys.stdout.flush()
    return sys.stdin.readline() or None


def _say_fixed(result: FileResult, quiet: bool) -> None:
    if result.changed and not quiet:
        count = sum(1 for f in result.findings if f.fixed)
        print(f"Fixed {count} finding{'s' if count != 1 else ''} in {result.display}", flush=True)


# --- end of review flows ------------------------------------------------------------------


def _report_notes(results: Sequence[FileResult]) -> None:
    for result in results:
        for note in result.notes:
            _err(f"{result.display}: note: {note}")


@app.command()
@_user_errors
def fix(
    paths: PathsArg = None,
    unsafe_fixes: UnsafeOpt = False,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write the Markdown report here.")  # noqa: UP007
    ] = None,
    select: SelectOpt = None,
    extend_select: ExtendSelectOpt = None,
    ignore: IgnoreOpt = None,
    config: ConfigOpt = None,
    jobs: JobsOpt = 0,
    no_cache: NoCacheOpt = False,
    cache_dir: CacheDirOpt = None,
    stdin_filename: StdinNameOpt = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    interactive: Annotated[
        bool,
        typer.Option(
            "--interactive",
            "-i",
            help="Show each fix as a diff and ask: apply, skip, apply all of its rule, quit.",
        ),
    ] = False,
) -> None:
    """Apply fixes in place ('-': fixed stdin to stdout); exit 1 when findings remain."""
    _set_verbosity(quiet, verbose)
    selection = Selection(select, extend_select, ignore)
    options = _options(selection, config, fix=True, unsafe=unsafe_fixes)
    options = _with_cache(options, no_cache, cache_dir)
    stdin_mode = [str(p) for p in (paths or [])] == ["-"]
    if stdin_mode and interactive:
        raise UsageError("--interactive reads its answers from stdin: it cannot fix stdin ('-')")
    if interactive:
        results = _fix_interactively(paths, options, jobs, quiet)
        if not quiet:
            print(text.summary(results, options.threshold))
    elif stdin_mode:
        results = _collect(paths, options, jobs, stdin_filename)
        result = results[0]
        if result.source is not None:
            sys.stdout.buffer.write(result.new_raw or result.source.raw)
            sys.stdout.flush()
        for line in ide.render(results).splitlines():
            _err(line)
    else:
        # Each file is written as soon as its result is in: an interrupted run keeps (and has
        # reported) the files fixed so far, and every file is either fully old or fully new.
        results = []
        for found in _results(paths, options, jobs, stdin_filename):
            with hold_signals():  # a signal waits until the file is written and reported
                result = _write_result(found)
                results.append(result)
                _say_fixed(result, quiet)
        results.sort(key=lambda r: r.display)
        if not quiet:
            print(text.summary(results, options.threshold))
    _report_notes(results)
    if report is not None:
        _write(report, markdown.render(results))
    remaining = any(not f.fixed for r in results for f in r.findings)
    _exit(1 if remaining or any(r.errors for r in results) else 0)


def _write_result(result: FileResult) -> FileResult:
    """Write a changed file; on failure report an error and the file's fixes as not applied."""
    if result.source is None or result.new_raw is None:
        return result
    try:
        write_if_unchanged(result.source, result.new_raw)
    except (SourceError, OSError) as exc:
        _err(f"{result.display}: {exc}")
        findings = tuple(
            f if not f.fixed else type(f)(f.code, f.path, f.span, f.message, f.fix, False, str(exc))
            for f in result.findings
        )
        return FileResult(
            display=result.display,
            findings=findings,
            suppressed=result.suppressed,
            source=result.source,
            errors=(*result.errors, str(exc)),
        )
    return result


@app.command()
@_user_errors
def apply(
    patch: Annotated[
        Path, typer.Argument(help="A patch written by `flowfix diff`, possibly edited.")
    ],
    root: Annotated[
        Path, typer.Option("--root", help="Folder the patch paths are relative to.")
    ] = Path("."),
) -> None:
    """Apply a reviewed patch; files whose hunks no longer match are refused, the others applied."""
    try:
        data = patch.read_bytes()
    except OSError as exc:
        raise UsageError(f"{patch}: cannot read: {exc.strerror or exc}") from exc
    from flowfix.patches import PatchError, apply_patch

    outcomes = apply_patch(data, root)
    failed = 0
    while True:
        with hold_signals():  # a signal waits until the file is written and reported
            try:
                outcome = next(outcomes, None)
            except PatchError as exc:  # raised before any file is touched
                raise UsageError(f"{patch}: {exc}; nothing applied") from exc
            if outcome is None:
                break
            if outcome.error:
                failed += 1
                _err(f"{outcome.path}: not applied: {outcome.error}")
            else:
                hunks = f"{outcome.hunks} hunk{'s' if outcome.hunks != 1 else ''}"
                print(f"Applied {hunks} to {outcome.path}", flush=True)
    _exit(1 if failed else 0)


@app.command()
@_user_errors
def lsp() -> None:
    """Run the language server on stdin/stdout (needs `pip install 'flowfix\\[lsp]'`)."""
    import importlib.util

    if importlib.util.find_spec("pygls") is None:
        raise UsageError("the language server needs pygls: `pip install 'flowfix[lsp]'`")
    from flowfix.lsp import serve

    serve()


class RulesFormat(str, enum.Enum):
    text = "text"
    json = "json"


@app.command()
def rules(
    output_format: Annotated[
        RulesFormat, typer.Option("--format", help="text: a table; json: a list of rules.")
    ] = RulesFormat.text,
) -> None:
    """List every rule: code, name, language, severity, fix safety, whether it is in the
    default set (else its opt-in group), summary."""
    if output_format is RulesFormat.json:
        import json

        print(json.dumps([_rule_json(rule) for rule in registry().values()], indent=2))
        return
    rows = [("CODE", "NAME", "LANGUAGE", "SEVERITY", "FIX", "DEFAULT", "SUMMARY")]
    rows += [
        (r.code, r.name, r.language, r.severity.value, r.fix.value, _default_cell(r), r.summary)
        for r in registry().values()
    ]
    for line in table(rows):
        print(line)


def _default_cell(rule: Rule) -> str:
    return "yes" if rule.opt_in is None else f"no ({rule.opt_in.value})"


def _rule_json(rule: Rule) -> dict[str, object]:
    return {
        "code": rule.code,
        "name": rule.name,
        "language": rule.language,
        "severity": rule.severity.value,
        "fix": rule.fix.value,
        "category": rule.category,
        "default": rule.default,
        "group": rule.opt_in.value if rule.opt_in is not None else None,
        "why_not_default": rule.why_not_default,
        "production_only": rule.production_only,
        "summary": rule.summary,
    }


def _selection_text(rule: Rule) -> str:
    """What `explain` says about the rule's place in the default set and on test files."""
    if rule.opt_in is None:
        lines = ["Default: yes."]
    else:
        lines = [
            f"Default: no; opt-in, group `{rule.opt_in.value}` ({rule.opt_in.meaning}).",
            f"Why not default: {rule.why_not_default}.",
            f'Turn it on: `extend-select = ["{rule.code}"]` or `--extend-select {rule.code}`.',
        ]
    if rule.production_only:
        lines.append("Test files: skipped (production-only; see `test-paths`).")
    else:
        lines.append("Test files: checked too (it finds bugs, which matter in tests as well).")
    return "\n".join(lines)


@app.command()
@_user_errors
def explain(
    code: Annotated[str, typer.Argument(help="A rule code such as ASY001, or its name.")],
) -> None:
    """Print a rule's documentation."""
    wanted = code.strip()
    for rule in registry().values():
        if wanted.upper() == rule.code or wanted.lower() == rule.name:
            import inspect

            print(f"# {rule.code} {rule.name}\n")
            print(
                f"Severity: {rule.severity.value}. Fix: {rule.fix.value}. "
                f"Category: {rule.category}.\n{_selection_text(rule)}\n"
            )
            print(inspect.cleandoc(rule.docs))
            return
    raise UsageError(f"unknown rule {code!r} (see `flowfix rules`)")


def _version(value: bool) -> None:
    if value:
        print(f"flowfix {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Find and fix performance anti-patterns in LLM/agent orchestration code."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived: unwind (closing the worker pool) and exit 128 + signum.

    A BaseException, so that neither click (which turns KeyboardInterrupt into "Aborted!" and
    exit 1) nor `except Exception` blocks swallow it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


_main_pid = 0
_signalled = 0  # the first SIGINT/SIGTERM received, 0 before any
_announced = False  # "flowfix: interrupted" has been printed


def _on_signal(signum: int, frame: FrameType | None) -> None:
    global _signalled
    if os.getpid() != _main_pid:
        # A forked worker inherits this handler: it owns no output file, so it just stops.
        os._exit(128 + signum)
    if defer_signal(signum):  # a file is being replaced: finish it first, then come back here
        return
    if _signalled:  # a second signal while unwinding: stop now
        if not _announced:
            _err("flowfix: interrupted")
        os._exit(128 + _signalled)
    _signalled = signum
    _stop_workers()
    raise Interrupted(signum)


def _stop_workers() -> None:
    """Kill the worker processes, so the pool's shutdown does not wait for queued files.

    Workers only read files and compute results; writing is done by this process, so killing
    them cannot leave a file half written.
    """
    for child in multiprocessing.active_children():
        try:
            child.kill()
        except (OSError, ValueError):
            pass


def _install_signal_handlers() -> None:
    global _main_pid, _signalled, _announced
    _main_pid, _signalled, _announced = os.getpid(), 0, False
    for name in ("SIGINT", "SIGTERM"):
        signum = getattr(signal, name, None)
        if signum is not None:
            signal.signal(signum, _on_signal)
    previous = threading.excepthook

    def quiet_after_signal(args: threading.ExceptHookArgs) -> None:
        # Once interrupted, the pool's manager thread may trip over the futures cancelled by
        # the unwinding (InvalidStateError on CPython 3.11): not worth a traceback.
        if not _signalled:
            previous(args)

    threading.excepthook = quiet_after_signal


def main() -> None:
    """Console entry point: a flowfix bug exits 2 with a one-line message, not a traceback.

    SIGINT and SIGTERM stop the run cleanly: one `flowfix: interrupted` line on stderr, exit
    130 or 143, no temp file left, every file fully old or fully new.
    """
    _install_signal_handlers()
    tune_gc()
    try:
        app()
    except SystemExit:
        raise
    except (Interrupted, KeyboardInterrupt) as exc:
        _interrupted(exc.signum if isinstance(exc, Interrupted) else signal.SIGINT)
    except Exception as exc:
        if _signalled:  # e.g. the worker pool broke because the signal reached the workers too
            _interrupted(_signalled)
        _err(f"flowfix: internal error: {type(exc).__name__}: {exc}")
        sys.exit(2)


def entry() -> NoReturn:
    """The `flowfix` command (and `python -m flowfix`): `main`, then exit without tearing the
    interpreter down. By then a run's trees and call graph are garbage, and freeing them object
    by object took a tenth of a cold check (0.3 s of 3 s on the benchmark corpus); mypy leaves
    the same way. Worker pools are shut down and output is flushed before."""
    try:
        main()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # as `sys.exit("message")` does
        _err(str(code))
        status = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(status)


def _interrupted(signum: int) -> NoReturn:
    global _signalled, _announced
    _signalled = _signalled or signum  # from here on, a second signal exits at once
    _stop_workers()
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    _err("flowfix: interrupted")
    _announced = True
    sys.exit(128 + signum)
