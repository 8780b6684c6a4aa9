"""Executor rules: thread and process pools created per call, or never shut down."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import libcst as cst
from libcst.metadata import FunctionScope, PositionProvider

from flowfix.edits import snake_case
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
from flowfix.scope import ScopeProvider
from flowfix.semantics import (
    CACHE_DECORATORS,
    INIT_METHODS,
    MetadataReader,
    decorator_names,
    framework_of,
    method_class,
    own_nodes,
    parent,
    qualified_names,
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
