"""Connection lifecycle rules: Dynamiq nodes and flows that lose or duplicate their manager."""

from __future__ import annotations

import ast
from collections.abc import Iterator

import libcst as cst
from libcst.metadata import (
    ParentNodeProvider,
    PositionProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

from flowfix.detector import Detector
from flowfix.detectors.connections import SKIPPED_FUNCTIONS, instance_name
from flowfix.prefilter import FileView, call_name
from flowfix.rules import FixSafety, Severity
from flowfix.semantics import (
    INIT_METHODS,
    PER_CALL_METHODS,
    MetadataReader,
    decorator_names,
    find_method,
    is_cached_function,
    method_class,
    own_nodes,
    parent,
    qualified_names,
    scope_owner,
)

DEPENDENCIES = (PositionProvider, ParentNodeProvider, QualifiedNameProvider, ScopeProvider)
# Dynamiq's `ConnectionNode` and its subclass in the same module, whose `ensure_client()` only
# knows how to rebuild the client the connection manager makes.
CONNECTION_NODES = frozenset({"ConnectionNode", "VectorStoreNode"})
# Recognised by name when an import cannot be resolved (relative imports, star imports).
NODE_NAMES = frozenset({"Node", *CONNECTION_NODES})
MANAGER_CLIENT_CALLS = frozenset({"get_connection_client", "get_async_connection_client"})
FLOW_MODULES = ("dynamiq.flows.", "dynamiq.workflow.")
FLOW_SUFFIXES = ("Flow", "Workflow")
STATIC_DECORATORS = frozenset(
    {"staticmethod", "classmethod", "builtins.staticmethod", "builtins.classmethod"}
)
MAX_DEPTH = 10
RUN_METHODS = PER_CALL_METHODS | {"run_sync", "run_async"}


# --- Dynamiq classes as far as this module shows them ------------------------------------------


def _base_names(reader: MetadataReader, base: cst.Arg) -> set[str]:
    """What a base expression refers to: qualified names, else the name as written."""
    names = qualified_names(reader, base.value)
    if names:
        return names
    dotted = cst.helpers.get_full_name_for_node(base.value)
    return {dotted} if dotted else set()


def _local_class(reader: MetadataReader, base: cst.Arg) -> cst.ClassDef | None:
    """The class of this module that `base` names, if that is all it can be."""
    if not isinstance(base.value, cst.Name):
        return None
    scope = reader.get_metadata(ScopeProvider, base.value, None)
    if scope is None:
        return None
    assignments = list(scope[base.value.value])  # type: ignore[index]
    node = getattr(assignments[0], "node", None) if len(assignments) == 1 else None
    return node if isinstance(node, cst.ClassDef) else None


def lineage(
    reader: MetadataReader, cls: cst.ClassDef, depth: int = 0
) -> Iterator[cst.ClassDef | str]:
    """`cls`, then its ancestors: classes of this module, or the names of imported ones."""
    yield cls
    if depth >= MAX_DEPTH:
        return
    for base in cls.bases:
        if base.keyword is not None:
            continue
        local = _local_class(reader, base)
        if local is not None and local is not cls:
            yield from lineage(reader, local, depth + 1)
        elif local is None:
            yield from sorted(_base_names(reader, base))


def _unresolved(name: str) -> bool:
    """A relative import or a name bound nowhere in the module: only its spelling is known."""
    return name.startswith(".") or "." not in name


def is_dynamiq_node_name(name: str) -> bool:
    """A Dynamiq node class (every one of them has `init_components`), mixins excluded."""
    last = name.rsplit(".", 1)[-1]
    if name.startswith("dynamiq.nodes."):
        return not last.endswith("Mixin")
    return _unresolved(name) and last in NODE_NAMES


def is_connection_node_name(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    return last in CONNECTION_NODES and (name.startswith("dynamiq.") or _unresolved(name))


def is_dynamiq_node_class(reader: MetadataReader, cls: cst.ClassDef) -> bool:
    """`cls` derives, directly or through classes of this module, from a Dynamiq node."""
    return any(
        isinstance(ancestor, str) and is_dynamiq_node_name(ancestor)
        for ancestor in lineage(reader, cls)
    )


def inherits_generic_ensure_client(reader: MetadataReader, cls: cst.ClassDef) -> bool:
    """A `ConnectionNode` subclass that neither it nor a class of this module in between
    gives its own `ensure_client()`."""
    for ancestor in lineage(reader, cls):
        if isinstance(ancestor, str):
            if is_connection_node_name(ancestor):
                return True
        elif find_method(ancestor, "ensure_client") is not None:
            return False
    return False


def is_flow_class(reader: MetadataReader, cls: cst.ClassDef) -> bool:
    """A Dynamiq `Flow`/`Workflow` (resolved through its bases) or a class named like one."""
    if cls.name.value.endswith(FLOW_SUFFIXES):
        return True
    return any(
        name.startswith(FLOW_MODULES) or name == "dynamiq.Workflow"
        for base in cls.bases
        for name in _base_names(reader, base)
    )


# --- statements in a method ---------------------------------------------------------------------


def _assigned_targets(statement: cst.CSTNode | None) -> list[cst.BaseExpression]:
    """Targets of an assignment (tuple targets unpacked), else []."""
    targets: list[cst.BaseExpression]
    if isinstance(statement, cst.Assign):
        targets = [target.target for target in statement.targets]
    elif isinstance(statement, (cst.AnnAssign, cst.AugAssign)):
        targets = [statement.target]
    else:
        return []
    flat: list[cst.BaseExpression] = []
    while targets:
        target = targets.pop()
        if isinstance(target, (cst.Tuple, cst.List)):
            targets.extend(element.value for element in target.elements)
        else:
            flat.append(target)
    return flat


def _is_self_attribute(target: cst.BaseExpression, this: str, attr: str) -> bool:
    return (
        isinstance(target, cst.Attribute)
        and isinstance(target.value, cst.Name)
        and target.value.value == this
        and target.attr.value == attr
    )


def stores_attribute(func: cst.FunctionDef, this: str, attr: str) -> bool:
    """`<this>.<attr> = ...` somewhere in `func`'s own body."""
    return any(
        _is_self_attribute(target, this, attr)
        for node in own_nodes(func.body)
        for target in _assigned_targets(node)
    )


def calls_base_init_components(func: cst.FunctionDef, this: str | None) -> bool:
    """`super().init_components(...)`, `super(C, self).init_components(...)` or an explicit
    `SomeBase.init_components(self, ...)` in `func`'s own body."""
    for node in own_nodes(func.body):
        if not (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "init_components"
        ):
            continue
        receiver = node.func.value
        if (
            isinstance(receiver, cst.Call)
            and cst.helpers.get_full_name_for_node(receiver.func) == "super"
        ):
            return True
        first = node.args[0].value if node.args else None
        if isinstance(first, cst.Name) and first.value == this:
            return True
    return False


def rebinds(func: cst.FunctionDef, name: str) -> bool:
    """`name` is assigned to in `func`'s own body."""
    return any(
        isinstance(target, cst.Name) and target.value == name
        for node in own_nodes(func.body)
        for target in _assigned_targets(node)
    )


def _is_none(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def _from_connection_manager(value: cst.BaseExpression | None) -> bool:
    """`<manager>.get_connection_client(...)`: the client `ensure_client()` itself rebuilds."""
    return (
        isinstance(value, cst.Call)
        and isinstance(value.func, cst.Attribute)
        and value.func.attr.value in MANAGER_CLIENT_CALLS
    )


def custom_client_method(reader: MetadataReader, cls: cst.ClassDef) -> str | None:
    """The first method of `cls` that sets `self.client` to a client it builds itself."""
    for statement in cls.body.body:
        if not isinstance(statement, cst.FunctionDef):
            continue
        this = instance_name(reader, statement)
        if this is None:
            continue
        for node in own_nodes(statement.body):
            value = getattr(node, "value", None)
            if _is_none(value) or _from_connection_manager(value):
                continue
            if any(_is_self_attribute(t, this, "client") for t in _assigned_targets(node)):
                return statement.name.value
    return None


# --- the rules ----------------------------------------------------------------------------------


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
    `Base.init_components(self, ...)`) or store `self._connection_manager` are not reported.

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
    METADATA_DEPENDENCIES = DEPENDENCIES

    @classmethod
    def ast_candidate(cls, view: FileView) -> bool:
        return "init_components" in view.statements.functions

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.name.value != "init_components" or node.asynchronous is not None:
            return
        cls = method_class(self, node)
        if cls is None or not is_dynamiq_node_class(self, cls):
            return
        this = instance_name(self, node)
        if calls_base_init_components(node, this) or (
            this is not None and stores_attribute(node, this, "_connection_manager")
        ):
            return
        fix, note = self._fix_safety(node, this)
        self.report(node.name, fix=fix, note=note, cls=cls.name.value)

    def _fix_safety(self, func: cst.FunctionDef, this: str | None) -> tuple[FixSafety, str]:
        if this is None or decorator_names(self, func) & STATIC_DECORATORS:
            return FixSafety.NONE, "a static or class method cannot call `super()` this way"
        arguments = super_arguments(func)
        if arguments is None:
            return FixSafety.NONE, "the override takes no connection manager to pass on"
        params = func.params.params
        if len(params) > 1 and rebinds(func, params[1].name.value):
            return (
                FixSafety.UNSAFE,
                f"`{params[1].name.value}` is rebound in the override; the base class gets the "
                "value passed in",
            )
        if stores_attribute(func, this, "client"):
            return (
                FixSafety.UNSAFE,
                "the override sets `self.client`; the base class builds a client first",
            )
        return FixSafety.SAFE, ""


def super_arguments(func: cst.FunctionDef) -> str | None:
    """What the inserted `super().init_components(...)` passes on, None when nothing fits."""
    params = func.params
    if len(params.params) > 1:
        return params.params[1].name.value
    star = params.star_arg
    if isinstance(star, cst.Param):
        kwargs = params.star_kwarg
        return f"*{star.name.value}" + (f", **{kwargs.name.value}" if kwargs else "")
    return None


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
    CATEGORY = "connections"
    FIX = FixSafety.NONE
    FRAMEWORKS = ("dynamiq",)
    MESSAGE = "`{cls}` sets `self.client` in `{method}()` but does not override `ensure_client()`"
    TRIGGERS = ("ConnectionNode", "VectorStoreNode")
    METADATA_DEPENDENCIES = DEPENDENCIES

    @classmethod
    def ast_candidate(cls, view: FileView) -> bool:
        return any(
            isinstance(node, ast.Attribute)
            and node.attr == "client"
            and isinstance(node.ctx, ast.Store)
            for node in view.nodes_near(["client"], ast.Attribute)
        )

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if not inherits_generic_ensure_client(self, node):
            return
        method = custom_client_method(self, node)
        if method is not None:
            self.report(node.name, cls=node.name.value, method=method)


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
    `main`/`cli`, a cached function, or `test_*`) and not kept beyond the call (stored on an
    attribute or a global, returned); and a `Flow`/`Workflow` class (by its Dynamiq bases or
    its name) whose field or `__init__` creates one per instance. Other methods, such as
    helpers called from init hooks and the `manager or ConnectionManager()` fallback inside
    node init hooks (per node, not per run), are not reported.
    """

    CODE = "CON004"
    NAME = "connection-manager-per-instance"
    SEVERITY = Severity.OPTIMIZATION
    CATEGORY = "connections"
    FIX = FixSafety.NONE
    FRAMEWORKS = ("dynamiq",)
    MESSAGE = "A new `ConnectionManager` is created {when}; share one default manager"
    TRIGGERS = ("ConnectionManager",)
    METADATA_DEPENDENCIES = DEPENDENCIES

    @classmethod
    def ast_candidate(cls, view: FileView) -> bool:
        """Dynamiq is imported and a `ConnectionManager` is called or is a default factory."""
        if not view.imports("dynamiq"):
            return False
        aliases = view.statements.aliases
        for node in view.nodes_near(view.expand(["ConnectionManager"]), ast.Call, ast.keyword):
            if isinstance(node, ast.Call):
                name = call_name(node)
                if aliases.get(name, name) == "ConnectionManager":
                    return True
            elif isinstance(node, ast.keyword) and node.arg == "default_factory":
                value = node.value
                name = value.attr if isinstance(value, ast.Attribute) else getattr(value, "id", "")
                if aliases.get(name, name) == "ConnectionManager":
                    return True
        return False

    def visit_Call(self, node: cst.Call) -> None:
        if not self._is_manager(node.func):
            return
        owner = scope_owner(self, node)
        if isinstance(owner, cst.Lambda):
            cls = self._flow_field_class(owner)
            if cls is not None:
                self.report(node, when=f"for every `{cls.name.value}` instance")
            return
        if not isinstance(owner, cst.FunctionDef):
            return
        cls = method_class(self, owner)
        if cls is not None and is_flow_class(self, cls) and owner.name.value in INIT_METHODS:
            if not self._kept_globally(node, owner):
                self.report(node, when=f"for every `{cls.name.value}` instance")
            return
        if self._runs_per_call(owner) and not self._is_kept(node, owner):
            self.report(node, when=f"on every call of `{owner.name.value}()`")

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is None or node.keyword.value != "default_factory":
            return
        if not self._is_manager(node.value):
            return
        call = parent(self, node)
        cls = self._flow_field_class(call) if isinstance(call, cst.Call) else None
        if cls is not None:
            self.report(node.value, when=f"for every `{cls.name.value}` instance")

    def _is_manager(self, node: cst.BaseExpression) -> bool:
        names = qualified_names(self, node)
        return bool(names) and all(
            name.startswith("dynamiq.") and name.endswith(".ConnectionManager") for name in names
        )

    def _flow_field_class(self, node: cst.CSTNode) -> cst.ClassDef | None:
        """The Flow class whose field default `node` (a lambda or `Field(...)` call) is."""
        current = parent(self, node)
        while isinstance(current, (cst.Arg, cst.Call)):
            current = parent(self, current)
        if not isinstance(current, (cst.AnnAssign, cst.Assign)):
            return None
        statement = parent(self, current)
        block = parent(self, statement) if statement is not None else None
        cls = parent(self, block) if block is not None else None
        if isinstance(cls, cst.ClassDef) and is_flow_class(self, cls):
            return cls
        return None

    def _runs_per_call(self, func: cst.FunctionDef) -> bool:
        """A run method (`execute`, `run`, `run_sync`, ...) or a module function that is not an
        entry point, test or cached function (nested defs: their outermost function)."""
        outermost, current = func, scope_owner(self, func)
        while isinstance(current, (cst.FunctionDef, cst.Lambda)):
            if isinstance(current, cst.FunctionDef):
                outermost = current
            current = scope_owner(self, current)
        if is_cached_function(self, func) or is_cached_function(self, outermost):
            return False
        name = outermost.name.value
        if method_class(self, outermost) is not None:
            return name in RUN_METHODS
        return not name.startswith("test_") and name not in SKIPPED_FUNCTIONS

    def _is_kept(self, node: cst.Call, func: cst.FunctionDef) -> bool:
        """Returned, yielded, or stored on an attribute or a global: lives beyond the call."""
        current = parent(self, node)
        while isinstance(current, (cst.BooleanOperation, cst.IfExp)):
            current = parent(self, current)
        if isinstance(current, (cst.Return, cst.Yield)):
            return True
        if any(isinstance(t, (cst.Attribute, cst.Subscript)) for t in _assigned_targets(current)):
            return True
        return self._kept_globally(node, func)

    def _kept_globally(self, node: cst.Call, func: cst.FunctionDef) -> bool:
        """Assigned to a name declared `global`/`nonlocal` in `func` (a lazy singleton)."""
        current = parent(self, node)
        while isinstance(current, (cst.BooleanOperation, cst.IfExp)):
            current = parent(self, current)
        names = {t.value for t in _assigned_targets(current) if isinstance(t, cst.Name)}
        if not names:
            return False
        return any(
            isinstance(statement, (cst.Global, cst.Nonlocal))
            and names & {item.name.value for item in statement.names}
            for statement in own_nodes(func.body)
        )
