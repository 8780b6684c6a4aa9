"""EXE003: a single-worker executor that enforces a timeout, shared by a retry loop."""

from __future__ import annotations

import ast
from typing import Any

from flowfix.analysis import Model
from flowfix.analysis.frameworks import ALL_FRAMEWORKS
from flowfix.analysis.model import FUNCTIONS, FunctionNode
from flowfix.analysis.owners import owner_of
from flowfix.analysis.values import dotted_name
from flowfix.detector import Detector
from flowfix.detectors.executors.executor_classes import executor_class
from flowfix.detectors.executors.timeout_waits import Loop, executor_constructors, timeout_waits
from flowfix.rules import FixSafety, Severity

TIMEOUT_ERRORS = frozenset({"TimeoutError", "Exception", "BaseException"})


class SingleWorkerTimeoutExecutorReused(Detector):
    """A single-worker executor enforcing a timeout is shared by every attempt of a retry loop.

    ## Why is this bad?
    `future.result(timeout=T)` gives up waiting, but the task keeps running: Python cannot
    interrupt a thread, and `future.cancel()` only cancels tasks that have not started. With
    `max_workers=1` the timed-out task still holds the only worker, so the retry's task is
    queued behind it and times out without ever running; every later attempt does the same.
    Cursor Bugbot flagged exactly this in Dynamiq's PR #674 (`execute_with_retry`, high
    severity); the fix creates one executor per attempt and shuts it down with `wait=False`.

    ## Example
    ```python
    from concurrent.futures import ThreadPoolExecutor


    def call_with_retry(fn, attempts=3, timeout=10.0):
        executor = ThreadPoolExecutor(max_workers=1)
        try:
            for attempt in range(attempts):
                future = executor.submit(fn)
                try:
                    return future.result(timeout=timeout)
                except TimeoutError:
                    future.cancel()
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
        raise TimeoutError(f"no result after {attempts} attempts")
    ```

    ## Use instead
    ```python
    from concurrent.futures import ThreadPoolExecutor


    def call_with_retry(fn, attempts=3, timeout=10.0):
        for attempt in range(attempts):
            executor = ThreadPoolExecutor(max_workers=1)
            try:
                future = executor.submit(fn)
                return future.result(timeout=timeout)
            except TimeoutError:
                future.cancel()
            finally:
                executor.shutdown(wait=False, cancel_futures=True)
        raise TimeoutError(f"no result after {attempts} attempts")
    ```

    ## Metric to monitor
    Retry success rate after a timeout (it is zero with this bug), node timeouts per run, and
    live thread count (stuck workers).

    ## Limitations
    The executor must be bound (by assignment or `with`) to a local or module-level name or
    a `self` attribute with `max_workers=1` (or a positional `1`), outside the loop; the loop must
    submit to it and wait with `.result(timeout)` itself, or pass it to a method of the same
    class (or a function of the module) that does, inside a `try` that catches the timeout and
    lets the loop go on. Which future the timeout applies to is not tracked.
    """

    CODE = "EXE003"
    NAME = "single-worker-timeout-executor-reused"
    SEVERITY = Severity.CRITICAL
    PRODUCTION_ONLY = False
    CATEGORY = "executors"
    FIX = FixSafety.NONE
    FRAMEWORKS = ALL_FRAMEWORKS
    MESSAGE = (
        "Single-worker `{executor}` is reused across the retry loop of `{function}()`: after "
        "a timeout every retry waits behind the stuck task"
    )
    TRIGGERS = ("Executor",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._loops: list[Loop] = []
        self._reported: set[int] = set()

    def visit_For(self, node: ast.For) -> None:
        self._loops.append(node)

    def visit_AsyncFor(self, node: ast.AsyncFor) -> None:
        self._loops.append(node)

    def visit_While(self, node: ast.While) -> None:
        self._loops.append(node)

    def run(self) -> None:
        super().run()
        self._loops.sort(key=lambda loop: (loop.lineno, loop.col_offset))
        for loop in self._loops:
            self._check_loop(loop)

    def _check_loop(self, loop: Loop) -> None:
        func = owner_of(self.model, loop)
        if not isinstance(func, FUNCTIONS):
            return
        for wait in timeout_waits(self.model, loop, func):
            calls = executor_constructors(self.model, wait.executor, func)
            if not calls or not self._survives_timeout(wait.wait, loop):
                continue
            if all(
                is_single_worker(self.model, call) and not self._is_below(call, loop)
                for call in calls
            ):
                for call in calls:
                    self._report_once(call, func)

    def _report_once(self, call: ast.Call, func: FunctionNode) -> None:
        if id(call) in self._reported:
            return
        self._reported.add(id(call))
        self.report(call, executor=executor_class(self.model, call), function=func.name)

    def _is_below(self, node: ast.AST, ancestor: ast.AST) -> bool:
        return any(current is ancestor for current in self.model.ancestors(node))

    def _survives_timeout(self, wait: ast.AST, loop: Loop) -> bool:
        """A `try` in `loop` catches the timeout raised at `wait` and goes on to the next
        iteration."""
        child = wait
        for current in self.model.ancestors(wait):
            if current is loop:
                return False
            if isinstance(current, ast.Try) and any(s is child for s in current.body):
                if any(
                    self._catches_timeout(handler) and not _leaves_loop(handler)
                    for handler in current.handlers
                ):
                    return True
            child = current
        return False

    def _catches_timeout(self, handler: ast.ExceptHandler) -> bool:
        if handler.type is None:
            return True
        kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        for kind in kinds:
            names = self.model.qualified_names(kind) | {dotted_name(kind) or ""}
            if any(name.rsplit(".", 1)[-1] in TIMEOUT_ERRORS for name in names if name):
                return True
        return False


def _leaves_loop(handler: ast.ExceptHandler) -> bool:
    """The handler ends with `raise`, `return` or `break`."""
    return isinstance(handler.body[-1], (ast.Raise, ast.Return, ast.Break))


def is_single_worker(model: Model, call: ast.Call) -> bool:
    """`Executor(max_workers=1)` / `Executor(1)`."""
    if executor_class(model, call) is None:
        return False
    size: ast.expr | None = None
    for keyword in call.keywords:
        if keyword.arg == "max_workers":
            size = keyword.value
            break
    else:
        if call.args and not isinstance(call.args[0], ast.Starred):
            size = call.args[0]
    return isinstance(size, ast.Constant) and type(size.value) is int and size.value == 1
