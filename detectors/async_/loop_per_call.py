"""ASY007: an event loop created on every call of a node hook or request handler."""

from __future__ import annotations

import ast

from flowfix.analysis import Model
from flowfix.analysis.frameworks import ALL_FRAMEWORKS, PER_CALL_METHODS, find_method, framework_of
from flowfix.analysis.methods import instance_name
from flowfix.analysis.model import FUNCTIONS, FunctionNode
from flowfix.analysis.values import block_nodes
from flowfix.detector import Detector
from flowfix.detectors.async_.bound_values import bound_class, defined_functions
from flowfix.detectors.connections.helper_callers import helper_called_per_call
from flowfix.rules import FixSafety, OptIn, Severity

LOOP_FACTORIES = frozenset(
    {"asyncio.run", "asyncio.runners.run", "asyncio.new_event_loop", "asyncio.Runner"}
)
PER_CALL_HOOKS = PER_CALL_METHODS | {"prep", "post"}
ROUTE_DECORATORS = frozenset(
    {"get", "post", "put", "patch", "delete", "route", "api_route", "websocket"}
)
WEB_APPS = frozenset(
    {
        "fastapi.FastAPI",
        "fastapi.APIRouter",
        "flask.Flask",
        "flask.Blueprint",
        "quart.Quart",
        "quart.Blueprint",
        "starlette.applications.Starlette",
        "sanic.Sanic",
    }
)


class EventLoopPerCall(Detector):
    """`asyncio.run()` or `asyncio.new_event_loop()` on every call of a node or request handler.

    ## Why is this bad?
    Each `asyncio.run()` creates an event loop, runs the coroutine, cancels what is left,
    shuts down the default executor and closes the loop. Done per node execution or per
    request, that adds loop setup and teardown to every call, throws away everything bound to
    the loop (connection pools of `httpx.AsyncClient`, `AsyncOpenAI`, aiohttp sessions, which
    then fail with "Event loop is closed" when reused), and raises `RuntimeError` when the
    caller already runs inside an event loop (Jupyter, an async web server, an `AsyncFlow`).
    Dynamiq's connection manager documents that its cache keying "is unsafe across
    sequential `asyncio.run(...)` invocations" for exactly this reason.

    ## Example
    ```python
    import asyncio

    from pocketflow import Node


    class SearchNode(Node):
        def exec(self, query):
            return asyncio.run(self.search(query))

        async def search(self, query):
            return [query]
    ```

    ## Use instead
    ```python
    from pocketflow import AsyncNode


    class SearchNode(AsyncNode):
        async def exec_async(self, query):
            return await self.search(query)

        async def search(self, query):
            return [query]
    ```
    Or keep one long-lived loop (a background thread running `loop.run_forever()`, used
    through `asyncio.run_coroutine_threadsafe`) and create it once, in `__init__` /
    `init_components`, not per call.

    ## Metric to monitor
    Per-call latency of the node, "Event loop is closed" errors, and the number of
    connections opened per request (pools rebuilt on every new loop).

    ## Limitations
    Reported in the per-call methods of framework node classes (`execute`, `exec`, `run`,
    `__call__`, `prep`, `post`, ...), in the route handlers of a web app or router built in
    the same module (`app = FastAPI()`, `@app.get(...)`), in the sync functions and methods of
    the same module that those call directly, and in module-level functions that the files of
    the run call per call (from a node's method, a loop or a request handler, through up to
    three helpers: a `utils/crawler.py` wrapper that a `BatchNode.exec` calls for every URL);
    a call from a method of a class that is no node does not count. Not reported: a helper
    whose loop runs a whole async flow (`asyncio.run(flow.run_async(shared))`, a pipeline
    started from a button or a branch run on a worker thread); the sync entry point of
    a class's own async implementation (`def execute(self, ...): return
    asyncio.run(self.execute_async(...))`, `exec` → `_exec_async`, `run` → `arun`), which
    Dynamiq's tools and pflow's MCP node keep for sync flows while async flows call the async
    method; `main()`, CLI entry points, module-level code, a loop stored on the instance
    (`self._loop = asyncio.new_event_loop()`) and `loop.run_until_complete()` on an existing
    loop.
    """

    CODE = "ASY007"
    NAME = "event-loop-per-call"
    SEVERITY = Severity.OPTIMIZATION
    OPT_IN = OptIn.MINOR
    WHY_NOT_DEFAULT = (
        "a new event loop costs well under a millisecond next to the I/O it runs; most are "
        "sync entry points of an async implementation"
    )
    CATEGORY = "async"
    FIX = FixSafety.NONE
    FRAMEWORKS = ALL_FRAMEWORKS
    MESSAGE = (
        "`{factory}()` creates an event loop on every call of `{function}()`{via};"
        " make the caller async or reuse one loop"
    )
    TRIGGERS = ("asyncio",)
    NEEDS_PROJECT = True

    _helpers: dict[ast.AST, str] | None = None

    def visit_Call(self, node: ast.Call) -> None:
        factory = self.model.resolves_to(node.func, LOOP_FACTORIES)
        if factory is None or self._is_stored(node):
            return
        owner = self.model.function_of(node)
        if not isinstance(owner, FUNCTIONS) or runs_async_twin(self.model, node, owner):
            return
        if is_per_call_hook(self.model, owner) or is_route_handler(self.model, owner):
            via = ""
        elif runs_a_flow(node):
            return  # a helper that is the entry point of a whole async flow run
        elif owner in self.helpers():
            via = f" (called from `{self.helpers()[owner]}()`)"
        elif self._helper_called_per_call(owner):
            via = " (a helper the run calls per call)"
        else:
            return
        shown = factory.replace("runners.", "")
        self.report(node, factory=shown, function=owner.name, via=via)

    def helpers(self) -> dict[ast.AST, str]:
        """Functions called directly by a per-call hook or route of this module → its name."""
        if self._helpers is None:
            self._helpers = {}
            for func in own_functions(self.model.tree):
                if is_per_call_hook(self.model, func) or is_route_handler(self.model, func):
                    for helper in called_helpers(self.model, func):
                        self._helpers.setdefault(helper, func.name)
        return self._helpers

    def _helper_called_per_call(self, function: FunctionNode) -> bool:
        """A module-level function that other files of the run call per call: from a node's
        method, a loop or a request handler (`utils/crawler.py`'s `crawl()` called by a
        `BatchNode.exec`)."""
        return (
            self.project is not None
            and isinstance(function, ast.FunctionDef)
            and self.model.parent(function) is self.model.tree
            and helper_called_per_call(
                self.project, self.path, function.name, self.model, methods=False
            )
            is True
        )

    def _is_stored(self, node: ast.Call) -> bool:
        """`self._loop = asyncio.new_event_loop()`: created once and kept."""
        owner = self.model.parent(node)
        return (
            isinstance(owner, ast.Assign)
            and owner.value is node
            and any(isinstance(target, ast.Attribute) for target in owner.targets)
        )


