"""MEM001: a node's `post()` appends to a shared-store list that nothing trims, and where
the fix trims it."""

from __future__ import annotations

import ast
from dataclasses import astuple, dataclass
from typing import Any

from flowfix.analysis import Model
from flowfix.analysis.arguments import first_argument_value
from flowfix.analysis.excerpts import code_excerpt, source_text
from flowfix.analysis.frameworks import framework_of, methods
from flowfix.analysis.model import FUNCTIONS, LOOPS, FunctionNode, walk
from flowfix.analysis.statement_lines import (
    COMPOUND_STATEMENTS,
    containing_body,
    in_one_line_body,
    line_end,
)
from flowfix.analysis.values import (
    assigned_value,
    block_nodes,
    bound_names,
    local_bindings,
    own_nodes,
    statement_targets,
)
from flowfix.detector import Detector
from flowfix.detectors.dag.graph import GraphReader, NodeKey
from flowfix.detectors.memory.state_stores import STATE_NAMES, store_parameter
from flowfix.rules import FixSafety, OptIn, Severity

GROW_METHODS = frozenset({"append", "extend"})
# Words of a counter of the flow's rounds, and of the limit it is compared with.
ROUND_WORDS = frozenset(
    {
        "step",
        "steps",
        "round",
        "rounds",
        "cycle",
        "cycles",
        "loop",
        "loops",
        "iteration",
        "iterations",
        "turn",
        "turns",
        "pass",
        "passes",
        "hop",
        "hops",
    }
)
LIMIT_WORDS = frozenset({"max", "limit", "maximum"})
# Methods that run a flow (a Python loop around them runs its nodes again and again).
FLOW_RUNS = frozenset({"run", "run_async", "_run", "_run_async"})
SHRINK_METHODS = frozenset({"pop", "popleft", "clear", "remove"})
# Keys the fix can repeat: literals, names and attributes (libcst's SimpleString, Integer,
# Name (True/False/None included) and Attribute).
REPEATABLE_CONSTANTS = (str, bytes, int, bool, type(None))


@dataclass(frozen=True)
class Append:
    """`<store>[<key>].append(...)` or `<store>.setdefault(<key>, []).append(...)`."""

    call: ast.Call
    key: ast.expr


def key_id(key: ast.AST) -> str:
    """Identity of a subscript key: its syntax tree (literal values included)."""
    return ast.dump(key)


def _single_index(node: ast.Subscript) -> ast.expr | None:
    """The index of `x[index]` (not a slice, not `x[a, b]`)."""
    index = node.slice
    if isinstance(index, ast.Slice):
        return None
    if isinstance(index, ast.Tuple) and not _parenthesized(index):
        return None
    return index


def _parenthesized(node: ast.Tuple) -> bool:
    if not node.elts:
        return True
    first = node.elts[0]
    return (node.lineno, node.col_offset) < (first.lineno, first.col_offset)


def _has_slice(node: ast.Subscript) -> bool:
    index = node.slice
    if isinstance(index, ast.Slice):
        return True
    return (
        isinstance(index, ast.Tuple)
        and not _parenthesized(index)
        and any(isinstance(element, ast.Slice) for element in index.elts)
    )


def _store_key(store: str, node: ast.AST) -> ast.expr | None:
    """`key` when `node` is `store[key]`."""
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        if node.value.id == store:
            return _single_index(node)
    return None


