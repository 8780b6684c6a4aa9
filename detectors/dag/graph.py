"""The graph a module wires between framework nodes: `a >> b`, `a - "action" >> b`, `a.next(b)`,
`flow.start(a)`, Dynamiq's `depends=[...]`, `.depends_on(...)` and `NodeDependency(...)`."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from flowfix.analysis import Model
from flowfix.analysis.frameworks import PLAIN_FRAMEWORK_PREFIXES, framework_of
from flowfix.analysis.names import full_name
from flowfix.analysis.values import assigned_value
from flowfix.detectors.vector.names import resolved_names

NODE_SUFFIXES = ("Node", "Flow")
DEPENDS_KEYWORDS = frozenset({"depends", "depends_on"})
# Methods of framework nodes that return the node itself (Dynamiq's builder style).
SELF_RETURNING = frozenset({"inputs", "depends_on", "enable_streaming"})
NodeKey = tuple[str, int]  # (label, id of the binding or constructor call)
Argument = tuple[str | None, ast.expr]  # (keyword, value) of one argument


@dataclass(frozen=True)
class Edge:
    """`source` runs before `target`; `action` is set for a conditional (`a - "x" >> b`) edge."""

    source: NodeKey
    target: NodeKey
    action: str | None
    root: ast.stmt  # the statement whose value creates the edge
    depends: bool  # a Dynamiq dependency (`depends_on`, `NodeDependency`) rather than `>>`


@dataclass
class Graph:
    edges: list[Edge] = field(default_factory=list)

    def add(self, edge: Edge) -> None:
        """Add `edge` unless an edge with the same ends and action is already there."""
        if not any(
            (e.source, e.target, e.action) == (edge.source, edge.target, edge.action)
            for e in self.edges
        ):
            self.edges.append(edge)


def arguments(call: ast.Call) -> list[Argument]:
    """(keyword, value) of each argument in source order; `*x` and `**x` give `x` (with no
    keyword)."""
    nodes: list[ast.expr | ast.keyword] = [*call.args, *call.keywords]
    nodes.sort(key=lambda node: (node.lineno, node.col_offset))
    found: list[Argument] = []
    for node in nodes:
        if isinstance(node, ast.keyword):
            found.append((node.arg, node.value))
        else:
            found.append((None, node.value if isinstance(node, ast.Starred) else node))
    return found


def elements(value: ast.expr) -> list[ast.expr]:
    """The items of a list or tuple display (`*x` gives `x`)."""
    assert isinstance(value, (ast.List, ast.Tuple))
    return [e.value if isinstance(e, ast.Starred) else e for e in value.elts]


def string_label(node: ast.expr) -> str | None:
    """The text of a string (or bytes) literal used as an action label."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
        return str(node.value)
    return None


