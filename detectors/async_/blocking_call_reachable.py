"""ASY006: a coroutine calls project code that blocks (a sync helper, or a sync node wired
into an async flow), found through the run's call graph (flowfix.project)."""

from __future__ import annotations

import ast

from flowfix.analysis.blocking import BLOCKING_FUNCTIONS
from flowfix.analysis.flow_wiring import SYNC_FLOWS, flow_nodes, transition
from flowfix.analysis.frameworks import ALL_FRAMEWORKS, base_names, vendored_name
from flowfix.analysis.names import full_name
from flowfix.analysis.owners import enclosing_definition
from flowfix.analysis.queries import declared_class, wrapper_in
from flowfix.analysis.values import dotted_name, single_binding_value
from flowfix.detector import Detector
from flowfix.detectors.async_.bound_values import (
    attribute_bindings,
    is_none,
    self_attribute,
)
from flowfix.detectors.async_.offload import offload_fix
from flowfix.detectors.async_.script_entry import coroutines_run_alone
from flowfix.rules import FixSafety, Severity

ASYNC_FLOWS = frozenset(
    {
        "pocketflow.AsyncFlow",
        "pocketflow.AsyncBatchFlow",
        "pocketflow.AsyncParallelBatchFlow",
        "kaygraph.AsyncGraph",
        "kaygraph.AsyncBatchGraph",
        "kaygraph.AsyncParallelBatchGraph",
    }
)
FLOW_PACKAGES = frozenset(name.partition(".")[0] for name in ASYNC_FLOWS)
# (the def, lambda, class or module whose code runs a node, a name bound or read there)
Owned = tuple[ast.AST, str]


def describe_chain(chain: tuple[str, ...]) -> str:
    """`call_llm() → requests.post()` from ("call_llm", "requests.post")."""
    return " → ".join(step if step.endswith(")") else f"{step}()" for step in chain)


