"""When a blocking call in a coroutine can be rewritten into an awaited asyncio call."""

from __future__ import annotations

import ast

from flowfix.analysis import Model
from flowfix.rules import FixSafety


def offload_fix(model: Model, call: ast.Call, coroutine: ast.AST) -> tuple[FixSafety | None, str]:
    """Whether `call` can become `await asyncio.<...>(...)` here: (None, "") when it can."""
    if model.in_generator_expression(call, coroutine):
        return FixSafety.NONE, "inside a generator expression, `await` would change its type"
    if model.bound_otherwise(call, "asyncio"):
        return FixSafety.NONE, "the name `asyncio` is bound to something else here"
    return None, ""


OFFLOADERS = frozenset({"asyncio.to_thread"})


def is_awaited(model: Model, call: ast.Call) -> bool:
    owner = model.parent(call)
    return isinstance(owner, ast.Await) and owner.value is call


def is_offloaded(model: Model, call: ast.Call) -> bool:
    """`call` is itself an argument of `asyncio.to_thread(...)` / `loop.run_in_executor(...)`
    (it runs before they get it)."""
    owner = model.parent(call)
    if isinstance(owner, (ast.keyword, ast.Starred)):
        owner = model.parent(owner)
    elif not (isinstance(owner, ast.Call) and call in owner.args):
        return False
    return isinstance(owner, ast.Call) and (
        model.resolves_to(owner.func, OFFLOADERS) is not None
        or (isinstance(owner.func, ast.Attribute) and owner.func.attr == "run_in_executor")
    )