class GraphReader:
    """Reads the edges that statement-level expressions create, into one graph."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.graph = Graph()
        self.root: ast.stmt | None = None

    def read(self, statement: ast.stmt, value: ast.expr) -> None:
        self.root = statement
        self.node(value)

    def add(self, source: NodeKey, target: NodeKey, action: str | None, depends: bool) -> None:
        assert self.root is not None
        self.graph.add(Edge(source, target, action, self.root, depends))

    # --- which expressions are nodes ---------------------------------------------------

    def class_name(self, func: ast.expr) -> str | None:
        """The class a constructor call `func(...)` builds, when it is a framework node
        class."""
        short = (full_name(func) or "").rsplit(".", 1)[-1]
        if not short[:1].isupper():
            return None
        prefixes = (*PLAIN_FRAMEWORK_PREFIXES, "dynamiq.")
        if any(name.startswith(prefixes) for name in resolved_names(self.model, func)):
            return short
        if short.endswith(NODE_SUFFIXES):
            return short
        cls = self.local_class(func)
        return short if cls is not None and framework_of(self.model, cls) is not None else None

    def local_class(self, func: ast.expr) -> ast.ClassDef | None:
        """The class `func` names when its only binding is a class statement."""
        if not isinstance(func, ast.Name):
            return None
        bindings = self.model.bindings_of(func)
        if len(bindings) != 1 or not isinstance(bindings[0].node, ast.ClassDef):
            return None
        return bindings[0].node

    def constructor(self, node: ast.AST | None) -> ast.Call | None:
        """The node constructor call behind `X(...)` or `X(...).inputs(...).depends_on(...)`."""
        while isinstance(node, ast.Call):
            if self.class_name(node.func) is not None:
                return node
            func = node.func
            if not (isinstance(func, ast.Attribute) and func.attr in SELF_RETURNING):
                return None
            node = func.value
        return None

    def named_node(self, name: ast.Name) -> NodeKey | None:
        """A name bound exactly once, to a node constructor call."""
        bindings = self.model.bindings_of(name)
        if len(bindings) != 1:
            return None
        value = assigned_value(self.model, bindings[0].node)
        if value is None or self.constructor(value) is None:
            return None
        return (name.id, id(bindings[0]))

    def binding_of(self, expression: ast.expr) -> NodeKey | None:
        """The node key of `name = <expression>` when `expression` is a whole assignment
        value."""
        owner = self.model.parent(expression)
        target: ast.expr | None = None
        if isinstance(owner, ast.Assign) and len(owner.targets) == 1:
            target = owner.targets[0]
        elif isinstance(owner, ast.AnnAssign):
            target = owner.target
        return self.named_node(target) if isinstance(target, ast.Name) else None

    def is_node_dependency(self, call: ast.Call) -> bool:
        names = resolved_names(self.model, call.func) or {full_name(call.func) or ""}
        return any(name.rsplit(".", 1)[-1] == "NodeDependency" for name in names)

    # --- reading ------------------------------------------------------------------------

    def node(self, expression: ast.expr) -> NodeKey | None:
        """The node `expression` evaluates to, adding the edges it creates on the way."""
        if isinstance(expression, ast.Name):
            return self.named_node(expression)
        if isinstance(expression, ast.BinOp) and isinstance(expression.op, ast.RShift):
            return self.shift(expression)
        if isinstance(expression, ast.Call):
            return self.call(expression)
        return None

    def shift(self, expression: ast.BinOp) -> NodeKey | None:
        target = self.node(expression.right)
        left, action = expression.left, None
        if isinstance(left, ast.BinOp) and isinstance(left.op, ast.Sub):
            label = string_label(left.right)
            if label is not None:
                left, action = left.left, label
        source = self.node(left)
        if source is not None and target is not None:
            self.add(source, target, action, depends=False)
        return target

    def call(self, call: ast.Call) -> NodeKey | None:
        func = call.func
        args = arguments(call)
        cls = self.class_name(func)
        if cls is not None:
            node = self.binding_of(call) or (f"{cls}()", id(call))
            self.constructor_arguments(args, node)
            return node
        if not isinstance(func, ast.Attribute) or not args:
            return None
        method = func.attr
        if method == "start" and len(args) == 1:  # `flow.start(node)` returns the node
            return self.node(args[0][1])
        if method == "next":
            return self.next_call(args, func)
        if method in SELF_RETURNING:
            return self.builder_call(call, args, func)
        return None

    def next_call(self, args: list[Argument], func: ast.Attribute) -> NodeKey | None:
        """`a.next(b)` / `a.next(b, "action")`: an edge, evaluating to `b`."""
        target = self.node(args[0][1])
        source = self.node(func.value)
        action = args[1][1] if len(args) > 1 else None
        label = string_label(action) if action is not None else None
        if source is not None and target is not None and (action is None or label):
            self.add(source, target, label, depends=False)
        return target

    def builder_call(
        self, call: ast.Call, args: list[Argument], func: ast.Attribute
    ) -> NodeKey | None:
        """`node.inputs(...)`, `node.depends_on(a)`: the node itself, plus dependency edges."""
        receiver = self.node(func.value)
        node = self.binding_of(call) or receiver
        if func.attr == "depends_on" and node is not None:
            for upstream in self.upstream(args[0][1]):
                self.add(upstream, node, None, depends=True)
        return node

    def upstream(self, value: ast.expr) -> list[NodeKey]:
        """Nodes in `a`, `[a, b]`, `[NodeDependency(a)]`, `[NodeDependency(node=a)]`."""
        items = elements(value) if isinstance(value, (ast.List, ast.Tuple)) else [value]
        nodes: list[NodeKey] = []
        for item in items:
            if isinstance(item, ast.Call) and self.is_node_dependency(item):
                found = next((v for k, v in arguments(item) if k is None or k == "node"), None)
                item = found if found is not None else item
            node = self.node(item)
            if node is not None:
                nodes.append(node)
        return nodes

    def constructor_arguments(self, args: list[Argument], node: NodeKey) -> None:
        """Edges from `depends=[...]`, and from node constructors nested in list arguments."""
        for keyword, value in args:
            if keyword is not None and keyword in DEPENDS_KEYWORDS:
                for upstream in self.upstream(value):
                    self.add(upstream, node, None, depends=True)
            elif isinstance(value, (ast.List, ast.Tuple)):
                for element in elements(value):
                    if isinstance(element, ast.Call):
                        self.node(element)


def linear_chains(graph: Graph) -> list[list[Edge]]:
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
