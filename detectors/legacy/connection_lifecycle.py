"""Connection lifecycle rules: Dynamiq nodes and flows that lose or duplicate their manager."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator

import libcst as cst
from libcst.metadata import PositionProvider

from flowfix.detectors.legacy.connections import (
    SKIPPED_FUNCTIONS,
    ast_cached,
    ast_dotted,
)
from flowfix.libcst_detector import LibcstDetector as Detector
from flowfix.parents import ParentProvider
from flowfix.prefilter import FUNCTION_DEFS, FileView, call_name, innermost
from flowfix.reduction import Sites
from flowfix.rules import FixSafety, Severity
from flowfix.scope import ScopeProvider
from flowfix.semantics import (
    INIT_METHODS,
    PER_CALL_METHODS,
    MetadataReader,
    is_cached_function,
    method_class,
    own_nodes,
    parent,
    qualified_names,
    scope_owner,
)

DEPENDENCIES = (PositionProvider, ParentProvider, ScopeProvider)
# Dynamiq's `ConnectionNode` and its subclass in the same module, whose `ensure_client()` only
# knows how to rebuild the client the connection manager makes.
CONNECTION_NODES = frozenset({"ConnectionNode", "VectorStoreNode"})
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


# --- the AST prefilters' view (over-approximations) ---------------------------------------------


def ast_own_nodes(
    view: FileView, words: Iterable[str], *types: type[ast.AST]
) -> Iterator[tuple[ast.AST, ast.stmt]]:
    """(node, its statement) for nodes of `types` that run in the body of the function around
    their statement (as `own_nodes` sees it): in statements on the lines of `words`, but not in
    a def's or class's header, nor inside a lambda."""
    for statement in view.near(words):
        if isinstance(statement, (*FUNCTION_DEFS, ast.ClassDef)):
            continue
        stack: list[ast.AST] = [statement]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Lambda):
                continue
            if isinstance(node, types):
                yield node, statement  # type: ignore[misc]
            for _, value in ast.iter_fields(node):
                if isinstance(value, ast.AST):
                    stack.append(value)
                elif isinstance(value, list) and value and not isinstance(value[0], ast.stmt):
                    if not isinstance(value[0], (ast.excepthandler, ast.match_case)):
                        stack.extend(item for item in value if isinstance(item, ast.AST))


def ast_function_of(view: FileView, statement: ast.AST) -> tuple[list[ast.AST], int] | None:
    """(the chain of statements around `statement`, the index of its innermost def), when the
    innermost def or class around it is a def."""
    chain = view.enclosing(statement.lineno)  # type: ignore[attr-defined]
    index = innermost(chain)
    if index is None or not isinstance(chain[index], FUNCTION_DEFS):
        return None
    return chain, index


def ast_targets(statement: ast.AST) -> list[ast.expr]:
    """Targets of an assignment statement, tuples and lists unpacked (not starred ones)."""
    if isinstance(statement, ast.Assign):
        targets = list(statement.targets)
    elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
        targets = [statement.target]
    else:
        return []
    flat: list[ast.expr] = []
    while targets:
        target = targets.pop()
        if isinstance(target, (ast.Tuple, ast.List)):
            targets.extend(target.elts)
        else:
            flat.append(target)
    return flat


def _ast_dynamiq_flow_names(view: FileView) -> set[str]:
    """Names that may refer to a Dynamiq flow class or a module holding one: those imported
    from `dynamiq`, `dynamiq.flows*` or `dynamiq.workflow*`, and `import dynamiq...` names."""
    names: set[str] = set()
    for node in view.nodes_near(["dynamiq"], ast.Import, ast.ImportFrom):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 0 and (
                module == "dynamiq" or module.startswith(("dynamiq.flows", "dynamiq.workflow"))
            ):
                names.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(
                alias.asname or alias.name.split(".", 1)[0]
                for alias in node.names
                if alias.name.startswith("dynamiq")
            )
    return names


def _ast_flow_class(cls: ast.AST, flow_names: set[str]) -> bool:
    """Could `is_flow_class` hold: named like a flow, or a base spelled from a name that may
    refer to Dynamiq's flows."""
    if not isinstance(cls, ast.ClassDef):
        return False
    if cls.name.endswith(FLOW_SUFFIXES):
        return True
    roots = {ast_dotted(base).split(".", 1)[0] for base in cls.bases}
    return bool(roots & (flow_names | {"dynamiq"}))


def _ast_field_of_flow(chain: list[ast.AST], flow_names: set[str]) -> bool:
    """The innermost statement is an assignment directly in a possible flow class's body."""
    return (
        len(chain) >= 2
        and isinstance(chain[-1], (ast.Assign, ast.AnnAssign))
        and _ast_flow_class(chain[-2], flow_names)
    )


