"""ASY002: a blocking HTTP, subprocess or sync LLM-client call in a coroutine's own body."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from flowfix.analysis import Model
from flowfix.analysis.blocking import (
    BLOCKING_IO_FUNCTIONS,
    BLOCKING_MODULES,
    CLIENT_METHODS,
    LAZY_RESPONSES,
    MAX_METHOD_DEPTH,
    SYNC_CLIENT_NAMES,
    SYNC_CLIENTS,
)
from flowfix.analysis.frameworks import ALL_FRAMEWORKS
from flowfix.analysis.names import shown_callee
from flowfix.detector import Detector
from flowfix.detectors.async_.bound_values import bound_class
from flowfix.detectors.async_.offload import is_awaited, is_offloaded, offload_fix
from flowfix.rules import FixSafety, Severity

BLOCKING_IO_NAMES = frozenset(BLOCKING_IO_FUNCTIONS)


@dataclass(frozen=True)
class BlockingCall:
    """A call that blocks on the network or a child process: how it is spelled and what to use."""

    callee: str
    alternative: str
    reads_later: bool = False


class BlockingIoInAsync(Detector):
    """A blocking HTTP, subprocess or sync client call inside `async def` stalls the event loop.

    ## Why is this bad?
    While `requests.get()`, `subprocess.run()` or a sync `OpenAI().chat.completions.create()`
    waits for the network, the event loop thread waits with it: every other coroutine of the
    loop (the other nodes of a PocketFlow `AsyncFlow`, the parallel branches of a Dynamiq
    flow's `execute_async`, concurrent requests of the service) is frozen. An LLM call takes
    seconds, so ten "concurrent" requests run one after the other. The KayGraph performance
    guide measures 100 one-second API calls at 100 s sequentially and 2 s as async nodes; a
    blocking call inside `exec_async` brings them back to 100 s. The same guide lists "no
    blocking operations in async nodes" (with `requests.get` in `exec_async` as its example),
    and the Dynamiq review checklist flags `requests.*` in async context.

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
    `qdrant_client.AsyncQdrantClient`, `asyncio.create_subprocess_exec()`.

    ## Fix safety
    Unsafe: `await asyncio.to_thread(callee, *args, **kwargs)` runs the same call in the
    default thread pool, so it no longer blocks the loop, but the call now runs in another
    thread (thread-local state, context variables are copied, the pool has
    `min(32, cpu_count + 4)` workers) and a cancelled coroutine leaves the thread running.
    `asyncio` is imported (an existing alias is reused). No fix is offered for streamed
    calls (`stream=True`, `urlopen()`: reading the result still blocks), inside a generator
    expression, or where `asyncio` names something else. Calls on a client are reported only
    when the client is constructed in the call (`OpenAI().…`) or the name / `self` attribute
    is only ever bound to a sync client (`client = OpenAI()`, `self.client = Anthropic()` in
    the class, `client: OpenAI`); calls in a nested `def`, `lambda` or `class`, and calls
    already passed to `asyncio.to_thread` / `run_in_executor` as a function, are not
    reported.

    ## Metric to monitor
    Event-loop lag (`loop.slow_callback_duration` warnings in debug mode) and the p95 latency
    of concurrent requests; throughput should scale with concurrency instead of staying flat.

    ## Limitations
    Sync clients passed in from other modules, or stored under another name than the one
    they were built with, are not recognised; helpers that block indirectly are ASY006.
    """

    CODE = "ASY002"
    NAME = "blocking-io-in-async"
    SEVERITY = Severity.CRITICAL
    CATEGORY = "async"
    FIX = FixSafety.UNSAFE
    FRAMEWORKS = ALL_FRAMEWORKS
    MESSAGE = "`{callee}()` blocks the event loop in async `{function}()`; use {alternative}"
    TRIGGERS = BLOCKING_MODULES
    NEEDS = "async"  # a coroutine: `async def`

    def visit_Call(self, node: ast.Call) -> None:
        coroutine = self.model.coroutine_of(node)
        if coroutine is None or is_awaited(self.model, node):
            return
        blocking = blocking_io_call(self.model, node)
        if blocking is None:
            return
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


def _streams(call: ast.Call) -> bool:
    """`stream=<anything but False>` is passed."""
    return any(
        keyword.arg == "stream"
        and not (isinstance(keyword.value, ast.Constant) and keyword.value.value is False)
        for keyword in call.keywords
    )


def blocking_io_call(model: Model, call: ast.Call) -> BlockingCall | None:
    """`requests.get(...)`, `subprocess.run(...)`, `client.chat.completions.create(...)` on a
    client bound to a sync constructor, ... (receivers that cannot be resolved are not)."""
    name = model.resolves_to(call.func, BLOCKING_IO_NAMES)
    if name is not None:
        lazy = name in LAZY_RESPONSES
        return BlockingCall(shown_callee(call.func), BLOCKING_IO_FUNCTIONS[name], lazy)
    receiver: ast.expr = call.func
    parts: list[str] = []
    for _ in range(MAX_METHOD_DEPTH):
        if not isinstance(receiver, ast.Attribute):
            return None
        parts.append(receiver.attr)
        receiver = receiver.value
        path = ".".join(reversed(parts))
        if path not in CLIENT_METHODS:
            continue
        client = sync_client(model, receiver)
        if client is not None and path in SYNC_CLIENTS[client].methods:
            return BlockingCall(shown_callee(call.func), SYNC_CLIENTS[client].alternative)
    return None


def _constructed_client(model: Model, value: ast.expr) -> str | None:
    if isinstance(value, ast.Call):
        return model.resolves_to(value.func, SYNC_CLIENT_NAMES)
    return None


def sync_client(model: Model, receiver: ast.expr) -> str | None:
    """The sync client class `receiver` holds: `OpenAI(...)` itself, or a name / `self.attr`
    that is only ever bound to one (or declared with that type)."""
    built = _constructed_client(model, receiver)
    if built is not None or not isinstance(receiver, (ast.Name, ast.Attribute)):
        return built
    return bound_class(
        model, receiver, SYNC_CLIENT_NAMES, lambda value: _constructed_client(model, value)
    )
