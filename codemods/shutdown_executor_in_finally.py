"""EXE002: wrap the uses of a local executor in `try`/`finally: <name>.shutdown(...)`."""

from __future__ import annotations

import libcst as cst

from flowfix.codemod import RuleCodemod
from flowfix.detectors.legacy.executors import DEPENDENCIES, ShutdownPlan, name_uses, shutdown_plan
from flowfix.edits import split_before_comment, statement_leading_lines
from flowfix.rules import Span
from flowfix.semantics import scope_owner


class ShutdownExecutorInFinally(RuleCodemod):
    CODE = "EXE002"
    DESCRIPTION = "Shut a local executor down in a `finally` block"
    METADATA_DEPENDENCIES = DEPENDENCIES

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
        span, name, plan = found
        if isinstance(plan, str):
            self.warn(plan)
            return updated_node
        body = list(updated_node.body)
        wrapped = body[plan.start : plan.end + 1]
        if plan.trailing:
            moved = body[plan.end + 1]
            final = moved.with_changes(
                leading_lines=split_before_comment(statement_leading_lines(moved))[1]
            )
        else:
            final = cst.parse_statement(
                f"{name}.shutdown(wait=True)\n", self.module.config_for_parsing
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
        rest = body[plan.end + 1 + int(plan.trailing) :]
        return updated_node.with_changes(body=[*body[: plan.start], guarded, *rest])

    def _executor_assignment(
        self, statement: cst.BaseStatement
    ) -> tuple[Span, str, ShutdownPlan | str] | None:
        """(finding span, name, plan) when `statement` is `name = Executor(...)` to fix."""
        if not isinstance(statement, cst.SimpleStatementLine) or not statement.body:
            return None
        small = statement.body[0]
        if not isinstance(small, (cst.Assign, cst.AnnAssign)) or not isinstance(
            small.value, cst.Call
        ):
            return None
        span = self.target(small.value)
        target = small.targets[0].target if isinstance(small, cst.Assign) else small.target
        if span is None or not isinstance(target, cst.Name):
            return None
        func = scope_owner(self, statement)
        found = name_uses(self, target, func) if isinstance(func, cst.FunctionDef) else None
        if found is None:
            return span, target.value, "the executor is not a local of a function"
        return span, target.value, shutdown_plan(self, statement, target.value, found[0], found[1])
