"""`flowfix lsp`: flowfix's findings and fixes in an editor, over the Language Server Protocol.

Open documents are analysed (unsaved text included) on a worker thread, off the event loop;
only the newest analysis of a document is published. Fixes are code actions: one quick fix per
finding and a `source.fixAll.flowfix` action for every safe fix, as versioned line edits.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import dataclasses
import re
import sys
import traceback
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path
from pygls.workspace.position_codec import PositionCodec

import flowfix
from flowfix.config import ConfigError, find_config_file, load_config, rule_codes
from flowfix.engine import Options, gc_paused, process_source, with_project
from flowfix.fixes import fixable
from flowfix.languages import is_rust
from flowfix.line_edits import LineEdit, line_edits
from flowfix.rules import Finding, FixSafety, Severity, Span, registry
from flowfix.sources import Source, digest
from flowfix.suggest import fix_finding
from flowfix.trees import remember_tree

FIX_ALL = "source.fixAll.flowfix"
FIX_ALL_TITLE = "Fix all safe flowfix issues in file"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the LSP's (and Python's) line ends, nothing else


@dataclass(frozen=True)
class Analysis:
    """One version of a document as flowfix saw it: its findings, or why it does not parse."""

    uri: str
    version: int | None
    source: Source
    display: str
    options: Options
    findings: tuple[Finding, ...]
    error: str = ""
    fixes: dict[Finding, str | None] = field(default_factory=dict, compare=False)

    @cached_property
    def lines(self) -> list[str]:
        return _LINE_BREAK.split(self.source.text)

    def fixed(self, finding: Finding) -> str | None:
        """The text with only `finding` fixed (None when its codemod cannot), computed once."""
        if finding not in self.fixes:
            config, project = self.options.config, self.options.project
            text, encoding = self.source.text, self.source.encoding
            before = sum(1 for f in self.findings if f.code == finding.code)
            self.fixes[finding] = fix_finding(
                text, self.display, finding, config, encoding, project, before
            )
        return self.fixes[finding]

    @cached_property
    def all_fixed(self) -> str | None:
        """The text with every safe fix applied (None when nothing changes)."""
        if not any(finding.fix.applies(FixSafety.SAFE) for finding in self.findings):
            return None
        options = dataclasses.replace(self.options, fix=True, threshold=FixSafety.SAFE)
        return process_source(self.source, self.display, options).new_text


def client_column(line: str, column: int, codec: PositionCodec) -> int:
    """A 1-based code-point column of `line` as a 0-based offset in the client's code units."""
    return int(codec.client_num_units(line[: column - 1]))


def span_range(span: Span, lines: Sequence[str], codec: PositionCodec) -> types.Range:
    """A finding's span as an LSP range (0-based lines, columns in the client's units)."""

    def position(line: int, column: int) -> types.Position:
        text = lines[line - 1] if line <= len(lines) else ""
        return types.Position(line=line - 1, character=client_column(text, column, codec))

    return types.Range(
        start=position(span.line, span.column), end=position(span.end_line, span.end_column)
    )


def diagnostic(finding: Finding, lines: Sequence[str], codec: PositionCodec) -> types.Diagnostic:
    """A finding as an LSP diagnostic: Error for critical rules, Warning for optimizations."""
    critical = registry()[finding.code].severity is Severity.CRITICAL
    return types.Diagnostic(
        range=span_range(finding.span, lines, codec),
        message=finding.message,
        severity=types.DiagnosticSeverity.Error if critical else types.DiagnosticSeverity.Warning,
        code=finding.code,
        source="flowfix",
    )


def display_name(path: Path, bases: Sequence[Path]) -> str:
    """`path` relative to the first base it is below, `/`-separated; else its name."""
    for base in bases:
        if path.is_relative_to(base):
            return path.relative_to(base).as_posix()
    return path.name


