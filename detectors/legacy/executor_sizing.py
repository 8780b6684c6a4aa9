"""Executor placement: single-worker timeout pools reused across retries (EXE003)."""

from __future__ import annotations

import ast
from dataclasses import dataclass

import libcst as cst

from flowfix.detectors.legacy.connections import instance_name
from flowfix.detectors.legacy.executors import (
    DEPENDENCIES,
    FRAMEWORKS,
    _is_below,
    argument_values,
    calls_result_with_timeout,
    executor_calls,
    executor_class,
    iteration_loops,
    statement_chain,
    waits_with_timeout,
)
from flowfix.libcst_detector import LibcstDetector as Detector
from flowfix.prefilter import FUNCTION_DEFS, FileView, innermost
from flowfix.reduction import Sites
from flowfix.rules import FixSafety, Severity
from flowfix.scope import ScopeProvider
from flowfix.semantics import (
    MetadataReader,
    assigned_value,
    find_method,
    method_class,
    own_nodes,
    parent,
    qualified_names,
    scope_owner,
)

Loop = cst.For | cst.While
TIMEOUT_ERRORS = frozenset({"TimeoutError", "Exception", "BaseException"})


# --- shared questions -------------------------------------------------------------------------


def size_argument(call: cst.Call, positional: bool) -> cst.Arg | None:
    """The `max_workers=` argument of `call` (or its first positional one, for executors)."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "max_workers":
            return arg
    if positional and call.args and call.args[0].keyword is None and not call.args[0].star:
        return call.args[0]
    return None


def literal_int(node: cst.BaseExpression) -> int | None:
    if isinstance(node, cst.Integer):
        return int(node.evaluated_value)
    return None


def is_single_worker(reader: MetadataReader, call: cst.Call) -> bool:
    """`Executor(max_workers=1)` / `Executor(1)`."""
    if executor_class(reader, call) is None:
        return False
    arg = size_argument(call, positional=True)
    return arg is not None and literal_int(arg.value) == 1


def _is_result_with_timeout(node: cst.CSTNode) -> bool:
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "result"
        and any(arg.keyword is None or arg.keyword.value == "timeout" for arg in node.args)
    )


def _helper(
    reader: MetadataReader, call: cst.Call, func: cst.FunctionDef
) -> cst.FunctionDef | None:
    """The method of `func`'s class (`self.m(...)`) or the module function `call` calls."""
    callee = call.func
    if isinstance(callee, cst.Attribute) and isinstance(callee.value, cst.Name):
        cls = method_class(reader, func)
        if cls is not None and callee.value.value == instance_name(reader, func):
            return find_method(cls, callee.attr.value)
        return None
    if isinstance(callee, cst.Name):
        scope = reader.get_metadata(ScopeProvider, callee, None)
        bindings = list(scope[callee.value]) if scope is not None else []  # type: ignore[index]
        node = getattr(bindings[0], "node", None) if len(bindings) == 1 else None
        if isinstance(node, cst.FunctionDef):
            return node
    return None


@dataclass(frozen=True)
class TimeoutWait:
    """In a loop: `executor` (a name or `self.attr`) gets work whose future is awaited with a
    timeout at `wait` (the `.result(timeout)` call, or the helper call that does it)."""

    executor: cst.BaseExpression
    wait: cst.Call


def timeout_waits(reader: MetadataReader, loop: Loop, func: cst.FunctionDef) -> list[TimeoutWait]:
    """Executors submitted to in `loop` whose results it awaits with a timeout (seed 003)."""
    calls = [node for node in own_nodes(loop.body) if isinstance(node, cst.Call)]
    direct = [call for call in calls if _is_result_with_timeout(call)]
    waits: list[TimeoutWait] = []
    for node in calls:
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "submit":
            waits.extend(TimeoutWait(node.func.value, wait) for wait in direct)
            continue
        helper = _helper(reader, node, func)
        if helper is not None and calls_result_with_timeout(helper.body):
            waits.extend(
                TimeoutWait(arg.value, node)
                for arg in node.args
                if isinstance(arg.value, (cst.Name, cst.Attribute))
            )
    return waits


