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
from flowfix.analysis.model import FUNCTIONS, FunctionNode
from flowfix.detectors.connections.client_hoist import has_dynamiq_base
from flowfix.detectors.connections.dynamiq_lineage import is_dynamiq_node_class

Kind = Literal["node", "node-helper", "service", "helper", "wrapper"]
WRAPS = frozenset({"functools.wraps", "wraps"})
FIXTURES = frozenset({"pytest.fixture", "pytest_asyncio.fixture", "fixture"})


class PerCall:
    """Answers `kind(function)` for the functions of one module, working out once per class
    which of its methods run per call (from the module's calls on `self`)."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self._classes: dict[ast.ClassDef, tuple[bool, frozenset[str]] | None] = {}
        self._self_calls: dict[ast.AST, set[str]] | None = None
        self._kinds: dict[FunctionNode, Kind | None] = {}

    def kind(self, function: FunctionNode) -> Kind | None:
        """How `function` runs per call, None when nothing says it does (memoized)."""
        if function not in self._kinds:
            self._kinds[function] = self._kind(function)
        return self._kinds[function]

    def _kind(self, function: FunctionNode) -> Kind | None:
        model = self.model
        cls = model.class_of(function)
        if cls is not None:
            if function.name in ONCE_PER_RUN_FUNCTIONS or framework_of(model, cls) is None:
                return None
            if function.name in PER_CALL_METHODS:
                return "node"
            if cls not in self._classes:
                self._classes[cls] = self._class_runs(cls)
            runs = self._classes[cls]
            if runs is None or function.name not in runs[1]:
                return None
            return "service" if runs[0] else "node-helper"
        if model.parent(function) is model.tree:
            return "helper" if _is_plain_helper(model, function) else None
        if decorator_names(model, function) & WRAPS:
            return "wrapper"
        return None

    def _class_runs(self, cls: ast.ClassDef) -> tuple[bool, frozenset[str]]:
        """(whether `cls` is a Dynamiq class that is not a node, the methods its entry points
        reach through `self.<method>(...)` calls): a node's per-call methods, a service's
        public methods; init methods stop the walk."""
        model = self.model
        service = has_dynamiq_base(model, cls) and not is_dynamiq_node_class(model, cls)
        own = methods(cls)
        if service:
            stack = [name for name in own if not name.startswith("_")]
        else:
            stack = [name for name in own if name in PER_CALL_METHODS]
        calls = self._calls_on_self()
        seen: set[str] = set()
        while stack:
            name = stack.pop()
            if name in seen or name in ONCE_PER_RUN_FUNCTIONS:
                continue
            seen.add(name)
            stack.extend(callee for callee in calls.get(own[name], ()) if callee in own)
        return service, frozenset(seen)

    def _calls_on_self(self) -> dict[ast.AST, set[str]]:
        """For each method of the module, the names it calls on its instance (`self.m()`)."""
        if self._self_calls is None:
            found: dict[ast.AST, set[str]] = {}
            for call in self.model.nodes(ast.Call):
                func = call.func  # type: ignore[attr-defined]
                if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
                    continue
                method = self.model.function_of(call)
                if (
                    isinstance(method, FUNCTIONS)
                    and self.model.class_of(method) is not None
                    and instance_name(self.model, method) == func.value.id
                ):
                    found.setdefault(method, set()).add(func.attr)
            self._self_calls = found
        return self._self_calls


def _is_plain_helper(model: Model, function: FunctionNode) -> bool:
    """Not an entry point, a test, a pytest fixture or a cached function."""
    return (
        function.name not in ONCE_PER_RUN_FUNCTIONS
        and not function.name.startswith("test_")
        and not decorator_names(model, function) & FIXTURES
        and not is_cached_function(model, function)
    )
