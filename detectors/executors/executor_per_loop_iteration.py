"""EXE005: an executor constructed on every iteration of a loop, and how the fix hoists it."""

from __future__ import annotations

import ast
from dataclasses import astuple, dataclass
from typing import Any, Literal

from flowfix.analysis import Model
from flowfix.analysis.frameworks import ALL_FRAMEWORKS
from flowfix.analysis.model import FUNCTIONS, FunctionNode
from flowfix.analysis.statement_lines import (
    containing_body,
    in_one_line_body,
    shares_line,
    statement_index,
)
from flowfix.analysis.values import bound_names, local_bindings, statement_targets
from flowfix.detector import Detector
from flowfix.detectors.executors.executor_classes import executor_class
from flowfix.detectors.executors.executor_name_uses import (
    is_shutdown_statement,
    local_binding,
)
from flowfix.detectors.executors.pool_name_uses import name_uses
from flowfix.detectors.executors.pool_waits import submits_unconsumed, waits_for_results
from flowfix.detectors.executors.timeout_waits import Loop, is_timeout_executor
from flowfix.rules import FixSafety, Severity


@dataclass(frozen=True)
class HoistPlan:
    """The rewrite: create the pool before `loop` and shut it down after it.

    `kind` "with": `inner` (the `with` inside the loop) is replaced by its body and `loop` is
    wrapped in the same `with`. `kind` "assign": `inner` (`name = Executor(...)`) moves before
    `loop`, which is wrapped in `try`/`finally: <shutdown>`; `shutdown` is the per-iteration
    `name.shutdown(...)` statement or the `try` whose `finally` holds it (removed), if any.
    """

    kind: Literal["with", "assign"]
    loop: Loop
    inner: ast.stmt
    name: str
    shutdown: ast.stmt | None = None

    def data(self, model: Model) -> dict[str, Any]:
        """What the codemod needs: the kind, the name, and the statements by span."""
        return {
            "kind": self.kind,
            "name": self.name,
            "loop": list(astuple(model.span(self.loop))),
            "inner": list(astuple(model.span(self.inner))),
            "shutdown": (
                list(astuple(model.span(self.shutdown))) if self.shutdown is not None else None
            ),
        }


def all_names(node: ast.AST) -> set[str]:
    """Every plain name below `node`, read or bound (libcst's `read_names` counted both)."""
    return {child.id for child in ast.walk(node) if isinstance(child, ast.Name)}


def loop_bound_names(loop: Loop) -> set[str]:
    """Names that can change from one iteration of `loop` to the next."""
    body = ast.Module(body=loop.body, type_ignores=[])
    names = {name for found, _ in local_bindings(body) for name in found}
    if isinstance(loop, (ast.For, ast.AsyncFor)):
        names |= bound_names(loop.target)
    return names


def _argument_names(call: ast.Call) -> set[str]:
    values = [*call.args, *(keyword.value for keyword in call.keywords)]
    return {name for value in values for name in all_names(value)}


def in_loop_body(model: Model, node: ast.AST, loop: Loop) -> bool:
    """`node` runs in `loop`'s body (not its header, test or `else`)."""
    body: list[ast.stmt] = loop.body
    child = node
    for current in model.ancestors(node):
        if current is loop:
            return any(statement is child for statement in body)
        child = current
    return False


def hoist_loop(model: Model, call: ast.Call) -> tuple[Loop | None, Loop]:
    """(the outermost loop the pool can be created before, the innermost loop around it):
    the first is None when the constructor reads names that change in the innermost loop."""
    inner = model.iteration_loop(call)
    assert inner is not None
    reads = _argument_names(call)
    target: Loop | None = None
    loop: Loop | None = inner
    while loop is not None and not reads & loop_bound_names(loop):
        target = loop
        loop = model.iteration_loop(loop)
    return target, inner


def hoist_plan(model: Model, call: ast.Call, func: FunctionNode) -> HoistPlan | str:
    """How the executor `call` is hoisted out of its loop, or why it cannot be."""
    target, inner = hoist_loop(model, call)
    if target is None:
        changing = sorted(_argument_names(call) & loop_bound_names(inner))
        return (
            f"the pool is sized from `{'`, `'.join(changing)}`, which changes in the loop; "
            "create one pool before it, sized for the largest iteration"
        )
    item = model.parent(call)
    if isinstance(item, ast.withitem) and item.context_expr is call:
        return _with_plan(model, item, target, func)
    binding = local_binding(model, call)
    if binding is None:
        return "the pool is not bound to a name; hoist it by hand"
    return _assign_plan(model, binding, target, func)