def executor_constructors(
    reader: MetadataReader, ref: cst.BaseExpression, func: cst.FunctionDef
) -> list[cst.Call] | None:
    """The executor constructions `ref` (a name, or `self.attr` of `func`'s class) is bound to;
    None when it may also be bound to anything else but `None`."""
    values: list[cst.BaseExpression | None] = []
    if isinstance(ref, cst.Name):
        scope = reader.get_metadata(ScopeProvider, ref, None)
        if scope is None:
            return None
        for binding in scope[ref.value]:  # type: ignore[index]
            target = getattr(binding, "node", None)
            if not isinstance(target, cst.Name):
                return None
            values.append(assigned_value(reader, target) or _with_value(reader, target))
    elif isinstance(ref, cst.Attribute) and isinstance(ref.value, cst.Name):
        cls = method_class(reader, func)
        if cls is None or ref.value.value != instance_name(reader, func):
            return None
        values = _attribute_values(reader, cls, ref.attr.value)
    else:
        return None
    calls: list[cst.Call] = []
    for value in values:
        if isinstance(value, cst.Name) and value.value == "None":
            continue
        if not isinstance(value, cst.Call) or executor_class(reader, value) is None:
            return None
        calls.append(value)
    return calls or None


def _with_value(reader: MetadataReader, target: cst.Name) -> cst.BaseExpression | None:
    """The context manager `target` names in `with <value> as target:`."""
    alias = parent(reader, target)
    item = parent(reader, alias) if isinstance(alias, cst.AsName) else None
    return item.item if isinstance(item, cst.WithItem) else None


def _attribute_values(
    reader: MetadataReader, cls: cst.ClassDef, attr: str
) -> list[cst.BaseExpression | None]:
    """Values assigned to `self.<attr>` by the methods of `cls`."""
    values: list[cst.BaseExpression | None] = []
    for method in cls.body.body:
        if not isinstance(method, cst.FunctionDef):
            continue
        this = instance_name(reader, method)
        for node in own_nodes(method.body):
            if isinstance(node, cst.Assign):
                targets = [t.target for t in node.targets]
            elif isinstance(node, cst.AnnAssign):
                targets = [node.target]
            else:
                continue
            for target in targets:
                if (
                    isinstance(target, cst.Attribute)
                    and isinstance(target.value, cst.Name)
                    and target.value.value == this
                    and target.attr.value == attr
                ):
                    values.append(node.value if len(targets) == 1 else None)
    return values


