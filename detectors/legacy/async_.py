"""Async rules: blocking work inside coroutines (`async` is a keyword, hence `async_`)."""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import cast

import libcst as cst
from libcst.metadata import PositionProvider

from flowfix.detectors.legacy.connections import instance_name
from flowfix.libcst_detector import LibcstDetector as Detector
from flowfix.parents import ParentProvider
from flowfix.prefilter import (
    FUNCTION_DEFS,
    SCOPE_DEFS,
    FileView,
    call_name,
    dotted_name,
    innermost,
    matches,
)
from flowfix.reduction import Sites
from flowfix.rules import FixSafety, Severity
from flowfix.scope import ScopeProvider
from flowfix.semantics import (
    PER_CALL_METHODS,
    PLAIN_FRAMEWORK_PREFIXES,
    PLAIN_NODE_HOOKS,
    MetadataReader,
    decorator_names,
    find_method,
    framework_of,
    method_class,
    own_nodes,
    parent,
    resolves_to,
    scope_owner,
)

# --- AST prefilter helpers ------------------------------------------------------------------


def ast_base_name(expr: ast.AST) -> str | None:
    """The name a chain of attributes, subscripts and calls starts from (`a` in `a.b(c)[0].d`):
    libcst qualifies the whole chain through that name's binding."""
    while isinstance(expr, (ast.Attribute, ast.Subscript, ast.Call)):
        expr = expr.func if isinstance(expr, ast.Call) else expr.value
    return expr.id if isinstance(expr, ast.Name) else None


def ast_module_names(view: FileView, *packages: str) -> set[str]:
    """Names from which libcst may resolve a chain into one of `packages` (words: `pflow*`
    matches `pflow_cli`): those an import of it binds, at any depth, and each package's own
    name (any module-level binding of `time`, even `time = Clock()`, reads as `time.*`)."""
    found = {package for package in packages if "*" not in package}
    for statement in view.near(packages):
        if isinstance(statement, ast.Import):
            pairs = [(a.name, a.asname or a.name.split(".")[0]) for a in statement.names]
        elif isinstance(statement, ast.ImportFrom) and statement.module:
            pairs = [(statement.module, a.asname or a.name) for a in statement.names]
        else:
            continue
        found.update(
            bound
            for module, bound in pairs
            if any(matches(module.split(".")[0], package) for package in packages)
        )
    return found


def ast_owner(view: FileView, node: ast.expr) -> tuple[list[ast.AST], int | None]:
    """The statements around `node` (outermost first) and the index of the innermost def or
    class among them, whose code `node` runs in (None at module level)."""
    chain = view.enclosing(node.lineno)
    return chain, innermost(chain)


# --- shared questions for ASY002-ASY007 ---------------------------------------------------

DEPENDENCIES = (PositionProvider, ParentProvider, ScopeProvider)
# (assigned value, declared type) of one binding of a name; either may be missing.
Binding = tuple[cst.BaseExpression | None, cst.BaseExpression | None]
OFFLOADERS = frozenset({"asyncio.to_thread"})


def resolves_name(
    reader: MetadataReader, node: cst.BaseExpression, targets: frozenset[str] | set[str]
) -> str | None:
    """`resolves_to` for a plain dotted name only: libcst resolves the attribute of a call's
    result by the call (`open(p).read` is reported as `builtins.open`)."""
    base = node
    while isinstance(base, cst.Attribute):
        base = base.value
    return resolves_to(reader, node, targets) if isinstance(base, cst.Name) else None


def name_bindings(reader: MetadataReader, name: cst.Name) -> list[Binding] | None:
    """What every binding of `name` (as seen from where it is read) assigns, or None when a
    binding is not a plain `name = value`, `name: T [= value]`, `with value as name` or an
    annotated parameter (imports, loops, tuple targets, `global` from elsewhere...)."""
    scope = reader.get_metadata(ScopeProvider, name, None)
    if scope is None:
        return None
    assignments = list(scope[name.value])  # type: ignore[index]
    if not assignments:
        return None
    found: list[Binding] = []
    for assignment in assignments:
        binding = _binding(reader, getattr(assignment, "node", None))
        if binding is None:
            return None
        found.append(binding)
    return found


def _binding(reader: MetadataReader, target: object) -> Binding | None:
    if isinstance(target, cst.Param):
        annotation = target.annotation.annotation if target.annotation else None
        return (None, annotation) if annotation is not None else None
    if not isinstance(target, cst.Name):
        return None
    owner = parent(reader, target)
    if isinstance(owner, cst.AssignTarget):
        statement = parent(reader, owner)
        return (statement.value, None) if isinstance(statement, cst.Assign) else None
    if isinstance(owner, cst.AnnAssign) and owner.target is target:
        return owner.value, owner.annotation.annotation
    if isinstance(owner, cst.AsName):
        item = parent(reader, owner)
        return (item.item, None) if isinstance(item, cst.WithItem) else None
    return None


def attribute_bindings(reader: MetadataReader, cls: cst.ClassDef, attr: str) -> list[Binding]:
    """Every `<self>.attr = value` in the class's methods and `attr [: T] = value` in its body."""
    found: list[Binding] = []
    for statement in cls.body.body:
        if isinstance(statement, cst.SimpleStatementLine):
            found += _assigned_to(statement, lambda target: _is_name(target, attr))
        elif isinstance(statement, cst.FunctionDef):
            this = instance_name(reader, statement)
            if this is not None:
                found += _assigned_to(statement.body, _self_attribute(this, attr))
    return found


def _is_name(node: cst.CSTNode, value: str) -> bool:
    return isinstance(node, cst.Name) and node.value == value


