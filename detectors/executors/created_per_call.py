"""EXE001: an executor constructed on every call of a function that runs per request."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any, Literal

from flowfix.analysis import Model
from flowfix.analysis.frameworks import (
    ALL_FRAMEWORKS,
    ENTRY_FUNCTIONS,
    INIT_METHODS,
    find_method,
    framework_of,
    is_cached_function,
    is_pydantic_model,
)
from flowfix.analysis.methods import is_static
from flowfix.analysis.model import FUNCTIONS, FunctionNode
from flowfix.analysis.names import snake_case
from flowfix.analysis.owners import outermost_function, owner_of
from flowfix.analysis.spans import span_data
from flowfix.analysis.statement_lines import is_below
from flowfix.analysis.values import declares_slots, is_call_invariant
from flowfix.detector import Detector
from flowfix.detectors.executors.executor_classes import executor_class
from flowfix.detectors.executors.executor_name_uses import local_binding
from flowfix.detectors.executors.per_request import PerRequest
from flowfix.detectors.executors.pool_name_uses import Use, name_uses
from flowfix.detectors.executors.pool_waits import (
    calls_result_with_timeout,
    submits_unconsumed,
    waits_for_results,
)
from flowfix.rules import FixSafety, Severity

LOOP_RUNNERS = frozenset({"asyncio.run", "asyncio.runners.run"})
PER_MODULE_REASON = "here the pool can only be cached per module (copied node or static method)"
# Where a value outlives the call: containers and operators it passes through on the way.
_PASS_THROUGH = (ast.BoolOp, ast.IfExp, ast.Tuple, ast.List, ast.Starred)


class ExecutorCreatedPerCall(Detector):
    """An executor is created on every call of a function or method that runs per request.

    Reported where the code is known to run per request: in the methods of Dynamiq,
    PocketFlow, KayGraph and pflow node and flow classes (not their init hooks, nor helpers
    that only those hooks call), in web route handlers, and in every function or method of the
    module that such code calls or hands on (`helper(...)`, `self.method`, `Class.method`,
    `Class(...).method`, `INSTANCE.method` for a module-level `INSTANCE = Class(...)`); the
    message names the node method or handler a helper is reached from.

    ## Why is this bad?
    Creating a pool per call starts fresh worker threads (or processes) for every request or
    loop iteration and tears them down again: thread start-up, lost warm-up, and with 50
    parallel requests hundreds of short-lived threads competing with each other. Dynamiq's
    PR #674 counted 150+ redundant allocations for 50 parallel `Flow.run_sync()` calls and
    fixed them by caching the flow's pool.

    ## Example
    ```python
    from concurrent.futures import ThreadPoolExecutor

    from pocketflow import Node


    class Summarize(Node):
        def exec(self, chunks):
            with ThreadPoolExecutor(max_workers=4) as pool:
                return list(pool.map(str.upper, chunks))
    ```

    ## Use instead
    ```python
    from concurrent.futures import ThreadPoolExecutor

    from pocketflow import Node
    import atexit
    import functools


    @functools.cache
    def _summarize_exec_executor():
        executor = ThreadPoolExecutor(max_workers=4)
        atexit.register(executor.shutdown)
        return executor


    class Summarize(Node):
        def exec(self, chunks):
            pool = _summarize_exec_executor()
            return list(pool.map(str.upper, chunks))
    ```

    ## Fix safety
    Unsafe, and offered only for `with Executor(args) as name:` when every argument is a
    literal, `self.*`, a module-level name or an environment lookup. The `with` becomes
    `name = <cached executor>` and its body is dedented. In a method the pool becomes a
    lazily created attribute (`_get_executor()`, a pydantic `PrivateAttr` on Dynamiq nodes)
    with a `close()` that shuts it down, plus `__enter__`/`__exit__` when the class has
    neither. Module functions, static methods and PocketFlow-style nodes (their flows run a
    shallow copy of the node per run, so an instance attribute would not survive) get a
    module-level `functools.cache` factory whose pool is shut down `atexit`.

    Behaviour changes: the pool is shared by concurrent calls and lives until closed, so a
    task that calls back into the same function waits on the same workers and can deadlock a
    small pool; an exception no longer waits for the other tasks; `self.*` arguments are read
    once; shallow copies of the object share the pool. No fix is offered for an executor
    bound by assignment (EXE002 covers its shutdown), when the body submits without waiting,
    shuts the pool down or hands it on, in nested functions, or in frozen or `__slots__`
    classes. Executors created in `__init__`-like hooks, `main`/`cli`, cached or factory
    functions, stored on an attribute, or used for a per-call timeout
    (`future.result(timeout=...)`, seed 003's per-attempt executor) are not reported, nor is a
    sync/async bridge: a pool whose one task runs a coroutine to completion on a worker thread
    (`pool.submit(lambda: asyncio.run(...))`, `pool.submit(asyncio.run, coro)`), a wrapper
    called while an event loop runs (its cost is the event loop, ASY007's subject). Code that
    runs once is not reported either: a workflow loader's methods, a node's helper reached
    only from `init_components`, tests, scripts and batch jobs, and any function the module's
    per-request code does not call.

    ## Metric to monitor
    Live thread count and thread creation rate under load, and per-node latency p50/p95.

    ## Limitations
    Callers in other modules are not followed: a helper module's function that another
    module's node calls per request is not reported (and one that only an init hook elsewhere
    calls is rightly not). The per-call timeout executor is recognised when the function (or
    a method of the same class it passes the executor to) submits to it and calls
    `.result(...)` with a timeout; which future the timeout applies to is not tracked. Pools
    built through a variable (`self.executor(max_workers=n)`) are not seen. Members
    inherited from base classes are not seen when choosing names; when the class already
    has `__enter__` or `__exit__`, the added `close()` is not wired into them.
    """

    CODE = "EXE001"
    NAME = "executor-created-per-call"
    SEVERITY = Severity.OPTIMIZATION
    CATEGORY = "executors"
    FIX = FixSafety.UNSAFE
    FRAMEWORKS = ALL_FRAMEWORKS
    MESSAGE = "`{executor}` is created on every call of `{function}()`{via}"
    TRIGGERS = ("Executor",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._factories: set[str] = set()
        self._reach: PerRequest | None = None

    def visit_Call(self, node: ast.Call) -> None:
        executor = executor_class(self.model, node)
        func = owner_of(self.model, node) if executor else None
        if not isinstance(func, FUNCTIONS) or not self._runs_per_call(func):
            return
        root = self._per_request.root_of(outermost_function(self.model, func))
        if root is None or self._is_kept(node):
            return
        name = self._bound_name(node)
        found = name_uses(self.model, name, func) if name is not None else ([], 1)
        if found is None:
            return  # `global` / `nonlocal`: lives beyond the call
        uses = found[0]
        if any(self._is_kept(use.node) for use in uses if use.kind == "escape"):
            return
        if self._is_timeout_executor(func, uses, named=name is not None):
            return
        if self._is_loop_bridge(node, uses):
            return
        fix, note, data = self._fix(node, func, uses)
        via = (
            ""
            if root is outermost_function(self.model, func)
            else f" (reached from `{root.name}()`)"
        )
        self.report(
            node, fix=fix, note=note, data=data, executor=executor, function=func.name, via=via
        )

    @property
    def _per_request(self) -> PerRequest:
        if self._reach is None:
            self._reach = PerRequest(self.model)
        return self._reach

    def _is_loop_bridge(self, node: ast.Call, uses: list[Use]) -> bool:
        """The pool runs one coroutine to completion on a worker thread (`pool.submit(lambda:
        asyncio.run(coro))`, `pool.submit(asyncio.run, coro)`): a sync wrapper called while an
        event loop runs, not a pool of workers."""
        submits: list[ast.Call] = []
        for use in uses:
            if use.kind == "with":
                continue
            if use.kind != "call" or use.method != "submit":
                return False
            submits.append(self._called(use.node))
        if not uses:
            owner = self.model.parent(node)
            if isinstance(owner, ast.Attribute) and owner.attr == "submit":
                submits.append(self._called(owner))
        if len(submits) != 1 or self.model.iteration_loop(submits[0]) is not None:
            return False
        given = submits[0].args[0] if submits[0].args else None
        if isinstance(given, ast.Lambda):
            given = given.body.func if isinstance(given.body, ast.Call) else None
        return given is not None and (
            self.model.resolves_to(given, LOOP_RUNNERS) is not None
            or (isinstance(given, ast.Attribute) and given.attr == "run_until_complete")
        )

    def _called(self, node: ast.AST) -> ast.Call:
        """The call `node.method(...)` whose callee holds `node`."""
        owner = self.model.parent(node)
        call = self.model.parent(owner) if isinstance(owner, ast.Attribute) else owner
        assert isinstance(call, ast.Call)
        return call

    def _runs_per_call(self, func: FunctionNode) -> bool:
        """Not an init hook, `main`/`cli` or a cached function (nested defs: their outermost)."""
        outermost = outermost_function(self.model, func)
        if is_cached_function(self.model, func) or is_cached_function(self.model, outermost):
            return False
        if self.model.class_of(outermost) is not None:
            return outermost.name not in INIT_METHODS
        return outermost.name not in ENTRY_FUNCTIONS

    def _is_kept(self, node: ast.AST) -> bool:
        """Returned, yielded, or stored on an attribute / in a container: lives beyond the call."""
        owner = self.model.parent(node)
        while isinstance(owner, _PASS_THROUGH):
            owner = self.model.parent(owner)
        if isinstance(owner, (ast.Return, ast.Yield)):
            return True
        targets: list[ast.expr] = []
        if isinstance(owner, ast.Assign):
            targets = owner.targets
        elif isinstance(owner, ast.AnnAssign):
            targets = [owner.target]
        return any(isinstance(target, (ast.Attribute, ast.Subscript)) for target in targets)

    def _bound_name(self, node: ast.Call) -> ast.Name | None:
        binding = local_binding(self.model, node, by_block_start=True)
        if binding is not None:
            return binding[0]
        owner = self.model.parent(node)
        if isinstance(owner, ast.withitem) and owner.context_expr is node:
            target = owner.optional_vars
            return target if isinstance(target, ast.Name) else None
        return None

    def _argument_call(self, node: ast.AST) -> ast.Call | None:
        """The call that receives `node` as one of its arguments (`f(x)`, `f(*x)`, `f(k=x)`)."""
        owner = self.model.parent(node)
        if isinstance(owner, ast.keyword):
            call = self.model.parent(owner)
            return call if isinstance(call, ast.Call) else None
        if isinstance(owner, ast.Starred):
            node, owner = owner, self.model.parent(owner)
        if isinstance(owner, ast.Call) and any(arg is node for arg in owner.args):
            return owner
        return None

    def _is_timeout_executor(self, func: FunctionNode, uses: list[Use], named: bool) -> bool:
        """Seed 003's pattern: a fresh executor per call whose future is awaited with a timeout."""
        submits = not named or any(use.kind == "call" and use.method == "submit" for use in uses)
        if submits and calls_result_with_timeout(func.body):
            return True
        cls = self.model.class_of(func)
        if cls is None:
            return False
        for use in uses:
            call = self._argument_call(use.node) if use.kind == "escape" else None
            if call is not None and isinstance(call.func, ast.Attribute):
                receiver = call.func.value
                if isinstance(receiver, ast.Name) and receiver.id == "self":
                    helper = find_method(cls, call.func.attr)
                    if helper is not None and calls_result_with_timeout(helper.body):
                        return True
        return False

    def _fix(
        self, node: ast.Call, func: FunctionNode, uses: list[Use]
    ) -> tuple[FixSafety, str, dict[str, Any]]:
        """The fix safety, the note and the codemod's data (where the pool is cached)."""
        fix, note, form = self._fix_safety(node, func, uses)
        if form is None:
            return fix, note, {}
        factory = ""
        if form.kind == "factory":
            factory, suffix = form.factory, 2
            while factory in self._factories or factory in self.model.module_scope.bindings:
                factory, suffix = f"{form.factory}_{suffix}", suffix + 1
            self._factories.add(factory)
        owner = form.owner
        pydantic = isinstance(owner, ast.ClassDef) and is_pydantic_model(self.model, owner)
        data = {
            "form": form.kind,
            "owner": span_data(self.model, owner),
            "factory": factory,
            "pydantic": form.kind == "instance" and pydantic,
        }
        return fix, note, data

    def _fix_safety(
        self, node: ast.Call, func: FunctionNode, uses: list[Use]
    ) -> tuple[FixSafety, str, CacheForm | None]:
        item = self.model.parent(node)
        if local_binding(self.model, node, by_block_start=True) is not None:
            return (
                FixSafety.NONE,
                "assigned, not used in `with`; cache it by hand (EXE002 covers its shutdown)",
                None,
            )
        if not isinstance(item, ast.withitem) or item.context_expr is not node:
            return FixSafety.NONE, "not bound by `with`; cache it by hand and shut it down", None
        statement = self.model.parent(item)
        assert isinstance(statement, (ast.With, ast.AsyncWith))
        if len(statement.items) != 1 or not isinstance(item.optional_vars, ast.Name):
            return FixSafety.NONE, "the `with` does not bind the executor alone to a name", None
        form = cache_form(self.model, func)
        if isinstance(form, str):
            return FixSafety.NONE, form, None
        reason = self._unstable_argument(node, allow_self=form.kind == "instance")
        if reason:
            return FixSafety.NONE, reason, None
        if form.kind == "factory" and any(
            self.model.bound_otherwise(node, name) for name in ("functools", "atexit")
        ):
            return FixSafety.NONE, "`functools` or `atexit` is bound to something else here", None
        inside = [use for use in uses if is_below(self.model, use.node, statement.body)]
        if any(use.kind in {"escape", "delegated"} or use.method == "shutdown" for use in inside):
            return FixSafety.NONE, "the `with` body shuts the executor down or hands it on", None
        if submits_unconsumed(statement.body) and not waits_for_results(statement.body):
            return (
                FixSafety.NONE,
                "the body never waits for its tasks; the `with` exit is what waits",
                None,
            )
        return FixSafety.UNSAFE, "", form

    def _unstable_argument(self, call: ast.Call, allow_self: bool) -> str:
        """Why the constructor cannot be evaluated once and cached ("" when it can)."""
        root = call.func
        while isinstance(root, ast.Attribute):
            root = root.value
        if not isinstance(root, ast.Name) or not self.model.is_module_level_name(root):
            return "the executor class is not a module-level name"
        arguments: list[ast.expr | ast.keyword] = [*call.args, *call.keywords]
        arguments.sort(key=lambda arg: (arg.lineno, arg.col_offset))
        for arg in arguments:
            star = isinstance(arg, ast.Starred) or (
                isinstance(arg, ast.keyword) and arg.arg is None
            )
            value = arg.value if isinstance(arg, (ast.Starred, ast.keyword)) else arg
            if star or not is_call_invariant(self.model, value, "self" if allow_self else None):
                code = self.model.source(value) or ast.unparse(value)
                if not allow_self and is_call_invariant(self.model, value, "self"):
                    return f"argument `{code}` depends on the instance; {PER_MODULE_REASON}"
                return f"argument `{code}` may differ between calls"
        return ""


@dataclass(frozen=True)
class CacheForm:
    """How EXE001 caches an executor: on the instance (`owner` = the class) or in a module-level
    factory named `factory` placed before `owner` (the function or class at module level)."""

    kind: Literal["instance", "factory"]
    owner: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
    factory: str = ""


def forbids_new_attributes(cls: ast.ClassDef) -> bool:
    """`__slots__` in the class body or a `frozen=<not False>` class decorator argument."""
    for decorator in cls.decorator_list:
        if isinstance(decorator, ast.Call) and any(
            keyword.arg == "frozen"
            and not (isinstance(keyword.value, ast.Constant) and keyword.value.value is False)
            for keyword in decorator.keywords
        ):
            return True
    return declares_slots(cls)


def cache_form(model: Model, func: FunctionNode) -> CacheForm | str:
    """Where EXE001's fix caches an executor created in `func`, or why it cannot."""
    cls = model.class_of(func)
    if cls is None:
        if not isinstance(model.parent(func), ast.Module):
            return f"`{func.name}()` is not defined at module level"
        return CacheForm("factory", func, f"_{func.name.strip('_')}_executor")
    static = is_static(model, func)
    if not static and framework_of(model, cls) != "plain":
        params = func.args.args
        if not params or params[0].arg != "self":
            return f"the first parameter of `{func.name}()` is not `self`"
        if forbids_new_attributes(cls):
            return f"class `{cls.name}` is frozen or uses `__slots__`"
        return CacheForm("instance", cls)
    if not isinstance(model.parent(cls), ast.Module):
        return f"class `{cls.name}` is not defined at module level"
    return CacheForm("factory", cls, f"_{snake_case(cls.name)}_{func.name.strip('_')}_executor")