def _with_plan(model: Model, item: ast.withitem, loop: Loop, func: FunctionNode) -> HoistPlan | str:
    statement = model.parent(item)
    assert isinstance(statement, (ast.With, ast.AsyncWith))
    if len(statement.items) != 1 or isinstance(statement, ast.AsyncWith):
        return "the `with` manages more than the executor"
    name = item.optional_vars
    if not isinstance(name, ast.Name):
        return "the `with` does not bind the executor to a name"
    found = name_uses(model, name, func, del_with_others_reads=True)
    if found is None or found[1] != 1:
        return f"`{name.id}` is bound more than once in the function"
    if any(use.kind in {"escape", "delegated"} or use.method == "shutdown" for use in found[0]):
        return f"the `with` body shuts `{name.id}` down or hands it on"
    if submits_unconsumed(statement.body) and not waits_for_results(statement.body):
        return "each iteration relies on the `with` exit to wait for its tasks"
    return HoistPlan("with", loop, statement, name.id)


def _assign_plan(
    model: Model, binding: tuple[ast.Name, ast.stmt], loop: Loop, func: FunctionNode
) -> HoistPlan | str:
    name, statement = binding
    found = name_uses(model, name, func, del_with_others_reads=True)
    if found is None or found[1] != 1 or shares_line(model, statement):
        return f"`{name.id}` is bound more than once in the function or shares its line"
    uses = found[0]
    if any(use.kind in {"escape", "delegated", "with"} for use in uses):
        return f"`{name.id}` is handed on; hoist it by hand"
    if any(not in_loop_body(model, use.node, loop) for use in uses):
        return f"`{name.id}` is used after the loop"
    block = containing_body(model, statement)
    assert block is not None
    index = next(i for i, s in enumerate(block) if s is statement)
    shutdowns = [use for use in uses if use.kind == "call" and use.method == "shutdown"]
    if len(shutdowns) == len(uses):
        return f"`{name.id}` is never used"
    if not shutdowns:
        return HoistPlan("assign", loop, statement, name.id)
    following = block[index + 1] if index + 1 < len(block) else None
    last = max(statement_index(model, use.node, block) or 0 for use in uses)
    if len(shutdowns) == 1 and is_shutdown_statement(model, block[last], name.id):
        return HoistPlan("assign", loop, statement, name.id, block[last])
    if (
        len(shutdowns) == 1
        and isinstance(following, ast.Try)
        and following.finalbody
        and last == index + 1
        and len(following.finalbody) == 1
        and not in_one_line_body(model, following.finalbody[0])
        and is_shutdown_statement(model, following.finalbody[0], name.id)
    ):
        return HoistPlan("assign", loop, statement, name.id, following)
    return f"`{name.id}` is shut down in a way the fix cannot move"


def shutdown_waits(plan: HoistPlan) -> bool:
    """The per-iteration shutdown that the fix removes waits for the tasks (`wait=True`)."""
    statement = plan.shutdown
    if isinstance(statement, ast.Try):
        statement = statement.finalbody[0]
    if not isinstance(statement, ast.Expr) or not isinstance(statement.value, ast.Call):
        return False
    call = statement.value
    arguments = [
        (argument, argument.value if isinstance(argument, ast.Starred) else argument)
        for argument in call.args
    ] + [(keyword, keyword.value) for keyword in call.keywords if keyword.arg in (None, "wait")]
    arguments.sort(key=lambda pair: (pair[0].lineno, pair[0].col_offset))
    for _, value in arguments[:1]:
        return not (isinstance(value, ast.Constant) and value.value is False)
    return True


