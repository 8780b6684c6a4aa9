"""Which pool a call constructs: the `*PoolExecutor` class, and whether its workers are
threads (Dynamiq's `ThreadExecutor` and KayGraph's parallel nodes included)."""

from __future__ import annotations

import ast

from flowfix.analysis import Model
from flowfix.analysis.names import full_name

EXECUTOR_SUFFIX = "PoolExecutor"
# Pools whose workers are processes (or interpreters): CPU-bound sizing, not the I/O heuristic.
NOT_THREADS = ("Process", "Interpreter")
THREAD_POOLS = frozenset({"dynamiq.executors.pool.ThreadExecutor"})
PARALLEL_NODE_PREFIX = "kaygraph."
PARALLEL_NODE_MARK = "Parallel"


def executor_class(model: Model, call: ast.Call) -> str | None:
    """Short name of the `*PoolExecutor` class `call` constructs (any import form), else
    None."""
    if isinstance(call.func, ast.Attribute) and not call.func.attr.endswith(EXECUTOR_SUFFIX):
        return None  # every name it may have ends in this attribute (a cheap first test)
    names = model.qualified_names(call.func)
    if not names:
        dotted = full_name(call.func)
        names = {dotted} if dotted else set()
    for name in sorted(names):
        short = name.rsplit(".", 1)[-1]
        if short.endswith(EXECUTOR_SUFFIX):
            return short
    return None


def is_parallel_node(name: str) -> bool:
    """A KayGraph node class that runs its items on a thread pool (`ParallelBatchNode`)."""
    return name.startswith(PARALLEL_NODE_PREFIX) and PARALLEL_NODE_MARK in name.rsplit(".", 1)[-1]


def is_thread_pool(model: Model, call: ast.Call) -> bool:
    """A thread `*PoolExecutor`, Dynamiq's `ThreadExecutor` or a KayGraph parallel node."""
    executor = executor_class(model, call)
    if executor is not None:
        return not any(mark in executor for mark in NOT_THREADS)
    names = model.qualified_names(call.func)
    return bool(names & THREAD_POOLS) or any(is_parallel_node(name) for name in names)
