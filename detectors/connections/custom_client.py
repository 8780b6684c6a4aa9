"""CON003: a Dynamiq `ConnectionNode` that builds its own client but keeps the generic
`ensure_client()`."""

from __future__ import annotations

import ast

from flowfix.analysis import Model
from flowfix.analysis.frameworks import find_method
from flowfix.analysis.methods import instance_name, is_instance_attribute
from flowfix.analysis.values import assigned_targets, block_nodes, single_binding_value
from flowfix.detector import Detector
from flowfix.detectors.connections.definition_names import name_node
from flowfix.detectors.connections.dynamiq_lineage import (
    inherits_generic_ensure_client,
    is_test_double,
)
from flowfix.rules import FixSafety, OptIn, Severity

MANAGER_CLIENT_CALLS = frozenset({"get_connection_client", "get_async_connection_client"})
# Methods that build a node's client before it runs.
INIT_HOOKS = frozenset({"__init__", "__post_init__", "model_post_init", "init_components"})
# Clients with no `closed` / `is_closed()` / `_closed`: Dynamiq's generic `ensure_client()`
# never finds them closed, so it never replaces them (boto3 and Google Cloud's gRPC clients).
NO_CLOSED_STATE = ("boto3.", "botocore.", "google.cloud.", "google.ai.", "grpc.")
BOTO3_SESSIONS = frozenset({"boto3.Session", "boto3.session.Session"})


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
    reported. Nor are clients with no closed state (boto3 clients, Google Cloud's gRPC
    clients: `ensure_client()` never finds them closed, so it never replaces them), seen in
    the assignment or in what the node's own method that builds the client returns; nodes
    that rebuild their client themselves once it is gone (`if self.client is None: self.client
    = ...` in a method that runs after initialisation, as browser tools do after `close()`);
    and test doubles (see CON002). A client of another SDK is reported unless it is known to
    have no closed state.
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
        if not inherits_generic_ensure_client(self.model, node) or is_test_double(self.model, node):
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
    annotation without a value counts: it declares the node's own client), unless every such
    client has no closed state or the node rebuilds its client itself once it is gone."""
    first: str | None = None
    values: list[ast.AST] = []
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
            if not any(is_instance_attribute(t, this, "client") for t in assigned_targets(node)):
                continue
            if statement.name not in INIT_HOOKS and _guarded_by_missing_client(model, node, this):
                return None  # it rebuilds the client itself when `close()` dropped it
            first = first or statement.name
            values.append(node.value if node.value is not None else node)
    if first is None or all(_has_no_closed_state(model, cls, value) for value in values):
        return None
    return first


def _guarded_by_missing_client(model: Model, node: ast.AST, this: str) -> bool:
    """`node` runs under `if <this>.client is None:` or `if not <this>.client:`."""
    for owner in model.ancestors(node):
        if isinstance(owner, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return False
        if isinstance(owner, ast.If) and _tests_missing_client(owner.test, this):
            return True
    return False


def _tests_missing_client(test: ast.expr, this: str) -> bool:
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return is_instance_attribute(test.operand, this, "client")
    return (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Is)
        and is_instance_attribute(test.left, this, "client")
        and _is_none(test.comparators[0])
    )


def _has_no_closed_state(model: Model, cls: ast.ClassDef, value: ast.AST, depth: int = 0) -> bool:
    """The value is a client with no closed state for `ensure_client()` to find (a boto3
    client, a Google Cloud gRPC client), directly or as what a method of `cls` returns."""
    if depth > 2:
        return False
    if isinstance(value, ast.Name):
        assigned = single_binding_value(model, value)
        return assigned is not None and _has_no_closed_state(model, cls, assigned, depth + 1)
    if not isinstance(value, ast.Call):
        return False
    method = _own_method(model, cls, value)
    if method is not None:
        returned = [
            node.value
            for node in block_nodes(method.body)
            if isinstance(node, ast.Return) and node.value is not None
        ]
        return bool(returned) and all(
            _has_no_closed_state(model, cls, item, depth + 1) for item in returned
        )
    if _is_boto3_session_client(model, value):
        return True
    names = model.qualified_names(value.func)
    return bool(names) and all(name.startswith(NO_CLOSED_STATE) for name in names)


def _own_method(
    model: Model, cls: ast.ClassDef, call: ast.Call
) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The method of `cls` that `self.<name>()` calls (from a method of `cls`)."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
        return None
    caller = model.function_of(call)
    if not isinstance(caller, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    if instance_name(model, caller) != func.value.id:
        return None
    return find_method(cls, func.attr)


def _is_boto3_session_client(model: Model, call: ast.Call) -> bool:
    """`<session>.client("s3")` / `.resource(...)` on a boto3 session: `boto3.Session(...)`,
    or a value a `*boto3_session*()` call returned."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr in ("client", "resource")):
        return False
    receiver: ast.AST | None = func.value
    if isinstance(receiver, ast.Name):
        receiver = single_binding_value(model, receiver)
    if not isinstance(receiver, ast.Call):
        return False
    names = model.qualified_names(receiver.func)
    if names & BOTO3_SESSIONS:
        return True
    callee = receiver.func
    return isinstance(callee, ast.Attribute) and "boto3_session" in callee.attr