class ExecutorPerLoopIteration(Detector):
    """An executor is created on every iteration of a loop.

    ## Why is this bad?
    Each iteration starts a new pool, its worker threads (or processes) and their warm-up,
    then waits for all of them and tears them down. In an agent loop that runs tools in
    parallel (Dynamiq's `parallel_tool_calls_enabled=True`) that is one pool per model turn;
    in a batch loop, one per batch. One pool created before the loop serves every iteration.

    ## Example
    ```python
    from concurrent.futures import ThreadPoolExecutor


    def embed_all(batches, embed):
        vectors = []
        for batch in batches:
            with ThreadPoolExecutor(max_workers=16) as pool:
                vectors.extend(pool.map(embed, batch))
        return vectors
    ```

    ## Use instead
    ```python
    from concurrent.futures import ThreadPoolExecutor


    def embed_all(batches, embed):
        vectors = []
        with ThreadPoolExecutor(max_workers=16) as pool:
            for batch in batches:
                vectors.extend(pool.map(embed, batch))
        return vectors
    ```

    ## Fix safety
    Unsafe: the pool is created before the outermost loop its arguments do not change in,
    and shut down after it. A `with Executor(...) as name:` in the loop becomes a `with`
    around the loop (its body is dedented); `name = Executor(...)` moves before the loop,
    which is wrapped in `try`/`finally: name.shutdown(...)`, taking over the arguments of a
    per-iteration `name.shutdown(...)` (trailing, or alone in a `finally`), or `wait=True`.
    Behaviour changes: tasks of one iteration may still run when the next submits (only
    when the iteration does not wait for them; then no fix is offered), thread-local state
    carries over between iterations, and the pool is created even when the loop runs zero
    times or the branch that created it is not taken.
    No fix is offered when the constructor reads names that change in the loop (for example
    an agent sizing the pool by the number of tool calls of each turn: size it once by the
    maximum instead), when the pool is not bound by `with` or a single assignment, used
    after the loop, handed on, or shut down elsewhere than at the end of the iteration.

    Not reported: a single-worker executor whose future is awaited with a timeout (seed
    003's per-attempt executor: sharing it makes every retry wait behind the stuck task), a
    loop over pool configurations (an argument is the loop variable itself), and pools kept
    beyond the iteration (stored, appended, returned).

    ## Metric to monitor
    Thread creation rate and live thread count, and per-iteration latency p50/p95.
    """

    CODE = "EXE005"
    NAME = "executor-per-loop-iteration"
    SEVERITY = Severity.OPTIMIZATION
    CATEGORY = "executors"
    FIX = FixSafety.UNSAFE
    FRAMEWORKS = ALL_FRAMEWORKS
    MESSAGE = "`{executor}` is created on every iteration of a loop in `{function}()`"
    TRIGGERS = ("Executor",)

    def visit_Call(self, node: ast.Call) -> None:
        model = self.model
        executor = executor_class(model, node)
        loop = model.iteration_loop(node) if executor else None
        func = model.function_of(node) if loop is not None else None
        if loop is None or not isinstance(func, FUNCTIONS):
            return
        if not in_loop_body(model, node, loop) or self._is_kept(node, func):
            return
        if self._sweeps_configurations(node, loop) or is_timeout_executor(model, node, func):
            return
        fix, note, data = self._fix(node, func)
        self.report(node, fix=fix, note=note, data=data, executor=executor, function=func.name)

    def _is_kept(self, node: ast.Call, func: FunctionNode) -> bool:
        """Stored on an attribute or in a container, returned, yielded or passed on."""
        owner = self.model.parent(node)
        if isinstance(owner, (ast.Return, ast.Yield, ast.keyword, ast.Dict)):
            return True
        if isinstance(owner, (ast.Tuple, ast.List, ast.Set)):
            return True
        if isinstance(owner, ast.Call) and owner.func is not node:
            return True
        if isinstance(owner, ast.Starred) and isinstance(self.model.parent(owner), ast.Call):
            return True
        if isinstance(owner, (ast.Assign, ast.AnnAssign)):
            targets = statement_targets(owner)
            if any(not isinstance(target, ast.Name) for target in targets):
                return True
            binding = local_binding(self.model, node)
            found = (
                name_uses(self.model, binding[0], func, del_with_others_reads=True)
                if binding is not None
                else None
            )
            return found is None or any(use.kind == "escape" for use in found[0])
        return False

    @staticmethod
    def _sweeps_configurations(node: ast.Call, loop: Loop) -> bool:
        """`for workers in (2, 4, 8): Executor(workers)`: one pool per configuration."""
        targets = bound_names(loop.target) if isinstance(loop, (ast.For, ast.AsyncFor)) else set()
        values = [a.value if isinstance(a, ast.Starred) else a for a in node.args]
        values += [keyword.value for keyword in node.keywords]
        return any(isinstance(value, ast.Name) and value.id in targets for value in values)

    def _fix(
        self, node: ast.Call, func: FunctionNode
    ) -> tuple[FixSafety, str, dict[str, Any] | None]:
        plan = hoist_plan(self.model, node, func)
        if isinstance(plan, str):
            return FixSafety.NONE, plan, None
        data = plan.data(self.model)
        if plan.kind == "assign" and plan.shutdown is not None and shutdown_waits(plan):
            if submits_unconsumed(plan.loop.body) and not waits_for_results(plan.loop.body):
                note = "each iteration relies on `shutdown()` to wait for its tasks"
                return FixSafety.NONE, note, None
        if plan.kind == "assign" and plan.shutdown is None:
            note = "the pool was never shut down; the fix waits for it after the loop"
            return FixSafety.UNSAFE, note, data
        return FixSafety.UNSAFE, "", data
