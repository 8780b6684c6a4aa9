"""Seed 003's timeout executors: which executors a loop submits to and whose futures it awaits
with a timeout (`future.result(timeout=...)`), directly or through a helper it passes the
executor to; and the constructions an executor reference (a name or `self.<attr>`) is bound
to."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from flowfix.analysis import Model
from flowfix.analysis.arguments import argument_values
from flowfix.analysis.frameworks import find_method
from flowfix.analysis.methods import instance_name, is_instance_attribute
from flowfix.analysis.model import FUNCTIONS, FunctionNode, LoopNode
from flowfix.analysis.values import assigned_value, block_nodes
from flowfix.detectors.executors.executor_classes import executor_class
from flowfix.detectors.executors.pool_waits import (
    calls_result_with_timeout,
    is_result_with_timeout,
)

Loop = LoopNode


@dataclass(frozen=True)
class TimeoutWait:
    """In a loop: `executor` (a name or `self.attr`) gets work whose future is awaited with a
    timeout at `wait` (the `.result(timeout)` call, or the helper call that does it)."""

    executor: ast.expr
    wait: ast.Call


def timeout_waits(model: Model, loop: Loop, func: FunctionNode) -> list[TimeoutWait]:
    """Executors submitted to in `loop` whose results it awaits with a timeout (seed 003)."""
    calls = [node for node in block_nodes(loop.body) if isinstance(node, ast.Call)]
    direct = [call for call in calls if is_result_with_timeout(call)]
    waits: list[TimeoutWait] = []
    for node in calls:
        if isinstance(node.func, ast.Attribute) and node.func.attr == "submit":
            waits.extend(TimeoutWait(node.func.value, wait) for wait in direct)
            continue
        helper = called_function(model, node, func)
        if helper is not None and calls_result_with_timeout(helper.body):
            waits.extend(
                TimeoutWait(value, node)
                for value in argument_values(node)
                if isinstance(value, (ast.Name, ast.Attribute))
            )
    return waits


def called_function(model: Model, call: ast.Call, func: FunctionNode) -> FunctionNode | None:
    """The method of `func`'s class (`self.m(...)`) or the function (`f(...)`, bound once)
    that `call` calls."""
    callee = call.func
    if isinstance(callee, ast.Attribute) and isinstance(callee.value, ast.Name):
        cls = model.class_of(func)
        if cls is not None and callee.value.id == instance_name(model, func):
            return find_method(cls, callee.attr)
        return None
    if isinstance(callee, ast.Name):
        bindings = model.bindings_of(callee)
        node = bindings[0].node if len(bindings) == 1 else None
        if isinstance(node, FUNCTIONS):
            return node
    return None


def executor_constructors(model: Model, ref: ast.expr, func: FunctionNode) -> list[ast.Call] | None:
    """The executor constructions `ref` (a name, or `self.attr` of `func`'s class) is bound
    to; None when it may also be bound to anything else but `None`."""
    values: list[ast.AST | None] = []
    if isinstance(ref, ast.Name):
        for binding in model.bindings_of(ref):
            target = binding.node
            if isinstance(target, ast.Name) and isinstance(target.ctx, ast.Del):
                continue  # `del name` does not bind a value
            if not isinstance(target, ast.Name):
                return None  # a parameter, an import, a def: anything
            values.append(assigned_value(model, target) or _with_value(model, target))
    elif isinstance(ref, ast.Attribute) and isinstance(ref.value, ast.Name):
        cls = model.class_of(func)
        if cls is None or ref.value.id != instance_name(model, func):
            return None
        values = _attribute_values(model, cls, ref.attr)
    else:
        return None
    calls: list[ast.Call] = []
    for value in values:
        if isinstance(value, ast.Constant) and value.value is None:
            continue
        if not isinstance(value, ast.Call) or executor_class(model, value) is None:
            return None
        calls.append(value)
    return calls or None


def _with_value(model: Model, target: ast.Name) -> ast.AST | None:
    """The context manager `target` names in `with <value> as target:`."""
    item = model.parent(target)
    if isinstance(item, ast.withitem) and item.optional_vars is target:
        return item.context_expr
    return None


def _attribute_values(model: Model, cls: ast.ClassDef, attr: str) -> list[ast.AST | None]:
    """Values assigned to `self.<attr>` by the methods of `cls`."""
    values: list[ast.AST | None] = []
    for method in cls.body:
        if not isinstance(method, FUNCTIONS):
            continue
        this = instance_name(model, method)
        for node in block_nodes(method.body):
            targets: list[ast.expr]
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AnnAssign):
                targets = [node.target]
            else:
                continue
            for target in targets:
                if is_instance_attribute(target, this, attr):
                    values.append(node.value if len(targets) == 1 else None)
    return values


def is_timeout_executor(model: Model, call: ast.Call, func: FunctionNode) -> bool:
    """Seed 003's fix: a fresh executor per attempt of a loop, its future awaited with a
    timeout."""
    loop = model.iteration_loop(call)
    while loop is not None:
        for wait in timeout_waits(model, loop, func):
            calls = executor_constructors(model, wait.executor, func)
            if calls is not None and any(found is call for found in calls):
                return True
        loop = model.iteration_loop(loop)
    return False
