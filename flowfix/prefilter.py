"""Cheap questions on CPython's AST that let a rule skip a file before any libcst work.

Each answer may be a false "yes" but never a false "no": exactness comes from the detector.
"""

from __future__ import annotations

import ast


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
