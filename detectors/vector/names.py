"""What a callee or a receiver is called: its dotted spelling through calls and subscripts, the
names it resolves to, its last name and the words of a name."""

from __future__ import annotations

import ast
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


def name_tokens(name: str) -> list[str]:
    """`document_embedder` → [document, embedder]; `QdrantClient` → [qdrant, client]."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return [token.lower() for token in spaced.split("_") if token]


def excerpt(model: Model, node: ast.AST, limit: int = 60) -> str:
    """`node`'s source on one line with the parentheses around it, shortened with `…` past
    `limit` characters (for messages)."""
    span = model.span(node)
    lines = model.lines
    start, end = (span.line - 1, span.column - 1), (span.end_line - 1, span.end_column - 1)
    while True:
        before, after = _previous(lines, start), _next(lines, end)
        if before is None or after is None:
            break
        start, end = before, (after[0], after[1] + 1)
    (first, column), (last, end_column) = start, end
    if first == last:
        text = lines[first][column:end_column]
    else:
        text = "\n".join(
            [lines[first][column:], *lines[first + 1 : last], lines[last][:end_column]]
        )
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _previous(lines: list[str], at: tuple[int, int]) -> tuple[int, int] | None:
    """Where an opening parenthesis stands before `at` with only blanks (and line ends)
    between, else None."""
    line, column = at
    while line >= 0:
        text = lines[line][:column].rstrip()
        if text:
            return (line, len(text) - 1) if text.endswith("(") else None
        line -= 1
        column = len(lines[line].split("#", 1)[0]) if line >= 0 else 0
    return None


def _next(lines: list[str], at: tuple[int, int]) -> tuple[int, int] | None:
    """Where a closing parenthesis stands after `at` with only blanks, comments and line
    ends between, else None."""
    line, column = at
    while line < len(lines):
        text = lines[line][column:].split("#", 1)[0]
        stripped = text.lstrip()
        if stripped:
            return (line, column + len(text) - len(stripped)) if stripped[0] == ")" else None
        line, column = line + 1, 0
    return None
