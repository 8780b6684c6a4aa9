"""discover → read → parse → detect → fix loop → FileResult, for one file or many (in parallel)."""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import gc
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from flowfix.cache import Entry, ResultCache
from flowfix.config import Config
from flowfix.detector import run_detectors, wanted
from flowfix.fixes import Picks, fix_loop, fixable, picked
from flowfix.languages import is_rust, language_of
from flowfix.project import ProjectIndex
from flowfix.rules import Finding, FixSafety, Rule, expand_codes, registry
from flowfix.sources import ParseFailure, Source, SourceError, read_source
from flowfix.style import style_for
from flowfix.trees import known_tree
from flowfix.verify import compiles

# libcst is imported where code is rewritten: detection never needs it.


@dataclass(frozen=True)
class Options:
    """What a run does: which rules, whether to fix, and the lowest fix safety applied."""

    codes: tuple[str, ...]
    config: Config = field(default_factory=Config)
    fix: bool = False
    threshold: FixSafety = FixSafety.SAFE
    project: ProjectIndex | None = None
    cache: ResultCache | None = None

    def rules_for(self, display: str) -> list[Rule]:
        """The selected rules of the file's language, less those per-file-ignores drops and,
        on a test path, the production-only ones (patterns rooted at the project's root)."""
        where = self.config.project_path(display)
        ignored = self.config.ignored_for(where) if self.config.per_file_ignores else set()
        dropped = expand_codes(sorted(ignored))
        in_tests = self.config.is_test_file(display)
        rules = registry()
        language = language_of(display)
        return [
            rules[code]
            for code in self.codes
            if rules[code].language == language
            and code not in dropped
            and not (in_tests and rules[code].production_only)
        ]


@dataclass(frozen=True)
class FileResult:
    """Everything a run learned about one file. `new_text` is None when the file is unchanged."""

    display: str
    findings: tuple[Finding, ...] = ()
    suppressed: tuple[str, ...] = ()  # the codes of suppressed findings, one per finding
    source: Source | None = None
    new_text: str | None = None
    errors: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    passes: int = 0

    @property
    def changed(self) -> bool:
        return self.new_text is not None

    @property
    def new_raw(self) -> bytes | None:
        if self.new_text is None or self.source is None:
            return None
        return self.source.encode(self.new_text)


def display_path(path: Path, cwd: Path | None = None) -> str:
    """Path as shown to users and in patches: relative to cwd when below it, with `/`."""
    base = os.fspath(cwd) if cwd is not None else os.getcwd()
    full = os.path.join(base, path)  # `path` itself when absolute
    if full.startswith(base.rstrip(os.sep) + os.sep):
        return Path(full[len(base.rstrip(os.sep)) + 1 :]).as_posix()
    return path.as_posix()


def check_syntax(text: str | bytes) -> ast.Module:
    """Parse with CPython's own parser: the tree every rule analyses (ParseFailure if invalid).
    A file's bytes parse faster than its decoded text (CPython would encode the text back to
    UTF-8 first) and give the same tree: the parser decodes them as the reader did (PEP 263)."""
    try:
        return ast.parse(text)
    except SyntaxError as exc:
        where = f" at {exc.lineno}:{exc.offset}" if exc.lineno is not None else ""
        raise ParseFailure(f"syntax error{where}: {exc.msg}") from exc
    except ValueError as exc:  # e.g. a null byte, on Pythons that do not make it a SyntaxError
        raise ParseFailure(f"syntax error: {exc}") from exc
    except (RecursionError, MemoryError) as exc:
        raise ParseFailure("too deeply nested to parse") from exc


@dataclass(frozen=True)
class Detection:
    """Findings of one detection pass and the codes of the findings suppressed by comments."""

    findings: list[Finding]
    suppressed: tuple[str, ...] = ()


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector paused for the block: analysing a file builds a large tree
    that stays alive until it is done, and each collection meanwhile would walk it in vain
    (a third of a cold run). Whatever cycles the block leaves are collected after it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def detect(
    text: str,
    display: str,
    rules: Sequence[Rule],
    config: Config,
    project: ProjectIndex | None = None,
    raw: bytes | None = None,
) -> Detection:
    """Parse `text` (or `raw`, the bytes it was decoded from, when given) with CPython's parser
    and run, over one semantic model, the rules whose text triggers occur in it (ParseFailure
    if it is not valid Python). Rust files: the same with tree-sitter (flowfix.rust)."""
    if is_rust(display):
        from flowfix.rust.detector import run_rust_detectors

        detectors = wanted((rule.detector for rule in rules), text)
        found, hidden = run_rust_detectors(text, display, detectors, config)
        hidden_codes = tuple(sorted(f.code for f in hidden))
        return Detection(sorted(found, key=lambda f: f.sort_key), hidden_codes)
    with gc_paused():
        tree = (
            (project.tree_for(display, text) if project is not None else None)
            or known_tree(text)
            or check_syntax(text if raw is None else raw)
        )
        detectors = wanted((rule.detector for rule in rules), text)
        try:
            found, hidden = run_detectors(tree, text, display, detectors, config, project)
        except RecursionError as exc:
            raise ParseFailure("too deeply nested to analyse") from exc
        finally:
            if project is not None:
                project.release(display)
    return Detection(sorted(found, key=lambda f: f.sort_key), tuple(sorted(f.code for f in hidden)))


