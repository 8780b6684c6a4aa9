"""Executor rules: thread and process pools created per call, or never shut down."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import libcst as cst
from libcst.metadata import FunctionScope, PositionProvider

from flowfix.edits import snake_case
from flowfix.libcst_detector import LibcstDetector as Detector
from flowfix.parents import ParentProvider
from flowfix.prefilter import (
    BODIES,
    COMPREHENSIONS,
    FUNCTION_DEFS,
    LOOP_STATEMENTS,
    SCOPE_DEFS,
    FileView,
    call_name,
    dotted_name,
    first_line,
    header_nodes,
    innermost,
)
from flowfix.reduction import Sites
from flowfix.rules import FixSafety, Severity
from flowfix.scope import ScopeProvider
from flowfix.semantics import (
    CACHE_DECORATORS,
    INIT_METHODS,
    MetadataReader,
    conflicting_binding,
    decorator_names,
    find_method,
    framework_of,
    is_cached_function,
    is_call_invariant,
    is_module_level_name,
    method_class,
    own_nodes,
    parent,
    qualified_names,
    scope_owner,
)

EXECUTOR_SUFFIX = "PoolExecutor"
ENTRY_FUNCTIONS = frozenset({"main", "cli"})
WAIT_CALLS = frozenset({"result", "wait", "as_completed"})
SUBMIT_METHODS = frozenset({"submit", "map", "run_in_executor"})
STATIC_DECORATORS = frozenset(
    {"staticmethod", "classmethod", "builtins.staticmethod", "builtins.classmethod"}
)
FRAMEWORKS = ("dynamiq", "pocketflow", "kaygraph", "pflow")
PER_MODULE_REASON = "here the pool can only be cached per module (copied node or static method)"
DEPENDENCIES = (PositionProvider, ParentProvider, ScopeProvider)


# --- AST prefilter helpers (shared with executor_sizing and agents) -----------------------------

TRY_STATEMENTS = (ast.Try, getattr(ast, "TryStar", ast.Try))  # `try`/`except*` (3.11)
_STORED = (ast.Attribute, ast.Subscript)  # assignment targets that outlive the call
# Parents under which a read of an executor's name does not manage it (`_classify`: call,
# read, or a star argument not followed); `ast.Attribute` is checked apart.
_NOT_MANAGING = (ast.Compare, ast.If, ast.While, ast.Starred)


def executor_calls(view: FileView) -> list[ast.Call]:
    """The calls of a `*PoolExecutor` (directly or through an import alias)."""
    aliases = view.statements.aliases
    calls: list[ast.Call] = []
    for call in view.nodes_near(view.expand(["*" + EXECUTOR_SUFFIX]), ast.Call):
        assert isinstance(call, ast.Call)
        name = call_name(call)
        if name.endswith(EXECUTOR_SUFFIX) or aliases.get(name, "").endswith(EXECUTOR_SUFFIX):
            calls.append(call)
    return calls


def statement_chain(view: FileView, node: ast.AST) -> list[ast.AST]:
    """The statements around `node`, outermost first, ending with the one whose header holds
    it (`;` siblings and one-line bodies included); empty when it cannot be told."""
    line = node.lineno  # type: ignore[attr-defined]
    chain = view.enclosing(line)
    for depth in range(len(chain) - 1, -1, -1):
        outer = chain[depth - 1] if depth else view.tree
        for statement in (s for name in BODIES for s in getattr(outer, name, ())):
            if isinstance(statement, ast.match_case):
                continue
            if first_line(statement) <= line <= (statement.end_lineno or 0) and any(
                child is node for child in header_nodes(statement)
            ):
                return [*chain[:depth], statement]
    return []


def own_code(body: Sequence[ast.stmt], name: str = "") -> Iterator[tuple[ast.AST, ast.AST]]:
    """(node, parent) for the nodes of `body` that run in its scope (a statement of `body` is
    its own parent): nested defs, lambdas and classes are left out, and so are comprehensions
    that rebind `name`."""
    stack: list[tuple[ast.AST, ast.AST]] = [(node, node) for node in body]
    while stack:
        node, parent = stack.pop()
        yield node, parent
        if isinstance(node, (*SCOPE_DEFS, ast.Lambda)) or (
            isinstance(node, COMPREHENSIONS)
            and any(
                isinstance(target, ast.Name) and target.id == name
                for generator in node.generators
                for target in ast.walk(generator.target)
            )
        ):
            continue
        stack.extend((child, node) for child in ast.iter_child_nodes(node))


def waits_with_timeout(node: ast.AST) -> bool:
    """`<future>.result(timeout)` / `.result(timeout=...)` (`calls_result_with_timeout`)."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "result"
        and (bool(node.args) or any(k.arg in (None, "timeout") for k in node.keywords))
    )


