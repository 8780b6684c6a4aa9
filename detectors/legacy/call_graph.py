"""Rules over the call graph of the run: blocking work a coroutine reaches indirectly."""

from __future__ import annotations

import ast
from collections.abc import Iterator

import libcst as cst
from libcst.metadata import PositionProvider

from flowfix.detectors.legacy.async_ import offload_fix
from flowfix.libcst_detector import LibcstDetector as Detector
from flowfix.parents import ParentProvider
from flowfix.prefilter import FUNCTION_DEFS, FileView
from flowfix.project import BLOCKING_CALLS
from flowfix.reduction import Sites
from flowfix.rules import FixSafety, Severity
from flowfix.scope import ScopeProvider
from flowfix.semantics import (
    is_module_level_name,
    method_class,
    parent,
    qualified_names,
    running_coroutine,
    scope_owner,
)

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


def describe_chain(chain: tuple[str, ...]) -> str:
    """`call_llm() → requests.post()` from ("call_llm", "requests.post")."""
    return " → ".join(step if step.endswith(")") else f"{step}()" for step in chain)


def _root_name(expression: cst.BaseExpression) -> cst.Name | None:
    while isinstance(expression, cst.Attribute):
        expression = expression.value
    return expression if isinstance(expression, cst.Name) else None


def _last_node_name(expression: cst.BaseExpression) -> str | None:
    """The successor a `>>` chain ends with: `a >> b` → b, `a - "x" >> b` → b."""
    if isinstance(expression, cst.Name):
        return expression.value
    if isinstance(expression, cst.BinaryOperation) and isinstance(
        expression.operator, (cst.RightShift, cst.Subtract)
    ):
        if isinstance(expression.operator, cst.Subtract):
            return _last_node_name(expression.left)
        return _last_node_name(expression.right)
    return None


