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
