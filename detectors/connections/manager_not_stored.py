"""CON002: a Dynamiq node's `init_components()` override that drops the connection manager."""

from __future__ import annotations

import ast

from flowfix.analysis.arguments import first_argument_value
from flowfix.analysis.methods import instance_name, is_static
from flowfix.analysis.values import block_nodes, dotted_name
from flowfix.detector import Detector
from flowfix.detectors.connections.definition_names import name_node
from flowfix.detectors.connections.dynamiq_lineage import is_dynamiq_node_class, is_test_double
from flowfix.detectors.connections.method_bodies import (
    rebinds,
    stores_attribute,
)
from flowfix.rules import FixSafety, Severity


class ConnectionManagerNotStored(Detector):
    """A Dynamiq node's `init_components()` override drops the connection manager.

    ## Why is this bad?
    `ConnectionNode.init_components()` stores the flow's `ConnectionManager` in
    `self._connection_manager` and gets the node's client from it; `Node.init_components()`
    marks the node initialised. An override that neither calls `super().init_components(...)`
    nor stores the manager itself skips both: the client is not taken from the flow's shared
    manager (one more connection pool per node), and `ensure_client()` has no manager to
    reconnect with after the client closes, so it builds a fresh `ConnectionManager` on every
    reconnect. Dynamiq's review checklist lists "missing `_connection_manager` storage
    preventing reconnection".

    ## Example
    ```python
    from dynamiq.nodes.node import ConnectionNode


    class Search(ConnectionNode):
        def init_components(self, connection_manager=None):
            self.index = self.connection.index_name
    ```

    ## Use instead
    ```python
    from dynamiq.nodes.node import ConnectionNode


    class Search(ConnectionNode):
        def init_components(self, connection_manager=None):
            super().init_components(connection_manager)
            self.index = self.connection.index_name
    ```

    ## Fix safety
    Safe: `super().init_components(<parameter>)` becomes the first statement (after a
    docstring), passing the override's own parameter (`*args, **kwargs` when that is what it
    takes), so the base class stores the manager and builds the client before the override
    runs. The fix is unsafe when the override rebinds that parameter (the base class sees the
    value passed in, not the override's replacement) or assigns `self.client` itself (the base
    class first builds the manager's client, which the override then replaces). No fix is
    offered when the override takes no parameter for the manager, or is a static or class
    method. Overrides that call the base class (`super().init_components(...)`,
    `Base.init_components(self, ...)`) or store `self._connection_manager` are not reported,
    nor are test doubles, which replace the hook on purpose so that no real client is built:
    classes defined inside a function (a test's local stand-in) and classes named, or derived
    from one named, `Fake…`, `Mock…`, `Stub…`, `Dummy…`, `Spy…` or `Recording…`.

    ## Metric to monitor
    Open connections per node and reconnects after `ensure_client()` (client instances
    created per flow run).

    ## Limitations
    A node class is recognised by a base imported from `dynamiq.nodes` (or named `Node`,
    `ConnectionNode`, `VectorStoreNode` when the import cannot be resolved) or by a class of
    the same module with `init_components()`; a call to the base class made through a helper
    method is not seen.
    """

    CODE = "CON002"
    NAME = "connection-manager-not-stored"
    SEVERITY = Severity.CRITICAL
    CATEGORY = "connections"
    FIX = FixSafety.SAFE
    FRAMEWORKS = ("dynamiq",)
    MESSAGE = (
        "`{cls}.init_components()` neither calls `super().init_components()` nor stores "
        "`self._connection_manager`"
    )
    TRIGGERS = ("init_components",)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if node.name != "init_components":
            return
        cls = self.model.class_of(node)
        if cls is None or not is_dynamiq_node_class(self.model, cls):
            return
        if is_test_double(self.model, cls):
            return
        this = instance_name(self.model, node)
        if calls_base_init_components(node, this) or (
            this is not None and stores_attribute(node, this, "_connection_manager")
        ):
            return
        fix, note = self._fix_safety(node, this)
        arguments = super_arguments(node)
        data = {"arguments": arguments} if arguments is not None else {}
        self.report(name_node(self.model, node), fix=fix, note=note, data=data, cls=cls.name)

    def _fix_safety(self, func: ast.FunctionDef, this: str | None) -> tuple[FixSafety, str]:
        if this is None or is_static(self.model, func):
            return FixSafety.NONE, "a static or class method cannot call `super()` this way"
        if super_arguments(func) is None:
            return FixSafety.NONE, "the override takes no connection manager to pass on"
        params = func.args.args
        if len(params) > 1 and rebinds(func, params[1].arg):
            return (
                FixSafety.UNSAFE,
                f"`{params[1].arg}` is rebound in the override; the base class gets the "
                "value passed in",
            )
        if stores_attribute(func, this, "client"):
            return (
                FixSafety.UNSAFE,
                "the override sets `self.client`; the base class builds a client first",
            )
        return FixSafety.SAFE, ""


def calls_base_init_components(func: ast.FunctionDef, this: str | None) -> bool:
    """`super().init_components(...)`, `super(C, self).init_components(...)` or an explicit
    `SomeBase.init_components(self, ...)` (`self` its first argument) in `func`'s own body."""
    for node in block_nodes(func.body):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "init_components"
        ):
            continue
        receiver = node.func.value
        if isinstance(receiver, ast.Call) and dotted_name(receiver.func) == "super":
            return True
        first = first_argument_value(node)
        if isinstance(first, ast.Name) and first.id == this:
            return True
    return False


def super_arguments(func: ast.FunctionDef) -> str | None:
    """What the inserted `super().init_components(...)` passes on, None when nothing fits:
    the parameter after the instance (not a positional-only one), else `*args[, **kwargs]`."""
    arguments = func.args
    if len(arguments.args) > 1:
        return arguments.args[1].arg
    if arguments.vararg is not None:
        kwargs = arguments.kwarg
        return f"*{arguments.vararg.arg}" + (f", **{kwargs.arg}" if kwargs else "")
    return None