def _setdefault_key(store: str, node: ast.AST) -> ast.expr | None:
    """`key` when `node` is `store.setdefault(key, ...)`."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "setdefault"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == store
    ):
        return first_argument_value(node)
    return None


def _limits_length(node: ast.AST) -> bool:
    """A slice or a `maxlen=` below `node`."""
    return any(
        isinstance(child, ast.Slice) or (isinstance(child, ast.keyword) and child.arg == "maxlen")
        for child in own_nodes(node)
    )


def store_appends(func: FunctionNode, store: str) -> dict[str, list[Append]]:
    """Appends to lists held in the store, grouped by key, in source order."""
    found: dict[str, list[Append]] = {}
    for node in block_nodes(func.body):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in GROW_METHODS
        ):
            holder = node.func.value
            key = _store_key(store, holder)
            if key is None and not _limits_length(holder):
                key = _setdefault_key(store, holder)
            if key is not None:
                found.setdefault(key_id(key), []).append(Append(node, key))
    for appends in found.values():
        appends.sort(key=lambda a: (a.call.lineno, a.call.col_offset))
    return found


def _accessed_key(store: str, node: ast.AST) -> ast.expr | None:
    """`key` when `node` is `store[key]`, `store.setdefault(key, ...)` or `store.get(key...)`."""
    key = _store_key(store, node)
    if (
        key is None
        and isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == store
    ):
        return first_argument_value(node)
    return key if key is not None else _setdefault_key(store, node)


class ListAccess:
    """Recognises the list at `store[key]`, directly or through a local alias."""

    def __init__(self, func: FunctionNode, store: str, key: str) -> None:
        self.store, self.key = store, key
        self.aliases: set[str] = set()
        for node in block_nodes(func.body):
            if isinstance(node, ast.Assign) and self(node.value):
                for target in node.targets:
                    self.aliases |= bound_names(target)

    def __call__(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.aliases
        found = _accessed_key(self.store, node)
        return found is not None and key_id(found) == self.key

    def reads_in(self, root: ast.AST) -> bool:
        return any(isinstance(node, ast.expr) and self(node) for node in (root, *own_nodes(root)))


def _under_store_test(model: Model, node: ast.AST, store: str) -> bool:
    """`node` runs under an `if` whose test reads the store (`if "k" not in shared:`)."""
    for current in model.ancestors(node):
        if isinstance(current, FUNCTIONS):
            return False
        if isinstance(current, ast.If) and store in _names(current.test):
            return True
    return False


def _names(node: ast.AST) -> set[str]:
    """Every plain name below `node`, read or bound (libcst's `read_names`)."""
    return {child.id for child in ast.walk(node) if isinstance(child, ast.Name)}


def is_bounded(
    model: Model, func: FunctionNode, store: str, key: str, *, measured: bool = True
) -> bool:
    """The method trims, pops, deletes, slices, resets or (when `measured`) measures the list
    at `store[key]`."""
    access = ListAccess(func, store, key)
    for node in block_nodes(func.body):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = statement_targets(node)
            for target in targets:
                if (
                    isinstance(target, ast.Subscript)
                    and access(target.value)
                    and _has_slice(target)
                ):
                    return True  # slice assignment
                if access(target) and (
                    _limits_length(node.value)
                    or (
                        not access.reads_in(node.value)
                        and not _under_store_test(model, node, store)
                    )
                ):
                    return True  # trimmed, or reset on every run
        elif isinstance(node, ast.Delete) and len(node.targets) == 1:
            deleted = node.targets[0]
            if access(deleted) or (isinstance(deleted, ast.Subscript) and access(deleted.value)):
                return True
        elif isinstance(node, ast.Call) and _shrinks(node, store, key, access, measured):
            return True
    return False


def _shrinks(call: ast.Call, store: str, key: str, access: ListAccess, measured: bool) -> bool:
    """`lst.pop()`/`.clear()`/..., `store.pop(key)`, or (when `measured`) `len(lst)`."""
    func = call.func
    first = first_argument_value(call)
    if isinstance(func, ast.Attribute) and func.attr in SHRINK_METHODS:
        if access(func.value):
            return True
        return (
            func.attr == "pop"
            and isinstance(func.value, ast.Name)
            and func.value.id == store
            and first is not None
            and key_id(first) == key
        )
    return (
        measured
        and isinstance(func, ast.Name)
        and func.id == "len"
        and first is not None
        and access(first)
    )


def _store_parameters(model: Model, func: FunctionNode) -> list[str]:
    """The parameters of a node hook that hold the shared store: `post`'s store parameter,
    or any parameter named like the run state (`shared`, `state`, ...)."""
    found = [store] if (store := store_parameter(model, func)) is not None else []
    params = [*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs]
    return found + [p.arg for p in params if p.arg in STATE_NAMES and p.arg not in found]


class ModuleBounds:
    """What the module's other code does to the shared store's lists: which keys some node
    trims, pops or resets, and whether a node ends the flow's loop after a number of rounds
    (`if shared["round"] >= MAX_ROUNDS: return "finish"`)."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.hooks: list[tuple[FunctionNode, str]] = []
        self.step_limit: ast.Compare | None = None
        for cls in model.tree.body:
            if not isinstance(cls, ast.ClassDef) or framework_of(model, cls) is None:
                continue
            for func in methods(cls).values():
                self.hooks += [(func, store) for store in _store_parameters(model, func)]
                if self.step_limit is None:
                    self.step_limit = _step_limit(func)
        self._trimmed: dict[str, bool] = {}

    def trimmed(self, key: str, appender: FunctionNode) -> bool:
        """Another hook of the module trims, pops, deletes or resets `<store>[key]`."""
        if key not in self._trimmed:
            self._trimmed[key] = any(
                func is not appender and is_bounded(self.model, func, store, key, measured=False)
                for func, store in self.hooks
            )
        return self._trimmed[key]


class _ClassGraph(GraphReader):
    """The module's flow wiring, with the class of each node it wires."""

    def __init__(self, model: Model) -> None:
        super().__init__(model)
        self.classes: dict[NodeKey, str] = {}

    def named_node(self, name: ast.Name) -> NodeKey | None:
        key = super().named_node(name)
        if key is not None and key not in self.classes:
            value = assigned_value(self.model, self.model.bindings_of(name)[0].node)
            call = self.constructor(value)
            cls = self.class_name(call.func) if call is not None else None
            if cls is not None:
                self.classes[key] = cls
        return key

    def call(self, call: ast.Call) -> NodeKey | None:
        key = super().call(call)
        cls = self.class_name(call.func)
        if key is not None and cls is not None:
            self.classes.setdefault(key, cls)
        return key


class FlowLoops:
    """Which node classes the module constructs, and which of them its own wiring runs more
    than once per flow run: on a cycle of `>>` / `.next()` edges, or in a flow that the module
    runs inside a Python loop (`while True: flow.run(shared)`). `unknown`: some `>>` links
    objects the module does not show to be nodes, so its loops cannot be told; `escapes`: a
    function returns a flow or node it built, to be run elsewhere (maybe in a loop)."""

    def __init__(self, model: Model) -> None:
        reader = _ClassGraph(model)
        self.constructed: set[str] = set()
        self.reruns = False
        self.escapes = False
        for node in walk(model.tree):
            if isinstance(node, (ast.Expr, ast.Assign, ast.AnnAssign, ast.Return)):
                if node.value is not None:
                    reader.read(node, node.value)
                if isinstance(node, ast.Return) and node.value is not None:
                    handed_on = node.value
                    values = handed_on.elts if isinstance(handed_on, ast.Tuple) else [handed_on]
                    self.escapes |= any(reader.node(value) is not None for value in values)
            elif isinstance(node, ast.Call):
                if isinstance(node.func, ast.Name):
                    self.constructed.add(node.func.id)
                elif (
                    isinstance(node.func, ast.Attribute)
                    and node.func.attr in FLOW_RUNS
                    and model.iteration_loop(node) is not None
                ):
                    self.reruns = True
        self.unknown = any(
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.RShift)
            and not _wires_known_nodes(reader, node)
            for node in walk(model.tree)
        )
        following: dict[NodeKey, set[NodeKey]] = {}
        for edge in reader.graph.edges:
            following.setdefault(edge.source, set()).add(edge.target)
        self.looping = {
            reader.classes[key]
            for key in following
            if key in reader.classes and _on_cycle(key, following)
        }

    def runs_once(self, cls: ast.ClassDef) -> bool:
        """The module builds `cls` nodes and runs each once per flow run."""
        return (
            not self.reruns
            and not self.unknown
            and not self.escapes
            and cls.name in self.constructed
            and cls.name not in self.looping
        )