def _catches_timeout(reader: MetadataReader, handler: cst.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    types = (
        [element.value for element in handler.type.elements]
        if isinstance(handler.type, cst.Tuple)
        else [handler.type]
    )
    for kind in types:
        names = qualified_names(reader, kind) | {cst.helpers.get_full_name_for_node(kind) or ""}
        if any(name.rsplit(".", 1)[-1] in TIMEOUT_ERRORS for name in names if name):
            return True
    return False


def _leaves_loop(handler: cst.ExceptHandler) -> bool:
    """The handler ends with `raise`, `return` or `break`."""
    body = handler.body
    last = body.body[-1] if isinstance(body, cst.IndentedBlock) else body
    small = (
        last.body[-1]
        if isinstance(last, (cst.SimpleStatementLine, cst.SimpleStatementSuite))
        else None
    )
    return isinstance(small, (cst.Raise, cst.Return, cst.Break))


def survives_timeout(reader: MetadataReader, wait: cst.CSTNode, loop: Loop) -> bool:
    """A `try` in `loop` catches the timeout raised at `wait` and goes on to the next iteration."""
    child, current = wait, parent(reader, wait)
    while current is not None and current is not loop:
        if isinstance(current, cst.Try) and child is current.body:
            if any(
                _catches_timeout(reader, handler) and not _leaves_loop(handler)
                for handler in current.handlers
            ):
                return True
        child, current = current, parent(reader, current)
    return False


# --- the rules ----------------------------------------------------------------------------------


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
    CATEGORY = "executors"
    FIX = FixSafety.NONE
    FRAMEWORKS = FRAMEWORKS
    MESSAGE = (
        "Single-worker `{executor}` is reused across the retry loop of `{function}()`: after "
        "a timeout every retry waits behind the stuck task"
    )
    TRIGGERS = ("Executor",)
    METADATA_DEPENDENCIES = DEPENDENCIES
    REACH = "class"

    @classmethod
    def ast_candidate(cls, view: FileView) -> Sites:
        """Each loop of a function that may run, per iteration, `<ref>.submit(...)` and a
        `.result(timeout)`, or a call with `<ref>` among its arguments of a function (or
        method) that waits so, where `<ref>` is a name or `self.<attr>` that a single-worker
        executor call is bound to. The constructors may be anywhere in the class
        (`self.<attr>` bindings are read from every method)."""
        refs = _single_worker_refs(view)
        if refs is None:
            return True
        if not refs:
            return False
        submitted: set[int] = set()
        waiting: set[int] = set()
        sites: dict[int, ast.AST] = {}
        for call in view.nodes_near(["submit", "result"], ast.Call):
            func = call.func  # type: ignore[attr-defined]
            submits = (
                isinstance(func, ast.Attribute)
                and func.attr == "submit"
                and _ast_ref(func.value, refs)
            )
            if not (submits or waits_with_timeout(call)):
                continue
            chain = statement_chain(view, call)
            if not chain:
                return True
            loops = {id(loop): loop for loop in _function_loops(chain)}
            (submitted if submits else waiting).update(loops)
            sites.update(loops)
            index = innermost(chain)
            helper = chain[index] if index is not None and not submits else None
            if isinstance(helper, FUNCTION_DEFS):
                for passing in view.calls_to(helper.name):
                    if not any(_ast_ref(value, refs) for value in argument_values(passing)):
                        continue
                    chain = statement_chain(view, passing)
                    if not chain:
                        return True
                    loops = {id(loop): loop for loop in _function_loops(chain)}
                    submitted.update(loops)
                    waiting.update(loops)
                    sites.update(loops)
        return [sites[key] for key in submitted & waiting]

    def visit_Module(self, node: cst.Module) -> None:
        self._reported: set[int] = set()

    def visit_For(self, node: cst.For) -> None:
        self._check_loop(node)

    def visit_While(self, node: cst.While) -> None:
        self._check_loop(node)

    def _check_loop(self, loop: Loop) -> None:
        func = scope_owner(self, loop)
        if not isinstance(func, cst.FunctionDef):
            return
        for wait in timeout_waits(self, loop, func):
            calls = executor_constructors(self, wait.executor, func)
            if not calls or not survives_timeout(self, wait.wait, loop):
                continue
            if all(
                is_single_worker(self, call) and not _is_below(self, call, loop) for call in calls
            ):
                for call in calls:
                    self._report_once(call, func)

    def _report_once(self, call: cst.Call, func: cst.FunctionDef) -> None:
        if id(call) in self._reported:
            return
        self._reported.add(id(call))
        self.report(call, executor=executor_class(self, call), function=func.name.value)


def _function_loops(chain: list[ast.AST]) -> list[ast.AST]:
    """The loops that may run the end of `chain` per iteration, in a function."""
    index = innermost(chain)
    return (
        iteration_loops(chain)
        if index is not None and isinstance(chain[index], FUNCTION_DEFS)
        else []
    )


def _single_worker_refs(view: FileView) -> set[str] | None:
    """The names (and `.<attr>` for attributes) that single-worker executor calls are bound
    to by assignment or `with` (`executor_constructors`); None when it cannot be told."""
    refs: set[str] = set()
    for call in executor_calls(view):
        if not _ast_single_worker(call):
            continue
        chain = statement_chain(view, call)
        if not chain:
            return None
        statement = chain[-1]
        if isinstance(statement, ast.Assign):
            stack: list[ast.AST] = list(statement.targets)
        elif isinstance(statement, ast.AnnAssign):
            stack = [statement.target]
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            stack = [item.optional_vars for item in statement.items if item.optional_vars]
        else:
            continue
        while stack:
            target = stack.pop()
            if isinstance(target, (ast.Tuple, ast.List)):
                stack.extend(target.elts)
            elif isinstance(target, ast.Starred):
                stack.append(target.value)
            elif isinstance(target, ast.Name):
                refs.add(target.id)
            elif isinstance(target, ast.Attribute):
                refs.add("." + target.attr)
    return refs


def _ast_ref(node: ast.AST, refs: set[str]) -> bool:
    """`node` is a name or `<name>.<attr>` among `refs`."""
    if isinstance(node, ast.Name):
        return node.id in refs
    return isinstance(node, ast.Attribute) and "." + node.attr in refs


def _ast_single_worker(call: ast.Call) -> bool:
    def one(node: ast.expr) -> bool:
        return isinstance(node, ast.Constant) and node.value == 1

    return any(k.arg == "max_workers" and one(k.value) for k in call.keywords) or bool(
        call.args and one(call.args[0])
    )
