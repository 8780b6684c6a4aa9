"""What other legacy connection rules still share with the ported CON001: the AST prefilter's
questions about node classes and cached functions, and a method's instance name."""

from __future__ import annotations

import ast

import libcst as cst

from flowfix.prefilter import FUNCTION_DEFS, FileView
from flowfix.semantics import (
    CACHE_DECORATORS,
    INIT_METHODS,
    PLAIN_FRAMEWORK_PREFIXES,
    PLAIN_NODE_HOOKS,
    MetadataReader,
    decorator_names,
)

SKIPPED_FUNCTIONS = INIT_METHODS | {"main", "cli", "startup", "lifespan"}


# --- the AST prefilter's view of the same questions (over-approximations) ----------------------

# Modules whose imports let a class base resolve to a framework node (see `framework_of`).
FRAMEWORK_PREFIXES = ("dynamiq", *PLAIN_FRAMEWORK_PREFIXES)
FRAMEWORK_HOOKS = PLAIN_NODE_HOOKS | {"init_components", "ensure_client", "execute"}


def ast_dotted(node: ast.AST) -> str:
    """`a.b.c` for a name or attribute chain, else ''."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return ""
    return ".".join([node.id, *reversed(parts)])


def ast_decorators(func: ast.AST) -> set[str]:
    """The decorators of a def or class as written (`functools.cache`, `lru_cache`)."""
    names = set()
    for decorator in getattr(func, "decorator_list", ()):
        names.add(ast_dotted(decorator.func if isinstance(decorator, ast.Call) else decorator))
    return names


def ast_cached(func: ast.AST) -> bool:
    """Decorated with a cache decorator spelled as such (an alias may hide one: not a cache)."""
    return bool(ast_decorators(func) & CACHE_DECORATORS)


def ast_method_names(cls: ast.ClassDef) -> set[str]:
    return {s.name for s in cls.body if isinstance(s, FUNCTION_DEFS)}


def ast_node_class(view: FileView, cls: ast.ClassDef) -> bool:
    """Could `framework_of(cls)` be non-None: a hook method, or a base that may resolve to (or
    is spelled as) a framework class."""
    if ast_method_names(cls) & FRAMEWORK_HOOKS:
        return True
    if not cls.bases:
        return False
    if any(name.startswith(FRAMEWORK_PREFIXES) for name in view.statements.imported):
        return True
    return any(ast_dotted(base).startswith(FRAMEWORK_PREFIXES) for base in cls.bases)


# --- libcst ------------------------------------------------------------------------------------


def instance_name(reader: MetadataReader, func: cst.FunctionDef) -> str | None:
    """The name of a method's instance parameter (`self`), None for static/class methods."""
    if decorator_names(reader, func) & {
        "staticmethod",
        "classmethod",
        "builtins.staticmethod",
        "builtins.classmethod",
    }:
        return None
    params = [*func.params.posonly_params, *func.params.params]
    return params[0].name.value if params else None
