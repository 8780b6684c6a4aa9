"""The shared store of PocketFlow-style nodes: which parameter of `post()` it is, and which
names denote the run state."""

from __future__ import annotations

import ast

from flowfix.analysis import Model
from flowfix.analysis.frameworks import PLAIN_FRAMEWORK_PREFIXES, PLAIN_NODE_HOOKS, methods
from flowfix.analysis.model import FunctionNode

POST_METHODS = frozenset({"post", "post_async"})
STATE_NAMES = frozenset(
    {
        "shared",
        "shared_store",
        "shared_state",
        "shared_data",
        "shared_memory",
        "state",
        "flow_state",
        "graph_state",
        "workflow_state",
        "run_state",
        "agent_state",
    }
)


def store_parameter(model: Model, func: FunctionNode) -> str | None:
    """The shared-store parameter of a PocketFlow/KayGraph/pflow node's `post`/`post_async`.

    The class counts as such a node when a base resolves to one of those frameworks, when it
    also defines `prep`/`exec` hooks, or when the signature is `(self, shared, prep_res,
    exec_res)` (a `post` alone is too common a method name to be enough)."""
    cls = model.class_of(func)
    params = [arg.arg for arg in func.args.args]
    if func.name not in POST_METHODS or cls is None or len(params) < 4:
        return None
    bases = {name for base in cls.bases for name in model.qualified_names(base)}
    if not (
        any(name.startswith(PLAIN_FRAMEWORK_PREFIXES) for name in bases)
        or methods(cls).keys() & (PLAIN_NODE_HOOKS - POST_METHODS)
        or params[1:4] == ["shared", "prep_res", "exec_res"]
    ):
        return None
    return params[1]


def state_name(node: ast.AST) -> str | None:
    """The name of `shared`, `self.shared`, `ctx.state`, ... when it names the run state."""
    if isinstance(node, ast.Attribute):
        last = node.attr
    elif isinstance(node, ast.Name):
        last = node.id
    else:
        return None
    return last if last.strip("_") in STATE_NAMES else None
