"""Memory rules: a shared store that only grows."""

from __future__ import annotations

import ast
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import PositionProvider

from flowfix.edits import code_excerpt
from flowfix.libcst_detector import LibcstDetector as Detector
from flowfix.parents import ParentProvider
from flowfix.prefilter import FUNCTION_DEFS, FileView, innermost
from flowfix.reduction import Sites
from flowfix.rules import FixSafety, Severity
from flowfix.scope import ScopeProvider
from flowfix.semantics import (
    PLAIN_FRAMEWORK_PREFIXES,
    PLAIN_NODE_HOOKS,
    MetadataReader,
    bound_names,
    method_class,
    method_names,
    names_bound_in,
    own_nodes,
    parent,
    qualified_names,
    read_names,
)

POST_METHODS = frozenset({"post", "post_async"})
GROW_METHODS = frozenset({"append", "extend"})
SHRINK_METHODS = frozenset({"pop", "popleft", "clear", "remove"})
PLAIN_FRAMEWORKS = ("pocketflow", "kaygraph", "pflow")


# --- MEM001 ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Append:
    """`<store>[<key>].append(...)` or `<store>.setdefault(<key>, []).append(...)`."""

    call: cst.Call
    key: cst.BaseExpression


def key_id(key: cst.BaseExpression) -> str:
    """Identity of a subscript key: string literals by value, anything else by its code."""
    if isinstance(key, cst.SimpleString):
        return repr(key.evaluated_value)
    return " ".join(cst.Module([]).code_for_node(key).split())


def store_parameter(reader: MetadataReader, func: cst.FunctionDef) -> str | None:
    """The shared-store parameter of a PocketFlow/KayGraph/pflow node's `post`/`post_async`.

    The class counts as such a node when a base resolves to one of those frameworks, when it
    also defines `prep`/`exec` hooks, or when the signature is `(self, shared, prep_res,
    exec_res)` (a `post` alone is too common a method name to be enough)."""
    cls = method_class(reader, func)
    params = [param.name.value for param in func.params.params]
    if func.name.value not in POST_METHODS or cls is None or len(params) < 4:
        return None
    bases = {name for base in cls.bases for name in qualified_names(reader, base.value)}
    if not (
        any(name.startswith(PLAIN_FRAMEWORK_PREFIXES) for name in bases)
        or method_names(cls) & (PLAIN_NODE_HOOKS - POST_METHODS)
        or params[1:4] == ["shared", "prep_res", "exec_res"]
    ):
        return None
    return params[1]


def _store_key(store: str, node: cst.BaseExpression) -> cst.BaseExpression | None:
    """`key` when `node` is `store[key]`."""
    if (
        isinstance(node, cst.Subscript)
        and isinstance(node.value, cst.Name)
        and node.value.value == store
        and len(node.slice) == 1
        and isinstance(node.slice[0].slice, cst.Index)
    ):
        return node.slice[0].slice.value
    return None


def _setdefault_key(store: str, node: cst.BaseExpression) -> cst.BaseExpression | None:
    """`key` when `node` is `store.setdefault(key, ...)`."""
    if (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "setdefault"
        and isinstance(node.func.value, cst.Name)
        and node.func.value.value == store
        and node.args
    ):
        return node.args[0].value
    return None


def store_appends(func: cst.FunctionDef, store: str) -> dict[str, list[Append]]:
    """Appends to lists held in the store, grouped by key, in source order."""
    found: dict[str, list[Append]] = {}
    for node in own_nodes(func.body):
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value in GROW_METHODS
        ):
            holder = node.func.value
            key = _store_key(store, holder)
            if key is None and not _limits_length(holder):
                key = _setdefault_key(store, holder)
            if key is not None:
                found.setdefault(key_id(key), []).append(Append(node, key))
    return found


def _accessed_key(store: str, node: cst.BaseExpression) -> cst.BaseExpression | None:
    """`key` when `node` is `store[key]`, `store.setdefault(key, ...)` or `store.get(key...)`."""
    key = _store_key(store, node)
    if (
        key is None
        and isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "get"
        and isinstance(node.func.value, cst.Name)
        and node.func.value.value == store
        and node.args
    ):
        return node.args[0].value
    return key if key is not None else _setdefault_key(store, node)


class _ListAccess:
    """Recognises the list at `store[key]`, directly or through a local alias."""

    def __init__(self, func: cst.FunctionDef, store: str, key: str) -> None:
        self.store, self.key = store, key
        self.aliases: set[str] = set()
        for node in own_nodes(func.body):
            if isinstance(node, cst.Assign) and self(node.value):
                for target in node.targets:
                    self.aliases |= bound_names(target.target)

    def __call__(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.Name):
            return node.value in self.aliases
        found = _accessed_key(self.store, node)
        return found is not None and key_id(found) == self.key

    def reads_in(self, root: cst.CSTNode) -> bool:
        return any(
            isinstance(node, cst.BaseExpression) and self(node) for node in (root, *own_nodes(root))
        )