def _wires_known_nodes(reader: GraphReader, shift: ast.BinOp) -> bool:
    """Both ends of `a >> b` / `a - "action" >> b` are nodes the reader knows (a node class
    imported from a sibling script, say, is not: its edges, and loops, go unseen)."""
    left = shift.left
    if isinstance(left, ast.BinOp) and isinstance(left.op, ast.Sub):
        left = left.left
    return reader.node(left) is not None and reader.node(shift.right) is not None


def _on_cycle(start: NodeKey, following: dict[NodeKey, set[NodeKey]]) -> bool:
    seen: set[NodeKey] = set()
    stack = list(following.get(start, ()))
    while stack:
        key = stack.pop()
        if key == start:
            return True
        if key not in seen:
            seen.add(key)
            stack.extend(following.get(key, ()))
    return False


def _step_limit(func: FunctionNode) -> ast.Compare | None:
    """A comparison of a round counter with a limit in `func`: `step >= MAX_STEPS`,
    `shared["cycle"] >= max_cycles`, `loops >= 2`."""
    for node in block_nodes(func.body):
        if (
            isinstance(node, ast.Compare)
            and len(node.ops) == 1
            and isinstance(node.ops[0], (ast.Gt, ast.GtE, ast.Lt, ast.LtE))
        ):
            sides = [_words(node.left), _words(node.comparators[0])]
            limits = [isinstance(side, ast.Constant) for side in (node.left, *node.comparators)]
            for words, other, literal in (
                (sides[0], sides[1], limits[1]),
                (sides[1], sides[0], limits[0]),
            ):
                if words & ROUND_WORDS and (literal or other & LIMIT_WORDS):
                    return node
    return None