class BlockingCallReachableFromAsync(Detector):
    """A coroutine calls project code that blocks: a sync helper, or a sync node in an async flow.

    ## Why is this bad?
    The blocking call is not in the coroutine itself, so per-function checks (ASY001, ASY002)
    miss it, but it still runs on the event loop thread. The common real case is PocketFlow's
    `exec_async` calling a small `utils.call_llm()` helper that uses the sync OpenAI client:
    every LLM round trip (often seconds) freezes all other tasks of the loop. The same happens
    when a sync `Node` whose `exec()` blocks is wired into an `AsyncFlow` / `AsyncGraph`, which
    runs sync nodes inline on the loop. flowfix follows calls across the files of the run and
    shows the chain.

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
    direct call of a project function from the coroutine's own body is rewritten; a sync node
    inside an async flow is reported only (use the framework's async node type). No fix inside
    a generator expression or where the name `asyncio` is bound to something else.

    ## Metric to monitor
    Event-loop lag while the flow runs (delay of a periodic `asyncio.sleep(0.1)` probe) and
    the p95 latency of concurrent flow runs.

    ## Limitations
    Only functions of the files given to the run are followed (install-time libraries are
    not), through imports, `self.method()` calls and re-exports, up to 8 calls deep. In editor
    mode (stdin) only the file itself is indexed.
    """

    CODE = "ASY006"
    NAME = "blocking-call-reachable-from-async"
    SEVERITY = Severity.CRITICAL
    CATEGORY = "async"
    FIX = FixSafety.UNSAFE
    FRAMEWORKS = ("dynamiq", "pocketflow", "kaygraph", "pflow")
    MESSAGE = "`{callee}` blocks the event loop {where}: {chain}"
    TRIGGERS = ("async def", "Async")
    NEEDS_PROJECT = True
    REACH = "function"
    METADATA_DEPENDENCIES = (
        PositionProvider,
        ParentProvider,
        ScopeProvider,
    )

    @classmethod
    def ast_candidate(cls, view: FileView) -> Sites:
        """An async flow class called with a name as its start node, or a call in the own body
        of an `async def`, not awaited, that may reach project code: `self.<sync method>()`
        in a method of a top-level class, a project function or import called by name, or a
        dotted call on a name that is not a parameter; with the run's call graph at hand,
        only such a call whose target's call chain blocks."""
        sites: list[ast.AST] = list(_ast_async_flows(view))
        if view.has_async_def:
            sites.extend(_ast_blocking_calls(view))
        return sites

    def visit_Module(self, node: cst.Module) -> None:
        module = self.project.module_for(self.path) if self.project else None
        self.module = module
        self.constructed: dict[tuple[cst.CSTNode, str], cst.Call] = {}
        self.edges: dict[tuple[cst.CSTNode, str], set[str]] = {}
        self.flows: list[tuple[cst.Call, str]] = []

    def visit_Call(self, node: cst.Call) -> None:
        if self.module is None:
            return
        if qualified_names(self, node.func) & ASYNC_FLOWS:
            start = self._flow_start(node)
            if start is not None:
                self.flows.append((node, start))
        coroutine = running_coroutine(self, node)
        if coroutine is not None and not isinstance(parent(self, node), cst.Await):
            self._check_call(node, coroutine)

    def visit_Assign(self, node: cst.Assign) -> None:
        if (
            len(node.targets) == 1
            and isinstance(node.targets[0].target, cst.Name)
            and isinstance(node.value, cst.Call)
        ):
            key = (scope_owner(self, node), node.targets[0].target.value)
            self.constructed[key] = node.value

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if not isinstance(node.operator, cst.RightShift):
            return
        before, after = _last_node_name(node.left), _last_node_name(node.right)
        if before and after:
            self.edges.setdefault((scope_owner(self, node), before), set()).add(after)

    def leave_Module(self, original_node: cst.Module) -> None:
        for flow, start in self.flows:
            owner = scope_owner(self, flow)
            for name in self._reachable(owner, start):
                call = self.constructed.get((owner, name))
                if call is not None:
                    self._check_flow_node(call, flow)

    def _check_call(self, node: cst.Call, coroutine: cst.FunctionDef) -> None:
        assert self.project is not None and self.module is not None
        dotted = cst.helpers.get_full_name_for_node(node.func)
        root = _root_name(node.func)
        if not dotted or root is None:
            return
        cls_key = None
        if root.value == "self":
            cls = method_class(self, coroutine)
            if cls is None or not self._is_top_level(cls):
                return
            cls_key = f"{self.module}.{cls.name.value}"
        elif not is_module_level_name(self, root):
            return
        target = self.project.qualify(self.module, dotted, cls_key)
        if target in BLOCKING_CALLS:
            return  # a direct blocking call: ASY001 / ASY002
        chain = self.project.blocking_chain(target)
        if chain is None:
            return
        blocked, note = offload_fix(self, node, coroutine)
        self.report(
            node,
            fix=blocked,
            note=note,
            callee=f"{dotted}()",
            where=f"in async `{coroutine.name.value}()`",
            chain=describe_chain(chain),
        )

    def _check_flow_node(self, call: cst.Call, flow: cst.Call) -> None:
        assert self.project is not None and self.module is not None
        dotted = cst.helpers.get_full_name_for_node(call.func)
        if not dotted:
            return
        target = self.project.qualify(self.module, dotted, None)
        if not self.project.is_sync_node_class(target):
            return
        found = self.project.blocking_hook(target)
        if found is None:
            return
        hook, chain = found
        flow_name = cst.helpers.get_full_name_for_node(flow.func) or "the async flow"
        self.report(
            call,
            fix=FixSafety.NONE,
            note=f"use an async node type so `{hook}` can be awaited",
            callee=f"{dotted}.{hook}()",
            where=f"of `{flow_name}` (sync nodes run inline on the loop)",
            chain=describe_chain(chain),
        )

    def _flow_start(self, call: cst.Call) -> str | None:
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value != "start":
                continue
            if isinstance(arg.value, cst.Name):
                return arg.value.value
            return None
        return None

    def _reachable(self, owner: cst.CSTNode, start: str) -> list[str]:
        seen, queue = [start], [start]
        while queue:
            for successor in sorted(self.edges.get((owner, queue.pop()), ())):
                if successor not in seen:
                    seen.append(successor)
                    queue.append(successor)
        return seen

    def _is_top_level(self, cls: cst.ClassDef) -> bool:
        return isinstance(parent(self, cls), cst.Module)


# --- AST prefilter ----------------------------------------------------------------------------