def method_call(node: ast.AST, name: str) -> str:
    """The method called in `<name>.<method>(...)`, else ''."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        receiver = node.func.value
        if isinstance(receiver, ast.Name) and receiver.id == name:
            return node.func.attr
    return ""


def iteration_loops(chain: Sequence[ast.AST]) -> list[ast.AST]:
    """The loops of `chain` (from `statement_chain`) that may run its last statement once per
    iteration (`iteration_loop`): within its innermost scope, not from an `else` clause or a
    `for` header."""
    start = innermost(chain)
    loops: list[ast.AST] = []
    for index in range(0 if start is None else start + 1, len(chain)):
        loop = chain[index]
        if not isinstance(loop, LOOP_STATEMENTS):
            continue
        inner = chain[index + 1] if index + 1 < len(chain) else None
        if inner is None and not isinstance(loop, ast.While):
            continue
        if inner is not None and not any(inner is s for s in loop.body):
            continue
        loops.append(loop)
    return loops


def argument_values(call: ast.Call) -> list[ast.expr]:
    """The values passed to `call` (star arguments unwrapped), positional then keyword."""
    values = [a.value if isinstance(a, ast.Starred) else a for a in call.args]
    return values + [keyword.value for keyword in call.keywords]


def _kept_values(node: ast.AST) -> list[ast.AST]:
    """What `node` keeps beyond the call (`_is_kept`): the value of a `return`, a `yield` or an
    assignment to an attribute or item, through `or`, `if`-`else`, tuples and lists."""
    value: ast.AST | None = None
    if isinstance(node, (ast.Return, ast.Yield)):
        value = node.value
    elif isinstance(node, ast.Assign):
        if any(isinstance(target, _STORED) for target in node.targets):
            value = node.value
    elif isinstance(node, ast.AnnAssign) and isinstance(node.target, _STORED):
        value = node.value
    found: list[ast.AST] = []
    stack = [value] if value is not None else []
    while stack:
        value = stack.pop()
        found.append(value)
        if isinstance(value, ast.BoolOp):
            stack.extend(value.values)
        elif isinstance(value, ast.IfExp):
            stack.extend((value.test, value.body, value.orelse))
        elif isinstance(value, (ast.Tuple, ast.List)):
            stack.extend(value.elts)
        elif isinstance(value, ast.Starred):
            stack.append(value.value)
    return found


def _is_cached(func: ast.AST) -> bool:
    """A decorator spelled as one of `CACHE_DECORATORS` (`is_cached_function` sees it too)."""
    return any(
        (dotted_name(d.func if isinstance(d, ast.Call) else d) or "") in CACHE_DECORATORS
        for d in func.decorator_list  # type: ignore[attr-defined]
    )


def _assigned_name(statement: ast.AST, call: ast.Call) -> str | None:
    """`name` in `name = call` / `name: T = call` (`local_binding`), else None."""
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target: ast.AST = statement.targets[0]
    elif isinstance(statement, ast.AnnAssign):
        target = statement.target
    else:
        return None
    if getattr(statement, "value", None) is call and isinstance(target, ast.Name):
        return target.id
    return None


def _starts_line(view: FileView, statement: ast.AST) -> bool:
    """Nothing precedes `statement` on its line (not after `:` or `;`)."""
    return not view.line(statement.lineno)[: statement.col_offset].strip()  # type: ignore[attr-defined]


def _manages(node: ast.AST, owner: ast.AST, name: str, called: set[int]) -> bool:
    """`node` is a read of `name` (under `owner`) that `_classify` calls with, delegated or
    escape; `called` holds the ids of the `func` of every call around."""
    if not (isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load)):
        return False
    if isinstance(owner, ast.Attribute):
        return owner.attr == "shutdown" and id(owner) not in called
    if isinstance(owner, ast.Call):
        return not (call_name(owner) == "run_in_executor" and node in owner.args[:1])
    if isinstance(owner, ast.UnaryOp):
        return not isinstance(owner.op, ast.Not)
    if isinstance(owner, ast.AnnAssign) and owner.annotation is node:
        return False
    return not isinstance(owner, _NOT_MANAGING)


def _ast_unmanaged(view: FileView, call: ast.Call) -> bool:
    """EXE002's AST check for `call` (see `ExecutorWithoutShutdown.ast_candidate`)."""
    chain = statement_chain(view, call)
    if not chain:
        return True
    name = _assigned_name(chain[-1], call)
    index = innermost(chain)
    func = chain[index] if index is not None else None
    if name is None or not isinstance(func, FUNCTION_DEFS):
        return False
    own = list(own_code(func.body, name))
    called = {id(node.func) for node, _ in own if isinstance(node, ast.Call)}
    for node, owner in own:
        if _manages(node, owner, name, called):
            return False
        if isinstance(node, TRY_STATEMENTS) and any(
            method_call(inner, name) == "shutdown" for inner, _ in own_code(node.finalbody, name)
        ):
            return False
    return True