class BlockingCallReachableFromAsync(Detector):
    """A coroutine calls project code that blocks: a sync helper, or a sync node in an async flow.

    ## Why is this bad?
    The blocking call is not in the coroutine itself, so per-function checks (ASY001, ASY002)
    miss it, but it still runs on the event loop thread. The common real case is PocketFlow's
    `exec_async` calling a small `utils.call_llm()` helper that uses the sync OpenAI client:
    every LLM round trip (often seconds) freezes all other tasks of the loop. The same happens
    when a sync `Node` whose `exec()` blocks is wired into an `AsyncFlow` / `AsyncGraph`, which
    runs sync nodes inline on the loop, and when a coroutine (an async web handler, say) calls
    a sync flow's `run()`: the flow runs every node's `prep`/`exec`/`post` right there. flowfix
    follows calls across the files of the run and shows the chain.

    ## Example
    ```python
    import requests


    def fetch_page(url):
        return requests.get(url, timeout=10).text


    async def crawl(urls):
        return [fetch_page(url) for url in urls]
    ```

    ## Use instead
    ```python
    import asyncio

    import requests


    def fetch_page(url):
        return requests.get(url, timeout=10).text


    async def crawl(urls):
        return [await asyncio.to_thread(fetch_page, url) for url in urls]
    ```

    ## Fix safety
    Unsafe: `await asyncio.to_thread(helper, ...)` runs the helper on a worker thread, so it
    must be thread-safe and it now runs concurrently with other tasks of the loop. Only a
    direct call of a project function, or of a sync flow's `run()`
    (`await asyncio.to_thread(flow.run, shared)`), from the coroutine's own body is
    rewritten; a sync node inside an async flow is reported only (use the framework's async
    node type). No fix inside
    a generator expression or where the name `asyncio` is bound to something else.

    ## Metric to monitor
    Event-loop lag while the flow runs (delay of a periodic `asyncio.sleep(0.1)` probe) and
    the p95 latency of concurrent flow runs.

    ## Limitations
    Not reported in a coroutine this module starts with `asyncio.run()` (a script's `main()`)
    that starts no task of its own, nor in a web app's `@app.on_event("startup")` /
    `("shutdown")` handlers when none of them starts a task: while their own body runs no
    other task is on the loop (as for ASY003). Only functions of the files given to the run
    are followed (install-time libraries are not), through imports (a script's absolute
    imports look beside it first, as Python's `sys.path` does; where several apps of the run
    have a module of one name, such as their own `nodes` package, an absolute import means the
    one of the importing file's app; an import through a namespace package, a folder without
    `__init__.py` such as `from app.services.users import get_user` in `app/routers/x.py`,
    means the file under the nearest folder above the importing file that has it, as with the
    project root on `sys.path`; an import in the function's own body binds as one at
    module level), `self.method()` calls, methods of a local bound
    once to an instance of a project class (`node = Answer(); node.exec(q)`), and re-exports,
    up to 8 calls deep. A client counts as sync when built by a sync constructor, or by a
    project function that returns one (`redis_client = get_redis_client()`,
    `get_client().embeddings.create(...)`; built in its `return`, or a cached module global
    it returns, as for ASY002), or when it is a module-level client of another module of the
    run that the helper's module imports and neither it nor the helper rebinds (`from
    utils.clients import client`, `clients.client`, read as ASY002 reads it), or when it is
    a parameter declared as one (`db: Session`, `db: Annotated[Session, ...]` or an alias of
    that: a service function handed an endpoint's sync SQLAlchemy session), or when it is a
    `self` attribute that every assignment in the class's methods sets from such a parameter
    (`def __init__(self, db: Session): self.db = db`). A service object's methods are
    followed when the coroutine builds it (`service = ChatService(db)`) or takes it as a
    parameter declared with its class (`service: ChatService = Depends(get_service)`,
    `Annotated[ChatService, Depends(...)]`); a service held on another object
    (`request.state.service`) or built by a factory is not. An async flow is
    `AsyncFlow(start=...)` or a subclass whose `__init__` wires its nodes and passes the start
    to `super().__init__()`; a copy of PocketFlow's or KayGraph's module among the project's
    files (`core/pocketflow.py`) counts as the package. A sync flow run in a coroutine is
    `flow.run(...)` on a `Flow(start=...)` / `BatchFlow` (KayGraph: `Graph`, `BatchGraph`) built
    in the module, or on what a project function returns when it builds one
    (`def create_flow(): a = A(); b = B(); a >> b; return Flow(start=a)`), bound once to a
    local or module-level name, called in place (`create_flow().run(shared)`), or kept on an
    attribute of the class (`self.flow = create_flow()` in a method or `flow = ...` in its
    body: the one value the class assigns it besides None; an attribute assigned two values is
    not followed); the nodes are its start node (a name bound to a node, or one built in place:
    `Flow(start=Search())`, `Flow(start=(a := A()))`, the last node of `A() >> b`) and those
    it leads to through `>>` transitions between names written beside it (a node built in
    place after a `>>`, as in `a >> B()`, is not followed); the first one that blocks is
    shown. In editor mode (stdin) only the file itself is indexed.
    """

    CODE = "ASY006"
    NAME = "blocking-call-reachable-from-async"
    SEVERITY = Severity.CRITICAL
    CATEGORY = "async"
    FIX = FixSafety.UNSAFE
    FRAMEWORKS = ALL_FRAMEWORKS
    MESSAGE = "`{callee}` blocks the event loop {where}: {chain}"
    TRIGGERS = ("async def", "Async")
    NEEDS_PROJECT = True

    def run(self) -> None:
        self.module = self.project.module_for(self.path) if self.project else None
        if self.module is None:
            return
        # The module itself is indexed from the tree at hand, not read and parsed again.
        self.project.offer_tree(self.module, self.model.tree, self.model.text)
        # The last `name = <call>` of each name in each def / class / module, and the `a >> b`
        # edges written there, for the nodes an async flow's start node leads to.
        self.constructed: dict[Owned, ast.Call] = {}
        self.edges: dict[Owned, set[str]] = {}
        self.flows: list[tuple[ast.Call, str]] = []
        # `flow.run(shared)` in a coroutine, with the call that built the flow (checked once
        # the module's transitions are known).
        self.runs: list[tuple[ast.Call, ast.AsyncFunctionDef, ast.Call]] = []
        # A name resolves to a flow class only through words the text holds.
        self.flows_possible = any(package in self.model.text for package in FLOW_PACKAGES)
        super().run()
        for flow, flow_name in self.flows:
            for call in self._flow_nodes(flow):
                self._check_flow_node(call, flow_name)
        for run, coroutine, built in self.runs:
            self._check_flow_run(run, coroutine, built)

    def visit_Call(self, node: ast.Call) -> None:
        flow_name = self._async_flow(node) if self.flows_possible else None
        if flow_name is not None:
            self.flows.append((node, flow_name))
        coroutine = self.model.coroutine_of(node)
        if coroutine is not None and not isinstance(self.model.parent(node), ast.Await):
            built = self._flow_built(node)
            if built is not None:
                self.runs.append((node, coroutine, built))
            else:
                self._check_call(node, coroutine)

    def visit_Assign(self, node: ast.Assign) -> None:
        if (
            len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Call)
        ):
            owner = enclosing_definition(self.model, node)
            self.constructed[(owner, node.targets[0].id)] = node.value

    def visit_BinOp(self, node: ast.BinOp) -> None:
        edge = transition(node)
        if edge is not None:
            owner = enclosing_definition(self.model, node)
            self.edges.setdefault((owner, edge[0]), set()).add(edge[1])

    def _flow_built(self, node: ast.Call) -> ast.Call | None:
        """For `flow.run(...)`, `build_flow().run(...)`, `self.flow.run(...)`: the call that
        built the flow (a local or module-level name bound once, the receiver itself, or the
        one value the class assigns to the attribute, in a method or its body, besides None)."""
        func = node.func
        if not isinstance(func, ast.Attribute) or func.attr != "run":
            return None
        receiver = func.value
        value: ast.AST | None = receiver
        if isinstance(receiver, ast.Name):
            value = single_binding_value(self.model, receiver)
        elif isinstance(receiver, ast.Attribute):
            owner = self_attribute(self.model, receiver)
            bound = attribute_bindings(self.model, *owner) if owner else []
            values = [v for v, _ in bound if not is_none(v)]
            value = values[0] if len(values) == 1 else None
        return value if isinstance(value, ast.Call) else None

    def _check_flow_run(
        self, node: ast.Call, coroutine: ast.AsyncFunctionDef, built: ast.Call
    ) -> None:
        """A sync flow run in a coroutine runs its nodes' hooks right there: built here
        (`Flow(start=a)`, wired with `a >> b`) or returned by a project function."""
        assert self.project is not None and self.module is not None
        if _is_sync_flow(self.model.qualified_names(built.func)):
            spelled = (full_name(call.func) for call in self._flow_nodes(built))
            constructors = [self.project.qualify(self.module, s, None) for s in spelled if s]
        else:
            dotted = dotted_name(built.func)
            cls = self.model.class_of(coroutine)
            own = f"{self.module}.{cls.name}" if cls is not None else None
            key = self.project.qualify(self.module, dotted, own) if dotted else ""
            info = self.project.function(self.project.resolve(key)) if key else None
            if info is None or not info.runs_nodes:
                self._check_call(node, coroutine)
                return
            constructors = list(info.runs_nodes)
        found = self.project.blocking_node(constructors)
        if found is not None:
            where = f"in async `{coroutine.name}()` (a sync flow runs its nodes inline)"
            self._report_blocking(node, coroutine, ast.unparse(node.func), where, found[1])

    def _check_call(self, node: ast.Call, coroutine: ast.AsyncFunctionDef) -> None:
        assert self.project is not None and self.module is not None
        dotted = dotted_name(node.func)
        root = node.func
        while isinstance(root, ast.Attribute):
            root = root.value
        if dotted is None or not isinstance(root, ast.Name):
            return
        if root.id == "self":
            cls = self.model.class_of(coroutine)
            if cls is None or self.model.parent(cls) is not self.model.tree:
                return
            target = self.project.qualify(self.module, dotted, f"{self.module}.{cls.name}")
        elif self._imported(root):
            if not any(
                self.project.may_name_module(binding.qualified)
                for binding in self.model.bindings_of(root)
            ):
                return  # a library's (`httpx.AsyncClient()`): no module of the run to follow
            target = self.project.qualify(self.module, dotted, None)
        elif self.model.is_module_level_name(root):
            target = self.project.qualify(self.module, dotted, None)
        else:
            found = self._instance_method(root, dotted)
            if found is None:
                return
            target = found
        if target in BLOCKING_FUNCTIONS:
            return  # a direct blocking call: ASY001 / ASY002
        chain = self.project.blocking_chain(target)
        if chain is not None:
            self._report_blocking(node, coroutine, dotted, f"in async `{coroutine.name}()`", chain)

    def _report_blocking(
        self,
        node: ast.Call,
        coroutine: ast.AsyncFunctionDef,
        callee: str,
        where: str,
        chain: tuple[str, ...],
    ) -> None:
        """Report a call of the coroutine's own body that blocks through `chain` (offered
        the `asyncio.to_thread` rewrite), unless the coroutine runs alone on its loop."""
        if coroutine in coroutines_run_alone(self.model):
            return
        blocked, note = offload_fix(self.model, node, coroutine)
        self.report(
            node,
            fix=blocked,
            note=note,
            callee=f"{callee}()",
            where=where,
            chain=describe_chain(chain),
        )

    def _imported(self, root: ast.Name) -> bool:
        """`root` is bound only by imports, in the function's own body too (`from utils.llm
        import call_llm` inside the coroutine): the index binds those as the module's."""
        bindings = self.model.bindings_of(root)
        return bool(bindings) and all(binding.is_import for binding in bindings)

    def _instance_method(self, root: ast.Name, dotted: str) -> str | None:
        """`node.exec` where the local `node` is bound once, to an instance of a project class
        (`node = ChatQueryNode()`), or is a parameter declared as one (`service: ChatService
        = Depends(get_service)`, `Annotated[ChatService, Depends(...)]`): that class's method,
        or its project bases' (a FastAPI endpoint that runs a node's hooks by hand, or calls
        a service object's)."""
        assert self.project is not None and self.module is not None
        if "." not in dotted:
            return None
        value = single_binding_value(self.model, root)
        if isinstance(value, ast.Call):
            constructor = dotted_name(value.func)
        else:
            constructor = self._declared_class(root)
        if constructor is None:
            return None
        method = dotted.partition(".")[2]
        if "." in method:
            return None
        return self.project.method_of(self.project.qualify(self.module, constructor, None), method)

    def _declared_class(self, root: ast.Name) -> str | None:
        """The class (as spelled) a parameter bound once is declared with: `C`, `Annotated[C,
        ...]`, `Optional[C]`, `C | None`."""
        bindings = self.model.bindings_of(root)
        arg = bindings[0].node if len(bindings) == 1 else None
        if not isinstance(arg, ast.arg) or arg.annotation is None:
            return None
        declared = declared_class(arg.annotation, wrapper_in(self.model))
        return dotted_name(declared) if declared is not None else None

    def _async_flow(self, call: ast.Call) -> str | None:
        """The name of the async flow `call` builds: `AsyncFlow(start=...)`, or
        `super().__init__(start=...)` in the `__init__` of a class deriving from one (a flow
        declared as a subclass that wires its nodes itself)."""
        if _is_async_flow(self.model.qualified_names(call.func)):
            return full_name(call.func) or "the async flow"
        func = call.func
        if not (
            isinstance(func, ast.Attribute)
            and func.attr == "__init__"
            and isinstance(func.value, ast.Call)
            and isinstance(func.value.func, ast.Name)
            and func.value.func.id == "super"
        ):
            return None
        method = self.model.function_of(call)
        cls = self.model.class_of(method) if method is not None else None
        if (
            not isinstance(method, ast.FunctionDef)
            or method.name != "__init__"
            or cls is None
            or not _is_async_flow(base_names(self.model, cls))
        ):
            return None
        return cls.name

    def _check_flow_node(self, call: ast.Call, flow_name: str) -> None:
        assert self.project is not None and self.module is not None
        dotted = full_name(call.func)
        if not dotted:
            return
        target = self.project.qualify(self.module, dotted, None)
        if not self.project.is_sync_node_class(target):
            return
        found = self.project.blocking_hook(target)
        if found is None:
            return
        hook, chain = found
        self.report(
            call,
            fix=FixSafety.NONE,
            note=f"use an async node type so `{hook}` can be awaited",
            callee=f"{dotted}.{hook}()",
            where=f"of `{flow_name}` (sync nodes run inline on the loop)",
            chain=describe_chain(chain),
        )

    def _flow_nodes(self, flow: ast.Call) -> list[ast.Call]:
        """The calls that build the nodes `flow` runs: its start node and those the `>>`
        transitions written beside it (in the same def, class body or module) lead to."""
        owner = enclosing_definition(self.model, flow)
        made = {name: call for (at, name), call in self.constructed.items() if at is owner}
        edges = {before: after for (at, before), after in self.edges.items() if at is owner}
        return flow_nodes(flow, made, edges)


def _is_sync_flow(names: set[str]) -> bool:
    """Some of `names` is a sync flow class (of the package or of a copy of its module)."""
    return any(vendored_name(name) in SYNC_FLOWS for name in names)


def _is_async_flow(names: set[str]) -> bool:
    """Some of `names` is an async flow class (of the package or of a copy of its module)."""
    return any(vendored_name(name) in ASYNC_FLOWS for name in names)
