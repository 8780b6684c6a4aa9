"""ASY004: `asyncio.to_thread()` / `run_in_executor()` handed an `async def`."""

from __future__ import annotations

import ast

from flowfix.analysis import Model
from flowfix.analysis.arguments import ordered_arguments
from flowfix.analysis.assignments import local_assignment
from flowfix.analysis.frameworks import ALL_FRAMEWORKS, decorator_names
from flowfix.analysis.model import DEFINITIONS, FUNCTIONS, FunctionNode
from flowfix.analysis.values import dotted_name, own_nodes
from flowfix.detector import Detector
from flowfix.detectors.async_.bound_values import (
    attribute_bindings,
    defined_functions,
    self_attribute,
)
from flowfix.rules import FixSafety, Severity

OFFLOADERS = frozenset({"asyncio.to_thread"})
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
    coroutine instead of returning it. An `asyncio` import that became unused is removed, and
    so is a `loop = asyncio.get_running_loop()` (or executor) assignment once the fix has
    rewritten every use of it (when its value is a name, an attribute or the loop getter). A
    comment in the dropped arguments moves above the statement (or to its end, when the
    rewritten statement fits on one line without a comment of its own). The fix is unsafe
    when an expression with possible side effects (the executor or loop argument) would be
    dropped, and not offered when `f` is an async generator or the result is awaited a
    second time (the code already works around the bug). Only functions of the same module
    and methods of the enclosing class (through `self`) are resolved, and only when every
    definition of that name is an `async def` without decorators other than `staticmethod`,
    `classmethod`, `abstractmethod` and `override` (another decorator may turn it into a sync
    function).

    ## Metric to monitor
    "coroutine ... was never awaited" `RuntimeWarning`s, and results that are coroutine
    objects; after the fix, the offloaded work shows up in traces.
    """

    CODE = "ASY004"
    NAME = "to-thread-on-coroutine-function"
    SEVERITY = Severity.CRITICAL
    PRODUCTION_ONLY = False
    CATEGORY = "async"
    FIX = FixSafety.SAFE
    FRAMEWORKS = ALL_FRAMEWORKS
    MESSAGE = (
        "`{wrapper}()` on async `{callee}()` returns {result} that never runs;"
        " call `{callee}()` directly"
    )
    TRIGGERS = ("to_thread", "run_in_executor")

    def visit_Call(self, node: ast.Call) -> None:
        offloader = _offloader(self.model, node)
        if offloader is None:
            return
        wrapper, index = offloader
        args = ordered_arguments(node)
        if len(args) <= index or any(_is_unpacked(arg) for arg in args[: index + 1]):
            return
        target = _value(args[index])
        func = coroutine_function(self.model, target)
        if func is None:
            return
        fix, note = self._fix_safety(node, args, index, func)
        result = "an async generator" if _is_async_generator(func) else "a coroutine"
        callee = dotted_name(target) or "call"
        assignments = self._dropped_locals(node, args, index) if fix != FixSafety.NONE else []
        self.report(
            node,
            fix=fix,
            note=note,
            data={"assignments": assignments} if assignments else None,
            wrapper=wrapper,
            callee=callee,
            result=result,
        )

    def _dropped_locals(
        self, node: ast.Call, args: list[ast.expr | ast.keyword], index: int
    ) -> list[dict[str, object]]:
        """The assignments of the locals the fix drops (the loop in `loop.run_in_executor`, a
        named executor) whose value may go with them: the codemod removes each one once
        every read of it is gone."""
        dropped = [_value(arg) for arg in args[:index]]
        if isinstance(node.func, ast.Attribute):
            dropped.append(node.func.value)
        func = self.model.function_of(node)
        found = []
        for expr in dropped:
            if not isinstance(expr, ast.Name) or func is None:
                continue
            assignment = local_assignment(self.model, func, expr.id)
            if assignment is not None and self._is_pure(_assigned(self.model, expr)):
                found.append(assignment)
        return found

    def _fix_safety(
        self, node: ast.Call, args: list[ast.expr | ast.keyword], index: int, func: FunctionNode
    ) -> tuple[FixSafety, str]:
        if _is_async_generator(func):
            return FixSafety.NONE, f"`{func.name}()` is an async generator; iterate it"
        if self._awaited_twice(node):
            return FixSafety.NONE, "the returned coroutine is awaited later; remove both by hand"
        if any(not self._is_pure(_value(arg)) for arg in args[:index]) or (
            isinstance(node.func, ast.Attribute) and not self._is_pure(node.func.value)
        ):
            return FixSafety.UNSAFE, "the dropped loop or executor expression may have effects"
        return FixSafety.SAFE, ""

    def _is_pure(self, expr: ast.expr) -> bool:
        """A name or attribute chain on a name, `None`, `True`, `False`, or one of those on
        `asyncio.get_running_loop()` (no argument)."""
        while isinstance(expr, ast.Attribute):
            expr = expr.value
        if isinstance(expr, ast.Name):
            return True
        if isinstance(expr, ast.Constant):
            return expr.value is None or isinstance(expr.value, bool)
        if isinstance(expr, ast.Call):
            return (
                not expr.args
                and not expr.keywords
                and self.model.resolves_to(expr.func, LOOP_GETTERS) is not None
            )
        return False

    def _awaited_twice(self, node: ast.Call) -> bool:
        """`coro = await asyncio.to_thread(f)` ... `await coro`."""
        owner = self.model.parent(node)
        statement = self.model.parent(owner) if isinstance(owner, ast.Await) else None
        if not isinstance(statement, ast.Assign) or len(statement.targets) != 1:
            return False
        target = statement.targets[0]
        if not isinstance(target, ast.Name):
            return False
        function = next(
            (a for a in self.model.ancestors(node) if isinstance(a, DEFINITIONS)), self.model.tree
        )
        return any(
            isinstance(inner, ast.Await)
            and isinstance(inner.value, ast.Name)
            and inner.value.id == target.id
            for inner in own_nodes(function)
        )


def _offloader(model: Model, call: ast.Call) -> tuple[str, int] | None:
    """(`asyncio.to_thread` / `run_in_executor`, index of the function argument) for a call
    that hands a function to a thread."""
    if model.resolves_to(call.func, OFFLOADERS) is not None:
        return "asyncio.to_thread", 0
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr == "run_in_executor":
        return "run_in_executor", 1
    return None


def _is_unpacked(arg: ast.expr | ast.keyword) -> bool:
    return isinstance(arg, ast.Starred) or (isinstance(arg, ast.keyword) and arg.arg is None)


def _assigned(model: Model, name: ast.Name) -> ast.expr:
    """The value of the one assignment `name` reads (`local_assignment` found it)."""
    (binding,) = model.bindings_of(name)
    statement = model.parent(binding.node)
    assert isinstance(statement, ast.Assign)
    return statement.value


def _value(arg: ast.expr | ast.keyword) -> ast.expr:
    return arg.value if isinstance(arg, ast.keyword) else arg


def coroutine_function(model: Model, expr: ast.expr) -> FunctionNode | None:
    """The `async def` that `expr` names: a function of this module, or `self.method` of the
    enclosing class, when every definition of that name is an `async def` whose decorators
    all keep it a coroutine function (and no method assigns `self.method`)."""
    definitions: list[FunctionNode]
    if isinstance(expr, ast.Name):
        definitions = defined_functions(model, expr)
    else:
        owner = self_attribute(model, expr)
        if owner is None:
            return None
        cls, attr = owner
        definitions = [s for s in cls.body if isinstance(s, FUNCTIONS) and s.name == attr]
        if attribute_bindings(model, cls, attr):
            return None
    if not definitions or not all(
        isinstance(func, ast.AsyncFunctionDef) and decorator_names(model, func) <= KEEPS_COROUTINE
        for func in definitions
    ):
        return None
    return definitions[-1]


def _is_async_generator(func: FunctionNode) -> bool:
    body = ast.Module(body=func.body, type_ignores=[])
    return any(isinstance(node, (ast.Yield, ast.YieldFrom)) for node in own_nodes(body))