def analyse(
    uri: str, version: int | None, path: Path, text: str, roots: Sequence[Path]
) -> Analysis:
    """Detect on one document version with its folder's configuration (ConfigError if broken)."""
    config_file = find_config_file(path.parent)
    # Display paths are relative to the configuration's folder, whatever folder the server runs in.
    config = dataclasses.replace(
        load_config(config_file), base=str(config_file.parent) if config_file else ""
    )
    display = display_name(path, [config_file.parent] if config_file else roots)
    threshold = FixSafety.UNSAFE if config.unsafe_fixes else FixSafety.SAFE
    options = Options(
        codes=rule_codes(config),
        config=config,
        threshold=threshold,
    )
    options = with_project(options, [(path, display, text)])
    raw = text.encode("utf-8")
    source = Source(path, raw=raw, text=text, encoding="utf-8", digest=digest(raw))
    if not is_rust(display):
        # Kept for the quick fixes asked of this version: their codemods need its statements.
        with gc_paused(), contextlib.suppress(SyntaxError, ValueError, RecursionError, MemoryError):
            remember_tree(text, ast.parse(text))
    result = process_source(source, display, options)
    error = result.errors[0] if result.errors else ""
    return Analysis(uri, version, source, display, options, result.findings, error)


def _overlaps(a: types.Range, b: types.Range) -> bool:
    def key(position: types.Position) -> tuple[int, int]:
        return (position.line, position.character)

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)


def _wanted(kind: str, only: Sequence[str] | None) -> bool:
    """Whether the client's `context.only` filter (if any) admits actions of `kind`."""
    return only is None or any(kind == prefix or kind.startswith(f"{prefix}.") for prefix in only)


def workspace_edit(analysis: Analysis, edits: Sequence[LineEdit]) -> types.WorkspaceEdit:
    """Whole-line edits of the analysed version (the client refuses them on a newer one)."""
    text_edits = [
        types.TextEdit(
            range=types.Range(
                start=types.Position(line=edit.start, character=0),
                end=types.Position(line=edit.end, character=0),
            ),
            new_text=edit.text,
        )
        for edit in edits
    ]
    document = types.OptionalVersionedTextDocumentIdentifier(
        uri=analysis.uri, version=analysis.version
    )
    return types.WorkspaceEdit(
        document_changes=[types.TextDocumentEdit(text_document=document, edits=text_edits)]
    )


def quick_fixes(
    analysis: Analysis, wanted: types.Range, codec: PositionCodec, lazy: bool
) -> list[types.CodeAction]:
    """A quick fix for each finding in `wanted` whose fix applies at the config's threshold.

    `lazy`: the client resolves actions, so each carries `data` naming its finding and gets
    its edit from `resolve`; otherwise the edit is computed now, and a finding whose codemod
    cannot fix it gets no action.
    """
    actions: list[types.CodeAction] = []
    for index, finding in enumerate(analysis.findings):
        found = diagnostic(finding, analysis.lines, codec)
        if not _overlaps(found.range, wanted):
            continue
        if not fixable([finding], analysis.options.threshold, set()):
            continue
        action = types.CodeAction(
            title=f"Fix {finding.code}: {finding.message}",
            kind=types.CodeActionKind.QuickFix,
            diagnostics=[found],
            is_preferred=True,
            data=_data(analysis, index),
        )
        if lazy or resolve(analysis, action):
            actions.append(action)
    return actions


def fix_all(analysis: Analysis, lazy: bool) -> list[types.CodeAction]:
    """The file's safe fixes as one `source.fixAll.flowfix` action, when they change something
    (when `lazy`, when a safe fix may apply: the edit comes from `resolve`)."""
    action = types.CodeAction(title=FIX_ALL_TITLE, kind=FIX_ALL, data=_data(analysis, None))
    if lazy:
        return [action] if fixable(analysis.findings, FixSafety.SAFE, set()) else []
    return [action] if resolve(analysis, action) else []


def _data(analysis: Analysis, finding: int | None) -> dict[str, object]:
    """What `resolve` needs to find an action's fix again: the document version and finding."""
    return {"uri": analysis.uri, "version": analysis.version, "finding": finding}


def resolve(analysis: Analysis, action: types.CodeAction) -> bool:
    """Give `action` (made by `quick_fixes` or `fix_all` for `analysis`) its edit; False when
    there is none (the codemod cannot fix the finding, or nothing changes)."""
    index = action.data["finding"] if isinstance(action.data, dict) else None
    if isinstance(index, int) and 0 <= index < len(analysis.findings):
        new_text = analysis.fixed(analysis.findings[index])
    elif index is None:
        new_text = analysis.all_fixed
    else:
        return False
    if new_text is None:
        return False
    action.edit = workspace_edit(analysis, line_edits(analysis.source.text, new_text))
    return True


