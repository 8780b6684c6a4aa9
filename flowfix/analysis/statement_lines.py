"""How statements sit in their block and on their lines: the body list that holds a
statement, whether it shares its line with `;` siblings, whether it is a one-line body
(`for x in y: stmt`). libcst tells these apart by node type (`SimpleStatementLine`,
`SimpleStatementSuite`, `IndentedBlock`); `ast` by positions."""

from __future__ import annotations

import ast

from flowfix.analysis import Model

BODY_FIELDS = ("body", "orelse", "finalbody")
# `try` statements (`try`/`except*` came with Python 3.11).
TRY_STATEMENTS: tuple[type[ast.stmt], ...] = (
    ast.Try,
    *((ast.TryStar,) if hasattr(ast, "TryStar") else ()),
)
# Statements that hold a body of other statements.
COMPOUND_STATEMENTS: tuple[type[ast.stmt], ...] = (
    ast.If,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.With,
    ast.AsyncWith,
    *TRY_STATEMENTS,
    ast.Match,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
)


def containing_body(model: Model, statement: ast.AST) -> list[ast.stmt] | None:
    """The statement list (a `body`, `orelse` or `finalbody`) that holds `statement`."""
    owner = model.parent(statement)
    for name in BODY_FIELDS:
        body = getattr(owner, name, None)
        if isinstance(body, list) and any(s is statement for s in body):
            return body
    return None


def _line_group(model: Model, statement: ast.stmt) -> tuple[list[ast.stmt], int, int]:
    """(the body holding `statement`, the index of the first and last statement of the `;`
    group it belongs to)."""
    body = containing_body(model, statement) or [statement]
    index = next(i for i, s in enumerate(body) if s is statement)
    first = last = index
    while first > 0 and body[first - 1].end_lineno == body[first].lineno:
        first -= 1
    while last + 1 < len(body) and body[last + 1].lineno == body[last].end_lineno:
        last += 1
    return body, first, last


def line_end(model: Model, statement: ast.stmt) -> ast.stmt:
    """The last statement of the `;` group `statement` belongs to (itself when alone)."""
    body, _, last = _line_group(model, statement)
    return body[last]


def shares_line(model: Model, statement: ast.stmt) -> bool:
    """`statement` shares a line with another statement of its block (`a = 1; b = 2`)."""
    _, first, last = _line_group(model, statement)
    return first != last


def in_one_line_body(model: Model, statement: ast.stmt, *, by_block_start: bool = False) -> bool:
    """`statement` is part of a body written on its compound statement's line
    (`for x in y: stmt`, `else: a(); b()`): the first statement of its `;` group does not
    start its line. With `by_block_start` the first statement of its whole block decides
    instead, and nothing directly in the module is (the two differ only for a statement
    continued with `\\` after a one-line body's `;`)."""
    if by_block_start:
        block = containing_body(model, statement)
        if not block or isinstance(model.parent(statement), ast.Module):
            return False
        head = block[0]
    else:
        body, first, _ = _line_group(model, statement)
        head = body[first]
    text = model.lines[head.lineno - 1] if head.lineno <= len(model.lines) else ""
    before = text.encode("utf-8")[: head.col_offset].decode("utf-8", "replace")
    return bool(before.strip())


def is_line_statement(model: Model, statement: ast.stmt) -> bool:
    """`statement` is alone on its line(s) in an indented block or the module (what libcst
    calls a `SimpleStatementLine` of one statement)."""
    return not in_one_line_body(model, statement) and not shares_line(model, statement)


def statement_index(model: Model, node: ast.AST, body: list[ast.stmt]) -> int | None:
    """Index in `body` of the statement that is or contains `node`, if any."""
    indices = {id(statement): index for index, statement in enumerate(body)}
    for current in (node, *model.ancestors(node)):
        if id(current) in indices:
            return indices[id(current)]
    return None


def is_below(model: Model, node: ast.AST, statements: list[ast.stmt]) -> bool:
    """`node` lies inside (or is) one of `statements`."""
    return statement_index(model, node, statements) is not None