def _limits_length(node: cst.CSTNode) -> bool:
    """A slice or a `maxlen=` below `node`."""
    return any(
        (isinstance(child, cst.SubscriptElement) and isinstance(child.slice, cst.Slice))
        or (
            isinstance(child, cst.Arg)
            and child.keyword is not None
            and child.keyword.value == "maxlen"
        )
        for child in own_nodes(node)
    )


def _under_store_test(reader: MetadataReader, node: cst.CSTNode, store: str) -> bool:
    """`node` runs under an `if` whose test reads the store (`if "k" not in shared:`)."""
    current = parent(reader, node)
    while current is not None and not isinstance(current, cst.FunctionDef):
        if isinstance(current, cst.If) and store in read_names(current.test):
            return True
        current = parent(reader, current)
    return False


def is_bounded(reader: MetadataReader, func: cst.FunctionDef, store: str, key: str) -> bool:
    """The method trims, pops, deletes, slices, measures or resets the list at `store[key]`."""
    access = _ListAccess(func, store, key)
    for node in own_nodes(func.body):
        if isinstance(node, (cst.Assign, cst.AnnAssign)) and node.value is not None:
            targets = (
                [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
            )
            for target in targets:
                if (
                    isinstance(target, cst.Subscript)
                    and access(target.value)
                    and any(isinstance(element.slice, cst.Slice) for element in target.slice)
                ):
                    return True  # slice assignment
                if access(target) and (
                    _limits_length(node.value)
                    or (
                        not access.reads_in(node.value)
                        and not _under_store_test(reader, node, store)
                    )
                ):
                    return True  # trimmed, or reset on every run
        elif isinstance(node, cst.Del):
            deleted = node.target
            if access(deleted) or (isinstance(deleted, cst.Subscript) and access(deleted.value)):
                return True
        elif isinstance(node, cst.Call) and _shrinks(node, store, key, access):
            return True
    return False


def _shrinks(call: cst.Call, store: str, key: str, access: _ListAccess) -> bool:
    """`lst.pop()`/`.clear()`/..., `store.pop(key)`, or `len(lst)`."""
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value in SHRINK_METHODS:
        if access(func.value):
            return True
        return (
            func.attr.value == "pop"
            and isinstance(func.value, cst.Name)
            and func.value.value == store
            and bool(call.args)
            and key_id(call.args[0].value) == key
        )
    return (
        isinstance(func, cst.Name)
        and func.value == "len"
        and bool(call.args)
        and access(call.args[0].value)
    )


def _anchor(reader: MetadataReader, append: Append, func: cst.FunctionDef) -> cst.CSTNode:
    """The statement after which the trim goes: the outermost loop of the method around the
    append, else the append's own line."""
    anchor: cst.CSTNode = append.call
    current = parent(reader, append.call)
    while current is not None and current is not func:
        if isinstance(current, (cst.For, cst.While)):
            anchor = current
        elif isinstance(current, cst.SimpleStatementLine) and not isinstance(
            anchor, (cst.For, cst.While)
        ):
            anchor = current
        current = parent(reader, current)
    return anchor


@dataclass(frozen=True)
class TrimPlan:
    """MEM001's rewrite: insert `store[key] = store[key][-N:]` after `anchor` in its block,
    under `if key in store:` when `guard` (a loop that may not run left the key unset)."""

    anchor: cst.BaseStatement
    store: str
    key: cst.BaseExpression
    guard: bool


def _sets_key(store: str, key: str, statement: cst.BaseStatement) -> bool:
    """`statement` leaves `store[key]` set: it reads or assigns `store[key]`, calls
    `store.setdefault(key, ...)`, or is `if ... not in store: store[key] = ...`."""
    if isinstance(statement, cst.If) and statement.orelse is None:
        body = statement.body
        return isinstance(body, cst.IndentedBlock) and any(
            _sets_key(store, key, inner) for inner in body.body
        )
    if not isinstance(statement, cst.SimpleStatementLine):
        return False
    return any(
        isinstance(node, cst.BaseExpression)
        and (found := _store_key(store, node) or _setdefault_key(store, node)) is not None
        and key_id(found) == key
        for node in own_nodes(statement)
    )


def trim_plan(
    reader: MetadataReader, func: cst.FunctionDef, store: str, appends: list[Append]
) -> TrimPlan | str:
    """Where the trim goes for these appends (same key), or why no fix is offered."""
    key = appends[0].key
    if not isinstance(key, (cst.SimpleString, cst.Integer, cst.Name, cst.Attribute)):
        return "the key is computed; trim the list by hand"
    anchors = [_anchor(reader, append, func) for append in appends]
    blocks = {id(parent(reader, anchor)) for anchor in anchors}
    last = anchors[-1]
    block = parent(reader, last)
    if len(blocks) > 1 or not isinstance(block, cst.IndentedBlock):
        return "the list grows in several blocks or on a one-line block; trim it once by hand"
    if not isinstance(last, cst.BaseStatement):
        return "the append is not a statement of its own"
    if isinstance(last, (cst.For, cst.While)) and read_names(key) & names_bound_in(last):
        return "the key changes inside the loop"
    before = list(block.body)[: next(i for i, s in enumerate(block.body) if s is last)]
    guard = isinstance(last, (cst.For, cst.While)) and not any(
        _sets_key(store, key_id(key), statement) for statement in before
    )
    return TrimPlan(last, store, key, guard)


# --- the rules --------------------------------------------------------------------------------


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

    ## Metric to monitor
    Peak memory of a flow run and the length of the shared-store lists over a long session.

    ## Limitations
    Only `post`/`post_async` of PocketFlow/KayGraph/pflow nodes are checked, and only
    appends through the store parameter (`shared[key].append(...)`,
    `shared.setdefault(key, []).append(...)`); a bound applied by another node is not seen.
    """

    CODE = "MEM001"
    NAME = "unbounded-shared-store"
    SEVERITY = Severity.OPTIMIZATION
    CATEGORY = "memory"
    FIX = FixSafety.UNSAFE
    FRAMEWORKS = PLAIN_FRAMEWORKS
    MESSAGE = "`{store}[{key}]` grows on every run of `{function}()` and is never trimmed"
    TRIGGERS = ("append", "extend")
    METADATA_DEPENDENCIES = (PositionProvider, ParentProvider, ScopeProvider)
    REACH = "function"

    @classmethod
    def ast_candidate(cls, view: FileView) -> Sites:
        """Each `<p>[key].append(...)` / `<p>.setdefault(key, ...).append(...)` in a `post`
        method (4+ parameters) of a class, `<p>` being its second parameter."""
        if view.statements.functions.isdisjoint(POST_METHODS):
            return False
        sites: list[ast.AST] = []
        for call in view.nodes_near(sorted(GROW_METHODS), ast.Call):
            assert isinstance(call, ast.Call)
            func = call.func
            if not (isinstance(func, ast.Attribute) and func.attr in GROW_METHODS):
                continue
            store = _ast_store_name(func.value)
            method = _ast_post_method(view.enclosing(call.lineno))
            if store is not None and method is not None and method.args.args[1].arg == store:
                sites.append(call)
        return sites

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        store = store_parameter(self, node)
        if store is None:
            return
        for key, appends in store_appends(node, store).items():
            if is_bounded(self, node, store, key):
                continue
            plan = trim_plan(self, node, store, appends)
            fix, note = (FixSafety.NONE, plan) if isinstance(plan, str) else (FixSafety.UNSAFE, "")
            self.report(
                appends[0].call,
                fix=fix,
                note=note,
                store=store,
                key=code_excerpt(appends[0].key),
                function=node.name.value,
            )


# --- AST prefilter helpers ------------------------------------------------------------------


def _ast_store_name(holder: ast.expr) -> str | None:
    """`p` when `holder` is `p[key]` or `p.setdefault(key, ...)`."""
    if isinstance(holder, ast.Subscript) and not isinstance(holder.slice, ast.Slice):
        value = holder.value
        return value.id if isinstance(value, ast.Name) else None
    if (
        isinstance(holder, ast.Call)
        and isinstance(holder.func, ast.Attribute)
        and holder.func.attr == "setdefault"
        and isinstance(holder.func.value, ast.Name)
        and (holder.args or holder.keywords)
    ):
        return holder.func.value.id
    return None


def _ast_post_method(chain: list[ast.AST]) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The innermost def of `chain` when it is a `post`/`post_async` method (directly in a class
    body) with 4+ parameters, of a class that could be a framework node."""
    index = innermost(chain, FUNCTION_DEFS)
    if index is None or index < 1:
        return None
    func, cls = chain[index], chain[index - 1]
    assert isinstance(func, FUNCTION_DEFS)
    if not isinstance(cls, ast.ClassDef) or func.name not in POST_METHODS:
        return None
    params = [arg.arg for arg in func.args.args]
    if len(params) < 4:
        return None
    methods = {item.name for item in cls.body if isinstance(item, FUNCTION_DEFS)}
    if cls.bases or methods & (PLAIN_NODE_HOOKS - POST_METHODS):
        return func
    return func if params[1:4] == ["shared", "prep_res", "exec_res"] else None
