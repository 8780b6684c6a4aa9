"""tree-sitter's Rust grammar: parsing, queries, and whether a text parses without errors."""

from __future__ import annotations

import functools

import tree_sitter_rust
from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

LANGUAGE: Language = Language(tree_sitter_rust.language())
_PARSER = Parser(LANGUAGE)


def parse(data: bytes) -> Tree:
    """The concrete syntax tree of UTF-8 source bytes (tree-sitter never refuses a text: what
    it cannot read becomes ERROR and MISSING nodes)."""
    return _PARSER.parse(data)


@functools.cache
def _query(pattern: str) -> Query:
    query: Query = Query(LANGUAGE, pattern)
    return query


def _cursor(pattern: str) -> QueryCursor:
    # A cursor holds the state of one run: each call gets its own (the language server
    # detects and fixes on two threads).
    return QueryCursor(_query(pattern))


def captures(pattern: str, node: Node) -> dict[str, list[Node]]:
    """The nodes under `node` that `pattern`'s captures name (tree-sitter's query language),
    matched in C rather than by walking the tree in Python."""
    return _cursor(pattern).captures(node)


def matches(pattern: str, node: Node) -> list[tuple[int, dict[str, list[Node]]]]:
    """Each match of `pattern` under `node`: (pattern index, captures), in source order."""
    return _cursor(pattern).matches(node)


def nodes_of(kind: str, node: Node) -> list[Node]:
    """Every node of type `kind` under `node`, in source order."""
    return captures(f"({kind}) @node", node).get("node", [])


def error_count(node: Node) -> int:
    """ERROR and MISSING nodes under `node` (0 for a text that parses cleanly)."""
    if not node.has_error:
        return 0
    count = 0
    cursor = node.walk()
    while True:
        current = cursor.node
        assert current is not None
        if current.is_error or current.is_missing:
            count += 1
        if current.has_error and not current.is_error and cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return count


def syntax_problem(original: str, new: str) -> str | None:
    """Why the rewritten Rust `new` must not replace `original`: it has syntax errors that
    `original` did not have (None when it parses as well as the original)."""
    after = error_count(parse(new.encode("utf-8")).root_node)
    if after and after > error_count(parse(original.encode("utf-8")).root_node):
        return "the fixed code does not parse"
    return None
