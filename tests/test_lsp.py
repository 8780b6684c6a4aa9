"""`flowfix lsp`: real JSON-RPC sessions with a `python -m flowfix lsp` subprocess, and units."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.workspace.position_codec import PositionCodec

import flowfix
from flowfix.lsp import FIX_ALL, FIX_ALL_TITLE, client_column, diagnostic, display_name
from flowfix.rules import Finding, FixSafety, Span

TIMEOUT = 30
T = TypeVar("T")

SLEEP = "import time\nasync def f(): time.sleep(1)\n"
SLEEP_FIXED = "import asyncio\n\n\nasync def f(): await asyncio.sleep(1)\n"
SLEEP_MESSAGE = "`time.sleep()` blocks the event loop in async `f()`"
REQUESTS = "import requests\nasync def f(url):\n    return requests.get(url)\n"


class Client(LanguageClient):
    """pygls's client, keeping the server's exit code."""

    returncode: int | None = None

    async def server_exit(self, server: asyncio.subprocess.Process) -> None:
        self.returncode = server.returncode


class Session:
    """A client connected to a `flowfix lsp` subprocess, recording what the server sends."""

    def __init__(self) -> None:
        self.client = Client("flowfix-tests", "0")
        self.published: list[types.PublishDiagnosticsParams] = []
        self.shown: list[types.ShowMessageParams] = []
        self.logged: list[types.LogMessageParams] = []

        def published(params: types.PublishDiagnosticsParams) -> None:
            self.published.append(params)

        def shown(params: types.ShowMessageParams) -> None:
            self.shown.append(params)

        self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)(published)

        def logged(params: types.LogMessageParams) -> None:
            self.logged.append(params)

        self.client.feature(types.WINDOW_SHOW_MESSAGE)(shown)
        self.client.feature(types.WINDOW_LOG_MESSAGE)(logged)
        self.versions: dict[str, int] = {}
        self.capabilities = types.ServerCapabilities()

    def open(self, path: Path, text: str) -> str:
        uri = path.as_uri()
        self.versions[uri] = 1
        language = "rust" if path.suffix == ".rs" else "python"
        item = types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=item))
        return uri

    def change(self, uri: str, text: str) -> int:
        """Replace the whole text (full sync); returns the new version."""
        self.versions[uri] += 1
        document = types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri])
        changes = [types.TextDocumentContentChangeWholeDocument(text=text)]
        params = types.DidChangeTextDocumentParams(text_document=document, content_changes=changes)
        self.client.text_document_did_change(params)
        return self.versions[uri]

    def close(self, uri: str) -> None:
        document = types.TextDocumentIdentifier(uri=uri)
        self.client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=document)
        )

    def save(self, uri: str) -> None:
        document = types.TextDocumentIdentifier(uri=uri)
        self.client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=document))

    async def diagnostics(
        self, uri: str, version: int | None = 1, after: int = 0
    ) -> list[types.Diagnostic]:
        """The diagnostics published for `version` of `uri`, after the first `after` publications
        (waits for them)."""

        def find() -> types.PublishDiagnosticsParams | None:
            found = [p for p in self.published[after:] if p.uri == uri and p.version == version]
            return found[-1] if found else None

        return list((await poll(find)).diagnostics)

    async def actions(
        self, uri: str, where: types.Range, only: Sequence[str] | None = None
    ) -> list[types.CodeAction]:
        context = types.CodeActionContext(diagnostics=[], only=only)
        document = types.TextDocumentIdentifier(uri=uri)
        params = types.CodeActionParams(text_document=document, range=where, context=context)
        result = await within(self.client.text_document_code_action_async(params))
        assert result is not None
        return [action for action in result if isinstance(action, types.CodeAction)]


async def within(awaitable: Awaitable[T]) -> T:
    return await asyncio.wait_for(awaitable, TIMEOUT)


async def poll(find: Callable[[], T | None]) -> T:
    """Wait (at most TIMEOUT seconds) until `find()` returns something."""

    async def loop() -> T:
        while (found := find()) is None:
            await asyncio.sleep(0.01)
        return found

    return await within(loop())


@asynccontextmanager
async def session(
    root: Path, shutdown: bool = True, capabilities: types.ClientCapabilities | None = None
) -> AsyncIterator[Session]:
    """Start the server, initialize it on `root`; (shut it down and) exit it, wait for it."""
    lsp = Session()
    await lsp.client.start_io(sys.executable, "-m", "flowfix", "lsp")
    try:
        params = types.InitializeParams(
            capabilities=capabilities or types.ClientCapabilities(), root_uri=root.as_uri()
        )
        result = await within(lsp.client.initialize_async(params))
        assert result.server_info == types.ServerInfo(name="flowfix", version=flowfix.__version__)
        lsp.capabilities = result.capabilities
        lsp.client.initialized(types.InitializedParams())
        yield lsp
        if shutdown:
            await within(lsp.client.shutdown_async(None))
    finally:
        if not lsp.client.stopped:  # after a failure too, or the server would wait for input
            lsp.client.exit(None)
        await within(lsp.client.stop())


def lsp_range(line: int, start: int, end: int) -> types.Range:
    return types.Range(
        start=types.Position(line=line, character=start),
        end=types.Position(line=line, character=end),
    )


def apply_edits(text: str, edits: Sequence[types.TextEdit]) -> str:
    """What a client does with `edits` (UTF-16 columns; a line past the end is the end)."""
    starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]

    def offset(position: types.Position) -> int:
        if position.line >= len(starts):
            return len(text)
        line = text[starts[position.line] :]
        prefix = line.encode("utf-16-le")[: 2 * position.character].decode("utf-16-le")
        return starts[position.line] + len(prefix)

    for edit in sorted(edits, key=lambda e: offset(e.range.start), reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]
    return text


def edits_of(action: types.CodeAction, uri: str, version: int) -> list[types.TextEdit]:
    """The action's edits, checked to be versioned edits of `uri` only."""
    assert action.edit is not None and action.edit.document_changes is not None
    (change,) = action.edit.document_changes
    assert isinstance(change, types.TextDocumentEdit)
    assert change.text_document == types.OptionalVersionedTextDocumentIdentifier(
        uri=uri, version=version
    )
    return [edit for edit in change.edits if isinstance(edit, types.TextEdit)]


