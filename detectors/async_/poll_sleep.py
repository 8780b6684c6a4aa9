"""ASY005: a polling loop that sleeps on every iteration, even right after dispatching work."""

from __future__ import annotations

import ast

from flowfix.analysis import Model
from flowfix.analysis.frameworks import ALL_FRAMEWORKS
from flowfix.analysis.model import DEFINITIONS, FUNCTIONS, LOOPS
from flowfix.analysis.values import block_nodes, own_nodes
from flowfix.detector import Detector
from flowfix.detectors.async_.bound_values import name_bindings
from flowfix.rules import FixSafety, Severity

MAX_POLL_INTERVAL = 0.1
# Calls that hand work to someone else (tasks, pools, queues, nodes, flows).
DISPATCH_CALLS = frozenset(
    {
        "create_task",
        "ensure_future",
        "gather",
        "submit",
        "map",
        "run_in_executor",
        "to_thread",
        "start_soon",
        "apply_async",
        "put",
        "put_nowait",
        "send",
        "start",
        "run",
        "run_async",
        "run_sync",
        "execute",
        "execute_async",
    }
)


class UnconditionalPollSleep(Detector):
    """A polling loop that sleeps on every iteration, even right after dispatching work.

    ## Why is this bad?
    A scheduler loop such as Dynamiq's `Flow.run_async` (find the ready nodes, run them,
    `await asyncio.sleep(0.001)`, repeat) adds the sleep, plus the loop's wake-up latency, to
    every step of the graph: a chain of 50 nodes waits 50 times for nothing, because after a
    batch finished the next nodes are usually ready at once. Dynamiq PR #674 made this sleep
    conditional ("only when no nodes dispatched") as one of its per-request savings. The sync
    twin, a `while` loop that polls a condition with `time.sleep(0.01)`, wakes its thread a
    hundred times a second and still reacts up to 10 ms late.

    ## Example
    ```python
    import asyncio


    async def run_ready_nodes(scheduler):
        while scheduler.is_active():
            ready = scheduler.ready_nodes()
            if ready:
                await asyncio.gather(*(node.run() for node in ready))
            await asyncio.sleep(0.001)
    ```

    ## Use instead
    ```python
    import asyncio


    async def run_ready_nodes(scheduler):
        while scheduler.is_active():
            ready = scheduler.ready_nodes()
            if ready:
                await asyncio.gather(*(node.run() for node in ready))
            else:
                await asyncio.sleep(0.001)
    ```
    For a sync busy-wait (`while not done(): time.sleep(0.01)`), wait on the thing itself:
    `event.wait()`, `future.result()`, `concurrent.futures.wait(...)`, `process.wait()` or a
    `threading.Condition`.

    ## Metric to monitor
    Per-node scheduling overhead (flow wall time minus the sum of node times), and the
    number of loop iterations per flow run; idle CPU wake-ups for the sync form.

    ## Limitations
    Only constant intervals up to 0.1 s are reported (longer sleeps are usually deliberate
    throttling). A loop counts as dispatching work when an `if` in its body awaits something
    or calls a task, pool, queue or node method (`create_task`, `submit`, `put`, `run`, ...),
    or when its body passes what the iteration polled to such a call
    (`executor.execute(ready_nodes)`); a `continue` in that `if` counts as skipping the sleep,
    and work that was awaited rather than polled (`job = await queue.get()`) does not count.
    The sync form is reported in functions (not module-level scripts) for loops that only
    poll (`if ...: break` checks) or that dispatch work the same way.
    """

    CODE = "ASY005"
    NAME = "unconditional-poll-sleep"
    SEVERITY = Severity.OPTIMIZATION
    CATEGORY = "async"
    FIX = FixSafety.NONE
    FRAMEWORKS = ALL_FRAMEWORKS
    MESSAGE = "`{sleep}({interval})` in `{function}()` {problem}; {advice}"
    TRIGGERS = ("sleep",)

    def visit_While(self, node: ast.While) -> None:
        owner = self.model.function_of(node)
        if not isinstance(owner, FUNCTIONS):
            return
        is_async = isinstance(owner, ast.AsyncFunctionDef)
        for statement in node.body:
            sleep = self._poll_sleep(statement, is_async)
            if sleep is None:
                continue
            call, interval = sleep
            others = [s for s in node.body if s is not statement]
            shown = "await asyncio.sleep" if is_async else "time.sleep"
            if _dispatches_before_sleeping(others, is_async):
                self.report(
                    call,
                    sleep=shown,
                    interval=interval,
                    problem="runs on every poll, even right after dispatching work",
                    function=owner.name,
                    advice="sleep only when nothing was dispatched",
                )
            elif not is_async and _busy_waits(node, others):
                self.report(
                    call,
                    sleep=shown,
                    interval=interval,
                    problem="busy-waits on a condition",
                    function=owner.name,
                    advice="wait on an event, future or condition instead",
                )

    def _poll_sleep(self, statement: ast.stmt, is_async: bool) -> tuple[ast.Call, str] | None:
        """(the call, its interval's source) for a statement `await asyncio.sleep(<small>)` in
        a coroutine, `time.sleep(<small>)` elsewhere."""
        if not isinstance(statement, ast.Expr):
            return None
        value = statement.value
        if is_async:
            if not isinstance(value, ast.Await):
                return None
            value = value.value
        target = {"asyncio.sleep"} if is_async else {"time.sleep"}
        if not isinstance(value, ast.Call) or self.model.resolves_to(value.func, target) is None:
            return None
        args: list[ast.expr | ast.keyword] = [*value.args, *value.keywords]
        if len(args) != 1:
            return None
        arg = args[0]
        if isinstance(arg, ast.keyword):
            if arg.arg is not None:
                return None
            interval_expr = arg.value
        else:
            interval_expr = arg.value if isinstance(arg, ast.Starred) else arg
        if not self._is_small_interval(interval_expr):
            return None
        return value, _source(self.model, interval_expr)

    def _is_small_interval(self, expr: ast.expr) -> bool:
        """A constant in (0, MAX_POLL_INTERVAL] s: a number, or a name whose every binding
        assigns such a number."""
        values: list[ast.expr | None]
        if isinstance(expr, ast.Name):
            bindings = name_bindings(self.model, expr) or [(None, None)]
            values = [value for value, _ in bindings]
        else:
            values = [expr]
        return all(_is_small_number(value) for value in values)


