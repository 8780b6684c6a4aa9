"""CON004: a new Dynamiq `ConnectionManager` per flow instance or per run."""

from __future__ import annotations

import ast

from flowfix.analysis.frameworks import (
    INIT_METHODS,
    ONCE_PER_RUN_FUNCTIONS,
    PER_CALL_METHODS,
    is_cached_function,
)
from flowfix.analysis.model import FunctionNode
from flowfix.analysis.owners import outermost_function, owner_of
from flowfix.analysis.values import assigned_targets, block_nodes
from flowfix.detector import Detector
from flowfix.detectors.connections.dynamiq_lineage import is_flow_class
from flowfix.rules import FixSafety, Severity

RUN_METHODS = PER_CALL_METHODS | {"run_sync", "run_async"}


def is_main_guard(statement: ast.stmt) -> bool:
    """`if __name__ == "__main__":`"""
    test = statement.test if isinstance(statement, ast.If) else None
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


class ConnectionManagerPerInstance(Detector):
    """A new Dynamiq `ConnectionManager` is created per flow or per run.

    ## Why is this bad?
    A `ConnectionManager` caches one client per connection. Every new manager starts empty,
    so each flow built with its own manager (or each run that creates one) opens fresh
    clients, connection pools and TLS sessions instead of reusing them. Dynamiq's PR #674
    replaced the per-flow `Field(default_factory=ConnectionManager)` with a shared
    `get_default_connection_manager()` singleton after counting 150+ redundant resource
    allocations for 50 parallel requests.

    ## Example
    ```python
    from dynamiq import Workflow
    from dynamiq.connections.managers import ConnectionManager
    from dynamiq.flows import Flow


    def answer(question, nodes):
        flow = Flow(nodes=nodes, connection_manager=ConnectionManager())
        return Workflow(flow=flow).run(input_data={"question": question})
    ```

    ## Use instead
    ```python
    from dynamiq import Workflow
    from dynamiq.connections.managers import ConnectionManager
    from dynamiq.flows import Flow

    CONNECTION_MANAGER = ConnectionManager()


    def answer(question, nodes):
        flow = Flow(nodes=nodes, connection_manager=CONNECTION_MANAGER)
        return Workflow(flow=flow).run(input_data={"question": question})
    ```

    ## Metric to monitor
    Open connections and client instances per process under load, and the latency of the
    first node call of each run.

    ## Limitations
    Reported: a manager created in a run method (`execute`, `execute_async`, `exec`,
    `exec_async`, `run`, `run_sync`, `run_async`, `__call__`) or a module function (not
    `main`/`cli`, a cached function, `test_*`, or a step of a script that the script calls
    once, outside loops, from `main()` or its `__main__` block) and not kept beyond the call
    (stored on an attribute or a global, returned); and a `Flow`/`Workflow` class (by its
    Dynamiq bases or its name) whose field or `__init__` creates one per instance. Other
    methods, such as helpers called from init hooks and the `manager or ConnectionManager()`
    fallback inside node init hooks (per node, not per run), are not reported.
    """

    CODE = "CON004"
    NAME = "connection-manager-per-instance"
    SEVERITY = Severity.OPTIMIZATION
    CATEGORY = "connections"
    FIX = FixSafety.NONE
    FRAMEWORKS = ("dynamiq",)
    MESSAGE = "A new `ConnectionManager` is created {when}; share one default manager"
    TRIGGERS = ("ConnectionManager",)

    def visit_Call(self, node: ast.Call) -> None:
        if not self._is_manager(node.func):
            return
        owner = owner_of(self.model, node)
        if isinstance(owner, ast.Lambda):
            cls = self._flow_field_class(owner)
            if cls is not None:
                self.report(node, when=f"for every `{cls.name}` instance")
            return
        if not isinstance(owner, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return
        cls = self.model.class_of(owner)
        if cls is not None and is_flow_class(self.model, cls) and owner.name in INIT_METHODS:
            if not self._kept_globally(node, owner):
                self.report(node, when=f"for every `{cls.name}` instance")
            return
        if self._runs_per_call(owner) and not self._is_kept(node, owner):
            self.report(node, when=f"on every call of `{owner.name}()`")

    def visit_keyword(self, node: ast.keyword) -> None:
        if node.arg != "default_factory" or not self._is_manager(node.value):
            return
        call = self.model.parent(node)
        cls = self._flow_field_class(call) if isinstance(call, ast.Call) else None
        if cls is not None:
            self.report(node.value, when=f"for every `{cls.name}` instance")

    def _is_manager(self, node: ast.AST) -> bool:
        names = self.model.qualified_names(node)
        return bool(names) and all(
            name.startswith("dynamiq.") and name.endswith(".ConnectionManager") for name in names
        )

    def _flow_field_class(self, node: ast.AST) -> ast.ClassDef | None:
        """The Flow class whose field default `node` (a lambda or `Field(...)` call) is."""
        current = self.model.parent(node)
        while isinstance(current, (ast.keyword, ast.Call, ast.Starred)):
            current = self.model.parent(current)
        if not isinstance(current, (ast.AnnAssign, ast.Assign)):
            return None
        cls = self.model.parent(current)
        if isinstance(cls, ast.ClassDef) and is_flow_class(self.model, cls):
            return cls
        return None

    def _runs_per_call(self, func: FunctionNode) -> bool:
        """A run method (`execute`, `run`, `run_sync`, ...) or a module function that is not an
        entry point, test or cached function (nested defs: their outermost function)."""
        outermost = outermost_function(self.model, func)
        if is_cached_function(self.model, func) or is_cached_function(self.model, outermost):
            return False
        name = outermost.name
        if self.model.class_of(outermost) is not None:
            return name in RUN_METHODS
        return (
            not name.startswith("test_")
            and name not in ONCE_PER_RUN_FUNCTIONS
            and not self._runs_once_in_script(outermost)
        )

    def _runs_once_in_script(self, func: FunctionNode) -> bool:
        """A function of a script (a module with an `if __name__ == "__main__":` block) that
        the module only calls, outside any loop, from `main()`/`cli()` or module-level code:
        it runs once per run of the script."""
        tree = self.model.tree
        if not any(is_main_guard(statement) for statement in tree.body):
            return False
        uses = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Name) and node.id == func.name and node is not func
        ]
        for use in uses:
            call = self.model.parent(use)
            caller = self.model.function_of(use)
            if (
                not (isinstance(call, ast.Call) and call.func is use)
                or self.model.enclosing_loop(use) is not None
                or (
                    caller is not None
                    and outermost_function(self.model, caller).name not in ONCE_PER_RUN_FUNCTIONS
                )
            ):
                return False
        return bool(uses)

    def _is_kept(self, node: ast.Call, func: FunctionNode) -> bool:
        """Returned, yielded, or stored on an attribute or a global: lives beyond the call."""
        current = self._holder(node)
        if isinstance(current, (ast.Return, ast.Yield)):
            return True
        if any(isinstance(t, (ast.Attribute, ast.Subscript)) for t in assigned_targets(current)):
            return True
        return self._kept_globally(node, func)

    def _kept_globally(self, node: ast.Call, func: FunctionNode) -> bool:
        """Assigned to a name declared `global`/`nonlocal` in `func` (a lazy singleton)."""
        names = {t.id for t in assigned_targets(self._holder(node)) if isinstance(t, ast.Name)}
        if not names:
            return False
        return any(
            isinstance(statement, (ast.Global, ast.Nonlocal)) and names & set(statement.names)
            for statement in block_nodes(func.body)
        )

    def _holder(self, node: ast.AST) -> ast.AST | None:
        """What takes `node`'s value, through `or`/`and` and conditional expressions."""
        current = self.model.parent(node)
        while isinstance(current, (ast.BoolOp, ast.IfExp)):
            current = self.model.parent(current)
        return current
