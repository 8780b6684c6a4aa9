"""The coroutines that run while no other task exists on their loop, so that a blocking call
in their own body stalls nothing (ASY003, ASY006): the entry point a module starts as a
script (`asyncio.run(main())`), and a web app's startup and shutdown handlers
(`@app.on_event("startup")`: the server takes no request before they finish), when they
start no task of their own."""

from __future__ import annotations

import ast

from flowfix.analysis import Model
from flowfix.analysis.values import block_nodes
from flowfix.detectors.async_.bound_values import defined_functions

# What starts a script's entry coroutine on a loop of its own.
LOOP_RUNNERS = frozenset({"asyncio.run", "asyncio.runners.run", "anyio.run", "trio.run"})
# What starts a task that runs beside the coroutine (then a blocking call stalls it).
TASK_STARTERS = frozenset(
    {
        *("asyncio.create_task", "asyncio.ensure_future", "asyncio.TaskGroup"),
        *("anyio.create_task_group", "trio.open_nursery"),
        # An MCP client's transport and session run a reader task while they are open.
        *("mcp.ClientSession", "mcp.client.session.ClientSession"),
        *("mcp.client.stdio.stdio_client", "mcp.client.sse.sse_client"),
        "mcp.client.streamable_http.streamablehttp_client",
    }
)
TASK_METHODS = frozenset({"create_task", "ensure_future", "start_soon", "start"})
# `@app.on_event(<event>)`: handlers run before the first request or after the last one.
LIFECYCLE_EVENTS = frozenset({"startup", "shutdown"})


def coroutines_run_alone(model: Model) -> frozenset[ast.AST]:
    """The coroutines this module starts with `asyncio.run()` (a script's `main()`) that
    start no task of their own, and its startup and shutdown handlers when none of them
    starts one (a task one starts runs on while the next one runs): nothing else runs on
    their loop while their body does. Worked out once per module."""
    found = model.memo.get(coroutines_run_alone)
    if found is None:
        found = model.memo[coroutines_run_alone] = frozenset(_run_alone(model))
    return found  # type: ignore[return-value]


def _run_alone(model: Model) -> set[ast.AST]:
    alone: set[ast.AST] = set(_lifecycle_handlers(model))
    for call in model.nodes(ast.Call):
        assert isinstance(call, ast.Call)
        if not call.args or model.resolves_to(call.func, LOOP_RUNNERS) is None:
            continue
        started = call.args[0].func if isinstance(call.args[0], ast.Call) else call.args[0]
        if isinstance(started, ast.Name):
            alone.update(
                function
                for function in defined_functions(model, started)
                if isinstance(function, ast.AsyncFunctionDef) and not starts_tasks(model, function)
            )
    return alone


def starts_tasks(model: Model, coroutine: ast.AsyncFunctionDef) -> bool:
    """The coroutine's own body starts a task (`create_task`, `ensure_future`, a task group's
    `start_soon`)."""
    for node in block_nodes(coroutine.body):
        if isinstance(node, ast.Call) and (
            model.resolves_to(node.func, TASK_STARTERS) is not None
            or (isinstance(node.func, ast.Attribute) and node.func.attr in TASK_METHODS)
        ):
            return True
    return False


def _lifecycle_handlers(model: Model) -> list[ast.AsyncFunctionDef]:
    """The module's `@<app>.on_event("startup" | "shutdown")` coroutines, when none of them
    starts a task."""
    handlers: list[ast.AsyncFunctionDef] = []
    if "on_event" not in model.text:
        return handlers
    for function in ast.walk(model.tree):
        if not isinstance(function, ast.AsyncFunctionDef):
            continue
        if any(_is_lifecycle_decorator(decorator) for decorator in function.decorator_list):
            if starts_tasks(model, function):
                return []
            handlers.append(function)
    return handlers


def _is_lifecycle_decorator(decorator: ast.expr) -> bool:
    return (
        isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Attribute)
        and decorator.func.attr == "on_event"
        and len(decorator.args) == 1
        and isinstance(decorator.args[0], ast.Constant)
        and decorator.args[0].value in LIFECYCLE_EVENTS
    )
