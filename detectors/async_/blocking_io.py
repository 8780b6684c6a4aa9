"""ASY002: a blocking HTTP, subprocess, sync client or sync database call in a coroutine's own
body."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from flowfix.analysis import Model
from flowfix.analysis.blocking import (
    BLOCKING_IO_FUNCTIONS,
    CLIENT_METHODS,
    DATABASE_KIND,
    LAZY_RESPONSES,
    MAX_METHOD_DEPTH,
    SYNC_CLIENT_NAMES,
    SYNC_CLIENTS,
    SyncClient,
)
from flowfix.analysis.frameworks import ALL_FRAMEWORKS
from flowfix.analysis.names import shown_callee
from flowfix.analysis.queries import query_source
from flowfix.analysis.values import dotted_name
from flowfix.detector import Detector
from flowfix.detectors.async_.bound_values import bound_class
from flowfix.detectors.async_.database_handles import (
    MAX_ALIASES,
    ImportedAlias,
    declared_client,
    imported_client,
    is_module_function_call,
    opened_handle,
)
from flowfix.detectors.async_.offload import is_awaited, is_offloaded, offload_fix
from flowfix.rules import FixSafety, Severity

BLOCKING_IO_NAMES = frozenset(BLOCKING_IO_FUNCTIONS)


@dataclass(frozen=True)
class BlockingCall:
    """A call that blocks on the network or a child process: how it is spelled and what to use."""

    callee: str
    alternative: str
    reads_later: bool = False
    # Set when the call is reported only, with the advice this note gives.
    report_only: str = ""


# A sync database session's work is moved as a whole, not one call at a time.
DATABASE_NOTE = (
    "move the session's work into one sync function run in a thread "
    "(`await asyncio.to_thread(work)`, Starlette's `run_in_threadpool`)"
)


class BlockingIoInAsync(Detector):
    """A blocking HTTP, subprocess, sync client or database call in `async def` stalls the loop.

    ## Why is this bad?
    While `requests.get()`, `subprocess.run()` or a sync `OpenAI().chat.completions.create()`
    waits for the network, the event loop thread waits with it: every other coroutine of the
    loop (the other nodes of a PocketFlow `AsyncFlow`, the parallel branches of a Dynamiq
    flow's `execute_async`, concurrent requests of the service) is frozen. An LLM call takes
    seconds, so ten "concurrent" requests run one after the other. The KayGraph performance
    guide measures 100 one-second API calls at 100 s sequentially and 2 s as async nodes; a
    blocking call inside `exec_async` brings them back to 100 s. The same guide lists "no
    blocking operations in async nodes" (with `requests.get` in `exec_async` as its example),
    and the Dynamiq review checklist flags `requests.*` in async context. A sync SQLAlchemy
    `Session` in an `async def` FastAPI endpoint is the same mistake: each `db.execute()`,
    `db.query(...).first()` or `db.commit()` waits for a database round trip on the loop.

    ## Example
    ```python
    import requests


    async def fetch_weather(city):
        response = requests.get("https://wttr.in/" + city, timeout=5)
        return response.json()
    ```

    ## Use instead
    ```python
    import asyncio

    import requests


    async def fetch_weather(city):
        response = await asyncio.to_thread(requests.get, "https://wttr.in/" + city, timeout=5)
        return response.json()
    ```
    Better still, use an async client: `httpx.AsyncClient`, `openai.AsyncOpenAI`,
    `anthropic.AsyncAnthropic`, Google Gen AI's `client.aio.models`, `redis.asyncio.Redis`
    (each command of a sync `redis.Redis` is a network round trip),
    `qdrant_client.AsyncQdrantClient`, `asyncio.create_subprocess_exec()`, SQLAlchemy's
    `AsyncSession` / `AsyncConnection` / `AsyncEngine` (`sqlalchemy.ext.asyncio`), or a sync
    `def` endpoint, which FastAPI runs in its thread pool.

    ## Fix safety
    Unsafe: `await asyncio.to_thread(callee, *args, **kwargs)` runs the same call in the
    default thread pool, so it no longer blocks the loop, but the call now runs in another
    thread (thread-local state, context variables are copied, the pool has
    `min(32, cpu_count + 4)` workers) and a cancelled coroutine leaves the thread running.
    `asyncio` is imported (an existing alias is reused). No fix is offered for streamed
    calls (`stream=True`, `urlopen()`: reading the result still blocks), inside a generator
    expression, or where `asyncio` names something else. Calls on a sync SQLAlchemy session,
    connection or engine are reported only: offloading one statement at a time leaves the
    session's lazy loads and autoflushes on the loop, so the advice is to move the session's
    work into one sync function run in a thread (`await asyncio.to_thread(work)`, Starlette's
    `run_in_threadpool`) or to use `AsyncSession`. Calls on a client are reported only
    when the client is constructed in the call (`OpenAI().…`) or the name / `self` attribute
    is only ever bound to a sync client (`client = OpenAI()`, `self.client = Anthropic()` in
    the class, `client: OpenAI`, `db: Annotated[Session, Depends(get_db)]`), or the client
    comes from another module of the run: a module-level name that every binding there
    sets to a sync client (`from app.llm import client` or `llm.client` for `client =
    OpenAI()`, through re-exports; `None`, and a function's `global` assignment, count), or
    the client a sync factory of the module itself or of another module of the run returns:
    built in its `return` (`get_openai()` for `def get_openai(): return OpenAI()`) or a
    module-level name that every `return` returns and every binding sets to one (the cached
    global of `global _client; if _client is None: _client = OpenAI(); return _client`),
    called in place or kept in a name (`client = get_openai()`). Such a call gets the same
    fix as a client built in the module. Calls
    in a nested `def`, `lambda` or `class`, and calls already passed to `asyncio.to_thread`
    / `run_in_executor` as a function, are not reported.

    ## Metric to monitor
    Event-loop lag (`loop.slow_callback_duration` warnings in debug mode) and the p95 latency
    of concurrent requests; throughput should scale with concurrency instead of staying flat.

    ## Limitations
    Sync clients passed in as arguments, held on another object (`settings.client`,
    `app.state.redis`), returned by a factory from a local or an attribute (`client =
    OpenAI(); return client`, `return self._client`) or from a global that is also bound to
    something else (an async client, a conditional expression), or stored under another
    name than the one they were built with, are not recognised; a client
    imported from a module outside the run (or from a name the importing module rebinds) is
    not either. Imports through a namespace package (folders without `__init__.py`: `from
    app.core.openai import client` in `app/routers/chat.py`) are followed to the file under
    the nearest folder above the importing file that has it, as Python finds it with the
    project root on `sys.path`; such a file (`app/core/openai.py`) is never the library of
    its name (`from openai import OpenAI` elsewhere). Helpers that block indirectly are ASY006.
    SQLAlchemy (and SQLModel) handles are recognised when built in the module or a module
    of the run (`Session(engine)`, `SessionLocal()` for `SessionLocal = sessionmaker(...)`
    without an async `class_=`, `engine.connect()` for `engine = create_engine(...)`) or
    declared on a coroutine's parameter: `Session`, `Annotated[Session, ...]`,
    `Optional[Session]`, or a module-level alias of one (`DbSession = Annotated[Session,
    Depends(get_db)]`), in the module or imported from a module of the run. What sends
    SQL: `execute`, `scalars`, `scalar`, `get`, `get_one`, `merge`, `refresh`, `flush`,
    `commit`, `rollback` (and SQLModel's `exec`), the method that runs a `session.query(...)`
    chain (`all`, `first`, `one`, `one_or_none`, `scalar`, `count`, `get`, `update`,
    `delete`), a connection's `exec_driver_sql`, an engine's `connect` / `begin`; `add`,
    `delete` and building a query do not. A session held in a
    `self` attribute set from a parameter, and iterating a query, are not recognised.
    """

    CODE = "ASY002"
    NAME = "blocking-io-in-async"
    SEVERITY = Severity.CRITICAL
    CATEGORY = "async"
    FIX = FixSafety.UNSAFE
    FRAMEWORKS = ALL_FRAMEWORKS
    MESSAGE = "`{callee}()` blocks the event loop in async `{function}()`; use {alternative}"
    # A coroutine (`async def`) is all the text can tell: the blocking call may be on a client
    # imported from another module of the run, whose file names neither the client's package
    # nor its class (`from app.llm import client`), so no other word is needed.
    NEEDS = "async"
    # A session type alias imported from another module of the run is read there.
    NEEDS_PROJECT = True

    def run(self) -> None:
        self.module = self.project.module_for(self.path) if self.project else None
        super().run()

    def visit_Call(self, node: ast.Call) -> None:
        coroutine = self.model.coroutine_of(node)
        if coroutine is None or is_awaited(self.model, node):
            return
        blocking = blocking_io_call(self.model, node, self._imported_alias)
        if blocking is None:
            return
        if blocking.report_only:
            fix, note = FixSafety.NONE, blocking.report_only
        else:
            fix, note = offload_fix(self.model, node, coroutine)
        if fix is None and _streams(node):
            fix, note = FixSafety.NONE, "a streamed response still blocks while it is iterated"
        if fix is None and blocking.reads_later:
            fix, note = FixSafety.NONE, "the response body is read later, on the event loop"
        if fix is None and is_offloaded(self.model, node):
            fix, note = (
                FixSafety.NONE,
                "the call runs before `to_thread` gets it; pass the function",
            )
        self.report(
            node,
            fix=fix,
            note=note,
            callee=blocking.callee,
            function=coroutine.name,
            alternative=f"{blocking.alternative} or `asyncio.to_thread()`",
        )

    def _imported_alias(self, expr: ast.expr) -> str | None:
        """What an expression on a name imported from another module of the run stands for:
        in the annotation of a coroutine's parameter, the class of a type alias (`from app.db
        import DbSession`); elsewhere, the sync client, SQLAlchemy handle or session factory a
        module-level name is bound to (`from app.llm import client`, `llm.client`, `from
        app.db import SessionLocal`), or the sync client a factory called there returns
        (`get_openai()`, in the coroutine or in what a name it reads is bound to: `client =
        get_openai()`, `self.client = get_openai()`). Asked only for the receiver of a blocking
        client method called in a coroutine."""
        if self.project is None or self.module is None:
            return None
        called = isinstance(expr, ast.Call)
        target = expr.func if isinstance(expr, ast.Call) else expr
        dotted = dotted_name(target)
        if dotted is None:
            return None
        annotated = _annotated_function(self.model, expr)
        if annotated is not None and not isinstance(annotated, ast.AsyncFunctionDef):
            return None
        root = target
        while isinstance(root, ast.Attribute):
            root = root.value
        if not isinstance(root, ast.Name):
            return None
        own_factory = is_module_function_call(self.model, expr)
        if not own_factory and not any(
            self.project.may_name_module(binding.qualified)
            for binding in self.model.bindings_of(root)
        ):
            return None
        self.project.offer_tree(self.module, self.model.tree, self.model.text)
        qualified = self.project.qualify(self.module, dotted, None)
        if annotated is not None:
            return self.project.declared_type(qualified)
        if called:
            return self.project.returned_client(qualified)
        return self.project.bound_handle(qualified)


def _annotated_function(model: Model, expr: ast.expr) -> ast.AST | None:
    """The function whose parameter annotation `expr` is (in), or None."""
    for node in model.ancestors(expr):
        if isinstance(node, ast.arg):
            arguments = model.parent(node)
            return model.parent(arguments) if arguments is not None else None
        if not isinstance(node, ast.expr):
            return None
    return None


def _streams(call: ast.Call) -> bool:
    """`stream=<anything but False>` is passed."""
    return any(
        keyword.arg == "stream"
        and not (isinstance(keyword.value, ast.Constant) and keyword.value.value is False)
        for keyword in call.keywords
    )


def blocking_io_call(
    model: Model, call: ast.Call, imported: ImportedAlias | None = None
) -> BlockingCall | None:
    """`requests.get(...)`, `subprocess.run(...)`, `client.chat.completions.create(...)` on a
    client bound to a sync constructor, `db.commit()` / `db.query(User).first()` on a sync
    SQLAlchemy session, ... (receivers that cannot be resolved are not). `imported` names the
    class of a type alias imported from another module."""
    name = model.resolves_to(call.func, BLOCKING_IO_NAMES)
    if name is not None:
        lazy = name in LAZY_RESPONSES
        return BlockingCall(shown_callee(call.func), BLOCKING_IO_FUNCTIONS[name], lazy)
    receiver: ast.expr = call.func
    parts: list[str] = []
    for _ in range(MAX_METHOD_DEPTH):
        if not isinstance(receiver, ast.Attribute):
            break
        parts.append(receiver.attr)
        receiver = receiver.value
        path = ".".join(reversed(parts))
        if path not in CLIENT_METHODS:
            continue
        client = sync_client(model, receiver, imported)
        if client is not None and path in SYNC_CLIENTS[client].methods:
            return _client_call(shown_callee(call.func), SYNC_CLIENTS[client])
    return _query_run(model, call, imported)


def _client_call(callee: str, client: SyncClient) -> BlockingCall:
    note = DATABASE_NOTE if client.kind == DATABASE_KIND else ""
    return BlockingCall(callee, client.alternative, report_only=note)


def _query_run(model: Model, call: ast.Call, imported: ImportedAlias | None) -> BlockingCall | None:
    """`db.query(User).filter(...).first()` on a sync session: the call that runs the query."""
    source = query_source(call)
    if source is None or not isinstance(call.func, ast.Attribute):
        return None
    client = sync_client(model, source, imported)
    if client is None or call.func.attr not in SYNC_CLIENTS[client].query_runs:
        return None
    shown = f"{shown_callee(source.func)}(...)" if isinstance(source, ast.Call) else None
    shown = shown or shown_callee(source)
    return _client_call(f"{shown}.query(...).{call.func.attr}", SYNC_CLIENTS[client])


def _constructed_client(
    model: Model, value: ast.expr, imported: ImportedAlias | None, depth: int
) -> str | None:
    if not isinstance(value, ast.Call):
        return None
    found = model.resolves_to(value.func, SYNC_CLIENT_NAMES)
    if found is not None or depth >= MAX_ALIASES:
        return found
    opened = opened_handle(
        model, value, lambda expr: sync_client(model, expr, imported, depth + 1), imported
    )
    return opened or imported_client(model, value, imported)


def sync_client(
    model: Model, receiver: ast.expr, imported: ImportedAlias | None = None, depth: int = 0
) -> str | None:
    """The sync client class `receiver` holds: `OpenAI(...)` itself, or a name / `self.attr`
    that is only ever bound to one (or declared with that type: the class, `Annotated[...]`
    of it, or an alias of that)."""
    built = _constructed_client(model, receiver, imported, depth)
    built = built or imported_client(model, receiver, imported)
    if built is not None or not isinstance(receiver, (ast.Name, ast.Attribute)):
        return built
    return bound_class(
        model,
        receiver,
        SYNC_CLIENT_NAMES,
        lambda value: _constructed_client(model, value, imported, depth),
        lambda annotation: declared_client(model, annotation, imported),
    )
