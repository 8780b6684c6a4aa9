"""Framework node classes and their hooks: which class is a Dynamiq or PocketFlow-style node,
which of its methods run per call, which once."""

from __future__ import annotations

import ast
from typing import Literal

from flowfix.analysis.model import FUNCTIONS, Model
from flowfix.analysis.values import dotted_name

# Every framework flowfix knows, as a rule's `FRAMEWORKS` lists them when it applies to all.
ALL_FRAMEWORKS = ("dynamiq", "pocketflow", "kaygraph", "pflow")
# Methods that a framework calls once per request / item / run.
PER_CALL_METHODS = frozenset({"execute", "execute_async", "exec", "exec_async", "run", "__call__"})
# Methods that run once per object: creating resources there is the intended pattern.
INIT_METHODS = frozenset(
    {
        "__init__",
        "__post_init__",
        "model_post_init",
        "init_components",
        "ensure_client",
        "setup",
        "__enter__",
        "__aenter__",
        "connect",
        "open",
        "start",
    }
)
# Entry points: functions that run once per process, so work redone there is not redone per
# call (EXE001, CAC002, CAC004).
ENTRY_FUNCTIONS = frozenset({"main", "cli"})
# Functions that run once per process or per object, not per request: the init methods and
# entry points (`main`, `cli`, an app's `startup` / `lifespan`).
ONCE_PER_RUN_FUNCTIONS = INIT_METHODS | {"main", "cli", "startup", "lifespan"}
DYNAMIQ_HOOKS = frozenset({"execute", "execute_async", "init_components", "ensure_client"})
PLAIN_NODE_HOOKS = frozenset(
    {"prep", "exec", "post", "prep_async", "exec_async", "post_async", "exec_fallback"}
)
PLAIN_FRAMEWORK_PREFIXES = ("pocketflow", "kaygraph", "pflow")
# Single-module frameworks that projects copy into their own tree.
VENDORED_FRAMEWORKS = frozenset({"pocketflow", "kaygraph"})
PYDANTIC_PREFIXES = ("dynamiq.", "pydantic.")
CACHE_DECORATORS = frozenset(
    {
        "functools.cache",
        "functools.lru_cache",
        "functools.cached_property",
        "cache",
        "lru_cache",
        "cached_property",
    }
)
Framework = Literal["dynamiq", "plain"]


def vendored_name(name: str) -> str:
    """`pocketflow.AsyncFlow` for `app.core.pocketflow.AsyncFlow`: PocketFlow (and KayGraph)
    are small enough that projects keep a copy of the module among their own files
    (`core/pocketflow.py`), whose classes behave as the package's; other names are returned
    as they are."""
    parts = name.split(".")
    if len(parts) > 2 and parts[-2] in VENDORED_FRAMEWORKS:
        return ".".join(parts[-2:])
    return name


def methods(cls: ast.ClassDef) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    """The functions defined directly in the class body, by name (the last one wins)."""
    return {stmt.name: stmt for stmt in cls.body if isinstance(stmt, FUNCTIONS)}


def find_method(cls: ast.ClassDef, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The first function named `name` defined directly in the class body."""
    for stmt in cls.body:
        if isinstance(stmt, FUNCTIONS) and stmt.name == name:
            return stmt
    return None


def base_class(base: ast.expr) -> ast.expr:
    """The class a base expression names: `Node` for a generic alias `Node[T]` too (as
    libcst's names for a base did)."""
    while isinstance(base, ast.Subscript):
        base = base.value
    return base


def base_names(model: Model, cls: ast.ClassDef) -> set[str]:
    """The bases of `cls`, resolved through imports, plus their dotted spelling."""
    names: set[str] = set()
    for base in map(base_class, cls.bases):
        names |= model.qualified_names(base)
        dotted = dotted_name(base)
        if dotted:
            names.add(dotted)
    return names


def framework_of(model: Model, cls: ast.ClassDef) -> Framework | None:
    """Which framework's node class `cls` is: by its resolved bases, else by its hooks."""
    bases = base_names(model, cls)
    if any(name.startswith("dynamiq.") for name in bases):
        return "dynamiq"
    if any(name.startswith(PLAIN_FRAMEWORK_PREFIXES) for name in bases):
        return "plain"
    defined = methods(cls).keys()
    if defined & {"init_components", "ensure_client", "execute"}:
        return "dynamiq"
    if defined & PLAIN_NODE_HOOKS:
        return "plain"
    return None


def is_pydantic_model(model: Model, cls: ast.ClassDef) -> bool:
    """Whether a base of `cls` comes from pydantic or Dynamiq (whose nodes are pydantic
    models)."""
    bases: set[str] = set()
    for base in cls.bases:
        bases |= model.qualified_names(base_class(base))
    return any(name.startswith(PYDANTIC_PREFIXES) for name in bases)


def decorator_names(model: Model, function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """What each decorator of `function` resolves to (called decorators by their callee),
    plus its dotted spelling."""
    names: set[str] = set()
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        names |= model.qualified_names(target)
        dotted = dotted_name(target)
        if dotted:
            names.add(dotted)
    return names


def is_cached_function(model: Model, function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return bool(decorator_names(model, function) & CACHE_DECORATORS)
