"""The coroutines a module starts as a script's entry point (`asyncio.run(main())`) and that
start no task of their own: while their own body runs, no other task exists on their loop,
so a blocking call there stalls nothing (ASY003, ASY006)."""

from __future__ import annotations

import ast

from flowfix.analysis import Model
from flowfix.analysis.values import block_nodes
from flowfix.detectors.async_.bound_values import defined_functions

# What starts a script's entry coroutine on a loop of its own.
LOOP_RUNNERS = frozenset({"asyncio.run", "asyncio.runners.run", "anyio.run", "trio.run"})
# What starts a task that runs beside the coroutine (then a blocking call stalls it).
TASK_STARTERS = frozenset({"asyncio.create_task", "asyncio.ensure_future", "asyncio.TaskGroup"})
TASK_METHODS = frozenset({"create_task", "ensure_future", "start_soon", "start"})


def coroutines_run_alone(model: Model) -> set[ast.AST]:
    """The coroutines this module starts with `asyncio.run()` (a script's `main()`) that
    start no task of their own: nothing else runs on their loop while their body does."""
    alone: set[ast.AST] = set()
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
