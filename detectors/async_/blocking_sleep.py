"""ASY001: `time.sleep()` in a coroutine's own body."""

from __future__ import annotations

import ast

from flowfix.analysis.frameworks import ALL_FRAMEWORKS
from flowfix.detector import Detector
from flowfix.detectors.async_.offload import offload_fix
from flowfix.rules import FixSafety, Severity


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
    FRAMEWORKS = ALL_FRAMEWORKS
    MESSAGE = "`time.sleep()` blocks the event loop in async `{function}()`"
    TRIGGERS = ("sleep",)
    NEEDS = "async"  # a coroutine: `async def`

    def visit_Call(self, node: ast.Call) -> None:
        if self.model.resolves_to(node.func, {"time.sleep"}) is None:
            return
        coroutine = self.model.coroutine_of(node)
        if coroutine is None:
            return
        blocked, note = offload_fix(self.model, node, coroutine)
        self.report(node, fix=blocked, note=note, function=coroutine.name)