def code_actions(
    analysis: Analysis, params: types.CodeActionParams, codec: PositionCodec, lazy: bool
) -> list[types.CodeAction]:
    """The actions the request asks for (`context.only`), for the analysed version."""
    only = params.context.only
    actions: list[types.CodeAction] = []
    if _wanted(types.CodeActionKind.QuickFix, only):
        actions += quick_fixes(analysis, params.range, codec, lazy)
    if _wanted(FIX_ALL, only):
        actions += fix_all(analysis, lazy)
    return actions


class FlowfixServer(LanguageServer):
    """The language server. `runs` holds, per open document, its newest run: (version, task)."""

    def __init__(self) -> None:
        # Full sync: pygls applies incremental changes with str.splitlines, whose line breaks
        # (form feed, U+2028, ...) are not the LSP's, which would corrupt such documents.
        super().__init__("flowfix", flowfix.__version__, types.TextDocumentSyncKind.Full)
        self.runs: dict[str, tuple[int | None, asyncio.Task[Analysis | None]]] = {}
        self.shown: set[str] = set()
        self.shut_down = False
        # One thread detects, another computes fixes (slow: codemods on the whole file), so
        # diagnostics never wait behind a code action. Each document version has its own
        # Analysis, and only the fixer thread touches an Analysis once it is published.
        self.analyser = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flowfix-analyse")
        self.fixer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flowfix-fix")
        self.feature(types.SHUTDOWN)(shut_down)
        self.feature(types.TEXT_DOCUMENT_DID_OPEN)(did_open)
        self.feature(types.TEXT_DOCUMENT_DID_CHANGE)(did_change)
        self.feature(types.TEXT_DOCUMENT_DID_SAVE)(did_save)
        self.feature(types.TEXT_DOCUMENT_DID_CLOSE)(did_close)
        kinds: list[types.CodeActionKind | str] = [types.CodeActionKind.QuickFix, FIX_ALL]
        options = types.CodeActionOptions(code_action_kinds=kinds, resolve_provider=True)
        self.feature(types.TEXT_DOCUMENT_CODE_ACTION, options)(code_action)
        self.feature(types.CODE_ACTION_RESOLVE)(code_action_resolve)

    def schedule(self, uri: str) -> None:
        """Analyse the document's current text; it becomes the version to publish."""
        doc = self.workspace.get_text_document(uri)
        version: int | None = doc.version
        task = asyncio.ensure_future(self.run(uri, version, Path(doc.path), doc.source))
        self.runs[uri] = (version, task)

    def newest(self, uri: str, task: asyncio.Future[Analysis | None] | None) -> bool:
        """Whether `task` is the newest run of an open document (safe from the workers)."""
        run = self.runs.get(uri)
        return run is not None and run[1] is task

    async def run(self, uri: str, version: int | None, path: Path, text: str) -> Analysis | None:
        """Analyse off the event loop and publish, unless a newer run started meanwhile.

        Text that does not parse (mid-edit) publishes nothing: the last diagnostics stay.
        """
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        try:
            analysis = await loop.run_in_executor(
                self.analyser, self.analyse_newest, task, uri, version, path, text, self.roots()
            )
        except ConfigError as exc:
            self.show_once(str(exc))
            if self.newest(uri, task):
                self.publish(uri, version, [])
            return None
        except Exception:
            self.log_error(f"flowfix failed on {uri}")
            return None
        if analysis is not None and not analysis.error and self.newest(uri, task):
            codec = self.workspace.position_codec
            found = [diagnostic(f, analysis.lines, codec) for f in analysis.findings]
            self.publish(uri, version, found)
        return analysis

    def analyse_newest(
        self,
        task: asyncio.Future[Analysis | None] | None,
        uri: str,
        version: int | None,
        path: Path,
        text: str,
        roots: list[Path],
    ) -> Analysis | None:
        """`analyse` on the worker, skipped (None) when a newer run is already queued."""
        return analyse(uri, version, path, text, roots) if self.newest(uri, task) else None

    async def analysis(self, uri: str) -> Analysis | None:
        """The newest analysis of an open document, once its run is done."""
        while (run := self.runs.get(uri)) is not None:
            analysis = await run[1]
            if self.runs.get(uri) is run:
                return analysis
        return None

    def actions_if_current(
        self, analysis: Analysis, params: types.CodeActionParams, codec: PositionCodec
    ) -> list[types.CodeAction]:
        """`code_actions` on the fixer thread; none once the document has a newer version."""
        if not self.current(analysis):
            return []
        return code_actions(analysis, params, codec, self.resolves_edits())

    def resolve_if_current(self, analysis: Analysis, action: types.CodeAction) -> None:
        """`resolve` on the fixer thread, unless the document has a newer version."""
        if self.current(analysis):
            resolve(analysis, action)

    def current(self, analysis: Analysis) -> bool:
        return self.runs.get(analysis.uri, (None, None))[0] == analysis.version

    def resolves_edits(self) -> bool:
        """Whether the client asks for an action's edit with `codeAction/resolve`."""
        document = self.client_capabilities.text_document
        action = document.code_action if document is not None else None
        support = action.resolve_support if action is not None else None
        return support is not None and "edit" in support.properties

    def roots(self) -> list[Path]:
        """Workspace folders, deepest first, then the root: the fallback bases of display paths."""
        uris = [folder.uri for folder in self.workspace.folders.values()]
        paths = [to_fs_path(uri) for uri in uris]
        folders = sorted((Path(p) for p in paths if p), key=lambda p: len(p.parts), reverse=True)
        root = self.workspace.root_path
        return [*folders, Path(root)] if root else folders

    def publish(self, uri: str, version: int | None, found: list[types.Diagnostic]) -> None:
        params = types.PublishDiagnosticsParams(uri=uri, diagnostics=found, version=version)
        self.text_document_publish_diagnostics(params)

    def show_once(self, message: str) -> None:
        """Show an error message to the user, once per distinct message."""
        if message not in self.shown:
            self.shown.add(message)
            params = types.ShowMessageParams(type=types.MessageType.Error, message=message)
            self.window_show_message(params)

    def log_error(self, what: str) -> None:
        """Log the exception being handled to the client's output (the server carries on)."""
        message = f"{what}:\n{traceback.format_exc()}"
        self.window_log_message(
            types.LogMessageParams(type=types.MessageType.Error, message=message)
        )