def test_diagnostics_quick_fix_and_fix_all(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with session(tmp_path) as lsp:
            assert lsp.capabilities.text_document_sync == types.TextDocumentSyncOptions(
                open_close=True, change=types.TextDocumentSyncKind.Full, save=True
            )
            provider = lsp.capabilities.code_action_provider
            assert isinstance(provider, types.CodeActionOptions)
            assert list(provider.code_action_kinds or []) == ["quickfix", FIX_ALL]
            uri = lsp.open(tmp_path / "app.py", SLEEP)
            (found,) = await lsp.diagnostics(uri)
            assert found == types.Diagnostic(
                range=lsp_range(1, 15, 28),
                message=SLEEP_MESSAGE,
                severity=types.DiagnosticSeverity.Error,
                code="ASY001",
                source="flowfix",
            )
            actions = await lsp.actions(uri, found.range)
            assert [(a.title, a.kind) for a in actions] == [
                (f"Fix ASY001: {SLEEP_MESSAGE}", types.CodeActionKind.QuickFix),
                (FIX_ALL_TITLE, FIX_ALL),
            ]
            assert list(actions[0].diagnostics or []) == [found]
            assert apply_edits(SLEEP, edits_of(actions[0], uri, 1)) == SLEEP_FIXED
            assert apply_edits(SLEEP, edits_of(actions[1], uri, 1)) == SLEEP_FIXED
            only_fix_all = await lsp.actions(uri, lsp_range(0, 0, 0), only=["source.fixAll"])
            assert [a.title for a in only_fix_all] == [FIX_ALL_TITLE]
            version = lsp.change(uri, SLEEP_FIXED)
            assert await lsp.diagnostics(uri, version) == []

    asyncio.run(scenario())


RESOLVING = types.ClientCapabilities(
    text_document=types.TextDocumentClientCapabilities(
        code_action=types.CodeActionClientCapabilities(
            resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"])
        )
    )
)


def test_a_client_that_resolves_gets_actions_at_once_and_edits_on_resolve(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with session(tmp_path, capabilities=RESOLVING) as lsp:
            provider = lsp.capabilities.code_action_provider
            assert isinstance(provider, types.CodeActionOptions) and provider.resolve_provider
            uri = lsp.open(tmp_path / "app.py", SLEEP)
            (found,) = await lsp.diagnostics(uri)
            quick, fix_all = await lsp.actions(uri, found.range)
            assert (quick.title, fix_all.title) == (f"Fix ASY001: {SLEEP_MESSAGE}", FIX_ALL_TITLE)
            assert quick.edit is None and fix_all.edit is None
            for action in (quick, fix_all):
                resolved = await within(lsp.client.code_action_resolve_async(action))
                assert apply_edits(SLEEP, edits_of(resolved, uri, 1)) == SLEEP_FIXED
            # an action resolved after the document changed gets no edit
            lsp.change(uri, SLEEP + "\n")
            assert (await within(lsp.client.code_action_resolve_async(quick))).edit is None

    asyncio.run(scenario())


def test_configuration_beside_the_file(tmp_path: Path) -> None:
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.mkdir()
    bad.mkdir()
    (good / "pyproject.toml").write_text(
        '[tool.flowfix]\nignore = ["ASY001"]\nper-file-ignores = { "sub/*" = ["ASY002"] }\n'
    )
    (bad / "pyproject.toml").write_text("[tool.flowfix]\nbogus = 1\n")

    async def scenario() -> None:
        async with session(tmp_path) as lsp:
            uri = lsp.open(good / "app.py", SLEEP + REQUESTS)
            assert [d.code for d in await lsp.diagnostics(uri)] == ["ASY002"]
            # per-file-ignores match the path relative to the pyproject.toml's folder
            assert await lsp.diagnostics(lsp.open(good / "sub" / "app.py", SLEEP + REQUESTS)) == []
            (good / "pyproject.toml").write_text('[tool.flowfix]\nselect = ["ASY001"]\n')
            published = len(lsp.published)
            lsp.save(uri)  # saving re-reads the configuration
            assert [d.code for d in await lsp.diagnostics(uri, 1, published)] == ["ASY001"]
            for name in ("one.py", "two.py"):
                assert await lsp.diagnostics(lsp.open(bad / name, SLEEP)) == []
            assert [(m.type, m.message) for m in lsp.shown] == [
                (
                    types.MessageType.Error,
                    f"{bad / 'pyproject.toml'}: [tool.flowfix] unknown key 'bogus'",
                )
            ]

    asyncio.run(scenario())


def test_columns_after_non_ascii_characters_are_utf16(tmp_path: Path) -> None:
    text = 'import time\nasync def f(): "é😀"; time.sleep(1)\n'

    async def scenario() -> None:
        async with session(tmp_path) as lsp:
            (found,) = await lsp.diagnostics(lsp.open(tmp_path / "app.py", text))
            assert found.range == lsp_range(1, 22, 35)

    asyncio.run(scenario())


def test_unsafe_fix_offered_only_when_the_config_allows_it(tmp_path: Path) -> None:
    unsafe = tmp_path / "unsafe"
    unsafe.mkdir()
    (unsafe / "pyproject.toml").write_text("[tool.flowfix]\nunsafe-fixes = true\n")
    whole = types.Range(
        start=types.Position(line=0, character=0), end=types.Position(line=3, character=0)
    )

    async def scenario() -> None:
        async with session(tmp_path) as lsp:
            default_uri = lsp.open(tmp_path / "app.py", REQUESTS)
            unsafe_uri = lsp.open(unsafe / "app.py", REQUESTS)
            for uri in (default_uri, unsafe_uri):
                assert [d.code for d in await lsp.diagnostics(uri)] == ["ASY002"]
            assert await lsp.actions(default_uri, whole) == []
            titles = [a.title for a in await lsp.actions(unsafe_uri, whole)]
            assert [title.split(":")[0] for title in titles] == ["Fix ASY002"]

    asyncio.run(scenario())


def test_rust_documents_get_diagnostics_and_quick_fixes(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.flowfix]\nunsafe-fixes = true\n")
    text = "use std::thread;\nasync fn f() {\n    thread::sleep(std::time::Duration::ZERO);\n}\n"
    whole = types.Range(
        start=types.Position(line=0, character=0), end=types.Position(line=4, character=0)
    )

    async def scenario() -> None:
        async with session(tmp_path) as lsp:
            uri = lsp.open(tmp_path / "lib.rs", text)
            (found,) = await lsp.diagnostics(uri)
            assert (found.code, found.range) == ("RSA001", lsp_range(2, 4, 44))
            (action,) = await lsp.actions(uri, whole)
            assert action.title.startswith("Fix RSA001")
            assert action.edit is not None and action.edit.document_changes is not None
            (change,) = action.edit.document_changes
            assert isinstance(change, types.TextDocumentEdit)
            # the unused `use std::thread;` goes, the call becomes an awaited tokio sleep
            assert [(e.range.start.line, e.range.end.line, e.new_text) for e in change.edits] == [
                (0, 1, ""),
                (2, 3, "    tokio::time::sleep(std::time::Duration::ZERO).await;\n"),
            ]

    asyncio.run(scenario())


def test_unparsable_text_keeps_diagnostics_and_close_clears_them(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with session(tmp_path) as lsp:
            uri = lsp.open(tmp_path / "app.py", SLEEP)
            assert len(await lsp.diagnostics(uri)) == 1
            lsp.change(uri, SLEEP.replace("f()", "f("))
            # the code action waits for version 2's analysis: had it published, it would be in
            assert await lsp.actions(uri, lsp_range(1, 0, 0)) == []
            assert [p.version for p in lsp.published] == [1]
            lsp.close(uri)
            assert await lsp.diagnostics(uri, None) == []

    asyncio.run(scenario())


def test_an_error_inside_flowfix_is_logged_and_the_server_goes_on(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with session(tmp_path) as lsp:
            # a lone surrogate cannot be encoded as UTF-8: analysing this text raises
            uri = lsp.open(tmp_path / "bad.py", SLEEP + 'x = "\ud800"\n')
            assert await lsp.actions(uri, lsp_range(1, 0, 0)) == []
            (logged,) = lsp.logged
            assert logged.type == types.MessageType.Error
            assert logged.message.startswith(f"flowfix failed on {uri}:\nTraceback")
            assert len(await lsp.diagnostics(lsp.open(tmp_path / "good.py", SLEEP))) == 1
            assert [p.uri for p in lsp.published] == [(tmp_path / "good.py").as_uri()]

    asyncio.run(scenario())


def test_exit_code_is_0_after_shutdown_else_1(tmp_path: Path) -> None:
    async def scenario(shutdown: bool) -> int | None:
        async with session(tmp_path, shutdown) as lsp:
            pass
        return lsp.client.returncode

    assert [asyncio.run(scenario(shutdown)) for shutdown in (True, False)] == [0, 1]


def test_client_column_counts_code_units_of_the_negotiated_encoding() -> None:
    line = 'x = "é😀"; y'
    column = line.index("y") + 1
    kinds = types.PositionEncodingKind
    units = {kind: client_column(line, column, PositionCodec(kind)) for kind in kinds}
    assert units == {kinds.Utf8: 14, kinds.Utf16: 11, kinds.Utf32: 10}
    assert client_column(line, 1, PositionCodec()) == 0


def test_optimization_rules_are_warnings() -> None:
    finding = Finding("ASY005", "a.py", Span(1, 1, 1, 2), "slow", FixSafety.NONE)
    found = diagnostic(finding, ["x"], PositionCodec())
    assert found.severity is types.DiagnosticSeverity.Warning


def test_display_name_is_relative_to_the_first_base_holding_the_file() -> None:
    file = Path("/work/project/pkg/mod.py")
    assert display_name(file, [Path("/elsewhere"), Path("/work/project")]) == "pkg/mod.py"
    assert display_name(file, [Path("/elsewhere")]) == "mod.py"


def test_the_editor_selects_rules_as_the_command_line_does(tmp_path: Path) -> None:
    from flowfix.lsp import analyse

    (tmp_path / "pyproject.toml").write_text(
        '[tool.flowfix]\nselect = ["TIM"]\nextend-select = ["ASY001"]\n'
    )
    path = tmp_path / "app.py"
    found = analyse(path.as_uri(), 1, path, SLEEP, [tmp_path])
    assert [f.code for f in found.findings] == ["ASY001"]