def _words(node: ast.expr) -> set[str]:
    """The lowercase words of the name an operand reads: `MAX_STEPS` → {max, steps},
    `shared["loop_count"]` / `shared.get("loop_count", 0)` → {loop, count}."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        node = node.args[0] if node.func.attr == "get" and node.args else node.func
    if isinstance(node, ast.Subscript):
        node = node.slice
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        name = node.value
    elif isinstance(node, ast.Attribute):
        name = node.attr
    elif isinstance(node, ast.Name):
        name = node.id
    else:
        return set()
    return set(name.lower().split("_"))


def _is_line(model: Model, statement: ast.stmt) -> bool:
    """A simple statement on its own line (possibly with `;` siblings), not a one-line body."""
    return not isinstance(statement, COMPOUND_STATEMENTS) and not in_one_line_body(model, statement)


def _anchor(model: Model, append: Append, func: FunctionNode) -> ast.AST:
    """The statement after which the trim goes: the outermost loop of the method around the
    append, else the append's own statement line (the call itself when it has none)."""
    anchor: ast.AST = append.call
    for current in model.ancestors(append.call):
        if current is func:
            break
        if isinstance(current, LOOPS):
            anchor = current
        elif (
            isinstance(current, ast.stmt)
            and not isinstance(anchor, LOOPS)
            and _is_line(model, current)
        ):
            anchor = current
    return anchor


@dataclass(frozen=True)
class TrimPlan:
    """The rewrite: insert `store[key] = store[key][-N:]` after `anchor` in its block, under
    `if key in store:` when `guard` (a loop that may not run left the key unset)."""

    anchor: ast.stmt
    store: str
    key: ast.expr
    guard: bool

    def data(self, model: Model) -> dict[str, Any]:
        """What the codemod needs: where (the anchor's span; for a simple statement, the
        last statement of its line), what (the store and the key's source) and the guard."""
        anchor = self.anchor if isinstance(self.anchor, LOOPS) else line_end(model, self.anchor)
        return {
            "anchor": list(astuple(model.span(anchor))),
            "store": self.store,
            "key": source_text(model, self.key, line_ends_as_written=True),
            "guard": self.guard,
        }


def _sets_key(model: Model, store: str, key: str, statement: ast.stmt) -> bool:
    """`statement` leaves `store[key]` set: it reads or assigns `store[key]`, calls
    `store.setdefault(key, ...)`, or is `if ... not in store: store[key] = ...`."""
    if isinstance(statement, ast.If) and not statement.orelse:
        return not in_one_line_body(model, statement.body[0]) and any(
            _sets_key(model, store, key, inner) for inner in statement.body
        )
    if isinstance(statement, COMPOUND_STATEMENTS):
        return False
    for node in own_nodes(statement):
        if isinstance(node, ast.expr):
            found = _store_key(store, node) or _setdefault_key(store, node)
            if found is not None and key_id(found) == key:
                return True
    return False


def _repeatable(key: ast.expr) -> bool:
    if isinstance(key, ast.Constant):
        return type(key.value) in REPEATABLE_CONSTANTS
    return isinstance(key, (ast.Name, ast.Attribute))


def trim_plan(
    model: Model, func: FunctionNode, store: str, appends: list[Append]
) -> TrimPlan | str:
    """Where the trim goes for these appends (same key), or why no fix is offered."""
    key = appends[0].key
    if not _repeatable(key):
        return "the key is computed; trim the list by hand"
    anchors = [_anchor(model, append, func) for append in appends]
    blocks = {id(containing_body(model, anchor)) for anchor in anchors}
    last = anchors[-1]
    if (
        len(blocks) > 1
        or not all(isinstance(anchor, ast.stmt) for anchor in anchors)
        or not isinstance(last, ast.stmt)
    ):
        return "the list grows in several blocks or on a one-line block; trim it once by hand"
    if isinstance(last, LOOPS):
        changing = {name for names, _ in local_bindings(last) for name in names}
        if isinstance(last, (ast.For, ast.AsyncFor)):
            changing |= bound_names(last.target)
        if _names(key) & changing:
            return "the key changes inside the loop"
    block = containing_body(model, last)
    assert block is not None
    before = block[: next(i for i, s in enumerate(block) if s is last)]
    guard = isinstance(last, LOOPS) and not any(
        _sets_key(model, store, key_id(key), statement) for statement in before
    )
    return TrimPlan(last, store, key, guard)


