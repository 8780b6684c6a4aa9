"""A constructor imported inside the function that builds the client (`from openai import
OpenAI` in the branch that uses it): the import a cached factory can carry along."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from flowfix.analysis import Model
from flowfix.analysis.model import FunctionNode
from flowfix.analysis.statement_lines import containing_body


@dataclass(frozen=True)
class LocalImport:
    """The import statement binding the constructor's root `name` in the function, and
    whether it is the statement right before the one that builds the client."""

    name: str
    statement: ast.Import | ast.ImportFrom
    adjacent: bool


def constructor_import(model: Model, call: ast.Call, function: FunctionNode) -> LocalImport | None:
    """The import in `function`'s own body that is the only binding of the constructor's root
    name, earlier in a block that runs the construction; None otherwise."""
    root: ast.expr = call.func
    while isinstance(root, ast.Attribute):
        root = root.value
    if not isinstance(root, ast.Name):
        return None
    bindings = model.bindings_of(root)
    if len(bindings) != 1 or not bindings[0].is_import or bindings[0].scope.node is not function:
        return None
    statement = bindings[0].node
    if not isinstance(statement, (ast.Import, ast.ImportFrom)):
        return None
    block = containing_body(model, statement)
    if block is None:
        return None
    at = block.index(statement)
    for current in (call, *model.ancestors(call)):
        if current in block[at + 1 :]:
            return LocalImport(root.id, statement, block.index(current) == at + 1)
        if current is function:
            break
    return None
