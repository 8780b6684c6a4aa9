"""Cheap questions on CPython's AST that let a rule skip a file before any libcst work.

Each answer may be a false "yes" but never a false "no": exactness comes from the detector.
"""

from __future__ import annotations

import ast
import functools


def imports_module(tree: ast.Module, module: str) -> bool:
    """Does any import statement (at any depth) import `module` or something from it?"""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            if any(
                alias.name == module or alias.name.startswith(module + ".") for alias in node.names
            ):
                return True
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            if node.module == module or node.module.startswith(module + "."):
                return True
    return False


def has_async_def(tree: ast.Module) -> bool:
    return any(isinstance(node, ast.AsyncFunctionDef) for node in ast.walk(tree))


@functools.lru_cache(maxsize=2)
def names_called_in_functions(tree: ast.Module) -> frozenset[str]:
    """Last name component of every call made inside a function body (`a.b.C()` → `C`), plus
    the original name behind an aliased import (`from x import C as D; D()` → `D`, `C`)."""
    aliases: dict[str, str] = {}
    called: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            aliases.update({a.asname: a.name for a in node.names if a.asname})
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Call):
                    func = inner.func
                    if isinstance(func, ast.Name):
                        called.add(func.id)
                    elif isinstance(func, ast.Attribute):
                        called.add(func.attr)
    return frozenset(called | {aliases[name] for name in called if name in aliases})