def _ast_imported(view: FileView, func: ast.expr) -> bool:
    """Could `func` have a qualified name starting with `dynamiq.`: its root name is bound by
    an import (libcst does not resolve star imports), or is `dynamiq`, or a scope of the
    module is named so (local names are qualified by their scopes)."""
    root = ast_dotted(func).split(".")[0]
    if not root or root == "dynamiq":
        return True
    for node in view.nodes_near([root], ast.Import, ast.ImportFrom):
        for alias in node.names:  # type: ignore[attr-defined]
            if (alias.asname or alias.name.split(".")[0]) == root:
                return True
    return any(
        getattr(node, "name", None) == "dynamiq"
        for node in view.nodes_near(["dynamiq"], *FUNCTION_DEFS, ast.ClassDef)
    )


def _ast_direct(value: ast.AST | None, call: ast.Call) -> bool:
    """`value` is `call`, possibly as an operand of `or`/`and`/`... if ... else ...`."""
    if value is call:
        return True
    if isinstance(value, ast.BoolOp):
        return any(_ast_direct(item, call) for item in value.values)
    if isinstance(value, ast.IfExp):
        return any(_ast_direct(item, call) for item in (value.test, value.body, value.orelse))
    return False


def _ast_kept(view: FileView, statement: ast.AST, call: ast.Call, func: ast.AST) -> bool:
    """`_is_kept` surely holds: returned, yielded, stored on an attribute or item, or bound
    to a name `func` declares `global`/`nonlocal`."""
    if isinstance(statement, ast.Return) and _ast_direct(statement.value, call):
        return True
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Yield):
        if _ast_direct(statement.value.value, call):
            return True
    value = getattr(statement, "value", None)
    if not isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        return False
    if not _ast_direct(value, call):
        return False
    targets = ast_targets(statement)
    if any(isinstance(t, (ast.Attribute, ast.Subscript)) for t in targets):
        return True
    names = {t.id for t in targets if isinstance(t, ast.Name)}
    if not names:
        return False
    for declaration in view.nodes_near(sorted(names), ast.Global, ast.Nonlocal):
        assert isinstance(declaration, (ast.Global, ast.Nonlocal))
        found = ast_function_of(view, declaration)
        if found is not None and found[0][found[1]] is func and names & set(declaration.names):
            return True
    return False


def _ast_manager_call_reported(view: FileView, call: ast.Call, flow_names: set[str]) -> bool:
    """Could `ConnectionManagerPerInstance.visit_Call` report `call` (a manager constructor)."""
    chain = view.enclosing(call.lineno)
    index = innermost(chain)
    if index is None:
        return False
    owner = chain[index]
    if isinstance(owner, ast.ClassDef):  # a lambda in a flow class field, else nothing
        return index == len(chain) - 2 and _ast_field_of_flow(chain, flow_names)
    scopes = [i for i, s in enumerate(chain[: index + 1]) if isinstance(s, ast.ClassDef)]
    first = scopes[-1] + 1 if scopes else 0
    outer = next(i for i in range(first, index + 1) if isinstance(chain[i], FUNCTION_DEFS))
    outermost = chain[outer]
    cls = chain[outer - 1] if outer > 0 else None
    assert isinstance(owner, FUNCTION_DEFS) and isinstance(outermost, FUNCTION_DEFS)
    if outer == index and owner.name in INIT_METHODS and _ast_flow_class(cls, flow_names):
        return True  # an init method of a flow class (over-approximated: kept or not)
    if ast_cached(owner) or ast_cached(outermost):
        return False
    if isinstance(cls, ast.ClassDef):
        if outermost.name not in RUN_METHODS:
            return False
    elif outermost.name.startswith("test_") or outermost.name in SKIPPED_FUNCTIONS:
        return False
    return not _ast_kept(view, chain[-1], call, owner)


# --- the rules ----------------------------------------------------------------------------------


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

    REACH = "function"

    @classmethod
    def ast_candidate(cls, view: FileView) -> Sites:
        """Dynamiq is imported; each `ConnectionManager` (by an import: `_is_manager` needs
        a qualified name from `dynamiq`) call in a run method or module
        function that does not keep it (returned, stored on an attribute or a global), in an
        init method of a possible flow class, or in a field default of one; each
        `default_factory=ConnectionManager` field default of a possible flow class."""
        if not view.imports("dynamiq"):
            return False
        sites: list[ast.AST] = []
        aliases = view.statements.aliases
        flow_names = _ast_dynamiq_flow_names(view)
        for node in view.nodes_near(view.expand(["ConnectionManager"]), ast.Call, ast.keyword):
            if isinstance(node, ast.Call):
                name = call_name(node)
                if aliases.get(name, name) == "ConnectionManager" or name == "ConnectionManager":
                    if _ast_imported(view, node.func) and _ast_manager_call_reported(
                        view, node, flow_names
                    ):
                        sites.append(node)
            elif isinstance(node, ast.keyword) and node.arg == "default_factory":
                value = node.value
                name = value.attr if isinstance(value, ast.Attribute) else getattr(value, "id", "")
                if aliases.get(name, name) == "ConnectionManager" or name == "ConnectionManager":
                    chain = view.enclosing(node.value.lineno)
                    if _ast_imported(view, value) and _ast_field_of_flow(chain, flow_names):
                        sites.append(node)
        return sites

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
