"""CON002: make an `init_components()` override call `super().init_components(...)` first."""

from __future__ import annotations

import libcst as cst

from flowfix.codemod import RuleCodemod
from flowfix.edits import is_docstring, split_before_comment, statement_leading_lines


class CallSuperInitComponents(RuleCodemod):
    CODE = "CON002"
    DESCRIPTION = "Call `super().init_components(...)` first in `init_components()` overrides"

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        span = self.target(original_node.name)
        if span is None:
            return updated_node
        arguments = self.data[span].get("arguments")
        if not isinstance(arguments, str):
            self.warn(f"{span.line}:{span.column}: no connection manager parameter to pass on")
            return updated_node
        call = cst.parse_statement(
            f"super().init_components({arguments})\n", self.module.config_for_parsing
        )
        self.fixed.add(span)
        return updated_node.with_changes(body=_prepend(updated_node.body, call))


def _prepend(body: cst.BaseSuite, statement: cst.BaseStatement) -> cst.IndentedBlock:
    """`statement` first in `body` (after a docstring); blank lines stay above the new first
    statement, comments with the statement they describe."""
    if isinstance(body, cst.SimpleStatementSuite):
        line = cst.SimpleStatementLine(body=body.body)
        body = cst.IndentedBlock(body=[line], header=body.trailing_whitespace)
    assert isinstance(body, cst.IndentedBlock)
    lines = list(body.body)
    at = 1 if lines and is_docstring(lines[0]) else 0
    if at < len(lines):
        following = lines[at]
        blank, kept = split_before_comment(statement_leading_lines(following))
        assert isinstance(statement, cst.SimpleStatementLine)
        statement = statement.with_changes(leading_lines=blank)
        lines[at] = following.with_changes(leading_lines=kept)
    lines.insert(at, statement)
    return body.with_changes(body=lines)
