"""EXE002: wrap the uses of a local executor in `try`/`finally: <name>.shutdown(...)`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import libcst as cst
from libcst.metadata import PositionProvider

from flowfix.codemod import RuleCodemod
from flowfix.edits import split_before_comment, statement_leading_lines
from flowfix.rules import Span


class ShutdownExecutorInFinally(RuleCodemod):
    """The finding's data names the executor (`name`) and the statements of its block to wrap:
    `first` and `last` (spans of the statements as the detector's model gives them), and the
    trailing `name.shutdown(...)` statement to move into the `finally` (`shutdown`, absent when
    the `finally` gets a new `name.shutdown(wait=True)`)."""

    CODE = "EXE002"
    DESCRIPTION = "Shut a local executor down in a `finally` block"

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        # One executor per block and pass, the last one first: an earlier executor whose uses
        # reach past it is wrapped around its `try` in the next pass.
        found = next(
            (
                f
                for f in map(self._executor_assignment, reversed(original_node.body))
                if f is not None
            ),
            None,
        )
        if found is None:
            return updated_node
        span, data = found
        statements = original_node.body
        start = self._index(statements, data.get("first"))
        end = self._index(statements, data.get("last"))
        shutdown = self._index(statements, data["shutdown"]) if data.get("shutdown") else None
        if (
            start is None
            or end is None
            or end < start
            or (data.get("shutdown") and shutdown != end + 1)
        ):
            self.warn("the statements to wrap were not found")
            return updated_node
        trailing = shutdown is not None
        body = list(updated_node.body)
        wrapped = body[start : end + 1]
        if trailing:
            moved = body[end + 1]
            final = moved.with_changes(
                leading_lines=split_before_comment(statement_leading_lines(moved))[1]
            )
        else:
            final = cst.parse_statement(
                f"{data['name']}.shutdown(wait=True)\n", self.module.config_for_parsing
            )
        blank, kept = split_before_comment(statement_leading_lines(wrapped[0]))
        guarded = cst.Try(
            body=cst.IndentedBlock(
                body=[wrapped[0].with_changes(leading_lines=kept), *wrapped[1:]]
            ),
            finalbody=cst.Finally(body=cst.IndentedBlock(body=[final])),
            leading_lines=blank,
        )
        self.fixed.add(span)
        rest = body[end + 1 + int(trailing) :]
        return updated_node.with_changes(body=[*body[:start], guarded, *rest])

    def _index(self, statements: Sequence[cst.BaseStatement], span: Any) -> int | None:
        """Index of the statement of `statements` that holds the start of `span`."""
        if not span:
            return None
        point = (span[0], span[1] - 1)
        for index, statement in enumerate(statements):
            where = self.get_metadata(PositionProvider, statement)
            if (
                (where.start.line, where.start.column)
                <= point
                <= (where.end.line, where.end.column)
            ):
                return index
        return None

    def _executor_assignment(
        self, statement: cst.BaseStatement
    ) -> tuple[Span, Mapping[str, Any]] | None:
        """(finding span, its data) when `statement` is `name = Executor(...)` to fix."""
        if not isinstance(statement, cst.SimpleStatementLine) or not statement.body:
            return None
        small = statement.body[0]
        if not isinstance(small, (cst.Assign, cst.AnnAssign)) or not isinstance(
            small.value, cst.Call
        ):
            return None
        span = self.target(small.value)
        if span is None or not self.data.get(span, {}).get("first"):
            return None
        return span, self.data[span]
