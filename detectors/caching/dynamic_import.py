"""CAC004: `importlib.import_module()` run per call or per loop iteration."""

from __future__ import annotations

import ast

from flowfix.analysis import Model
from flowfix.analysis.frameworks import INIT_METHODS, PER_CALL_METHODS, framework_of
from flowfix.analysis.model import FunctionNode
from flowfix.analysis.values import (
    derived_names,
    local_bindings,
    loop_item_names,
    names_bound_in,
    read_names,
    root_name,
    statement_targets,
)
from flowfix.detector import Detector
from flowfix.detectors.caching.functions import (
    function_nodes,
    result_name,
    runs_in_function,
    within,
)
from flowfix.rules import OptIn, Severity

STORING_METHODS = frozenset({"setdefault", "update", "__setitem__"})


class DynamicImportPerCall(Detector):
    """`importlib.import_module()` runs on every call or loop iteration instead of once.

    ## Why is this bad?
    The first import of a module costs 5-20 ms (pflow's analysis of its compiler, which
    imports a node module per node). Later calls still take the import lock, look the module
    up and re-resolve the class, and an import that fails is not cached at all: it searches
    `sys.path` again every time. In a node's `execute()`/`exec()` or inside a loop that is
    paid per item; resolving the module or class once and keeping it avoids all of it.

    ## Example
    ```python
    import importlib

    from pocketflow import Node


    class RunPlugin(Node):
        def exec(self, prep_res):
            module = importlib.import_module(self.params["plugin"])
            return module.run(prep_res)
    ```

    ## Use instead
    ```python
    import functools
    import importlib

    from pocketflow import Node


    @functools.cache
    def load_plugin(name):
        return importlib.import_module(name)


    class RunPlugin(Node):
        def exec(self, prep_res):
            module = load_plugin(self.params["plugin"])
            return module.run(prep_res)
    ```

    ## Metric to monitor
    Per-node latency p50/p95 and compile time of a workflow; time spent in `importlib`
    (a profiler's cumulative time for `_find_and_load`).

    ## Limitations
    Reported: calls in the per-call methods of Dynamiq and PocketFlow/KayGraph/pflow nodes
    (`execute`, `exec`, `run`, ...), and calls in any loop that import the same module on
    every iteration. A loop that imports each of a list of different modules (a plugin scan,
    a node preloading its optional modules) imports each once and is not reported, nor are
    imports in cached functions, init hooks, `main()`/`cli()`, or whose result is stored on
    an attribute or in a non-local dict. Functions that other code calls per item
    (`import_node_class()` in a compile loop) are not followed.
    """

    CODE = "CAC004"
    NAME = "dynamic-import-per-call"
    SEVERITY = Severity.OPTIMIZATION
    OPT_IN = OptIn.MINOR
    WHY_NOT_DEFAULT = (
        "importing a loaded module again is a dictionary lookup; only a failing import is "
        "searched for again"
    )
    CATEGORY = "caching"
    FRAMEWORKS = ("pflow", "dynamiq", "pocketflow", "kaygraph")
    MESSAGE = "`importlib.import_module()` runs {where} of `{function}()`; import once and reuse it"
    TRIGGERS = ("import_module",)

    def visit_Call(self, node: ast.Call) -> None:
        model = self.model
        if model.resolves_to(node.func, {"importlib.import_module"}) is None:
            return
        func = runs_in_function(model, node)
        if func is None or func.name in INIT_METHODS or is_memoised(model, node, func):
            return
        cls = model.class_of(func)
        in_node = cls is not None and framework_of(model, cls) is not None
        loop = model.iteration_loop(node)
        if loop is not None and not read_names(node) & loop_item_names(loop):
            where = "on every loop iteration"
        elif in_node and func.name in PER_CALL_METHODS:
            where = "on every call"
        else:
            return
        self.report(node, where=where, function=func.name)


def _persistent_container(func: FunctionNode, container: ast.expr) -> bool:
    """`container` outlives the call: an attribute chain, or a name `func` does not bind."""
    root = root_name(container)
    if root is None:
        return False
    return isinstance(container, ast.Attribute) or root not in names_bound_in(func)


def _persistent_root(func: FunctionNode, target: ast.expr) -> bool:
    """`target` stores into something that outlives the call: an attribute, or an item of a
    container that is not a local of `func`."""
    if isinstance(target, ast.Attribute):
        return True
    return isinstance(target, ast.Subscript) and _persistent_container(func, target.value)


def is_memoised(model: Model, call: ast.Call, func: FunctionNode) -> bool:
    """The call's result (or something derived from it) is stored on an attribute, in a
    container that is not a local, or in a `global`."""
    seed = result_name(model, call)
    holders = derived_names({seed}, local_bindings(func)) if seed else set()

    def carries(value: ast.AST | None) -> bool:
        return value is not None and (
            bool(read_names(value) & holders) or value is call or within(model, call, value)
        )

    for node in function_nodes(func):
        if isinstance(node, ast.Global) and holders & set(node.names):
            return True
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and carries(node.value):
            targets = statement_targets(node)
            if any(_persistent_root(func, target) for target in targets):
                return True
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in STORING_METHODS
            and _persistent_container(func, node.func.value)
            and any(carries(value) for value in (*node.args, *(k.value for k in node.keywords)))
        ):
            return True
    return False
