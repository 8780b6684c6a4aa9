"""EXE002: an executor bound to a local name that is not shut down on every path."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from flowfix.analysis import Model
from flowfix.analysis.frameworks import ALL_FRAMEWORKS
from flowfix.analysis.model import FUNCTIONS, FunctionNode
from flowfix.analysis.owners import owner_of
from flowfix.analysis.spans import span_data
from flowfix.analysis.statement_lines import containing_body, shares_line, statement_index
from flowfix.detector import Detector
from flowfix.detectors.executors.executor_classes import executor_class
from flowfix.detectors.executors.executor_name_uses import local_binding
from flowfix.detectors.executors.pool_name_uses import Use, in_finally, name_uses
from flowfix.detectors.executors.pool_waits import waits_for_results
from flowfix.rules import FixSafety, Severity

SUBMIT_METHODS = frozenset({"submit", "map", "run_in_executor"})


class ExecutorWithoutShutdown(Detector):
    """An executor bound to a local name is not shut down on every path.

    ## Why is this bad?
    Each `ThreadPoolExecutor` keeps its worker threads (a `ProcessPoolExecutor` its worker
    processes) until `shutdown()` runs or the object is garbage collected. When the code
    between the creation and a trailing `shutdown()` raises, or there is no `shutdown()` at
    all, the workers outlive the call: a service that handles 50 requests in parallel can
    pile up hundreds of idle threads, and pending tasks keep running after the caller gave up.

    ## Example
    ```python
    from concurrent.futures import ThreadPoolExecutor


    def fetch_all(urls, fetch):
        executor = ThreadPoolExecutor(max_workers=8)
        futures = [executor.submit(fetch, url) for url in urls]
        results = [future.result() for future in futures]
        executor.shutdown()
        return results
    ```

    ## Use instead
    ```python
    from concurrent.futures import ThreadPoolExecutor


    def fetch_all(urls, fetch):
        executor = ThreadPoolExecutor(max_workers=8)
        try:
            futures = [executor.submit(fetch, url) for url in urls]
            results = [future.result() for future in futures]
        finally:
            executor.shutdown()
        return results
    ```

    ## Fix safety
    Safe: the statements from the one after the assignment through the last use of the
    executor are wrapped in `try`/`finally: <name>.shutdown(wait=True)`; a trailing
    `<name>.shutdown(...)` moves into the `finally` with its arguments. Comments are kept.
    The fix is unsafe when no trailing `shutdown()` exists and the function never waits for
    the tasks it submits (the added `wait=True` makes it wait), or runs in `async def` (the
    wait blocks the event loop). No fix is offered when the name is bound twice, used outside
    the block that creates it, or shut down on some paths only. Executors used in `with`,
    shut down in a `finally`, created at module level, stored on an attribute, or handed on
    (returned, yielded, passed to another call, captured by a nested function) are not
    reported: their lifetime is managed elsewhere.

    ## Metric to monitor
    Live thread count (`threading.active_count()`) and child processes over time under load;
    both should return to their baseline after each request.
    """

    CODE = "EXE002"
    NAME = "executor-without-shutdown"
    SEVERITY = Severity.CRITICAL
    CATEGORY = "executors"
    FIX = FixSafety.SAFE
    FRAMEWORKS = ALL_FRAMEWORKS
    MESSAGE = "Executor `{name}` (`{executor}`) is not shut down on every path of `{function}()`"
    TRIGGERS = ("Executor",)

    def visit_Call(self, node: ast.Call) -> None:
        executor = executor_class(self.model, node)
        binding = local_binding(self.model, node, by_block_start=True) if executor else None
        if binding is None:
            return
        target, statement = binding
        func = owner_of(self.model, node)
        if not isinstance(func, FUNCTIONS):
            return
        found = name_uses(self.model, target, func)
        if found is None:
            return
        uses, bindings = found
        if self._is_managed(uses, func):
            return
        plan = shutdown_plan(self.model, statement, target.id, uses, bindings)
        if isinstance(plan, ShutdownPlan) and plan.start > plan.end:
            return  # shut down right after creation: nothing in between can fail
        fix, note = self._fix_safety(plan, uses, func)
        self.report(
            node,
            fix=fix,
            note=note,
            data=plan.data(self.model, target.id) if isinstance(plan, ShutdownPlan) else {},
            name=target.id,
            executor=executor,
            function=func.name,
        )

    def _is_managed(self, uses: list[Use], func: FunctionNode) -> bool:
        """Used in `with`, handed on, or shut down in a `finally`."""
        return any(
            use.kind in {"with", "delegated", "escape"}
            or (
                use.kind == "call"
                and use.method == "shutdown"
                and in_finally(self.model, use.node, func)
            )
            for use in uses
        )

    @staticmethod
    def _fix_safety(
        plan: ShutdownPlan | str, uses: list[Use], func: FunctionNode
    ) -> tuple[FixSafety, str]:
        if isinstance(plan, str):
            return FixSafety.NONE, plan
        if plan.trailing:
            return FixSafety.SAFE, ""
        if isinstance(func, ast.AsyncFunctionDef):
            return (
                FixSafety.UNSAFE,
                "in `async def`, `shutdown(wait=True)` blocks the event loop while tasks run",
            )
        submits = any(use.kind == "call" and use.method in SUBMIT_METHODS for use in uses)
        if submits and not waits_for_results(func.body):
            return (
                FixSafety.UNSAFE,
                "the function never waits for its tasks; `shutdown(wait=True)` will",
            )
        return FixSafety.SAFE, ""


@dataclass(frozen=True)
class ShutdownPlan:
    """EXE002's rewrite: wrap statements `start`..`end` of `body` (the assignment's block) in
    `try`; `trailing`: statement `end + 1` is the `name.shutdown(...)` to move into `finally`."""

    body: list[ast.stmt]
    start: int
    end: int
    trailing: bool

    def data(self, model: Model, name: str) -> dict[str, Any]:
        """What the codemod needs: the name and the spans of the first and last statements to
        wrap and, when there is one, of the trailing shutdown to move into the `finally`."""
        data: dict[str, Any] = {
            "name": name,
            "first": span_data(model, self.body[self.start]),
            "last": span_data(model, self.body[self.end]),
        }
        if self.trailing:
            data["shutdown"] = span_data(model, self.body[self.end + 1])
        return data


def is_shutdown_statement(model: Model, statement: ast.stmt, name: str) -> bool:
    """`<name>.shutdown(...)` alone on its line."""
    if not isinstance(statement, ast.Expr) or shares_line(model, statement):
        return False
    call = statement.value
    return (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "shutdown"
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id == name
    )


def shutdown_plan(
    model: Model, statement: ast.stmt, name: str, uses: list[Use], bindings: int
) -> ShutdownPlan | str:
    """Where the `try`/`finally` goes for `name = Executor(...)`, or why no fix is offered."""
    if bindings > 1:
        return f"`{name}` is bound more than once in the function"
    if shares_line(model, statement):
        return "the assignment shares its line with other statements"
    body = containing_body(model, statement)
    assert body is not None
    index = next(i for i, s in enumerate(body) if s is statement)
    lines = []
    for use in uses:
        at = statement_index(model, use.node, body)
        if at is None or at <= index:
            return f"`{name}` is used outside the block that creates it"
        lines.append(at)
    if not lines:
        return f"`{name}` is never used"
    end = max(lines)
    trailing = is_shutdown_statement(model, body[end], name)
    shutdowns = sum(1 for use in uses if use.kind == "call" and use.method == "shutdown")
    if shutdowns > int(trailing):
        return f"`{name}.shutdown()` is reached on some paths only; move it into a `finally`"
    return ShutdownPlan(body, index + 1, end - 1 if trailing else end, trailing)