FLOW_CLASSES = frozenset(name.rsplit(".", 1)[-1] for name in ASYNC_FLOWS)
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _ast_async_flows(view: FileView) -> Iterator[ast.Call]:
    """`AsyncFlow(start=node)` (or another async flow class) when the file may name pocketflow
    or kaygraph."""
    if not view.mentions("pocketflow", "kaygraph"):
        return
    for call in view.calls_to(*FLOW_CLASSES):
        values = [a.value if isinstance(a, ast.Starred) else a for a in call.args]
        values += [k.value for k in call.keywords if k.arg == "start"]
        if any(isinstance(value, ast.Name) for value in values):
            yield call


def _ast_blocking_calls(view: FileView) -> Iterator[ast.Call]:
    """The coroutine calls that may reach project code (see `_ast_coroutine_calls`) whose
    target, asked of the run's call graph as the detector asks it, blocks."""
    project, module = view.project, view.module
    if project is not None and module is not None and view.digest:
        project.index_tree(module, view.tree, view.digest)
    for call, dotted, cls in _ast_coroutine_calls(view):
        if project is None or module is None:
            yield call
            continue
        target = project.qualify(module, dotted, f"{module}.{cls}" if cls else None)
        if target not in BLOCKING_CALLS and project.blocking_chain(target) is not None:
            yield call


def _parameters(func: ast.AST) -> set[str]:
    args = func.args  # type: ignore[attr-defined]
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    return {arg.arg for arg in every if arg is not None}


def _imported_names(view: FileView) -> set[str]:
    names: set[str] = set()
    for node in view.nodes_near(["import"], ast.Import, ast.ImportFrom):
        for alias in node.names:  # type: ignore[attr-defined]
            if isinstance(node, ast.Import):
                names.add(alias.asname or alias.name.split(".")[0])
            else:
                names.add(alias.asname or alias.name)
    return names


def _ast_coroutine_calls(view: FileView) -> Iterator[tuple[ast.Call, str, str | None]]:
    """(call, its dotted callee, the class for `self.` calls) for each call in the own body of
    an `async def`, not awaited, that may reach project code."""
    named: set[str] | None = None
    for coroutine in view.near(["async"]):
        if not isinstance(coroutine, ast.AsyncFunctionDef):
            continue
        chain = view.enclosing(coroutine.lineno)
        cls = chain[0] if len(chain) == 2 and isinstance(chain[0], ast.ClassDef) else None
        sync_methods = (
            {item.name for item in cls.body if isinstance(item, ast.FunctionDef)} if cls else set()
        )
        local = set().union(*(_parameters(s) for s in chain if isinstance(s, FUNCTION_DEFS)))
        awaited: set[int] = set()
        declared: set[str] = set()
        calls: list[ast.Call] = []
        # The coroutine's own nodes: its header (decorators, defaults) and body, without nested
        # scopes (their calls run elsewhere).
        stack: list[ast.AST] = [*coroutine.decorator_list, coroutine.args, *coroutine.body]
        while stack:
            node = stack.pop()
            if isinstance(node, SCOPES):
                continue
            if isinstance(node, ast.comprehension):  # its target binds in its own scope
                stack.extend([node.iter, *node.ifs])
                continue
            if isinstance(node, ast.Await):
                awaited.add(id(node.value))
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                local.add(node.id)  # bound in the coroutine: not a module-level name
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                declared.update(node.names)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                local.add(node.name)
            elif isinstance(node, ast.alias):
                local.add(node.asname or node.name.split(".")[0])
            elif isinstance(node, ast.Call) and id(node) not in awaited:
                calls.append(node)
            stack.extend(ast.iter_child_nodes(node))
        local -= declared
        for call in calls:
            if id(call) in awaited:
                continue
            parts: list[str] = []
            func = call.func
            while isinstance(func, ast.Attribute):
                parts.append(func.attr)
                func = func.value
            if not isinstance(func, ast.Name):
                continue
            root = func.id
            dotted = ".".join([root, *reversed(parts)])
            if root == "self":
                if cls is not None and (len(parts) > 1 or parts[:1] and parts[0] in sync_methods):
                    yield call, dotted, cls.name
                continue
            if root in local:
                continue
            if parts:  # `module.f()`, `Class.f()`, or a name shadowing a project module
                yield call, dotted, None
                continue
            if named is None:
                named = view.statements.functions | _imported_names(view)
            if root in named:
                yield call, dotted, None
