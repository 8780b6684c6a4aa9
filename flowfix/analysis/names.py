"""What a callee or a receiver is called as spelled: its dotted name read through calls and
subscripts, as libcst's `get_full_name_for_node` spells it."""

from __future__ import annotations

import ast
import re


def full_name(node: ast.AST | None) -> str | None:
    """The dotted spelling of `node` read through calls and subscripts: `a.b.c`, `f().g` →
    `f.g`, `x[0].y` → `x.y`; an attribute on anything else keeps `None` as its base
    (`"s".join` → `None.join`); None for any other expression."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{full_name(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return full_name(node.func)
    if isinstance(node, ast.Subscript):
        return full_name(node.value)
    return None


def shown_callee(func: ast.expr) -> str:
    """How a finding names the callee: `full_name`, or its last attribute, or `call`."""
    dotted = full_name(func)
    if dotted and not dotted.startswith("None"):
        return dotted
    return func.attr if isinstance(func, ast.Attribute) else "call"


def spelled_name(node: ast.AST | None) -> str | None:
    """`full_name` when the chain starts at a name, else None (`get().Client` →
    `get.Client`, `"s".join` → None)."""
    dotted = full_name(node)
    return None if dotted is None or dotted.startswith("None.") else dotted


def last_name(node: ast.AST | None) -> str | None:
    """The last part of `full_name`: `Field` for `Field`, `pydantic.Field`, `make().Field` or
    `Field[int]`; None for other expressions."""
    dotted = full_name(node)
    return dotted.rsplit(".", 1)[-1] if dotted is not None else None


_WORD_START = re.compile(r"(?<=[a-zA-Z0-9])(?=[A-Z][a-z])")


def snake_case(name: str) -> str:
    """`QdrantClient` → `qdrant_client`, `OpenAI` → `openai`, `LLMRanker` → `llm_ranker`."""
    return _WORD_START.sub("_", name).lower()