def _ast_per_call(view: FileView, call: ast.Call) -> bool:
    """EXE001's AST check for `call` (see `ExecutorCreatedPerCall.ast_candidate`)."""
    chain = statement_chain(view, call)
    if not chain:
        return True
    index = innermost(chain)
    func = chain[index] if index is not None else None
    if index is None or not isinstance(func, FUNCTION_DEFS):
        return False
    outermost = func
    for scope in reversed(chain[:index]):
        if isinstance(scope, ast.ClassDef):
            break
        if isinstance(scope, FUNCTION_DEFS):
            outermost = scope
    position = chain.index(outermost)
    method = position > 0 and isinstance(chain[position - 1], ast.ClassDef)
    if outermost.name in (INIT_METHODS if method else ENTRY_FUNCTIONS):
        return False
    if _is_cached(func) or _is_cached(outermost):
        return False
    statement = chain[-1]
    if any(value is call for node in header_nodes(statement) for value in _kept_values(node)):
        return False
    name = _assigned_name(statement, call)
    if name is not None and not _starts_line(view, statement):
        return True  # in a one-line block `local_binding` does not see the name
    if name is None and isinstance(statement, (ast.With, ast.AsyncWith)):
        target = next((i.optional_vars for i in statement.items if i.context_expr is call), None)
        name = target.id if isinstance(target, ast.Name) else None
    own = [node for node, _ in own_code(func.body, name or "")]
    if name is not None and any(
        isinstance(value, ast.Name) and value.id == name
        for node in own
        for value in _kept_values(node)
    ):
        return False
    submits = name is None or any(method_call(node, name) == "submit" for node in own)
    if submits and any(waits_with_timeout(node) for node in own):
        return False
    cls = chain[index - 1] if index else None
    return (
        not isinstance(cls, ast.ClassDef)
        or name is None
        or not any(_hands_to_timeout_helper(cls, node, name) for node in own)
    )


def _hands_to_timeout_helper(cls: ast.ClassDef, node: ast.AST, name: str) -> bool:
    """`node` is `self.<method>(..., name, ...)` and that method of `cls` waits with a timeout."""
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "self"
        and node.func.attr != "run_in_executor"
    ):
        return False
    if not any(isinstance(v, ast.Name) and v.id == name for v in argument_values(node)):
        return False
    method = node.func.attr
    helper = next((s for s in cls.body if isinstance(s, FUNCTION_DEFS) and s.name == method), None)
    return helper is not None and any(waits_with_timeout(n) for n, _ in own_code(helper.body))


def executor_class(reader: MetadataReader, call: cst.Call) -> str | None:
    """Short name of the `*PoolExecutor` class `call` constructs (any import form), else None."""
    names = qualified_names(reader, call.func)
    if not names:
        dotted = cst.helpers.get_full_name_for_node(call.func)
        names = {dotted} if dotted else set()
    for name in sorted(names):
        short = name.rsplit(".", 1)[-1]
        if short.endswith(EXECUTOR_SUFFIX):
            return short
    return None


def _terminal_name(expression: cst.BaseExpression) -> str:
    if isinstance(expression, cst.Name):
        return expression.value
    if isinstance(expression, cst.Attribute):
        return expression.attr.value
    return ""


def waits_for_results(root: cst.CSTNode) -> bool:
    """`.result(`, `wait(`, `as_completed(` or a consumed `.map(` below `root`."""
    discarded: set[int] = set()
    for node in own_nodes(root):
        if isinstance(node, cst.Expr):
            discarded.add(id(node.value))
        elif isinstance(node, cst.Call):
            called = _terminal_name(node.func)
            if called in WAIT_CALLS or (
                called == "map"
                and isinstance(node.func, cst.Attribute)
                and id(node) not in discarded
            ):
                return True
    return False


def submits_unconsumed(root: cst.CSTNode) -> bool:
    """`.submit(` below `root`, or a `.map(` whose lazy result is thrown away."""
    for node in own_nodes(root):
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            if node.func.attr.value == "submit":
                return True
        if isinstance(node, cst.Expr) and isinstance(node.value, cst.Call):
            func = node.value.func
            if isinstance(func, cst.Attribute) and func.attr.value == "map":
                return True
    return False


def calls_result_with_timeout(root: cst.CSTNode) -> bool:
    """`<future>.result(timeout)` / `.result(timeout=...)` below `root`."""
    return any(
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "result"
        and any(arg.keyword is None or arg.keyword.value == "timeout" for arg in node.args)
        for node in own_nodes(root)
    )


