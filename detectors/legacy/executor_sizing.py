"""Executor sizing and placement: single-worker timeout pools, hard-coded sizes, pools per
loop iteration."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

import libcst as cst

from flowfix.detectors.legacy.connections import instance_name
from flowfix.detectors.legacy.executors import (
    DEPENDENCIES,
    EXECUTOR_SUFFIX,
    FRAMEWORKS,
    _is_below,
    calls_result_with_timeout,
    executor_calls,
    executor_class,
    is_shutdown_statement,
    iteration_loops,
    local_binding,
    name_uses,
    statement_chain,
    statement_index,
    submits_unconsumed,
    waits_for_results,
)
from flowfix.libcst_detector import LibcstDetector as Detector
from flowfix.prefilter import FUNCTION_DEFS, FileView, call_name, innermost
from flowfix.reduction import Sites
from flowfix.rules import FixSafety, Severity
from flowfix.scope import ScopeProvider
from flowfix.semantics import (
    MetadataReader,
    assigned_value,
    bound_names,
    conflicting_binding,
    find_method,
    iteration_loop,
    local_bindings,
    method_class,
    own_nodes,
    parent,
    qualified_names,
    read_names,
    scope_owner,
)

Loop = cst.For | cst.While
# Pools whose workers are processes (or interpreters): CPU-bound sizing, not the I/O heuristic.
NOT_THREADS = ("Process", "Interpreter")
THREAD_POOLS = frozenset({"dynamiq.executors.pool.ThreadExecutor"})
PARALLEL_NODE_PREFIX = "kaygraph."
PARALLEL_NODE_MARK = "Parallel"
TRANSPARENT_CALLS = frozenset({"builtins.min", "builtins.max", "builtins.int"})
TEST_DIRECTORIES = frozenset({"tests", "test"})


# --- shared questions -------------------------------------------------------------------------


def is_thread_pool(reader: MetadataReader, call: cst.Call) -> bool:
    """A thread `*PoolExecutor`, Dynamiq's `ThreadExecutor` or a KayGraph parallel node."""
    executor = executor_class(reader, call)
    if executor is not None:
        return not any(mark in executor for mark in NOT_THREADS)
    names = qualified_names(reader, call.func)
    return bool(names & THREAD_POOLS) or any(_is_parallel_node(name) for name in names)


def _is_parallel_node(name: str) -> bool:
    return name.startswith(PARALLEL_NODE_PREFIX) and PARALLEL_NODE_MARK in name.rsplit(".", 1)[-1]


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


def is_test_path(path: str) -> bool:
    parts = PurePosixPath(path.replace("\\", "/")).parts
    name = parts[-1] if parts else ""
    return (
        name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
        or bool(TEST_DIRECTORIES & set(parts[:-1]))
    )


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


# --- EXE005's plan, shared with its codemod ---------------------------------------------------


@dataclass(frozen=True)
class HoistPlan:
    """EXE005's rewrite: create the pool before `loop` and shut it down after it.

    `kind` "with": `inner` (the `with` inside the loop) is replaced by its body and `loop` is
    wrapped in the same `with`. `kind` "assign": `inner` (`name = Executor(...)`) moves before
    `loop`, which is wrapped in `try`/`finally: <shutdown>`; `shutdown` is the per-iteration
    `name.shutdown(...)` statement or the `try` whose `finally` holds it (removed), if any.
    """

    kind: Literal["with", "assign"]
    loop: Loop
    inner: cst.With | cst.SimpleStatementLine
    name: str
    shutdown: cst.SimpleStatementLine | cst.Try | None = None


def loop_bound_names(loop: Loop) -> set[str]:
    """Names that can change from one iteration of `loop` to the next."""
    names = {name for found, _ in local_bindings(loop.body) for name in found}
    if isinstance(loop, cst.For):
        names |= bound_names(loop.target)
    return names


def _argument_names(call: cst.Call) -> set[str]:
    return {name for arg in call.args for name in read_names(arg.value)}


def hoist_loop(reader: MetadataReader, call: cst.Call) -> tuple[Loop | None, Loop]:
    """(the outermost loop the pool can be created before, the innermost loop around it):
    the first is None when the constructor reads names that change in the innermost loop."""
    inner = iteration_loop(reader, call)
    assert inner is not None
    reads = _argument_names(call)
    target: Loop | None = None
    loop: Loop | None = inner
    while loop is not None and not reads & loop_bound_names(loop):
        target = loop
        loop = iteration_loop(reader, loop)
    return target, inner


