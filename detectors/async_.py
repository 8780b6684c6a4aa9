"""Async rules: blocking work inside coroutines (`async` is a keyword, hence `async_`)."""

from __future__ import annotations

import ast

import libcst as cst
from libcst.metadata import (
    ParentNodeProvider,
    PositionProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

from flowfix.detector import Detector
from flowfix.prefilter import has_async_def, imports_module
from flowfix.rules import FixSafety, Severity
from flowfix.semantics import (
    conflicting_binding,
    inside_generator_expression,
    resolves_to,
    running_coroutine,
)


class BlockingSleepInAsync(Detector):
    """`time.sleep()` inside `async def` blocks the event loop.

    ## Why is this bad?
    A coroutine runs on the event loop thread. `time.sleep()` suspends that whole thread, so
    every other task of the loop (other nodes of an `AsyncFlow`, concurrent requests of a
    Dynamiq `execute_async`, streaming callbacks) stalls for the full duration. Ten
    concurrent coroutines that each sleep one second take ten seconds instead of one.

    ## Example
    ```python
    import time


    async def poll_status(client):
        while not await client.ready():
            time.sleep(0.5)
    ```

    ## Use instead
    ```python
    import asyncio


    async def poll_status(client):
        while not await client.ready():
            await asyncio.sleep(0.5)
    ```

    ## Fix safety
    Safe: `await asyncio.sleep(x)` waits as long as `time.sleep(x)` while letting other
    tasks run; the arguments and their comments are kept. `asyncio` is imported (an existing
    `import asyncio as aio` is reused) and a `time` import that became unused is removed.
    No fix is offered inside a generator expression (an `await` there would turn it into an
    async generator) or where the name `asyncio` is bound to something else. Calls in a
    nested `def`, `lambda` or `class` are not reported: they do not run on this coroutine.

    ## Metric to monitor
    Event-loop lag (for example `loop.slow_callback_duration` warnings in debug mode, or the
    delay of a periodic `asyncio.sleep(0.1)` probe) and p95 latency of concurrent requests.
    """

    CODE = "ASY001"
    NAME = "blocking-sleep-in-async"
    SEVERITY = Severity.CRITICAL
    CATEGORY = "async"
    FIX = FixSafety.SAFE
    FRAMEWORKS = ("dynamiq", "pocketflow", "kaygraph", "pflow")
    MESSAGE = "`time.sleep()` blocks the event loop in async `{function}()`"
    TRIGGERS = ("sleep",)
    METADATA_DEPENDENCIES = (
        PositionProvider,
        ParentNodeProvider,
        QualifiedNameProvider,
        ScopeProvider,
    )

    @classmethod
    def ast_candidate(cls, tree: ast.Module) -> bool:
        return imports_module(tree, "time") and has_async_def(tree)

    def visit_Call(self, node: cst.Call) -> None:
        if resolves_to(self, node.func, {"time.sleep"}) is None:
            return
        coroutine = running_coroutine(self, node)
        if coroutine is None:
            return
        fix, note = FixSafety.SAFE, ""
        if inside_generator_expression(self, node, coroutine):
            fix, note = (
                FixSafety.NONE,
                "inside a generator expression, `await` would change its type",
            )
        elif conflicting_binding(self, node, "asyncio"):
            fix, note = FixSafety.NONE, "the name `asyncio` is bound to something else here"
        self.report(node, fix=fix, note=note, function=coroutine.name.value)
