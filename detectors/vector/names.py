"""What a callee or a receiver is called: the names it resolves to (its spelling read through
calls and subscripts), its last name and the words of a name."""

from __future__ import annotations

import ast
import functools
import re

from flowfix.analysis import Model
from flowfix.analysis.names import full_name


def resolved_names(model: Model, node: ast.AST) -> set[str]:
    """What `node` may refer to, read through calls and subscripts like `full_name`:
    `model.qualified_names` of its root name with the rest of the spelling appended
    (`Pinecone(...).Index` → `pinecone.Pinecone.Index`); a builtin root gives the builtin
    alone (`dict.fromkeys` → `builtins.dict`); a root that is not a name gives nothing."""
    if isinstance(node, ast.Name):
        return model.qualified_names(node)
    spelling = full_name(node)
    root = node
    while isinstance(root, (ast.Attribute, ast.Call, ast.Subscript)):
        root = root.func if isinstance(root, ast.Call) else root.value
    if spelling is None or not isinstance(root, ast.Name):
        return set()
    bases = model.qualified_names(root)
    if not model.bindings_of(root):  # a builtin (or nothing)
        return bases
    suffix = spelling[len(root.id) :]
    return {f"{base}{suffix}" for base in bases}


def terminal(node: ast.AST) -> str:
    """The last name of `a.b.c`, `f()` → `f`, `x.get_collection()` → `get_collection`."""
    if isinstance(node, ast.Call):
        return terminal(node.func)
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


@functools.lru_cache(maxsize=8192)
def name_tokens(name: str) -> tuple[str, ...]:
    """`document_embedder` → (document, embedder); `QdrantClient` → (qdrant, client)."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return tuple(token.lower() for token in spaced.split("_") if token)