def hoist_plan(reader: MetadataReader, call: cst.Call, func: cst.FunctionDef) -> HoistPlan | str:
    """How EXE005 hoists the executor `call` out of its loop, or why it cannot."""
    target, inner = hoist_loop(reader, call)
    if target is None:
        changing = sorted(_argument_names(call) & loop_bound_names(inner))
        return (
            f"the pool is sized from `{'`, `'.join(changing)}`, which changes in the loop; "
            "create one pool before it, sized for the largest iteration"
        )
    if not isinstance(parent(reader, target), (cst.IndentedBlock, cst.Module)):
        return "the loop is on one line with its parent statement"
    item = parent(reader, call)
    if isinstance(item, cst.WithItem) and item.item is call:
        return _with_plan(reader, item, target, func)
    binding = local_binding(reader, call)
    if binding is None:
        return "the pool is not bound to a name; hoist it by hand"
    return _assign_plan(reader, binding, target, func)


def _with_plan(
    reader: MetadataReader, item: cst.WithItem, loop: Loop, func: cst.FunctionDef
) -> HoistPlan | str:
    statement = parent(reader, item)
    assert isinstance(statement, cst.With)
    if len(statement.items) != 1 or statement.asynchronous is not None:
        return "the `with` manages more than the executor"
    if item.asname is None or not isinstance(item.asname.name, cst.Name):
        return "the `with` does not bind the executor to a name"
    name = item.asname.name
    found = name_uses(reader, name, func)
    if found is None or found[1] != 1:
        return f"`{name.value}` is bound more than once in the function"
    if any(use.kind in {"escape", "delegated"} or use.method == "shutdown" for use in found[0]):
        return f"the `with` body shuts `{name.value}` down or hands it on"
    if submits_unconsumed(statement.body) and not waits_for_results(statement.body):
        return "each iteration relies on the `with` exit to wait for its tasks"
    return HoistPlan("with", loop, statement, name.value)


def _assign_plan(
    reader: MetadataReader,
    binding: tuple[cst.Name, cst.SimpleStatementLine],
    loop: Loop,
    func: cst.FunctionDef,
) -> HoistPlan | str:
    name, statement = binding
    found = name_uses(reader, name, func)
    if found is None or found[1] != 1 or len(statement.body) != 1:
        return f"`{name.value}` is bound more than once in the function or shares its line"
    uses = found[0]
    if any(use.kind in {"escape", "delegated", "with"} for use in uses):
        return f"`{name.value}` is handed on; hoist it by hand"
    if any(not _is_below(reader, use.node, loop.body) for use in uses):
        return f"`{name.value}` is used after the loop"
    block = parent(reader, statement)
    if not isinstance(block, cst.IndentedBlock):
        return "the assignment is in a one-line block"
    index = next(i for i, s in enumerate(block.body) if s is statement)
    shutdowns = [use for use in uses if use.kind == "call" and use.method == "shutdown"]
    if len(shutdowns) == len(uses):
        return f"`{name.value}` is never used"
    if not shutdowns:
        return HoistPlan("assign", loop, statement, name.value)
    following = block.body[index + 1] if index + 1 < len(block.body) else None
    last = max(statement_index(reader, use.node, block) or 0 for use in uses)
    if len(shutdowns) == 1 and is_shutdown_statement(block.body[last], name.value):
        trailing = block.body[last]
        assert isinstance(trailing, cst.SimpleStatementLine)
        return HoistPlan("assign", loop, statement, name.value, trailing)
    if (
        len(shutdowns) == 1
        and isinstance(following, cst.Try)
        and following.finalbody is not None
        and last == index + 1
        and isinstance(following.finalbody.body, cst.IndentedBlock)
        and len(following.finalbody.body.body) == 1
        and is_shutdown_statement(following.finalbody.body.body[0], name.value)
    ):
        return HoistPlan("assign", loop, statement, name.value, following)
    return f"`{name.value}` is shut down in a way the fix cannot move"