class UnboundedSharedStore(Detector):
    """A node's `post()` appends to a list in the shared store that nothing ever trims.

    ## Why is this bad?
    PocketFlow, KayGraph and pflow keep the shared store for the whole flow run, and loops
    (chat turns, agent steps, batch flows) run the same node again and again. A list that
    `post()` extends on every run grows without bound: memory, prompt sizes built from it
    and the cost of copying the store all grow with the run. The KayGraph performance guide
    lists this as pitfall 1 ("Shared Store Bloat: accumulating data without cleanup") and
    keeps only the last 1000 results.

    ## Example
    ```python
    from pocketflow import Node


    class Chat(Node):
        def post(self, shared, prep_res, exec_res):
            shared.setdefault("history", []).append(exec_res)
            return "continue"
    ```

    ## Use instead
    ```python
    from pocketflow import Node


    class Chat(Node):
        def post(self, shared, prep_res, exec_res):
            shared.setdefault("history", []).append(exec_res)
            shared["history"] = shared["history"][-1000:]
            return "continue"
    ```

    ## Fix safety
    Unsafe: `shared[key] = shared[key][-N:]` is inserted after the last append to that key
    (after the outermost loop of the method when the append is inside one), with `N` from
    the `shared-store-bound` setting (default 1000). Older entries are dropped, so code that
    reads the whole history, counts it or indexes it from the start sees less, and other
    references to the old list no longer see new items. No fix is offered when the key is
    computed, when the appends to one key sit in different blocks or on a one-line block,
    or when the key changes inside the loop. A method that already trims, pops, deletes,
    slices, measures (`len(...)`) or resets the list, or uses a `deque(maxlen=...)`, is not
    reported.

    Nor is a list the module bounds elsewhere: another node's hook trims, pops, deletes or
    resets it (a chat-memory node that archives the oldest turns, a compaction node that
    replaces the history with its summary), or a node ends the flow's loop after a number of
    rounds (`if shared["step"] >= MAX_STEPS`, `shared["cycle"] >= max_cycles`,
    `loops >= 2`: a round counter compared with a limit). And when the module builds the
    node and wires its flows itself, the node must run more than once per flow run: sit on a
    cycle of `>>`/`.next()` edges, or be in a flow the module runs in a Python loop; a node
    that runs once per run (or per item of a batch flow) collects that run's output, which is
    as long as its input.

    ## Metric to monitor
    Peak memory of a flow run and the length of the shared-store lists over a long session.

    ## Limitations
    Only `post`/`post_async` of PocketFlow/KayGraph/pflow nodes are checked, and only
    appends through the store parameter (`shared[key].append(...)`,
    `shared.setdefault(key, []).append(...)`). Bounds and wiring are read in the node's own
    module: a bound applied by a node of another module (cookbook apps keep nodes in
    `nodes.py` and wire them in `flow.py`) is not seen, and when a module wires node classes
    it imports from a sibling script, their loops cannot be told, so nothing is assumed. The
    step limit is recognised by its words, for the whole module.
    """

    CODE = "MEM001"
    NAME = "unbounded-shared-store"
    SEVERITY = Severity.OPTIMIZATION
    OPT_IN = OptIn.CONTEXT
    WHY_NOT_DEFAULT = (
        "on real code the lists were trimmed by another node or bounded by a step limit, "
        "which one `post()` does not show"
    )
    CATEGORY = "memory"
    FIX = FixSafety.UNSAFE
    FRAMEWORKS = ("pocketflow", "kaygraph", "pflow")
    MESSAGE = "`{store}[{key}]` grows on every run of `{function}()` and is never trimmed"
    TRIGGERS = ("append", "extend")
    NEEDS = "post"  # a node's `post()` / `post_async()` (POST_METHODS)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._check(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._check(node)

    _bounds: ModuleBounds | None = None
    _loops: FlowLoops | None = None

    def _check(self, func: FunctionNode) -> None:
        store = store_parameter(self.model, func)
        if store is None:
            return
        for key, appends in store_appends(func, store).items():
            if is_bounded(self.model, func, store, key):
                continue
            if self._bounds is None:
                self._bounds = ModuleBounds(self.model)
            if self._bounds.step_limit is not None or self._bounds.trimmed(key, func):
                continue
            if self._loops is None:
                self._loops = FlowLoops(self.model)
            cls = self.model.class_of(func)
            if cls is not None and self._loops.runs_once(cls):
                continue
            plan = trim_plan(self.model, func, store, appends)
            if isinstance(plan, str):
                fix, note, data = FixSafety.NONE, plan, None
            else:
                fix, note, data = FixSafety.UNSAFE, "", plan.data(self.model)
            self.report(
                appends[0].call,
                fix=fix,
                note=note,
                data=data,
                store=store,
                key=code_excerpt(self.model, appends[0].key),
                function=func.name,
            )
