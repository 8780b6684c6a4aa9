"""Which functions run per call (per node run, per request, per operation): the code where a
client built on every call costs a connection each time.

- `node`: a node class's per-call method (`execute`, `exec`, `run`, ...);
- `node-helper`: a method of a node class that a per-call method reaches through
  `self.<method>(...)` calls;
- `service`: a method of a Dynamiq class that is not a node (a memory backend, a tracing
  client, a callback handler): its public methods are what the framework calls per operation;
- `helper`: a module-level function (whether anything calls it per call is asked of the run's
  other files: `helper_callers`);
- `wrapper`: a decorator's wrapper (`@functools.wraps(func)`), which runs on every call of the
  function it decorates.
"""

from __future__ import annotations

import ast
from typing import Literal

from flowfix.analysis import Model
from flowfix.analysis.frameworks import (
    ONCE_PER_RUN_FUNCTIONS,
    PER_CALL_METHODS,
    decorator_names,
    framework_of,
    is_cached_function,
    methods,
)
from flowfix.analysis.methods import instance_name
from flowfix.analysis.model import FunctionNode
from flowfix.analysis.values import block_nodes
from flowfix.detectors.connections.client_hoist import has_dynamiq_base
from flowfix.detectors.connections.dynamiq_lineage import is_dynamiq_node_class

Kind = Literal["node", "node-helper", "service", "helper", "wrapper"]
WRAPS = frozenset({"functools.wraps", "wraps"})
FIXTURES = frozenset({"pytest.fixture", "pytest_asyncio.fixture", "fixture"})


def per_call_kind(
    model: Model, function: FunctionNode, reached: dict[ast.ClassDef, set[str]]
) -> Kind | None:
    """How `function` runs per call, None when nothing says it does (`reached` memoizes, per
    class, the methods its per-call entry points reach)."""
    cls = model.class_of(function)
    if cls is not None:
        return _method_kind(model, cls, function, reached)
    if model.parent(function) is model.tree:
        return "helper" if _is_plain_helper(model, function) else None
    if decorator_names(model, function) & WRAPS:
        return "wrapper"
    return None


def _is_plain_helper(model: Model, function: FunctionNode) -> bool:
    """Not an entry point, a test, a pytest fixture or a cached function."""
    return (
        function.name not in ONCE_PER_RUN_FUNCTIONS
        and not function.name.startswith("test_")
        and not decorator_names(model, function) & FIXTURES
        and not is_cached_function(model, function)
    )


def _method_kind(
    model: Model,
    cls: ast.ClassDef,
    function: FunctionNode,
    reached: dict[ast.ClassDef, set[str]],
) -> Kind | None:
    if framework_of(model, cls) is None or function.name in ONCE_PER_RUN_FUNCTIONS:
        return None
    if function.name in PER_CALL_METHODS:
        return "node"
    service = has_dynamiq_base(model, cls) and not is_dynamiq_node_class(model, cls)
    if cls not in reached:
        reached[cls] = _reached_methods(model, cls, service)
    if function.name not in reached[cls]:
        return None
    return "service" if service else "node-helper"


def _reached_methods(model: Model, cls: ast.ClassDef, service: bool) -> set[str]:
    """The methods of `cls` that its entry points reach through `self.<method>(...)` calls:
    a node's per-call methods, or a service's public methods (init methods stop the walk)."""
    own = methods(cls)
    if service:
        entries = [name for name in own if not name.startswith("_")]
    else:
        entries = [name for name in own if name in PER_CALL_METHODS]
    seen: set[str] = set()
    stack = [name for name in entries if name not in ONCE_PER_RUN_FUNCTIONS]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        method = own[name]
        this = instance_name(model, method)
        for node in block_nodes(method.body):
            callee = _self_method(node, this)
            if callee in own and callee not in seen and callee not in ONCE_PER_RUN_FUNCTIONS:
                stack.append(callee)
    return seen


def _self_method(node: ast.AST, this: str | None) -> str | None:
    """`m` for a call `<this>.m(...)`."""
    if (
        this is not None
        and isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == this
    ):
        return node.func.attr
    return None