def _mark_fixed(
    original: list[Finding], remaining: list[Finding], threshold: FixSafety, picks: Picks | None
) -> list[Finding]:
    """Original findings that the fix loop removed, marked fixed (matched by code, message, fix;
    with `picks`, the findings they did not want are matched with the remaining ones first)."""
    left = Counter((f.code, f.message, f.fix) for f in remaining)
    fixed: list[Finding] = []
    if picks is not None:
        original = sorted(original, key=picks.wants)
    for finding in original:
        key = (finding.code, finding.message, finding.fix)
        if left[key]:
            left[key] -= 1
        elif finding.fix.applies(threshold):
            fixed.append(dataclasses.replace(finding, fixed=True, note=""))
    return fixed


def process_source(
    source: Source,
    display: str,
    options: Options,
    entry: Entry | None = None,
    picks: Picks | None = None,
) -> FileResult:
    """Detect (and, with `options.fix`, fix) one already-read source.

    `entry` is its detection when already known (from the cache or the runner's scan); with
    `picks`, only the findings they want are fixed (a review's decisions).
    """
    rules = options.rules_for(display)
    text = source.text
    if entry is None:
        entry = detection_entry(
            source.text, display, rules, options.config, options.project, source.raw
        )
    if entry.error is not None:
        return FileResult(display=display, source=source, errors=(entry.error,))
    findings, suppressed = list(entry.findings), entry.suppressed
    if not options.fix or not picked(fixable(findings, options.threshold, set()), picks):
        return FileResult(
            display=display, findings=tuple(findings), suppressed=suppressed, source=source
        )

    def not_rewritten(reason: str, notes: Sequence[str] = ()) -> FileResult:
        return FileResult(
            display=display,
            findings=tuple(_with_note(f, reason, options.threshold) for f in findings),
            suppressed=suppressed,
            source=source,
            notes=(*notes, reason),
        )

    refusal = _refuse_rewrite(text, display)
    if refusal:
        return not_rewritten(refusal)

    def redetect(new_text: str) -> list[Finding]:
        return detect(new_text, display, rules, options.config, options.project).findings

    state = fix_loop(
        text,
        display,
        rules,
        options.config,
        options.threshold,
        findings,
        redetect,
        source.encoding,
        picks,
        style_for(source.path),
    )
    if not state.converged and state.text != text:
        return not_rewritten(
            "the fixes did not converge (raise max-fix-passes); not rewritten", state.notes
        )
    notes = list(state.notes) + [f"{code}: {why}" for code, why in sorted(state.stuck.items())]
    remaining = [
        _with_note(f, state.stuck.get(f.code, ""), options.threshold) for f in state.findings
    ]
    result = sorted(
        _mark_fixed(findings, state.findings, options.threshold, picks) + remaining, key=_order
    )
    return FileResult(
        display=display,
        findings=tuple(result),
        suppressed=suppressed,
        source=source,
        new_text=state.text if state.text != text else None,
        notes=tuple(notes),
        passes=state.passes,
    )


def detection_entry(
    text: str,
    display: str,
    rules: Sequence[Rule],
    config: Config,
    project: ProjectIndex | None,
    raw: bytes | None = None,
) -> Entry:
    """Detection as a cacheable entry: findings, or the parse error, plus the modules whose
    call-graph facts the findings read (`raw`: see `detect`)."""
    if project is not None:
        project.record()
    try:
        found = detect(text, display, rules, config, project, raw)
    except ParseFailure as exc:
        return Entry(error=str(exc))
    modules = project.recorded() if project is not None else {}
    return Entry(tuple(found.findings), found.suppressed, project=modules or None)


def _refuse_rewrite(text: str, display: str) -> str:
    """Why a file must never be rewritten, whatever the fix ('' if it may be). A Rust file is
    judged fix by fix: each refuses code that does not parse where it would change it."""
    if is_rust(display):
        return ""
    if not compiles(text, display):
        return "the running Python does not compile this file; not rewritten"
    return ""


def _order(finding: Finding) -> tuple[object, ...]:
    return (finding.span, finding.code, not finding.fixed)


def _with_note(finding: Finding, note: str, threshold: FixSafety) -> Finding:
    if not note or not finding.fix.applies(threshold):
        return finding
    return dataclasses.replace(finding, fixed=False, note=note)


def process_path(path: Path, options: Options) -> FileResult:
    display = display_path(path)
    try:
        source = read_source(path)
    except SourceError as exc:
        return FileResult(display=display, errors=(str(exc),))
    return process_source(source, display, options)


def with_project(options: Options, sources: Iterable[tuple[Path, str, str]]) -> Options:
    """Options carrying a call graph of `(path, display, text)` when a selected rule needs one."""
    rules = registry()
    if not any(rules[code].needs_project for code in options.codes):
        return options
    python = [source for source in sources if not is_rust(source[1])]
    return dataclasses.replace(options, project=ProjectIndex.build(python))