def shutdown_waits(plan: HoistPlan) -> bool:
    """The per-iteration shutdown that the fix removes waits for the tasks (`wait=True`)."""
    statement = plan.shutdown
    if isinstance(statement, cst.Try):
        assert statement.finalbody is not None and isinstance(
            statement.finalbody.body, cst.IndentedBlock
        )
        statement = statement.finalbody.body.body[0]  # type: ignore[assignment]
    if not isinstance(statement, cst.SimpleStatementLine):
        return False
    expression = statement.body[0]
    assert isinstance(expression, cst.Expr) and isinstance(expression.value, cst.Call)
    for arg in expression.value.args:
        if arg.keyword is None or arg.keyword.value == "wait":
            return not (isinstance(arg.value, cst.Name) and arg.value.value == "False")
    return True


# --- the rules ----------------------------------------------------------------------------------


def _function_loops(chain: list[ast.AST]) -> list[ast.AST]:
    """The loops that may run the end of `chain` per iteration, in a function."""
    index = innermost(chain)
    return (
        iteration_loops(chain)
        if index is not None and isinstance(chain[index], FUNCTION_DEFS)
        else []
    )


class HardCodedPoolSize(Detector):
    """A thread pool's size is a hard-coded number.

    ## Why is this bad?
    The right number of threads for I/O-bound work (LLM and HTTP calls) depends on the
    machine and the load: a literal `8` under-uses a large host and cannot be raised for 50
    concurrent requests without a code change. Dynamiq's PR #674 replaced
    `MAX_WORKERS_THREAD_POOL_EXECUTOR = 8` with Python's own heuristic,
    `min(32, os.cpu_count() + 4)`, overridable through `DYNAMIQ_MAX_WORKERS`.

    ## Example
    ```python
    from concurrent.futures import ThreadPoolExecutor

    MAX_WORKERS = 8
    POOL = ThreadPoolExecutor(max_workers=MAX_WORKERS)
    ```

    ## Use instead
    ```python
    import os
    from concurrent.futures import ThreadPoolExecutor

    MAX_WORKERS = int(os.environ.get("APP_MAX_WORKERS", min(32, (os.cpu_count() or 1) + 4)))
    POOL = ThreadPoolExecutor(max_workers=MAX_WORKERS)
    ```

    ## Fix safety
    Unsafe: the literal becomes `int(os.environ.get("<PREFIX>_MAX_WORKERS", min(32,
    (os.cpu_count() or 1) + 4)))`, so the default size changes to the standard library's
    heuristic (more threads on most hosts, more concurrent calls to rate-limited APIs), and
    every pool of the package reads the same variable. `<PREFIX>` is the upper-cased name of
    the file's top-level package (folders holding `__init__.py`); a file outside any package
    uses its own module name (`worker.py` → `WORKER_MAX_WORKERS`). `import os` is added when
    missing; no fix is offered where `os` names something else.

    Not reported: `max_workers=1` (a single worker is deliberate: ordering, timeouts),
    process pools (CPU-bound sizing differs), sizes computed from parameters or settings, and
    test files (`test_*.py`, `*_test.py`, `conftest.py`, `tests/`). A `MAX_WORKERS…`
    constant is left alone when its name mentions processes or the module passes it to
    something other than a thread pool (a process pool, a semaphore, `range()`).

    ## Metric to monitor
    Per-node latency p50/p95 under concurrent load, queue wait time of submitted tasks, and
    live thread count.
    """

    CODE = "EXE004"
    NAME = "hard-coded-pool-size"
    SEVERITY = Severity.OPTIMIZATION
    CATEGORY = "executors"
    FIX = FixSafety.UNSAFE
    FRAMEWORKS = FRAMEWORKS
    MESSAGE = "Hard-coded thread pool size {size} in `{code}`"
    TRIGGERS = ("max_workers", "MAX_WORKERS", EXECUTOR_SUFFIX)
    METADATA_DEPENDENCIES = DEPENDENCIES

    REACH = "function"

    @classmethod
    def ast_candidate(cls, view: FileView) -> Sites:
        """Each call with `max_workers=<int above 1>`, or without that keyword an executor call
        whose first argument is such an int; each class-level `*MAX_WORKERS*` constant set to
        one (only class code reads it). A module-level one needs the whole module, where every
        function may pass it on."""
        aliases = view.statements.aliases
        pattern = view.expand(["*PoolExecutor", "max_workers", "*MAX_WORKERS*"])
        sites: list[ast.AST] = []
        for node in view.nodes_near(pattern, ast.Assign, ast.AnnAssign, ast.Call):
            if isinstance(node, ast.Call):
                size = next((k.value for k in node.keywords if k.arg == "max_workers"), None)
                names = (call_name(node), aliases.get(call_name(node), ""))
                if size is None and any(name.endswith(EXECUTOR_SUFFIX) for name in names):
                    size = node.args[0] if node.args else None
                if _ast_pool_size(size):
                    sites.append(node)
                continue
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]  # type: ignore[attr-defined]
            if not (
                len(targets) == 1
                and isinstance(targets[0], ast.Name)
                and _is_pool_constant(targets[0].id)
                and _ast_pool_size(node.value)  # type: ignore[attr-defined]
            ):
                continue
            chain = statement_chain(view, targets[0])
            index = innermost(chain)
            if not chain or index is None:
                return True
            if isinstance(chain[index], ast.ClassDef):
                sites.append(node)
        return sites

    def visit_Module(self, node: cst.Module) -> None:
        self._skip = is_test_path(self.path)

    def visit_Call(self, node: cst.Call) -> None:
        if self._skip or not self._sizes_thread_pool(node):
            return
        arg = size_argument(node, positional=executor_class(self, node) is not None)
        size = literal_int(arg.value) if arg is not None else None
        if arg is None or size is None or size <= 1:
            return
        callee = cst.helpers.get_full_name_for_node(node.func) or "pool"
        shown = f"max_workers={size}" if arg.keyword is not None else f"{callee}({size})"
        self._report(arg, size, shown)

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1:
            self._check_constant(node, node.targets[0].target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._check_constant(node, node.target, node.value)

    def _sizes_thread_pool(self, call: cst.Call) -> bool:
        """A thread pool constructor, or `super().__init__(...)` of a KayGraph parallel node."""
        if is_thread_pool(self, call):
            return True
        func = call.func
        if not (
            isinstance(func, cst.Attribute)
            and func.attr.value == "__init__"
            and isinstance(func.value, cst.Call)
            and cst.helpers.get_full_name_for_node(func.value.func) == "super"
        ):
            return False
        owner = scope_owner(self, call)
        cls = method_class(self, owner) if isinstance(owner, cst.FunctionDef) else None
        return cls is not None and any(
            _is_parallel_node(name)
            for base in cls.bases
            for name in qualified_names(self, base.value)
        )

    def _check_constant(
        self,
        node: cst.Assign | cst.AnnAssign,
        target: cst.BaseExpression,
        value: cst.BaseExpression,
    ) -> None:
        if self._skip or not isinstance(target, cst.Name) or not _is_pool_constant(target.value):
            return
        size = literal_int(value)
        if size is None or size <= 1:
            return
        if not isinstance(scope_owner(self, node), (cst.Module, cst.ClassDef)):
            return
        if self._used_for_other_than_threads(target):
            return
        self._report(node, size, f"{target.value} = {size}")

    def _used_for_other_than_threads(self, target: cst.Name) -> bool:
        """The module passes the constant to something that is not a thread pool's size."""
        scope = self.get_metadata(ScopeProvider, target, None)
        if scope is None:
            return False
        for binding in scope[target.value]:
            for access in binding.references:
                if self._non_thread_use(access.node):
                    return True
        return False

    def _non_thread_use(self, node: cst.CSTNode) -> bool:
        current = parent(self, node)
        while True:
            if isinstance(current, (cst.BooleanOperation, cst.IfExp, cst.BinaryOperation)):
                current = parent(self, current)
                continue
            if isinstance(current, cst.Arg):
                call = parent(self, current)
                if not isinstance(call, cst.Call):
                    return False
                if qualified_names(self, call.func) & TRANSPARENT_CALLS:
                    current = parent(self, call)
                    continue
                if is_thread_pool(self, call):
                    return False
                keyword = current.keyword.value if current.keyword is not None else ""
                return keyword != "max_workers" or executor_class(self, call) is not None
            return False

    def _report(self, node: cst.CSTNode, size: int, shown: str) -> None:
        fix, note = FixSafety.UNSAFE, ""
        if conflicting_binding(self, node, "os"):
            fix, note = FixSafety.NONE, "the name `os` is bound to something else here"
        self.report(node, fix=fix, note=note, size=size, code=shown)


def _ast_pool_size(node: ast.AST | None) -> bool:
    """An int literal above 1 (`literal_int`: a bool or a signed number is none)."""
    return isinstance(node, ast.Constant) and type(node.value) is int and node.value > 1


def _is_pool_constant(name: str) -> bool:
    """`MAX_WORKERS`, `MAX_WORKERS_THREAD_POOL_EXECUTOR`, `DEFAULT_MAX_WORKERS`; not process
    pools."""
    return (
        name.isupper()
        and "MAX_WORKERS" in name
        and "PROCESS" not in name
        and not re.search(r"(^|_)(PROC|PROCS|CPU)(_|$)", name)
    )


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
    FRAMEWORKS = FRAMEWORKS
    MESSAGE = "`{executor}` is created on every iteration of a loop in `{function}()`"
    TRIGGERS = ("Executor",)
    METADATA_DEPENDENCIES = DEPENDENCIES

    REACH = "class"

    @classmethod
    def ast_candidate(cls, view: FileView) -> Sites:
        """Each executor call that a loop of its function may run per iteration. The
        timeout-executor check reads `self.<attr>` bindings from every method of the class."""
        if not view.statements.loops:
            return False
        sites: list[ast.AST] = []
        for call in executor_calls(view):
            chain = statement_chain(view, call)
            if not chain:
                return True
            if _function_loops(chain):
                sites.append(call)
        return sites

    def visit_Call(self, node: cst.Call) -> None:
        executor = executor_class(self, node)
        loop = iteration_loop(self, node) if executor else None
        func = scope_owner(self, node) if loop is not None else None
        if loop is None or not isinstance(func, cst.FunctionDef):
            return
        if not _is_below(self, node, loop.body) or self._is_kept(node):
            return
        if self._sweeps_configurations(node, loop) or self._is_timeout_executor(node, func):
            return
        fix, note = self._fix_safety(node, func)
        self.report(node, fix=fix, note=note, executor=executor, function=func.name.value)

    def _is_kept(self, node: cst.Call) -> bool:
        """Stored on an attribute or in a container, returned, yielded or passed on."""
        owner = parent(self, node)
        if isinstance(owner, (cst.Return, cst.Yield, cst.Arg, cst.Element, cst.DictElement)):
            return True
        if isinstance(owner, (cst.Assign, cst.AnnAssign)):
            targets = (
                [t.target for t in owner.targets]
                if isinstance(owner, cst.Assign)
                else [owner.target]
            )
            if any(not isinstance(target, cst.Name) for target in targets):
                return True
            binding = local_binding(self, node)
            func = scope_owner(self, node)
            found = (
                name_uses(self, binding[0], func)
                if binding is not None and isinstance(func, cst.FunctionDef)
                else None
            )
            return found is None or any(use.kind == "escape" for use in found[0])
        return False

    def _sweeps_configurations(self, node: cst.Call, loop: Loop) -> bool:
        """`for workers in (2, 4, 8): Executor(workers)`: one pool per configuration."""
        targets = bound_names(loop.target) if isinstance(loop, cst.For) else set()
        return any(
            isinstance(arg.value, cst.Name) and arg.value.value in targets for arg in node.args
        )

    def _is_timeout_executor(self, node: cst.Call, func: cst.FunctionDef) -> bool:
        """Seed 003's fix: a fresh executor per attempt, its future awaited with a timeout."""
        loop = iteration_loop(self, node)
        while loop is not None:
            for wait in timeout_waits(self, loop, func):
                calls = executor_constructors(self, wait.executor, func)
                if calls is not None and any(call is node for call in calls):
                    return True
            loop = iteration_loop(self, loop)
        return False

    def _fix_safety(self, node: cst.Call, func: cst.FunctionDef) -> tuple[FixSafety, str]:
        plan = hoist_plan(self, node, func)
        if isinstance(plan, str):
            return FixSafety.NONE, plan
        if plan.kind == "assign" and plan.shutdown is not None and shutdown_waits(plan):
            if submits_unconsumed(plan.loop.body) and not waits_for_results(plan.loop.body):
                return FixSafety.NONE, "each iteration relies on `shutdown()` to wait for its tasks"
        if plan.kind == "assign" and plan.shutdown is None:
            return (
                FixSafety.UNSAFE,
                "the pool was never shut down; the fix waits for it after the loop",
            )
        return FixSafety.UNSAFE, ""