# The handlers pygls calls (it passes the server as `ls`).


def shut_down(ls: FlowfixServer, params: None) -> None:
    ls.shut_down = True


def did_open(ls: FlowfixServer, params: types.DidOpenTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri)


def did_change(ls: FlowfixServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri)


def did_save(ls: FlowfixServer, params: types.DidSaveTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri)  # its configuration may have changed


def did_close(ls: FlowfixServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.runs.pop(params.text_document.uri, None)
    ls.publish(params.text_document.uri, None, [])


async def code_action(ls: FlowfixServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    """Quick fixes for the findings in the range, and the file's fix-all action."""
    try:
        analysis = await ls.analysis(params.text_document.uri)
        if analysis is None or analysis.error:
            return []
        codec = ls.workspace.position_codec
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(ls.fixer, ls.actions_if_current, analysis, params, codec)
    except Exception:
        ls.log_error(f"flowfix failed on a code action for {params.text_document.uri}")
        return []


async def code_action_resolve(ls: FlowfixServer, action: types.CodeAction) -> types.CodeAction:
    """The edit of an action `code_action` returned without one (none if the document changed
    since, or its fix turns out not to apply)."""
    try:
        data = action.data if isinstance(action.data, dict) else {}
        analysis = await ls.analysis(str(data.get("uri", "")))
        if analysis is None or analysis.error or analysis.version != data.get("version"):
            return action
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(ls.fixer, ls.resolve_if_current, analysis, action)
    except Exception:
        ls.log_error("flowfix failed to resolve a code action")
    return action


def serve() -> None:
    """Run the language server over stdin/stdout until the client exits."""
    stdout = sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the JSON-RPC stream
    server = FlowfixServer()
    try:
        server.start_io(sys.stdin.buffer, stdout)
    finally:
        server.analyser.shutdown(wait=False, cancel_futures=True)
        server.fixer.shutdown(wait=False, cancel_futures=True)
    if not server.shut_down:  # `exit` without `shutdown`, or the client went away
        raise SystemExit(1)