def _number(expr: ast.AST | None) -> float | None:
    """The value of an int or float literal (not a bool, not signed)."""
    if not isinstance(expr, ast.Constant) or isinstance(expr.value, bool):
        return None
    return float(expr.value) if isinstance(expr.value, (int, float)) else None


def _is_small_number(expr: ast.AST | None) -> bool:
    value = _number(expr)
    return value is not None and 0 < value <= MAX_POLL_INTERVAL


def _source(model: Model, node: ast.AST) -> str:
    span = model.span(node)
    lines = model.lines[span.line - 1 : span.end_line]
    lines[-1] = lines[-1][: span.end_column - 1]
    lines[0] = lines[0][span.column - 1 :]
    return "\n".join(lines)


def _terminal(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _dispatches_work(branch: ast.If, awaits_count: bool) -> bool:
    """The branches of `branch` hand out work: a call to a task/pool/queue/node method, or (in
    a coroutine) an `await` of anything but a sleep. The condition itself does not count (an
    `elif`'s does)."""
    for node in block_nodes([*branch.body, *branch.orelse]):
        if isinstance(node, ast.Call) and _terminal(node.func) in DISPATCH_CALLS:
            return True
        if awaits_count and isinstance(node, ast.Await):
            awaited = node.value
            if not (isinstance(awaited, ast.Call) and _terminal(awaited.func) == "sleep"):
                return True
    return False


def _read_names(expr: ast.AST) -> set[str]:
    """Variable names in `expr` (attribute names and keywords excluded), lambdas left out."""
    found: set[str] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif not isinstance(node, DEFINITIONS):
            stack.extend(ast.iter_child_nodes(node))
    return found


def _polled_names(statements: list[ast.stmt]) -> set[str]:
    """Names a loop body binds without awaiting (`ready = scheduler.ready_nodes()`): what one
    iteration polled, as opposed to waited for (`job = await queue.get()`)."""
    found: set[str] = set()
    for statement in statements:
        if isinstance(statement, ast.Assign) and not _awaits(statement.value):
            found |= {t.id for t in statement.targets if isinstance(t, ast.Name)}
    return found


def _awaits(expr: ast.expr) -> bool:
    return isinstance(expr, ast.Await) or any(isinstance(n, ast.Await) for n in own_nodes(expr))


def _dispatches_polled_work(statement: ast.stmt, polled: set[str]) -> bool:
    """`results = executor.execute(ready_nodes=ready)`: a dispatch call at the loop body's top
    level whose arguments use what this iteration polled."""
    value = statement.value if isinstance(statement, (ast.Expr, ast.Assign)) else None
    if isinstance(value, ast.Await):
        value = value.value
    return (
        isinstance(value, ast.Call)
        and _terminal(value.func) in DISPATCH_CALLS
        and any(
            _read_names(arg) & polled
            for arg in [*value.args, *(keyword.value for keyword in value.keywords)]
        )
    )


def _skips_to_next_iteration(root: ast.AST) -> bool:
    """A `continue` of the enclosing loop below `root` (so the sleep can be skipped): not in a
    nested loop's body (its `else` counts), def, lambda or class."""
    for child in ast.iter_child_nodes(root):
        if isinstance(child, ast.Continue):
            return True
        if isinstance(child, LOOPS):
            if any(
                _skips_to_next_iteration(s) or isinstance(s, ast.Continue) for s in child.orelse
            ):
                return True
        elif not isinstance(child, DEFINITIONS) and _skips_to_next_iteration(child):
            return True
    return False


def _dispatches_before_sleeping(others: list[ast.stmt], is_async: bool) -> bool:
    polled = _polled_names(others)
    return any(
        (
            isinstance(statement, ast.If)
            and _dispatches_work(statement, is_async)
            and not _skips_to_next_iteration(statement)
        )
        or _dispatches_polled_work(statement, polled)
        for statement in others
    )


def _is_exit_check(statement: ast.stmt) -> bool:
    """`if <condition>: break` (or `return` / `raise`): a poll of a condition."""
    return (
        isinstance(statement, ast.If)
        and not statement.orelse
        and isinstance(statement.body[-1], (ast.Break, ast.Return, ast.Raise))
    )


def _is_truthy_constant(expr: ast.expr) -> bool:
    if isinstance(expr, ast.Constant) and expr.value is True:
        return True
    value = _number(expr)
    return value is not None and value != 0


def _busy_waits(loop: ast.While, others: list[ast.stmt]) -> bool:
    """The loop only polls: its other statements are `pass` or exit checks, and there is one
    or the loop's test is not a constant that is always true."""
    if not all(isinstance(s, ast.Pass) or _is_exit_check(s) for s in others):
        return False
    return any(_is_exit_check(s) for s in others) or not _is_truthy_constant(loop.test)
