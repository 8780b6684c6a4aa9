"""CON003: a Dynamiq `ConnectionNode` that builds its own client but keeps the generic
`ensure_client()`."""

from __future__ import annotations

import ast

from flowfix.analysis import Model
from flowfix.analysis.methods import instance_name, is_instance_attribute
from flowfix.analysis.values import block_nodes
from flowfix.detector import Detector
from flowfix.detectors.connections.definition_names import name_node
from flowfix.detectors.connections.dynamiq_lineage import inherits_generic_ensure_client
from flowfix.detectors.connections.method_bodies import (
    assigned_targets,
)
from flowfix.rules import FixSafety, OptIn, Severity

MANAGER_CLIENT_CALLS = frozenset({"get_connection_client", "get_async_connection_client"})


class CustomClientWithoutEnsureClient(Detector):
    """A Dynamiq `ConnectionNode` builds its own client but keeps the generic `ensure_client()`.

    ## Why is this bad?
    Before every attempt Dynamiq calls `node.ensure_client()`. The inherited
    `ConnectionNode.ensure_client()` checks `self.client` for a `closed` flag and, when it is
    closed, replaces it with `connection_manager.get_connection_client(self.connection)`: the
    client the connection manager builds, not the one the node built itself. A node that sets
    `self.client` to its own client (another SDK, a wrapped or pre-configured client) either
    never reconnects (the check does not know its client) or is silently switched to a
    different client type after the first reconnect. Dynamiq's review checklist lists
    "missing `ensure_client()` override for custom clients".

    ## Example
    ```python
    from dynamiq.nodes.node import ConnectionNode
    from vendor_sdk import SearchClient


    class VendorSearch(ConnectionNode):
        def init_components(self, connection_manager=None):
            super().init_components(connection_manager)
            self.client = SearchClient(api_key=self.connection.api_key)
    ```

    ## Use instead
    ```python
    from dynamiq.nodes.node import ConnectionNode
    from vendor_sdk import SearchClient


    class VendorSearch(ConnectionNode):
        def init_components(self, connection_manager=None):
            super().init_components(connection_manager)
            self.client = SearchClient(api_key=self.connection.api_key)

        def ensure_client(self):
            if self.client is None or self.client.is_closed():
                self.client = SearchClient(api_key=self.connection.api_key)
    ```

    ## Metric to monitor
    Node failures after idle periods ("client is closed" errors) and reconnects per node.

    ## Limitations
    The subclass is recognised through `ConnectionNode`/`VectorStoreNode` imported from
    Dynamiq (or so named) and classes of the same module between them; a class deriving from
    another module's `ConnectionNode` subclass is not recognised. Setting `self.client` to
    `None` or to `<manager>.get_connection_client(...)` is the generic behaviour and is not
    reported.
    """

    CODE = "CON003"
    NAME = "custom-client-without-ensure-client"
    SEVERITY = Severity.OPTIMIZATION
    OPT_IN = OptIn.CONTEXT
    WHY_NOT_DEFAULT = (
        "many clients (boto3, gRPC, clients that reconnect by themselves) have no closed "
        "state that `ensure_client()` would repair"
    )
    CATEGORY = "connections"
    FIX = FixSafety.NONE
    FRAMEWORKS = ("dynamiq",)
    MESSAGE = "`{cls}` sets `self.client` in `{method}()` but does not override `ensure_client()`"
    TRIGGERS = ("ConnectionNode", "VectorStoreNode")

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if not inherits_generic_ensure_client(self.model, node):
            return
        method = custom_client_method(self.model, node)
        if method is not None:
            self.report(name_node(self.model, node), cls=node.name, method=method)


def _is_none(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _from_connection_manager(value: ast.AST | None) -> bool:
    """`<manager>.get_connection_client(...)`: the client `ensure_client()` itself rebuilds."""
    return (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Attribute)
        and value.func.attr in MANAGER_CLIENT_CALLS
    )


def custom_client_method(model: Model, cls: ast.ClassDef) -> str | None:
    """The first method of `cls` that sets `self.client` to a client it builds itself (an
    annotation without a value counts: it declares the node's own client)."""
    for statement in cls.body:
        if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        this = instance_name(model, statement)
        if this is None:
            continue
        for node in block_nodes(statement.body):
            if not isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                continue
            if _is_none(node.value) or _from_connection_manager(node.value):
                continue
            if any(is_instance_attribute(t, this, "client") for t in assigned_targets(node)):
                return statement.name
    return None
