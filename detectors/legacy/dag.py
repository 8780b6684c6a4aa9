"""DAG rules: graph shapes and node settings that serialize or delay a flow."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import Assignment, PositionProvider, Scope

from flowfix.libcst_detector import LibcstDetector as Detector
from flowfix.parents import ParentProvider
from flowfix.prefilter import FileView, innermost
from flowfix.reduction import Sites
from flowfix.rules import Severity
from flowfix.scope import ScopeProvider
from flowfix.semantics import (
    PLAIN_FRAMEWORK_PREFIXES,
    MetadataReader,
    assigned_value,
    framework_of,
    parent,
    qualified_names,
    scope_owner,
)

DEPENDENCIES = (PositionProvider, ParentProvider, ScopeProvider)
FRAMEWORKS = ("dynamiq", "pocketflow", "kaygraph", "pflow")
NODE_SUFFIXES = ("Node", "Flow")
DEPENDS_KEYWORDS = frozenset({"depends", "depends_on"})
# Methods of framework nodes that return the node itself (Dynamiq's builder style).
SELF_RETURNING = frozenset({"inputs", "depends_on", "enable_streaming"})
NodeKey = tuple[str, int]  # (label, id of the binding or constructor call)


@dataclass(frozen=True)
class Edge:
    """`source` runs before `target`; `action` is set for a conditional (`a - "x" >> b`) edge."""

    source: NodeKey
    target: NodeKey
    action: str | None
    root: cst.CSTNode  # the statement-level expression that creates the edge
    depends: bool  # a Dynamiq dependency (`depends_on`, `NodeDependency`) rather than `>>`


def _class_name(reader: MetadataReader, func: cst.BaseExpression) -> str | None:
    """The class a constructor call `func(...)` builds, when it is a framework node class."""
    names = qualified_names(reader, func)
    dotted = cst.helpers.get_full_name_for_node(func)
    short = (dotted or "").rsplit(".", 1)[-1]
    if not short[:1].isupper():
        return None
    if any(name.startswith((*PLAIN_FRAMEWORK_PREFIXES, "dynamiq.")) for name in names):
        return short
    if short.endswith(NODE_SUFFIXES):
        return short
    local = _local_class(reader, func)
    return short if local is not None and framework_of(reader, local) is not None else None


def _local_class(reader: MetadataReader, func: cst.BaseExpression) -> cst.ClassDef | None:
    if not isinstance(func, cst.Name):
        return None
    scope = reader.get_metadata(ScopeProvider, func, None)
    if not isinstance(scope, Scope):
        return None
    bindings = list(scope[func.value])
    if len(bindings) != 1 or not isinstance(bindings[0], Assignment):
        return None
    node = bindings[0].node
    return node if isinstance(node, cst.ClassDef) else None


def _constructor(reader: MetadataReader, node: cst.BaseExpression) -> cst.Call | None:
    """The node constructor call behind `X(...)` or `X(...).inputs(...).depends_on(...)`."""
    while isinstance(node, cst.Call):
        if _class_name(reader, node.func) is not None:
            return node
        func = node.func
        if not (isinstance(func, cst.Attribute) and func.attr.value in SELF_RETURNING):
            return None
        node = func.value
    return None


def _named_node(reader: MetadataReader, name: cst.Name) -> NodeKey | None:
    """A name bound exactly once, to a node constructor call."""
    scope = reader.get_metadata(ScopeProvider, name, None)
    if not isinstance(scope, Scope):
        return None
    bindings = list(scope[name.value])
    if len(bindings) != 1 or not isinstance(bindings[0], Assignment):
        return None
    value = assigned_value(reader, bindings[0].node)
    if value is None or _constructor(reader, value) is None:
        return None
    return (name.value, id(bindings[0]))


def _binding_of(reader: MetadataReader, expression: cst.CSTNode) -> NodeKey | None:
    """The node key of `name = <expression>` when `expression` is a whole assignment value."""
    owner = parent(reader, expression)
    target: cst.BaseExpression | None = None
    if isinstance(owner, cst.Assign) and len(owner.targets) == 1:
        target = owner.targets[0].target
    elif isinstance(owner, cst.AnnAssign):
        target = owner.target
    return _named_node(reader, target) if isinstance(target, cst.Name) else None


@dataclass
class _Graph:
    edges: list[Edge] = field(default_factory=list)

    def add(self, edge: Edge) -> None:
        if not any(
            (e.source, e.target, e.action) == (edge.source, edge.target, edge.action)
            for e in self.edges
        ):
            self.edges.append(edge)


class _EdgeReader:
    """Reads the edges one statement-level graph expression creates."""

    def __init__(self, reader: MetadataReader, graph: _Graph, root: cst.CSTNode) -> None:
        self.reader, self.graph, self.root = reader, graph, root

    def node(self, expression: cst.BaseExpression) -> NodeKey | None:
        """The node `expression` evaluates to, adding the edges it creates on the way."""
        if isinstance(expression, cst.Name):
            return _named_node(self.reader, expression)
        if isinstance(expression, cst.BinaryOperation) and isinstance(
            expression.operator, cst.RightShift
        ):
            return self.shift(expression)
        if isinstance(expression, cst.Call):
            return self.call(expression)
        return None

    def shift(self, expression: cst.BinaryOperation) -> NodeKey | None:
        target = self.node(expression.right)
        left, action = expression.left, None
        if isinstance(left, cst.BinaryOperation) and isinstance(left.operator, cst.Subtract):
            label = left.right
            if isinstance(label, cst.SimpleString):
                left, action = left.left, str(label.evaluated_value)
        source = self.node(left)
        if source is not None and target is not None:
            self.graph.add(Edge(source, target, action, self.root, depends=False))
        return target

    def call(self, call: cst.Call) -> NodeKey | None:
        func = call.func
        cls = _class_name(self.reader, func)
        if cls is not None:
            node = _binding_of(self.reader, call) or (f"{cls}()", id(call))
            self.arguments(call, node)
            return node
        if not isinstance(func, cst.Attribute) or not call.args:
            return None
        method = func.attr.value
        if method == "start" and len(call.args) == 1:  # `flow.start(node)` returns the node
            return self.node(call.args[0].value)
        if method == "next":
            return self.next_call(call, func)
        if method in SELF_RETURNING:
            return self.builder_call(call, func)
        return None

    def next_call(self, call: cst.Call, func: cst.Attribute) -> NodeKey | None:
        """`a.next(b)` / `a.next(b, "action")`: an edge, evaluating to `b`."""
        target = self.node(call.args[0].value)
        source = self.node(func.value)
        action = call.args[1].value if len(call.args) > 1 else None
        label = str(action.evaluated_value) if isinstance(action, cst.SimpleString) else None
        if source is not None and target is not None and (action is None or label):
            self.graph.add(Edge(source, target, label, self.root, depends=False))
        return target

    def builder_call(self, call: cst.Call, func: cst.Attribute) -> NodeKey | None:
        """`node.inputs(...)`, `node.depends_on(a)`: the node itself, plus dependency edges."""
        receiver = self.node(func.value)
        node = _binding_of(self.reader, call) or receiver
        if func.attr.value == "depends_on" and node is not None:
            for upstream in self.upstream(call.args[0].value):
                self.graph.add(Edge(upstream, node, None, self.root, depends=True))
        return node

    def upstream(self, value: cst.BaseExpression) -> list[NodeKey]:
        """Nodes in `a`, `[a, b]`, `[NodeDependency(a)]`, `[NodeDependency(node=a)]`."""
        items = (
            [element.value for element in value.elements]
            if isinstance(value, (cst.List, cst.Tuple))
            else [value]
        )
        nodes: list[NodeKey] = []
        for item in items:
            if isinstance(item, cst.Call) and _is_node_dependency(self.reader, item):
                arg = next(
                    (a for a in item.args if a.keyword is None or a.keyword.value == "node"), None
                )
                item = arg.value if arg is not None else item
            node = self.node(item)
            if node is not None:
                nodes.append(node)
        return nodes

    def arguments(self, call: cst.Call, node: NodeKey) -> None:
        """Edges from `depends=[...]`, and from node constructors nested in list arguments."""
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value in DEPENDS_KEYWORDS:
                for upstream in self.upstream(arg.value):
                    self.graph.add(Edge(upstream, node, None, self.root, depends=True))
            elif isinstance(arg.value, (cst.List, cst.Tuple)):
                for element in arg.value.elements:
                    if isinstance(element.value, cst.Call):
                        self.node(element.value)


def _is_node_dependency(reader: MetadataReader, call: cst.Call) -> bool:
    names = qualified_names(reader, call.func) or {
        cst.helpers.get_full_name_for_node(call.func) or ""
    }
    return any(name.rsplit(".", 1)[-1] == "NodeDependency" for name in names)


def linear_chains(graph: _Graph) -> list[list[Edge]]:
    """Maximal paths whose every link is the only way out of its source and into its target,
    without a conditional action."""
    outgoing: dict[NodeKey, list[Edge]] = {}
    incoming: dict[NodeKey, list[Edge]] = {}
    for edge in graph.edges:
        outgoing.setdefault(edge.source, []).append(edge)
        incoming.setdefault(edge.target, []).append(edge)

    def link(edge: Edge) -> bool:
        return (
            edge.action is None
            and len(outgoing[edge.source]) == 1
            and len(incoming[edge.target]) == 1
        )

    chains: list[list[Edge]] = []
    for edge in graph.edges:
        if not link(edge) or any(link(e) for e in incoming.get(edge.source, [])):
            continue
        chain, seen = [edge], {edge.source, edge.target}
        while (
            (nxt := outgoing.get(chain[-1].target)) and link(nxt[0]) and nxt[0].target not in seen
        ):
            chain.append(nxt[0])
            seen.add(nxt[0].target)
        chains.append(chain)
    return chains


# --- AST prefilter: `_EdgeReader` over CPython's AST, answering "may be a node" -----------------

FRAMEWORK_MODULES = (*PLAIN_FRAMEWORK_PREFIXES, "dynamiq")


def _ast_short(func: ast.expr) -> str:
    """The last name of `func` as `_class_name` computes it."""
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Call):
        return _ast_short(func.func)
    if isinstance(func, ast.Subscript):
        return _ast_short(func.value)
    return ""


def _ast_arguments(call: ast.Call) -> list[tuple[str | None, ast.expr]]:
    """(keyword, value) of each argument in source order, as libcst lists them."""
    items: list[tuple[str | None, ast.expr]] = [
        (None, arg.value if isinstance(arg, ast.Starred) else arg) for arg in call.args
    ]
    items += [(keyword.arg, keyword.value) for keyword in call.keywords]
    nodes = [*call.args, *call.keywords]
    order = sorted(range(len(nodes)), key=lambda i: (nodes[i].lineno, nodes[i].col_offset))
    return [items[i] for i in order]


class _AstEdgeReader:
    """An over-approximation of `_EdgeReader`: `node()` is True when libcst's may be a node,
    and `edge` turns True once an unconditional edge between two possible nodes is read."""

    def __init__(self, view: FileView) -> None:
        self.view = view
        self.edge = False
        # Qualified names starting with a framework's name: imports, and (local names are
        # qualified by their scopes, `pflow_demo.<locals>.Fetch`) defs and classes so named.
        prefixes = FRAMEWORK_MODULES
        self.framework = (
            any(module.startswith(prefixes) for module in view.statements.imported)
            or any(name.startswith(prefixes) for name in view.statements.functions)
            or any(
                isinstance(node, ast.ClassDef) and node.name.startswith(prefixes)
                for node in view.nodes_near([f"{p}*" for p in prefixes], ast.ClassDef)
            )
        )
        self._classes: dict[str, bool] = {}
        self._names: dict[str, bool] = {}

    def is_class(self, func: ast.expr) -> bool:
        short = _ast_short(func)
        if not short[:1].isupper():
            return False
        if self.framework or short.endswith(NODE_SUFFIXES):
            return True
        if short not in self._classes:
            self._classes[short] = any(
                isinstance(node, ast.ClassDef) and node.name == short
                for node in self.view.nodes_near([short], ast.ClassDef)
            )
        return self._classes[short]

    def constructor(self, value: ast.expr | None) -> bool:
        while isinstance(value, ast.Call):
            if self.is_class(value.func):
                return True
            func = value.func
            if not (isinstance(func, ast.Attribute) and func.attr in SELF_RETURNING):
                return False
            value = func.value
        return False

    def named(self, name: str) -> bool:
        """Some assignment binds `name` to a node constructor (`_named_node`'s forms)."""
        if name not in self._names:
            self._names[name] = False
            for node in self.view.nodes_near([name], ast.Assign, ast.AnnAssign):
                if isinstance(node, ast.Assign) and len(node.targets) == 1:
                    found = self._bound(name, node.targets[0], node.value)
                elif isinstance(node, ast.AnnAssign):
                    found = self._bound(name, node.target, node.value)
                else:
                    continue
                if found:
                    self._names[name] = True
                    break
        return self._names[name]

    def _bound(self, name: str, target: ast.expr, value: ast.expr | None) -> bool:
        if isinstance(target, ast.Name):
            return target.id == name and self.constructor(value)
        if (
            isinstance(target, (ast.Tuple, ast.List))
            and isinstance(value, (ast.Tuple, ast.List))
            and len(target.elts) == len(value.elts)
            and not any(isinstance(e, ast.Starred) for e in value.elts)
        ):
            return any(
                self._bound(name, t, v) for t, v in zip(target.elts, value.elts, strict=True)
            )
        return False

    def node(self, expression: ast.expr) -> bool:
        if isinstance(expression, ast.Name):
            return self.named(expression.id)
        if isinstance(expression, ast.BinOp) and isinstance(expression.op, ast.RShift):
            target = self.node(expression.right)
            left = expression.left
            labelled = isinstance(left, ast.BinOp) and isinstance(left.op, ast.Sub)
            if labelled:
                assert isinstance(left, ast.BinOp)
                left = left.left
            source = self.node(left)
            self.edge = self.edge or (source and target and not labelled)
            return target
        if isinstance(expression, ast.Call):
            return self.call(expression)
        return False

    def call(self, call: ast.Call) -> bool:
        func = call.func
        arguments = _ast_arguments(call)
        if self.is_class(func):
            for keyword, value in arguments:
                if keyword in DEPENDS_KEYWORDS:
                    if self.upstream(value):
                        self.edge = True
                elif isinstance(value, (ast.List, ast.Tuple)):
                    for element in value.elts:
                        if isinstance(element, ast.Call):
                            self.node(element)
            return True
        if not isinstance(func, ast.Attribute) or not arguments:
            return False
        method, first = func.attr, arguments[0][1]
        if method == "start" and len(arguments) == 1:
            return self.node(first)
        if method == "next":
            target, source = self.node(first), self.node(func.value)
            self.edge = self.edge or (source and target and len(arguments) == 1)
            return target
        if method in SELF_RETURNING:
            node = self.node(func.value)
            if method == "depends_on" and node and self.upstream(first):
                self.edge = True
            return node
        return False

    def upstream(self, value: ast.expr) -> bool:
        """Whether `value` may name an upstream node (`a`, `[a, b]`, `[NodeDependency(a)]`)."""
        items = list(value.elts) if isinstance(value, (ast.List, ast.Tuple)) else [value]
        found = False
        for item in items:
            if isinstance(item, ast.Starred):
                item = item.value
            if self.node(item):
                found = True
            elif isinstance(item, ast.Call):  # `NodeDependency(a)` / `NodeDependency(node=a)`
                found = (
                    any([self.node(v) for k, v in _ast_arguments(item) if k in (None, "node")])
                    or found
                )
        return found


class SequentialChain(Detector):
    """A long linear chain of nodes: each node waits for the previous one.

    ## Why is this bad?
    A flow's latency is the sum of the latencies along its longest path. In a chain
    `a >> b >> c >> d` (PocketFlow, KayGraph, pflow) or a Dynamiq `depends_on` chain, every
    node starts only after the previous one finished, even when it does not use that node's
    output; Dynamiq runs every node whose dependencies are met in parallel, so a dependency that
    is not really needed turns four one-second LLM calls into four seconds instead of one.
    Seed 001 (pitfall 3, "Inefficient Graph Structure") rewires such chains of independent
    tasks into a fan-out from a coordinator and a merge node; seed 000 §1 asks to review deep
    `depends_on()` chains.

    ## Example
    ```python
    from pocketflow import Flow, Node


    class Fetch(Node): ...
    class Summarize(Node): ...
    class Translate(Node): ...
    class Publish(Node): ...


    def build_flow():
        fetch, summarize, translate, publish = Fetch(), Summarize(), Translate(), Publish()
        fetch >> summarize >> translate >> publish
        return Flow(start=fetch)
    ```

    ## Use instead
    ```python
    from pocketflow import AsyncFlow, AsyncParallelBatchNode, Node


    class Fetch(Node): ...
    class SummarizeAndTranslate(AsyncParallelBatchNode): ...
    class Publish(Node): ...


    def build_flow():
        fetch, both, publish = Fetch(), SummarizeAndTranslate(), Publish()
        fetch >> both >> publish
        return AsyncFlow(start=fetch)
    ```

    ## Metric to monitor
    End-to-end flow latency against the sum of per-node latencies (p50/p95): a chain whose
    nodes are independent finishes in the time of its slowest node once parallelized.

    ## Limitations
    The rule sees the shape of the graph, not the data: a chain whose nodes really consume each
    other's output (load → chunk → embed → store) is reported too, as an opportunity to check,
    and `# noqa: DAG001` keeps it. Nodes are names bound once to a node constructor in this
    module (framework classes, local classes with framework bases or hooks, classes named
    `*Node`/`*Flow`); graphs built in loops, from parameters or across modules are not
    followed. A conditional edge (`a - "action" >> b`) or a node with several successors or
    predecessors ends a chain.
    """

    CODE = "DAG001"
    NAME = "sequential-chain"
    SEVERITY = Severity.OPTIMIZATION
    CATEGORY = "dag"
    FRAMEWORKS = FRAMEWORKS
    MESSAGE = (
        "sequential chain of {depth} nodes `{chain}`: each waits for the previous one; "
        "run independent nodes in parallel"
    )
    TRIGGERS = (">>", "depends", ".next(")
    METADATA_DEPENDENCIES = DEPENDENCIES

    REACH = "function"

    @classmethod
    def ast_candidate(cls, view: FileView) -> Sites:
        """Each statement (expression, assignment, return) whose value creates an unconditional
        edge between two possible nodes, read the way `_EdgeReader` reads it: every edge of a
        chain comes from one of them, and the names they read resolve in kept code."""
        words = ["*>>*", "next", *sorted(DEPENDS_KEYWORDS)]
        reader = _AstEdgeReader(view)
        sites: list[ast.AST] = []
        for statement in view.near(words):
            if isinstance(statement, (ast.Expr, ast.Assign, ast.AnnAssign, ast.Return)):
                if statement.value is not None:
                    reader.edge = False
                    reader.node(statement.value)
                    if reader.edge:
                        sites.append(statement)
        return sites

    def visit_Module(self, node: cst.Module) -> None:
        self.graph = _Graph()

    def visit_Expr(self, node: cst.Expr) -> None:
        _EdgeReader(self, self.graph, node).node(node.value)

    def visit_Assign(self, node: cst.Assign) -> None:
        _EdgeReader(self, self.graph, node).node(node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            _EdgeReader(self, self.graph, node).node(node.value)

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None:
            _EdgeReader(self, self.graph, node).node(node.value)

    def leave_Module(self, original_node: cst.Module) -> None:
        threshold = self.config.threshold("chain-length")
        for chain in linear_chains(self.graph):
            if len(chain) + 1 < threshold:
                continue
            arrow = " -> " if any(edge.depends for edge in chain) else " >> "
            labels = [chain[0].source[0], *(edge.target[0] for edge in chain)]
            self.report(chain[0].root, depth=len(labels), chain=arrow.join(labels))


POSTPONED = "is_postponed_component_init"


def _is_true(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == "True"


class PostponedComponentInit(Detector):
    """A Dynamiq node created with `is_postponed_component_init=True`.

    ## Why is this bad?
    A Dynamiq node normally runs `init_components()`, which creates its LLM, embedder or
    vector-store clients, once in its constructor. With `is_postponed_component_init=True` that
    work is deferred until the node is added to a `Flow` (`Flow.__init__` and `add_nodes` call
    `init_components(connection_manager)` for every postponed node). Building the flow, often
    done per request or per agent run, then pays for client and connection setup on the
    request path instead of once at startup (seed 000 §1: nodes "that could be
    pre-initialized").

    ## Example
    ```python
    from dynamiq.connections import OpenAI as OpenAIConnection
    from dynamiq.nodes.llms import OpenAI

    llm = OpenAI(
        connection=OpenAIConnection(),
        model="gpt-4o-mini",
        is_postponed_component_init=True,
    )
    ```

    ## Use instead
    ```python
    from dynamiq.connections import OpenAI as OpenAIConnection
    from dynamiq.nodes.llms import OpenAI

    llm = OpenAI(connection=OpenAIConnection(), model="gpt-4o-mini")
    ```

    ## Metric to monitor
    Time to first node execution and the number of client connections opened per request.

    ## Limitations
    Postponing is right when the node is built before its connection manager exists (the YAML
    loader does this and initializes the nodes right after); such a flag set through a dict
    (`data["is_postponed_component_init"] = True`) or a variable is not reported.
    """

    CODE = "DAG002"
    NAME = "postponed-component-init"
    SEVERITY = Severity.OPTIMIZATION
    CATEGORY = "dag"
    FRAMEWORKS = ("dynamiq",)
    MESSAGE = "`is_postponed_component_init=True` delays client creation to flow construction"
    TRIGGERS = (POSTPONED,)
    METADATA_DEPENDENCIES = (PositionProvider, ParentProvider)

    REACH = "function"

    @classmethod
    def ast_candidate(cls, view: FileView) -> Sites:
        """Each `is_postponed_component_init=True` keyword argument, and each assignment of
        `True` to an attribute or a class-level name of that name."""

        def true(node: ast.expr | None) -> bool:
            return isinstance(node, ast.Constant) and node.value is True

        def postponed(target: ast.expr, statement: ast.AST) -> bool:
            if isinstance(target, ast.Attribute):
                return target.attr == POSTPONED
            if not (isinstance(target, ast.Name) and target.id == POSTPONED):
                return False
            chain = view.enclosing(statement.lineno)  # type: ignore[attr-defined]
            index = innermost(chain)
            return index is not None and isinstance(chain[index], ast.ClassDef)

        sites: list[ast.AST] = []
        for node in view.nodes_near([POSTPONED], ast.keyword, ast.Assign, ast.AnnAssign):
            if isinstance(node, ast.keyword):
                if node.arg == POSTPONED and true(node.value):
                    sites.append(node)
            elif isinstance(node, ast.Assign):
                if true(node.value) and any(postponed(t, node) for t in node.targets):
                    sites.append(node)
            elif (
                isinstance(node, ast.AnnAssign)
                and true(node.value)
                and postponed(node.target, node)
            ):
                sites.append(node)
        return sites

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None and node.keyword.value == POSTPONED and _is_true(node.value):
            self.report(node)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if self._is_postponed_target(node.target) and _is_true(node.value):
            self.report(node)

    def visit_Assign(self, node: cst.Assign) -> None:
        if _is_true(node.value) and any(self._is_postponed_target(t.target) for t in node.targets):
            self.report(node)

    def _is_postponed_target(self, target: cst.BaseExpression) -> bool:
        """A class field `is_postponed_component_init` or `<node>.is_postponed_component_init`."""
        if isinstance(target, cst.Attribute):
            return target.attr.value == POSTPONED
        return (
            isinstance(target, cst.Name)
            and target.value == POSTPONED
            and isinstance(scope_owner(self, target), cst.ClassDef)
        )