@dataclass(frozen=True)
class Use:
    """One read of an executor's name: `kind` is call, read, with, delegated or escape."""

    node: cst.CSTNode
    kind: str
    method: str = ""


def _in_nested_scope(reader: MetadataReader, node: cst.CSTNode, func: cst.FunctionDef) -> bool:
    current = parent(reader, node)
    while current is not None and current is not func:
        if isinstance(current, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return True
        current = parent(reader, current)
    return False


def _classify(reader: MetadataReader, node: cst.CSTNode, func: cst.FunctionDef) -> Use:
    if not isinstance(node, cst.Name) or _in_nested_scope(reader, node, func):
        return Use(node, "escape")
    owner = parent(reader, node)
    if isinstance(owner, cst.Attribute) and owner.value is node:
        call = parent(reader, owner)
        if isinstance(call, cst.Call) and call.func is owner:
            return Use(node, "call", owner.attr.value)
        return Use(node, "delegated" if owner.attr.value == "shutdown" else "read")
    if isinstance(owner, cst.WithItem) and owner.item is node:
        return Use(node, "with")
    if isinstance(owner, (cst.Comparison, cst.ComparisonTarget, cst.Del)):
        return Use(node, "read")
    if isinstance(owner, (cst.If, cst.While)) and owner.test is node:
        return Use(node, "read")
    if isinstance(owner, cst.UnaryOperation) and isinstance(owner.operator, cst.Not):
        return Use(node, "read")
    if isinstance(owner, cst.Arg) and owner.keyword is None:
        call = parent(reader, owner)
        if (
            isinstance(call, cst.Call)
            and _terminal_name(call.func) == "run_in_executor"
            and call.args
            and call.args[0] is owner
        ):
            return Use(node, "call", "run_in_executor")
    return Use(node, "escape")


def name_uses(
    reader: MetadataReader, name: cst.Name, func: cst.FunctionDef
) -> tuple[list[Use], int] | None:
    """Every read of local `name` in `func` (nested scopes included) and how often it is bound.

    None when `name` is not a local of `func` (`global` / `nonlocal`).
    """
    scope = reader.get_metadata(ScopeProvider, name, None)
    if not isinstance(scope, FunctionScope):
        return None
    assignments = scope.assignments[name.value]
    if not assignments:
        return None
    nodes = {access.node for assignment in assignments for access in assignment.references}
    uses = [_classify(reader, node, func) for node in nodes]

    def position(use: Use) -> tuple[int, int]:
        start = reader.get_metadata(PositionProvider, use.node).start  # type: ignore[attr-defined]
        return (start.line, start.column)

    return sorted(uses, key=position), len(assignments)


def local_binding(
    reader: MetadataReader, call: cst.Call
) -> tuple[cst.Name, cst.SimpleStatementLine] | None:
    """(`name`, its statement) when `call` is the whole value of `name [: T] = call`."""
    owner = parent(reader, call)
    target: cst.BaseExpression | None = None
    if isinstance(owner, cst.Assign) and owner.value is call and len(owner.targets) == 1:
        target = owner.targets[0].target
    elif isinstance(owner, cst.AnnAssign) and owner.value is call:
        target = owner.target
    statement = parent(reader, owner) if owner is not None else None
    if isinstance(target, cst.Name) and isinstance(statement, cst.SimpleStatementLine):
        return target, statement
    return None


def statement_index(
    reader: MetadataReader, node: cst.CSTNode, block: cst.IndentedBlock
) -> int | None:
    """Index in `block.body` of the statement that contains `node`, if any."""
    current: cst.CSTNode | None = node
    while current is not None:
        owner = parent(reader, current)
        if owner is block:
            for index, statement in enumerate(block.body):
                if statement is current:
                    return index
            return None
        current = owner
    return None


def is_shutdown_statement(statement: cst.BaseStatement, name: str) -> bool:
    """`<name>.shutdown(...)` alone on its line."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    expr = statement.body[0]
    if not isinstance(expr, cst.Expr) or not isinstance(expr.value, cst.Call):
        return False
    func = expr.value.func
    return (
        isinstance(func, cst.Attribute)
        and func.attr.value == "shutdown"
        and isinstance(func.value, cst.Name)
        and func.value.value == name
    )


@dataclass(frozen=True)
class ShutdownPlan:
    """EXE002's rewrite: wrap statements `start`..`end` of the assignment's block in `try`.

    `trailing`: statement `end + 1` is the existing `name.shutdown(...)` to move into `finally`.
    """

    start: int
    end: int
    trailing: bool


def shutdown_plan(
    reader: MetadataReader,
    statement: cst.SimpleStatementLine,
    name: str,
    uses: Sequence[Use],
    bindings: int,
) -> ShutdownPlan | str:
    """Where the `try`/`finally` goes for `name = Executor(...)`, or why no fix is offered."""
    if bindings > 1:
        return f"`{name}` is bound more than once in the function"
    if len(statement.body) != 1:
        return "the assignment shares its line with other statements"
    block = parent(reader, statement)
    if not isinstance(block, cst.IndentedBlock):
        return "the assignment is in a one-line block"
    index = next(i for i, s in enumerate(block.body) if s is statement)
    lines = []
    for use in uses:
        at = statement_index(reader, use.node, block)
        if at is None or at <= index:
            return f"`{name}` is used outside the block that creates it"
        lines.append(at)
    if not lines:
        return f"`{name}` is never used"
    end = max(lines)
    trailing = is_shutdown_statement(block.body[end], name)
    shutdowns = sum(1 for use in uses if use.kind == "call" and use.method == "shutdown")
    if shutdowns > int(trailing):
        return f"`{name}.shutdown()` is reached on some paths only; move it into a `finally`"
    return ShutdownPlan(index + 1, end - 1 if trailing else end, trailing)


def _in_finally(reader: MetadataReader, node: cst.CSTNode, func: cst.FunctionDef) -> bool:
    current = parent(reader, node)
    while current is not None and current is not func:
        if isinstance(current, cst.Finally):
            return True
        current = parent(reader, current)
    return False


def _is_below(reader: MetadataReader, node: cst.CSTNode, ancestor: cst.CSTNode) -> bool:
    current = parent(reader, node)
    while current is not None and current is not ancestor:
        current = parent(reader, current)
    return current is ancestor


def _forbids_new_attributes(cls: cst.ClassDef) -> bool:
    """`__slots__` in the class body or a `frozen=True` class decorator."""
    for decorator in cls.decorators:
        call = decorator.decorator
        if isinstance(call, cst.Call) and any(
            arg.keyword is not None
            and arg.keyword.value == "frozen"
            and not (isinstance(arg.value, cst.Name) and arg.value.value == "False")
            for arg in call.args
        ):
            return True
    return any(
        isinstance(target, cst.Name) and target.value == "__slots__"
        for statement in cls.body.body
        if isinstance(statement, cst.SimpleStatementLine)
        for small in statement.body
        for target in (
            [t.target for t in small.targets]
            if isinstance(small, cst.Assign)
            else [small.target]
            if isinstance(small, cst.AnnAssign)
            else []
        )
    )


@dataclass(frozen=True)
class CacheForm:
    """How EXE001 caches an executor: on the instance (`owner` = the class) or in a module-level
    factory named `factory` placed before `owner` (the function or class at module level)."""

    kind: Literal["instance", "factory"]
    owner: cst.CSTNode
    factory: str = ""


def cache_form(reader: MetadataReader, func: cst.FunctionDef) -> CacheForm | str:
    """Where EXE001's fix caches an executor created in `func`, or why it cannot."""
    cls = method_class(reader, func)
    if cls is None:
        if not isinstance(parent(reader, func), cst.Module):
            return f"`{func.name.value}()` is not defined at module level"
        return CacheForm("factory", func, f"_{func.name.value.strip('_')}_executor")
    static = bool(decorator_names(reader, func) & STATIC_DECORATORS)
    if not static and framework_of(reader, cls) != "plain":
        params = func.params.params
        if not params or params[0].name.value != "self":
            return f"the first parameter of `{func.name.value}()` is not `self`"
        if _forbids_new_attributes(cls):
            return f"class `{cls.name.value}` is frozen or uses `__slots__`"
        return CacheForm("instance", cls)
    if not isinstance(parent(reader, cls), cst.Module):
        return f"class `{cls.name.value}` is not defined at module level"
    factory = f"_{snake_case(cls.name.value)}_{func.name.value.strip('_')}_executor"
    return CacheForm("factory", cls, factory)


class ExecutorWithoutShutdown(Detector):
    """An executor bound to a local name is not shut down on every path.

    ## Why is this bad?
    Each `ThreadPoolExecutor` keeps its worker threads (a `ProcessPoolExecutor` its worker
    processes) until `shutdown()` runs or the object is garbage collected. When the code
    between the creation and a trailing `shutdown()` raises, or there is no `shutdown()` at
    all, the workers outlive the call: a service that handles 50 requests in parallel can
    pile up hundreds of idle threads, and pending tasks keep running after the caller gave up.

    ## Example
    ```python
    from concurrent.futures import ThreadPoolExecutor


    def fetch_all(urls, fetch):
        executor = ThreadPoolExecutor(max_workers=8)
        futures = [executor.submit(fetch, url) for url in urls]
        results = [future.result() for future in futures]
        executor.shutdown()
        return results
    ```

    ## Use instead
    ```python
    from concurrent.futures import ThreadPoolExecutor


    def fetch_all(urls, fetch):
        executor = ThreadPoolExecutor(max_workers=8)
        try:
            futures = [executor.submit(fetch, url) for url in urls]
            results = [future.result() for future in futures]
        finally:
            executor.shutdown()
        return results
    ```

    ## Fix safety
    Safe: the statements from the one after the assignment through the last use of the
    executor are wrapped in `try`/`finally: <name>.shutdown(wait=True)`; a trailing
    `<name>.shutdown(...)` moves into the `finally` with its arguments. Comments are kept.
    The fix is unsafe when no trailing `shutdown()` exists and the function never waits for
    the tasks it submits (the added `wait=True` makes it wait), or runs in `async def` (the
    wait blocks the event loop). No fix is offered when the name is bound twice, used outside
    the block that creates it, or shut down on some paths only. Executors used in `with`,
    shut down in a `finally`, created at module level, stored on an attribute, or handed on
    (returned, yielded, passed to another call, captured by a nested function) are not
    reported: their lifetime is managed elsewhere.

    ## Metric to monitor
    Live thread count (`threading.active_count()`) and child processes over time under load;
    both should return to their baseline after each request.
    """

    CODE = "EXE002"
    NAME = "executor-without-shutdown"
    SEVERITY = Severity.CRITICAL
    CATEGORY = "executors"
    FIX = FixSafety.SAFE
    FRAMEWORKS = FRAMEWORKS
    MESSAGE = "Executor `{name}` (`{executor}`) is not shut down on every path of `{function}()`"
    TRIGGERS = ("Executor",)

    METADATA_DEPENDENCIES = DEPENDENCIES
    REACH = "function"

    @classmethod
    def ast_candidate(cls, view: FileView) -> Sites:
        """Each executor call that is the whole value of `name = ...` in a function whose own
        code neither hands `name` on (returned, passed, stored, `with name`, `name.shutdown`
        not called) nor calls `name.shutdown()` in a `finally`."""
        return [call for call in executor_calls(view) if _ast_unmanaged(view, call)]

    def visit_Call(self, node: cst.Call) -> None:
        executor = executor_class(self, node)
        binding = local_binding(self, node) if executor else None
        if binding is None:
            return
        name, statement = binding
        func = scope_owner(self, node)
        found = name_uses(self, name, func) if isinstance(func, cst.FunctionDef) else None
        if found is None:
            return
        uses, bindings = found
        assert isinstance(func, cst.FunctionDef)
        if self._is_managed(uses, func):
            return
        plan = shutdown_plan(self, statement, name.value, uses, bindings)
        if isinstance(plan, ShutdownPlan) and plan.start > plan.end:
            return  # shut down right after creation: nothing in between can fail
        fix, note = self._fix_safety(plan, uses, func)
        self.report(
            node, fix=fix, note=note, name=name.value, executor=executor, function=func.name.value
        )

    def _is_managed(self, uses: Sequence[Use], func: cst.FunctionDef) -> bool:
        """Used in `with`, handed on, or shut down in a `finally`."""
        return any(
            use.kind in {"with", "delegated", "escape"}
            or (
                use.kind == "call"
                and use.method == "shutdown"
                and _in_finally(self, use.node, func)
            )
            for use in uses
        )

    @staticmethod
    def _fix_safety(
        plan: ShutdownPlan | str, uses: Sequence[Use], func: cst.FunctionDef
    ) -> tuple[FixSafety, str]:
        if isinstance(plan, str):
            return FixSafety.NONE, plan
        if plan.trailing:
            return FixSafety.SAFE, ""
        if func.asynchronous is not None:
            return (
                FixSafety.UNSAFE,
                "in `async def`, `shutdown(wait=True)` blocks the event loop while tasks run",
            )
        submits = any(use.kind == "call" and use.method in SUBMIT_METHODS for use in uses)
        if submits and not waits_for_results(func.body):
            return (
                FixSafety.UNSAFE,
                "the function never waits for its tasks; `shutdown(wait=True)` will",
            )
        return FixSafety.SAFE, ""


class ExecutorCreatedPerCall(Detector):
    """An executor is created on every call of a function or method that runs per request.

    ## Why is this bad?
    Creating a pool per call starts fresh worker threads (or processes) for every request or
    loop iteration and tears them down again: thread start-up, lost warm-up, and with 50
    parallel requests hundreds of short-lived threads competing with each other. Dynamiq's
    PR #674 counted 150+ redundant allocations for 50 parallel `Flow.run_sync()` calls and
    fixed them by caching the flow's pool.

    ## Example
    ```python
    from concurrent.futures import ThreadPoolExecutor

    from pocketflow import Node


    class Summarize(Node):
        def exec(self, chunks):
            with ThreadPoolExecutor(max_workers=4) as pool:
                return list(pool.map(str.upper, chunks))
    ```

    ## Use instead
    ```python
    from concurrent.futures import ThreadPoolExecutor

    from pocketflow import Node
    import atexit
    import functools


    @functools.cache
    def _summarize_exec_executor():
        executor = ThreadPoolExecutor(max_workers=4)
        atexit.register(executor.shutdown)
        return executor


    class Summarize(Node):
        def exec(self, chunks):
            pool = _summarize_exec_executor()
            return list(pool.map(str.upper, chunks))
    ```

    ## Fix safety
    Unsafe, and offered only for `with Executor(args) as name:` when every argument is a
    literal, `self.*`, a module-level name or an environment lookup. The `with` becomes
    `name = <cached executor>` and its body is dedented. In a method the pool becomes a
    lazily created attribute (`_get_executor()`, a pydantic `PrivateAttr` on Dynamiq nodes)
    with a `close()` that shuts it down, plus `__enter__`/`__exit__` when the class has
    neither. Module functions, static methods and PocketFlow-style nodes (their flows run a
    shallow copy of the node per run, so an instance attribute would not survive) get a
    module-level `functools.cache` factory whose pool is shut down `atexit`.

    Behaviour changes: the pool is shared by concurrent calls and lives until closed, so a
    task that calls back into the same function waits on the same workers and can deadlock a
    small pool; an exception no longer waits for the other tasks; `self.*` arguments are read
    once; shallow copies of the object share the pool. No fix is offered for an executor
    bound by assignment (EXE002 covers its shutdown), when the body submits without waiting,
    shuts the pool down or hands it on, in nested functions, or in frozen or `__slots__`
    classes. Executors created in `__init__`-like hooks, `main`/`cli`, cached or factory
    functions, stored on an attribute, or used for a per-call timeout
    (`future.result(timeout=...)`, seed 003's per-attempt executor) are not reported.

    ## Metric to monitor
    Live thread count and thread creation rate under load, and per-node latency p50/p95.

    ## Limitations
    The per-call timeout executor is recognised when the function (or a method of the same
    class it passes the executor to) submits to it and calls `.result(...)` with a timeout;
    which future the timeout applies to is not tracked. Pools built through a variable
    (`self.executor(max_workers=n)`) are not seen. Members inherited from base classes are
    not seen when choosing names; when the class already has `__enter__` or `__exit__`, the
    added `close()` is not wired into them.
    """

    CODE = "EXE001"
    NAME = "executor-created-per-call"
    SEVERITY = Severity.CRITICAL
    CATEGORY = "executors"
    FIX = FixSafety.UNSAFE
    FRAMEWORKS = FRAMEWORKS
    MESSAGE = "`{executor}` is created on every call of `{function}()`"
    TRIGGERS = ("Executor",)

    METADATA_DEPENDENCIES = DEPENDENCIES
    REACH = "function"

    @classmethod
    def ast_candidate(cls, view: FileView) -> Sites:
        """Each executor call in a function that runs per call (see `_runs_per_call`), not
        kept beyond it (returned, yielded, stored on an attribute or item, itself or through
        its name) and not a timeout executor: the function submits to it and waits with a
        timeout, or hands it to a method of its class that waits with one."""
        return [call for call in executor_calls(view) if _ast_per_call(view, call)]

    def visit_Call(self, node: cst.Call) -> None:
        executor = executor_class(self, node)
        func = scope_owner(self, node) if executor else None
        if not isinstance(func, cst.FunctionDef) or not self._runs_per_call(func):
            return
        if self._is_kept(node):
            return
        name = self._bound_name(node)
        found = name_uses(self, name, func) if name is not None else ([], 1)
        if found is None:
            return  # `global` / `nonlocal`: lives beyond the call
        uses = found[0]
        if any(self._is_kept(use.node) for use in uses if use.kind == "escape"):
            return
        if self._is_timeout_executor(func, uses, named=name is not None):
            return
        fix, note = self._fix_safety(node, func, uses)
        self.report(node, fix=fix, note=note, executor=executor, function=func.name.value)

    def _runs_per_call(self, func: cst.FunctionDef) -> bool:
        """Not an init hook, `main`/`cli` or a cached function (nested defs: their outermost)."""
        outermost, current = func, scope_owner(self, func)
        while isinstance(current, (cst.FunctionDef, cst.Lambda)):
            if isinstance(current, cst.FunctionDef):
                outermost = current
            current = scope_owner(self, current)
        if is_cached_function(self, func) or is_cached_function(self, outermost):
            return False
        if method_class(self, outermost) is not None:
            return outermost.name.value not in INIT_METHODS
        return outermost.name.value not in ENTRY_FUNCTIONS

    def _is_kept(self, node: cst.CSTNode) -> bool:
        """Returned, yielded, or stored on an attribute / in a container: lives beyond the call."""
        owner = parent(self, node)
        while isinstance(
            owner, (cst.BooleanOperation, cst.IfExp, cst.BaseElement, cst.Tuple, cst.List)
        ):
            owner = parent(self, owner)
        if isinstance(owner, (cst.Return, cst.Yield)):
            return True
        targets: list[cst.BaseExpression] = []
        if isinstance(owner, cst.Assign):
            targets = [target.target for target in owner.targets]
        elif isinstance(owner, cst.AnnAssign):
            targets = [owner.target]
        return any(isinstance(target, (cst.Attribute, cst.Subscript)) for target in targets)

    def _bound_name(self, node: cst.Call) -> cst.Name | None:
        binding = local_binding(self, node)
        if binding is not None:
            return binding[0]
        owner = parent(self, node)
        if isinstance(owner, cst.WithItem) and owner.asname is not None:
            target = owner.asname.name
            return target if isinstance(target, cst.Name) else None
        return None

    def _is_timeout_executor(self, func: cst.FunctionDef, uses: Sequence[Use], named: bool) -> bool:
        """Seed 003's pattern: a fresh executor per call whose future is awaited with a timeout."""
        submits = not named or any(use.kind == "call" and use.method == "submit" for use in uses)
        if submits and calls_result_with_timeout(func.body):
            return True
        cls = method_class(self, func)
        if cls is None:
            return False
        for use in uses:
            arg = parent(self, use.node) if use.kind == "escape" else None
            call = parent(self, arg) if isinstance(arg, cst.Arg) else None
            if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute):
                receiver = call.func.value
                if isinstance(receiver, cst.Name) and receiver.value == "self":
                    helper = find_method(cls, call.func.attr.value)
                    if helper is not None and calls_result_with_timeout(helper.body):
                        return True
        return False

    def _fix_safety(
        self, node: cst.Call, func: cst.FunctionDef, uses: Sequence[Use]
    ) -> tuple[FixSafety, str]:
        item = parent(self, node)
        if local_binding(self, node) is not None:
            return (
                FixSafety.NONE,
                "assigned, not used in `with`; cache it by hand (EXE002 covers its shutdown)",
            )
        if not isinstance(item, cst.WithItem) or item.item is not node:
            return FixSafety.NONE, "not bound by `with`; cache it by hand and shut it down"
        statement = parent(self, item)
        assert isinstance(statement, cst.With)
        if (
            len(statement.items) != 1
            or item.asname is None
            or not isinstance(item.asname.name, cst.Name)
        ):
            return FixSafety.NONE, "the `with` does not bind the executor alone to a name"
        form = cache_form(self, func)
        if isinstance(form, str):
            return FixSafety.NONE, form
        reason = self._unstable_argument(node, allow_self=form.kind == "instance")
        if reason:
            return FixSafety.NONE, reason
        if form.kind == "factory" and any(
            conflicting_binding(self, node, n) for n in ("functools", "atexit")
        ):
            return FixSafety.NONE, "`functools` or `atexit` is bound to something else here"
        inside = [use for use in uses if _is_below(self, use.node, statement.body)]
        if any(use.kind in {"escape", "delegated"} or use.method == "shutdown" for use in inside):
            return FixSafety.NONE, "the `with` body shuts the executor down or hands it on"
        if submits_unconsumed(statement.body) and not waits_for_results(statement.body):
            return (
                FixSafety.NONE,
                "the body never waits for its tasks; the `with` exit is what waits",
            )
        return FixSafety.UNSAFE, ""

    def _unstable_argument(self, call: cst.Call, allow_self: bool) -> str:
        """Why the constructor cannot be evaluated once and cached ("" when it can)."""
        root = call.func
        while isinstance(root, cst.Attribute):
            root = root.value
        if not isinstance(root, cst.Name) or not is_module_level_name(self, root):
            return "the executor class is not a module-level name"
        for arg in call.args:
            if arg.star or not is_call_invariant(self, arg.value, "self" if allow_self else None):
                code = cst.Module([]).code_for_node(arg.value)
                if not allow_self and is_call_invariant(self, arg.value, "self"):
                    return f"argument `{code}` depends on the instance; {PER_MODULE_REASON}"
                return f"argument `{code}` may differ between calls"
        return ""