def _self_attribute(this: str, attr: str) -> Callable[[cst.CSTNode], bool]:
    def matches(target: cst.CSTNode) -> bool:
        return (
            isinstance(target, cst.Attribute)
            and _is_name(target.value, this)
            and target.attr.value == attr
        )

    return matches


def _assigned_to(root: cst.CSTNode, matches: Callable[[cst.CSTNode], bool]) -> list[Binding]:
    """(value, annotation) of the assignments below `root` (its own scope) to a matching target;
    augmented or unpacking assignments count as unknown values."""
    found: list[Binding] = []
    for node in [root, *own_nodes(root)]:
        if isinstance(node, cst.Assign):
            for target in node.targets:
                if matches(target.target):
                    found.append((node.value, None))
                elif isinstance(target.target, (cst.Tuple, cst.List)) and any(
                    matches(element.value) for element in target.target.elements
                ):
                    found.append((None, None))
        elif isinstance(node, cst.AnnAssign) and matches(node.target):
            found.append((node.value, node.annotation.annotation))
        elif isinstance(node, cst.AugAssign) and matches(node.target):
            found.append((None, None))
    return found


def self_attribute_class(
    reader: MetadataReader, expr: cst.BaseExpression
) -> tuple[cst.ClassDef, str] | None:
    """(class, attribute) for `self.attr` read in a method of that class."""
    if not (isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name)):
        return None
    owner = scope_owner(reader, expr)
    if not isinstance(owner, cst.FunctionDef):
        return None
    cls = method_class(reader, owner)
    if cls is None or instance_name(reader, owner) != expr.value.value:
        return None
    return cls, expr.attr.value


