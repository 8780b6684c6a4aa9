"""Assignments a fix may leave unused: a local bound once by a statement of its own, with
every read of it, so that the codemod that removes reads can remove the assignment too
(pyflakes' F841 otherwise)."""

from __future__ import annotations

import ast

from flowfix.analysis.model import Model, walk
from flowfix.analysis.spans import span_data
from flowfix.analysis.statement_lines import containing_body, is_line_statement


def local_assignment(model: Model, func: ast.AST, name: str) -> dict[str, object] | None:
    """`{"name", "statement", "reads"}` for the local `name` of `func` when its only binding
    is a statement `name = value` alone on its line(s) in a block it does not fill: the
    statement's span and the span of every read that resolves to it (nested scopes
    included). None otherwise, and when `func` calls `locals()` or `vars()`.

    The finding's data carries this; `RuleCodemod` removes the statement once the fix has
    removed every read (whether `value` may be dropped is the detector's judgement)."""
    scope = model.scopes.get(func)
    if scope is None or name in scope.globals or name in scope.nonlocals or name in scope.deleted:
        return None
    bindings = scope.bindings.get(name, [])
    if len(bindings) != 1 or bindings[0].kind != "assignment":
        return None
    binding = bindings[0]
    statement = model.parent(binding.node)
    if not (
        isinstance(statement, ast.Assign)
        and len(statement.targets) == 1
        and statement.targets[0] is binding.node
        and is_line_statement(model, statement)
        and len(containing_body(model, statement) or ()) > 1
    ):
        return None
    reads: list[ast.Name] = []
    for node in walk(func):
        if not isinstance(node, ast.Name) or not isinstance(node.ctx, ast.Load):
            continue
        if node.id in ("locals", "vars") and isinstance(model.parent(node), ast.Call):
            return None
        if node.id == name and model.bindings_of(node) == [binding]:
            reads.append(node)
    return {
        "name": name,
        "statement": span_data(model, statement),
        "reads": [span_data(model, read) for read in reads],
    }