def runs_a_flow(call: ast.Call) -> bool:
    """`asyncio.run(flow.run_async(shared))`: a helper that is the sync entry point of a whole
    async flow run (a pipeline started from a button, a branch run on a worker thread)."""
    coroutine = call.args[0] if call.args else None
    return (
        isinstance(coroutine, ast.Call)
        and isinstance(coroutine.func, ast.Attribute)
        and coroutine.func.attr == "run_async"
    )


def twin_names(name: str) -> set[str]:
    """How an async implementation of the method `name` is named (`execute_async`,
    `_exec_async`, `arun`, `async_run`, `_run`)."""
    return {f"{name}_async", f"_{name}_async", f"a{name}", f"async_{name}", f"_{name}"}


def runs_async_twin(model: Model, call: ast.Call, owner: FunctionNode) -> bool:
    """`asyncio.run(self.execute_async(...))` in `execute`: the sync entry point of the
    class's own async implementation (an `async def` method named after `owner`)."""
    cls = model.class_of(owner)
    coroutine = call.args[0] if call.args else None
    if cls is None or not isinstance(coroutine, ast.Call):
        return False
    method = coroutine.func
    return (
        isinstance(method, ast.Attribute)
        and isinstance(method.value, ast.Name)
        and method.value.id == instance_name(model, owner)
        and method.attr in twin_names(owner.name)
        and isinstance(find_method(cls, method.attr), ast.AsyncFunctionDef)
    )


def is_route_handler(model: Model, func: FunctionNode) -> bool:
    """Decorated as a web route (`@app.get("/x")`, `@router.post(...)`, `@app.route(...)`) of
    a FastAPI / Flask / ... app or router built in this module."""
    for decorator in func.decorator_list:
        if not (
            isinstance(decorator, ast.Call)
            and isinstance(decorator.func, ast.Attribute)
            and decorator.func.attr in ROUTE_DECORATORS
            and isinstance(decorator.func.value, ast.Name)
        ):
            continue
        app = bound_class(
            model,
            decorator.func.value,
            WEB_APPS,
            lambda value: (
                model.resolves_to(value.func, WEB_APPS) if isinstance(value, ast.Call) else None
            ),
        )
        if app is not None:
            return True
    return False


def is_per_call_hook(model: Model, func: FunctionNode) -> bool:
    """A node class's per-call method (`execute`, `exec`, `run`, `prep`, `post`, ...)."""
    cls = model.class_of(func)
    return cls is not None and func.name in PER_CALL_HOOKS and framework_of(model, cls) is not None


def called_helpers(model: Model, func: FunctionNode) -> list[ast.FunctionDef]:
    """Sync functions of this module and methods of the same class that `func` calls directly."""
    cls = model.class_of(func)
    this = instance_name(model, func) if cls is not None else None
    found: list[ast.FunctionDef] = []
    for node in block_nodes(func.body):
        if not isinstance(node, ast.Call):
            continue
        callee = node.func
        if isinstance(callee, ast.Name):
            found += [f for f in defined_functions(model, callee) if isinstance(f, ast.FunctionDef)]
        elif (
            cls is not None
            and isinstance(callee, ast.Attribute)
            and isinstance(callee.value, ast.Name)
            and callee.value.id == this
        ):
            method = find_method(cls, callee.attr)
            if isinstance(method, ast.FunctionDef):
                found.append(method)
    return found


def own_functions(module: ast.Module) -> list[FunctionNode]:
    """Module-level functions and the methods of module-level classes."""
    found: list[FunctionNode] = []
    for statement in module.body:
        if isinstance(statement, FUNCTIONS):
            found.append(statement)
        elif isinstance(statement, ast.ClassDef):
            found += [s for s in statement.body if isinstance(s, FUNCTIONS)]
    return found