def _is_none(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def bound_class(
    reader: MetadataReader,
    expr: cst.BaseExpression,
    classes: frozenset[str],
    constructs: Callable[[cst.BaseExpression], str | None],
) -> str | None:
    """The one class of `classes` that every binding of `expr` (a name, or `self.attr` of the
    enclosing class) holds: constructed (`constructs(value)`), or declared with that type.
    `None` values are ignored; any other value makes the answer unknown (None)."""
    bindings: list[Binding] | None
    if isinstance(expr, cst.Name):
        bindings = name_bindings(reader, expr)
    else:
        owner = self_attribute_class(reader, expr)
        bindings = attribute_bindings(reader, *owner) if owner else None
    if not bindings:
        return None
    found: set[str] = set()
    for value, annotation in bindings:
        held = resolves_name(reader, annotation, classes) if annotation is not None else None
        held = held or (constructs(value) if value is not None else None)
        if held is not None:
            found.add(held)
        elif not _is_none(value):
            return None
    return found.pop() if len(found) == 1 else None


def shown_callee(func: cst.BaseExpression) -> str:
    """The callee as spelled, calls in the receiver dropped (`OpenAI.chat.completions.create`)."""
    dotted = cst.helpers.get_full_name_for_node(func)
    if dotted and not dotted.startswith("None"):
        return dotted
    return func.attr.value if isinstance(func, cst.Attribute) else "call"


# --- ASY004: to_thread on a coroutine function ----------------------------------------------

LOOP_GETTERS = frozenset(
    {"asyncio.get_running_loop", "asyncio.get_event_loop", "asyncio.events.get_running_loop"}
)
# Decorators that return the function itself (or an equivalent descriptor).
KEEPS_COROUTINE = frozenset(
    {
        "staticmethod",
        "classmethod",
        "builtins.staticmethod",
        "builtins.classmethod",
        "abstractmethod",
        "abc.abstractmethod",
        "override",
        "typing.override",
        "typing_extensions.override",
    }
)


def offloaded_function(reader: MetadataReader, call: cst.Call) -> tuple[str, int] | None:
    """(`asyncio.to_thread` / `run_in_executor`, index of the function argument) for a call
    that hands a function to a thread."""
    if resolves_name(reader, call.func, OFFLOADERS) is not None:
        return "asyncio.to_thread", 0
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value == "run_in_executor":
        return "run_in_executor", 1
    return None


def defined_functions(reader: MetadataReader, name: cst.Name) -> list[cst.FunctionDef]:
    """The `def`s that `name` refers to; empty when any binding of it is something else."""
    scope = reader.get_metadata(ScopeProvider, name, None)
    if scope is None:
        return []
    nodes = [getattr(a, "node", None) for a in scope[name.value]]  # type: ignore[index]
    if not all(isinstance(node, cst.FunctionDef) for node in nodes):
        return []
    return cast("list[cst.FunctionDef]", nodes)


def coroutine_function(reader: MetadataReader, expr: cst.BaseExpression) -> cst.FunctionDef | None:
    """The `async def` that `expr` names: a function of this module, or `self.method` of the
    enclosing class, when every definition of that name is an undecorated `async def`."""
    definitions: list[cst.FunctionDef]
    if isinstance(expr, cst.Name):
        definitions = defined_functions(reader, expr)
    else:
        owner = self_attribute_class(reader, expr)
        if owner is None:
            return None
        cls, attr = owner
        definitions = [
            statement
            for statement in cls.body.body
            if isinstance(statement, cst.FunctionDef) and statement.name.value == attr
        ]
        if attribute_bindings(reader, cls, attr):
            return None
    if not definitions or not all(
        func.asynchronous is not None and decorator_names(reader, func) <= KEEPS_COROUTINE
        for func in definitions
    ):
        return None
    return definitions[-1]


def is_async_generator(func: cst.FunctionDef) -> bool:
    return any(isinstance(node, cst.Yield) for node in own_nodes(func.body))


def has_comment(node: cst.CSTNode) -> bool:
    return "#" in cst.Module([]).code_for_node(node)


def _ast_argument(call: ast.Call, index: int) -> ast.expr | None:
    """The `index`-th argument in source order (keywords included, as libcst lists them), None
    when there are fewer or one of the first `index + 1` is unpacked (`*a`, `**k`)."""
    args: list[ast.expr | ast.keyword] = [*call.args, *call.keywords]
    args.sort(key=lambda arg: (arg.lineno, arg.col_offset))
    if len(args) <= index or any(
        isinstance(arg, ast.Starred) or (isinstance(arg, ast.keyword) and arg.arg is None)
        for arg in args[: index + 1]
    ):
        return None
    arg = args[index]
    return arg.value if isinstance(arg, ast.keyword) else arg


def _ast_kept_coroutine(node: ast.AST, name: str) -> bool:
    """`node` is `async def name` whose decorators may all keep it a coroutine function."""
    if not (isinstance(node, ast.AsyncFunctionDef) and node.name == name):
        return False
    for decorator in node.decorator_list:
        dotted = dotted_name(decorator.func if isinstance(decorator, ast.Call) else decorator)
        if dotted is not None and dotted not in KEEPS_COROUTINE:
            return False
    return True


class ToThreadOnCoroutineFunction(Detector):
    """`asyncio.to_thread()` / `run_in_executor()` on an `async def` never runs its body.

    ## Why is this bad?
    `asyncio.to_thread(f, x)` calls `f(x)` in a worker thread and returns what it returns.
    When `f` is an `async def`, that is a coroutine object that nobody awaits: the work
    silently never happens (Python only warns "coroutine was never awaited" at garbage
    collection), a thread-pool slot is spent for nothing, and the caller gets a coroutine
    instead of a result. The Dynamiq review checklist flags "`asyncio.to_thread()` wrapping
    already async-capable operations".

    ## Example
    ```python
    import asyncio


    class Summarizer:
        async def summarize(self, text):
            return text[:100]

        async def run(self, texts):
            return await asyncio.gather(*(asyncio.to_thread(self.summarize, t) for t in texts))
    ```

    ## Use instead
    ```python
    import asyncio


    class Summarizer:
        async def summarize(self, text):
            return text[:100]

        async def run(self, texts):
            return await asyncio.gather(*(self.summarize(t) for t in texts))
    ```

    ## Fix safety
    Safe: `asyncio.to_thread(f, *args, **kwargs)` and `loop.run_in_executor(executor, f,
    *args)` become `f(*args, **kwargs)`, an awaitable in the same place, which now runs the
    coroutine instead of returning it. An `asyncio` import that became unused is removed.
    The fix is unsafe when a comment or an expression with possible side effects (the
    executor or loop argument) would be dropped, and not offered when `f` is an async
    generator or the result is awaited a second time (the code already works around the
    bug). Only functions of the same module and methods of the enclosing class (through
    `self`) are resolved, and only when every definition of that name is an `async def`
    without decorators other than `staticmethod`, `classmethod`, `abstractmethod` and
    `override` (another decorator may turn it into a sync function).

    ## Metric to monitor
    "coroutine ... was never awaited" `RuntimeWarning`s, and results that are coroutine
    objects; after the fix, the offloaded work shows up in traces.
    """

    CODE = "ASY004"
    NAME = "to-thread-on-coroutine-function"
    SEVERITY = Severity.CRITICAL
    CATEGORY = "async"
    FIX = FixSafety.SAFE
    FRAMEWORKS = ("dynamiq", "pocketflow", "kaygraph", "pflow")
    MESSAGE = (
        "`{wrapper}()` on async `{callee}()` returns {result} that never runs;"
        " call `{callee}()` directly"
    )
    TRIGGERS = ("to_thread", "run_in_executor")
    METADATA_DEPENDENCIES = DEPENDENCIES
    REACH = "class"  # `self.method` is an unknown value when any method assigns `self.method`

    @classmethod
    def ast_candidate(cls, view: FileView) -> Sites:
        """Each `to_thread()` on a chain from a name that may stand for `asyncio`, or
        `<x>.run_in_executor()`, whose function argument is a name or `x.name` with an
        `async def name` in the module, decorated at most with names of `KEEPS_COROUTINE`."""
        if not view.has_async_def:
            return False
        asyncio_names = ast_module_names(view, "asyncio")
        sites: list[ast.AST] = []
        for call in view.calls_to("to_thread", "run_in_executor"):
            func = call.func
            if isinstance(func, ast.Attribute) and func.attr == "run_in_executor":
                target = _ast_argument(call, 1)
            elif ast_base_name(func) in asyncio_names:
                target = _ast_argument(call, 0)
            else:
                continue
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
                name = target.attr
            elif isinstance(target, ast.Name):
                name = target.id
            else:
                continue
            if any(_ast_kept_coroutine(node, name) for node in view.near([name])):
                sites.append(call)
        return sites

    def visit_Call(self, node: cst.Call) -> None:
        offloader = offloaded_function(self, node)
        if offloader is None:
            return
        wrapper, index = offloader
        if len(node.args) <= index or any(arg.star for arg in node.args[: index + 1]):
            return
        target = node.args[index].value
        func = coroutine_function(self, target)
        if func is None:
            return
        fix, note = self._fix_safety(node, index, func)
        result = "an async generator" if is_async_generator(func) else "a coroutine"
        callee = shown_callee(target)
        self.report(node, fix=fix, note=note, wrapper=wrapper, callee=callee, result=result)

    def _fix_safety(
        self, node: cst.Call, index: int, func: cst.FunctionDef
    ) -> tuple[FixSafety, str]:
        if is_async_generator(func):
            return FixSafety.NONE, f"`{func.name.value}()` is an async generator; iterate it"
        if self._awaited_twice(node):
            return FixSafety.NONE, "the returned coroutine is awaited later; remove both by hand"
        kept_value = node.args[index].with_changes(value=cst.Name("f"))
        dropped: list[cst.CSTNode] = [*node.args[:index], kept_value, node.func]
        if any(has_comment(piece) for piece in dropped):
            return FixSafety.UNSAFE, "a comment in the dropped arguments would be lost"
        if any(not self._is_pure(arg.value) for arg in node.args[:index]) or (
            isinstance(node.func, cst.Attribute) and not self._is_pure(node.func.value)
        ):
            return FixSafety.UNSAFE, "the dropped loop or executor expression may have effects"
        return FixSafety.SAFE, ""

    def _is_pure(self, expr: cst.BaseExpression) -> bool:
        if isinstance(expr, (cst.Name, cst.Attribute)):
            return all(self._is_pure(part) for part in _attribute_bases(expr))
        if isinstance(expr, cst.Call):
            return not expr.args and resolves_name(self, expr.func, LOOP_GETTERS) is not None
        return False

    def _awaited_twice(self, node: cst.Call) -> bool:
        """`coro = await asyncio.to_thread(f)` ... `await coro`."""
        owner = parent(self, node)
        statement = parent(self, owner) if isinstance(owner, cst.Await) else None
        if not isinstance(statement, cst.Assign) or len(statement.targets) != 1:
            return False
        target = statement.targets[0].target
        if not isinstance(target, cst.Name):
            return False
        function = scope_owner(self, node)
        return any(
            isinstance(inner, cst.Await) and _is_name(inner.expression, target.value)
            for inner in own_nodes(function)
        )


def _attribute_bases(expr: cst.BaseExpression) -> list[cst.BaseExpression]:
    """`a.b.c` → [] when it is names all the way down, else the innermost non-name base."""
    while isinstance(expr, cst.Attribute):
        expr = expr.value
    return [] if isinstance(expr, cst.Name) else [expr]


# --- ASY005: unconditional sleep in polling loops -------------------------------------------

MAX_POLL_INTERVAL = 0.1
# Calls that hand work to someone else (tasks, pools, queues, nodes, flows).
DISPATCH_CALLS = frozenset(
    {
        "create_task",
        "ensure_future",
        "gather",
        "submit",
        "map",
        "run_in_executor",
        "to_thread",
        "start_soon",
        "apply_async",
        "put",
        "put_nowait",
        "send",
        "start",
        "run",
        "run_async",
        "run_sync",
        "execute",
        "execute_async",
    }
)
Small = cst.BaseStatement | cst.BaseSmallStatement


def top_level_statements(block: cst.BaseSuite) -> list[Small]:
    """The statements of a block, simple statements split out of their lines."""
    if isinstance(block, cst.SimpleStatementSuite):
        return list(block.body)
    found: list[Small] = []
    for statement in cast("cst.IndentedBlock", block).body:
        if isinstance(statement, cst.SimpleStatementLine):
            found.extend(statement.body)
        else:
            found.append(statement)
    return found


def numeric_literal(expr: cst.BaseExpression | None) -> float | None:
    if isinstance(expr, (cst.Integer, cst.Float)):
        return float(expr.evaluated_value)
    return None


def small_interval(reader: MetadataReader, expr: cst.BaseExpression) -> str | None:
    """The source of a constant sleep interval in (0, 0.1] s: a literal, or a name whose every
    binding is such a literal."""
    values: list[float | None]
    if isinstance(expr, cst.Name):
        bindings = name_bindings(reader, expr) or [(None, None)]
        values = [numeric_literal(value) for value, _ in bindings]
    else:
        values = [numeric_literal(expr)]
    if all(value is not None and 0 < value <= MAX_POLL_INTERVAL for value in values):
        return cst.Module([]).code_for_node(expr)
    return None


def _terminal(func: cst.BaseExpression) -> str:
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return func.value if isinstance(func, cst.Name) else ""


def dispatches_work(branch: cst.If, awaits_count: bool) -> bool:
    """The branches of `branch` hand out work: a call to a task/pool/queue/node method, or (in
    a coroutine) an `await` of anything but a sleep. The condition itself does not count."""
    parts: list[cst.CSTNode] = [branch.body]
    if branch.orelse is not None:
        parts.append(branch.orelse)
    for node in (inner for part in parts for inner in own_nodes(part)):
        if isinstance(node, cst.Call) and _terminal(node.func) in DISPATCH_CALLS:
            return True
        if awaits_count and isinstance(node, cst.Await):
            awaited = node.expression
            if not (isinstance(awaited, cst.Call) and _terminal(awaited.func) == "sleep"):
                return True
    return False


def read_names(expr: cst.CSTNode) -> set[str]:
    """Variable names read in `expr` (attribute names and keywords excluded)."""
    if isinstance(expr, cst.Name):
        return {expr.value}
    if isinstance(expr, cst.Attribute):
        return read_names(expr.value)
    if isinstance(expr, cst.Arg):
        return read_names(expr.value)
    if isinstance(expr, (cst.Lambda, cst.FunctionDef, cst.ClassDef)):
        return set()
    return {name for child in expr.children for name in read_names(child)}


def polled_names(statements: list[Small]) -> set[str]:
    """Names a loop body binds without awaiting (`ready = scheduler.ready_nodes()`): what one
    iteration polled, as opposed to waited for (`job = await queue.get()`)."""
    found: set[str] = set()
    for statement in statements:
        if isinstance(statement, cst.Assign) and not _awaits(statement.value):
            found |= {t.target.value for t in statement.targets if isinstance(t.target, cst.Name)}
    return found


def _awaits(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Await) or any(isinstance(n, cst.Await) for n in own_nodes(expr))


def dispatches_polled_work(statement: Small, polled: set[str]) -> bool:
    """`results = executor.execute(ready_nodes=ready)`: a dispatch call at the loop body's top
    level whose arguments use what this iteration polled."""
    value = statement.value if isinstance(statement, (cst.Expr, cst.Assign)) else None
    if isinstance(value, cst.Await):
        value = value.expression
    return (
        isinstance(value, cst.Call)
        and _terminal(value.func) in DISPATCH_CALLS
        and any(read_names(arg) & polled for arg in value.args)
    )


def skips_to_next_iteration(root: cst.CSTNode) -> bool:
    """A `continue` of the enclosing loop below `root` (so the sleep can be skipped)."""
    for child in root.children:
        if isinstance(child, cst.Continue):
            return True
        if not isinstance(child, (cst.For, cst.While, cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            if skips_to_next_iteration(child):
                return True
        elif isinstance(child, (cst.For, cst.While)) and child.orelse is not None:
            if skips_to_next_iteration(child.orelse):
                return True
    return False


def is_exit_check(statement: Small) -> bool:
    """`if <condition>: break` (or `return` / `raise`): a poll of a condition."""
    if not isinstance(statement, cst.If) or statement.orelse is not None:
        return False
    body = top_level_statements(statement.body)
    return bool(body) and isinstance(body[-1], (cst.Break, cst.Return, cst.Raise))


def is_truthy_constant(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, cst.Name):
        return expr.value == "True"
    value = numeric_literal(expr)
    return value is not None and value != 0


def _ast_others(loop: ast.While, call: ast.Call, is_async: bool) -> list[ast.stmt] | None:
    """The other statements of `loop`'s body when `call` is one of them (awaited in a
    coroutine, not awaited elsewhere)."""
    for statement in loop.body:
        value = statement.value if isinstance(statement, ast.Expr) else None
        if is_async:
            value = value.value if isinstance(value, ast.Await) else None
        if value is call:
            return [other for other in loop.body if other is not statement]
    return None


def _ast_small_interval(view: FileView, call: ast.Call) -> bool:
    """One argument, not a keyword (libcst takes `*x` and `**x` for the one argument `x` too):
    a number in (0, MAX_POLL_INTERVAL], or a name some assignment (or `with`) binds to one."""
    args: list[ast.expr | ast.keyword] = [*call.args, *call.keywords]
    if len(args) != 1 or (isinstance(args[0], ast.keyword) and args[0].arg is not None):
        return False
    value = args[0] if isinstance(args[0], ast.expr) else args[0].value
    value = value.value if isinstance(value, ast.Starred) else value
    if not isinstance(value, ast.Name):
        return _ast_small_number(value)
    for statement in view.near([value.id]):
        if isinstance(statement, (ast.Assign, ast.AnnAssign)):
            parts = [statement.value]
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            parts = [item.context_expr for item in statement.items]
        else:
            continue
        if any(_ast_small_number(part) for part in parts):
            return True
    return False


def _ast_small_number(expr: ast.expr | None) -> bool:
    if not isinstance(expr, ast.Constant) or isinstance(expr.value, bool):
        return False
    return isinstance(expr.value, (int, float)) and 0 < expr.value <= MAX_POLL_INTERVAL


def _ast_dispatches(others: list[ast.stmt], is_async: bool) -> bool:
    """`dispatches_before_sleeping`, assuming no `continue` skips the sleep: an `if` whose
    branches call a `DISPATCH_CALLS` name or (in a coroutine) await anything but a sleep, or
    a dispatch call at the top level whose arguments read a name the body assigns."""
    polled = {
        t.id
        for s in others
        if isinstance(s, ast.Assign)
        for t in s.targets
        if isinstance(t, ast.Name)
    }
    for statement in others:
        if isinstance(statement, ast.If):
            for node in (n for part in statement.body + statement.orelse for n in ast.walk(part)):
                if isinstance(node, ast.Call) and call_name(node) in DISPATCH_CALLS:
                    return True
                if is_async and isinstance(node, ast.Await):
                    awaited = node.value
                    if not (isinstance(awaited, ast.Call) and call_name(awaited) == "sleep"):
                        return True
        value = statement.value if isinstance(statement, (ast.Expr, ast.Assign)) else None
        value = value.value if isinstance(value, ast.Await) else value
        if isinstance(value, ast.Call) and call_name(value) in DISPATCH_CALLS:
            arguments = [*value.args, *value.keywords]
            if any(
                isinstance(n, ast.Name) and n.id in polled for a in arguments for n in ast.walk(a)
            ):
                return True
    return False


def _ast_busy_waits(loop: ast.While, others: list[ast.stmt]) -> bool:
    """`_busy_waits`: the other statements are `pass` or `if ...: break` checks, and there is
    one or the loop's test is not a truthy constant."""
    checks = [
        s
        for s in others
        if isinstance(s, ast.If)
        and not s.orelse
        and isinstance(s.body[-1], (ast.Break, ast.Return, ast.Raise))
    ]
    if len(checks) + sum(isinstance(s, ast.Pass) for s in others) < len(others):
        return False
    test = loop.test
    truthy = isinstance(test, ast.Constant) and (
        test.value is True or (type(test.value) in (int, float) and test.value != 0)
    )
    return bool(checks) or not truthy


class UnconditionalPollSleep(Detector):
    """A polling loop that sleeps on every iteration, even right after dispatching work.

    ## Why is this bad?
    A scheduler loop such as Dynamiq's `Flow.run_async` (find the ready nodes, run them,
    `await asyncio.sleep(0.001)`, repeat) adds the sleep, plus the loop's wake-up latency, to
    every step of the graph: a chain of 50 nodes waits 50 times for nothing, because after a
    batch finished the next nodes are usually ready at once. Dynamiq PR #674 made this sleep
    conditional ("only when no nodes dispatched") as one of its per-request savings. The sync
    twin, a `while` loop that polls a condition with `time.sleep(0.01)`, wakes its thread a
    hundred times a second and still reacts up to 10 ms late.

    ## Example
    ```python
    import asyncio


    async def run_ready_nodes(scheduler):
        while scheduler.is_active():
            ready = scheduler.ready_nodes()
            if ready:
                await asyncio.gather(*(node.run() for node in ready))
            await asyncio.sleep(0.001)
    ```

    ## Use instead
    ```python
    import asyncio


    async def run_ready_nodes(scheduler):
        while scheduler.is_active():
            ready = scheduler.ready_nodes()
            if ready:
                await asyncio.gather(*(node.run() for node in ready))
            else:
                await asyncio.sleep(0.001)
    ```
    For a sync busy-wait (`while not done(): time.sleep(0.01)`), wait on the thing itself:
    `event.wait()`, `future.result()`, `concurrent.futures.wait(...)`, `process.wait()` or a
    `threading.Condition`.

    ## Metric to monitor
    Per-node scheduling overhead (flow wall time minus the sum of node times), and the
    number of loop iterations per flow run; idle CPU wake-ups for the sync form.

    ## Limitations
    Only constant intervals up to 0.1 s are reported (longer sleeps are usually deliberate
    throttling). A loop counts as dispatching work when an `if` in its body awaits something
    or calls a task, pool, queue or node method (`create_task`, `submit`, `put`, `run`, ...),
    or when its body passes what the iteration polled to such a call
    (`executor.execute(ready_nodes)`); a `continue` in that `if` counts as skipping the sleep,
    and work that was awaited rather than polled (`job = await queue.get()`) does not count.
    The sync form is reported in functions (not module-level scripts) for loops that only
    poll (`if ...: break` checks) or that dispatch work the same way.
    """

    CODE = "ASY005"
    NAME = "unconditional-poll-sleep"
    SEVERITY = Severity.OPTIMIZATION
    CATEGORY = "async"
    FIX = FixSafety.NONE
    FRAMEWORKS = ("dynamiq", "pocketflow", "kaygraph", "pflow")
    MESSAGE = "`{sleep}({interval})` in `{function}()` {problem}; {advice}"
    TRIGGERS = ("sleep",)
    METADATA_DEPENDENCIES = DEPENDENCIES
    REACH = "function"

    @classmethod
    def ast_candidate(cls, view: FileView) -> Sites:
        """Each `sleep()` that is a statement directly in a `while` body in a function: awaited
        `asyncio.sleep` in an `async def`, plain `time.sleep` in a `def` (on a chain from a name
        that may stand for that module), with one argument, a name or a number in (0, 0.1],
        in a loop whose other statements may dispatch work or only poll (sync loops)."""
        if not view.statements.whiles:
            return False
        sleeps = {
            True: ast_module_names(view, "asyncio"),
            False: ast_module_names(view, "time"),
        }
        sites: list[ast.AST] = []
        for call in view.calls_to("sleep"):
            chain, index = ast_owner(view, call)
            if index is None or not isinstance(chain[index], FUNCTION_DEFS):
                continue
            is_async = isinstance(chain[index], ast.AsyncFunctionDef)
            if ast_base_name(call.func) not in sleeps[is_async] or not _ast_small_interval(
                view, call
            ):
                continue
            for loop in (s for s in chain[index + 1 :][-2:] if isinstance(s, ast.While)):
                others = _ast_others(loop, call, is_async)
                if others is not None and (
                    _ast_dispatches(others, is_async)
                    or (not is_async and _ast_busy_waits(loop, others))
                ):
                    sites.append(call)
        return sites

    def visit_While(self, node: cst.While) -> None:
        owner = scope_owner(self, node)
        if not isinstance(owner, cst.FunctionDef):
            return
        is_async = owner.asynchronous is not None
        statements = top_level_statements(node.body)
        for statement in statements:
            sleep = self._poll_sleep(statement, is_async)
            if sleep is None:
                continue
            call, interval = sleep
            others = [s for s in statements if s is not statement]
            shown = "await asyncio.sleep" if is_async else "time.sleep"
            if self._dispatches_before_sleeping(others, is_async):
                self.report(
                    call,
                    sleep=shown,
                    interval=interval,
                    problem="runs on every poll, even right after dispatching work",
                    function=owner.name.value,
                    advice="sleep only when nothing was dispatched",
                )
            elif not is_async and self._busy_waits(node, others):
                self.report(
                    call,
                    sleep=shown,
                    interval=interval,
                    problem="busy-waits on a condition",
                    function=owner.name.value,
                    advice="wait on an event, future or condition instead",
                )

    def _poll_sleep(self, statement: Small, is_async: bool) -> tuple[cst.Call, str] | None:
        if not isinstance(statement, cst.Expr):
            return None
        value = statement.value
        if is_async:
            if not isinstance(value, cst.Await):
                return None
            value = value.expression
        target = {"asyncio.sleep"} if is_async else {"time.sleep"}
        if not isinstance(value, cst.Call) or resolves_name(self, value.func, target) is None:
            return None
        if len(value.args) != 1 or value.args[0].keyword is not None:
            return None
        interval = small_interval(self, value.args[0].value)
        return (value, interval) if interval is not None else None

    def _dispatches_before_sleeping(self, others: list[Small], is_async: bool) -> bool:
        polled = polled_names(others)
        return any(
            (
                isinstance(statement, cst.If)
                and dispatches_work(statement, is_async)
                and not skips_to_next_iteration(statement)
            )
            or dispatches_polled_work(statement, polled)
            for statement in others
        )

    def _busy_waits(self, loop: cst.While, others: list[Small]) -> bool:
        if not all(isinstance(s, cst.Pass) or is_exit_check(s) for s in others):
            return False
        return any(is_exit_check(s) for s in others) or not is_truthy_constant(loop.test)


# --- ASY007: an event loop per call ---------------------------------------------------------

LOOP_FACTORIES = frozenset(
    {"asyncio.run", "asyncio.runners.run", "asyncio.new_event_loop", "asyncio.Runner"}
)
PER_CALL_HOOKS = PER_CALL_METHODS | {"prep", "post"}
ROUTE_DECORATORS = frozenset(
    {"get", "post", "put", "patch", "delete", "route", "api_route", "websocket"}
)
WEB_APPS = frozenset(
    {
        "fastapi.FastAPI",
        "fastapi.APIRouter",
        "flask.Flask",
        "flask.Blueprint",
        "quart.Quart",
        "quart.Blueprint",
        "starlette.applications.Starlette",
        "sanic.Sanic",
    }
)


def is_route_handler(reader: MetadataReader, func: cst.FunctionDef) -> bool:
    """Decorated as a web route (`@app.get("/x")`, `@router.post(...)`, `@app.route(...)`) of
    a FastAPI / Flask / ... app or router built in this module."""
    for decorator in func.decorators:
        target = decorator.decorator
        if not (
            isinstance(target, cst.Call)
            and isinstance(target.func, cst.Attribute)
            and target.func.attr.value in ROUTE_DECORATORS
            and isinstance(target.func.value, cst.Name)
        ):
            continue
        app = bound_class(
            reader,
            target.func.value,
            WEB_APPS,
            lambda value: (
                resolves_name(reader, value.func, WEB_APPS) if isinstance(value, cst.Call) else None
            ),
        )
        if app is not None:
            return True
    return False


def is_per_call_hook(reader: MetadataReader, func: cst.FunctionDef) -> bool:
    """A node class's per-call method (`execute`, `exec`, `run`, `prep`, `post`, ...)."""
    cls = method_class(reader, func)
    return (
        cls is not None
        and func.name.value in PER_CALL_HOOKS
        and framework_of(reader, cls) is not None
    )


def called_helpers(reader: MetadataReader, func: cst.FunctionDef) -> list[cst.FunctionDef]:
    """Sync functions of this module and methods of the same class that `func` calls directly."""
    cls = method_class(reader, func)
    this = instance_name(reader, func) if cls is not None else None
    found: list[cst.FunctionDef] = []
    for node in own_nodes(func.body):
        if not isinstance(node, cst.Call):
            continue
        callee = node.func
        if isinstance(callee, cst.Name):
            found += [f for f in defined_functions(reader, callee) if f.asynchronous is None]
        elif (
            cls is not None
            and isinstance(callee, cst.Attribute)
            and _is_name(callee.value, this or "")
        ):
            method = find_method(cls, callee.attr.value)
            if method is not None and method.asynchronous is None:
                found.append(method)
    return found


def _ast_stored(statement: ast.AST, call: ast.Call) -> bool:
    """`self._loop = asyncio.new_event_loop()`: the call is the value of an assignment to an
    attribute."""
    return (
        isinstance(statement, ast.Assign)
        and statement.value is call
        and any(isinstance(target, ast.Attribute) for target in statement.targets)
    )


def _ast_hook(view: FileView, chain: list[ast.AST], index: int | None) -> bool:
    """The innermost def of `chain` may be a per-call hook (a `PER_CALL_HOOKS` method of a
    class that may be a node class) or a route handler (decorated `@<name>.get(...)` where a
    web framework is mentioned)."""
    if index is None or not isinstance(func := chain[index], FUNCTION_DEFS):
        return False
    cls = chain[index - 1] if index else None
    if func.name in PER_CALL_HOOKS and isinstance(cls, ast.ClassDef):
        if _ast_node_class(view, chain[: index - 1], cls):
            return True
    return any(
        isinstance(d, ast.Call)
        and isinstance(d.func, ast.Attribute)
        and d.func.attr in ROUTE_DECORATORS
        and isinstance(d.func.value, ast.Name)
        for d in func.decorator_list
    ) and view.mentions(*{app.split(".")[0] for app in WEB_APPS})


def _ast_node_class(view: FileView, outer: list[ast.AST], cls: ast.ClassDef) -> bool:
    """`framework_of` may know `cls`: a node hook among its methods, or a base that starts from
    a framework's name or from a name imported from a framework package, or a def or class
    around it named like one (libcst qualifies a local `Base` as `outer.<locals>.Base`)."""
    methods = {s.name for s in cls.body if isinstance(s, FUNCTION_DEFS)}
    if methods & ({"init_components", "ensure_client", "execute"} | PLAIN_NODE_HOOKS):
        return True
    if not cls.bases:
        return False
    words = ("dynamiq*", *(f"{prefix}*" for prefix in PLAIN_FRAMEWORK_PREFIXES))
    names = [ast_base_name(base) or "" for base in cls.bases]
    names += [s.name for s in outer if isinstance(s, SCOPE_DEFS)]
    imported = ast_module_names(view, *words)
    return any(name in imported or matches(name, word) for name in names for word in words)


class EventLoopPerCall(Detector):
    """`asyncio.run()` or `asyncio.new_event_loop()` on every call of a node or request handler.

    ## Why is this bad?
    Each `asyncio.run()` creates an event loop, runs the coroutine, cancels what is left,
    shuts down the default executor and closes the loop. Done per node execution or per
    request, that adds loop setup and teardown to every call, throws away everything bound to
    the loop (connection pools of `httpx.AsyncClient`, `AsyncOpenAI`, aiohttp sessions, which
    then fail with "Event loop is closed" when reused), and raises `RuntimeError` when the
    caller already runs inside an event loop (Jupyter, an async web server, an `AsyncFlow`).
    Dynamiq's connection manager documents that its cache keying "is unsafe across
    sequential `asyncio.run(...)` invocations" for exactly this reason.

    ## Example
    ```python
    import asyncio

    from pocketflow import Node


    class SearchNode(Node):
        def exec(self, query):
            return asyncio.run(self.search(query))

        async def search(self, query):
            return [query]
    ```

    ## Use instead
    ```python
    from pocketflow import AsyncNode


    class SearchNode(AsyncNode):
        async def exec_async(self, query):
            return await self.search(query)

        async def search(self, query):
            return [query]
    ```
    Or keep one long-lived loop (a background thread running `loop.run_forever()`, used
    through `asyncio.run_coroutine_threadsafe`) and create it once, in `__init__` /
    `init_components`, not per call.

    ## Metric to monitor
    Per-call latency of the node, "Event loop is closed" errors, and the number of
    connections opened per request (pools rebuilt on every new loop).

    ## Limitations
    Reported in the per-call methods of framework node classes (`execute`, `exec`, `run`,
    `__call__`, `prep`, `post`, ...), in the route handlers of a web app or router built in
    the same module (`app = FastAPI()`, `@app.get(...)`), and in the sync functions and
    methods of the same module that those call directly. The common sync wrapper
    `def run(self, ...): return asyncio.run(self.run_async(...))` of a node class is reported
    too: it does create a loop per call. `main()`, CLI entry points, module-level code, a loop
    stored on the instance (`self._loop = asyncio.new_event_loop()`) and
    `loop.run_until_complete()` on an existing loop are not.
    """

    CODE = "ASY007"
    NAME = "event-loop-per-call"
    SEVERITY = Severity.OPTIMIZATION
    CATEGORY = "async"
    FIX = FixSafety.NONE
    FRAMEWORKS = ("dynamiq", "pocketflow", "kaygraph", "pflow")
    MESSAGE = (
        "`{factory}()` creates an event loop on every call of `{function}()`{via};"
        " make the caller async or reuse one loop"
    )
    TRIGGERS = ("asyncio",)
    METADATA_DEPENDENCIES = DEPENDENCIES
    REACH = "function"  # a helper's sites include the calls to it from per-call hooks

    @classmethod
    def ast_candidate(cls, view: FileView) -> Sites:
        """Each `run()` / `new_event_loop()` / `Runner()` on a chain from a name that may stand
        for `asyncio`, not stored on an attribute, in a function that may be a per-call hook
        or route handler; or in a sync function named by a call in the own code of one, which
        is a site too (the rule reads the hooks that call a helper)."""
        names = ast_module_names(view, "asyncio")
        sites: list[ast.AST] = []
        for call in view.calls_to("run", "new_event_loop", "Runner"):
            chain, index = ast_owner(view, call)
            if (
                ast_base_name(call.func) not in names
                or index is None
                or not isinstance(chain[index], FUNCTION_DEFS)
                or _ast_stored(chain[-1], call)
            ):
                continue
            owner = chain[index]
            if _ast_hook(view, chain, index):
                sites.append(call)
            elif isinstance(owner, ast.FunctionDef):
                callers = [
                    c for c in view.calls_to(owner.name) if _ast_hook(view, *ast_owner(view, c))
                ]
                sites += [call, *callers] if callers else []
        return sites

    def visit_Module(self, node: cst.Module) -> None:
        self._module = node
        self._helpers: dict[cst.FunctionDef, str] | None = None

    def visit_Call(self, node: cst.Call) -> None:
        factory = resolves_name(self, node.func, LOOP_FACTORIES)
        if factory is None or self._is_stored(node):
            return
        owner = scope_owner(self, node)
        if not isinstance(owner, cst.FunctionDef):
            return
        if is_per_call_hook(self, owner) or is_route_handler(self, owner):
            via = ""
        elif owner in self.helpers():
            via = f" (called from `{self.helpers()[owner]}()`)"
        else:
            return
        shown = factory.replace("runners.", "")
        self.report(node, factory=shown, function=owner.name.value, via=via)

    def helpers(self) -> dict[cst.FunctionDef, str]:
        """Functions called directly by a per-call hook or route of this module → its name."""
        if self._helpers is None:
            self._helpers = {}
            for func in own_functions(self._module):
                if is_per_call_hook(self, func) or is_route_handler(self, func):
                    for helper in called_helpers(self, func):
                        self._helpers.setdefault(helper, func.name.value)
        return self._helpers

    def _is_stored(self, node: cst.Call) -> bool:
        """`self._loop = asyncio.new_event_loop()`: created once and kept."""
        owner = parent(self, node)
        return (
            isinstance(owner, cst.Assign)
            and owner.value is node
            and any(isinstance(t.target, cst.Attribute) for t in owner.targets)
        )


def own_functions(module: cst.Module) -> list[cst.FunctionDef]:
    """Module-level functions and the methods of module-level classes."""
    found: list[cst.FunctionDef] = []
    for statement in module.body:
        if isinstance(statement, cst.FunctionDef):
            found.append(statement)
        elif isinstance(statement, cst.ClassDef):
            found += [s for s in statement.body.body if isinstance(s, cst.FunctionDef)]
    return found
