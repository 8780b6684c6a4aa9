"""EXE005: create a per-iteration executor once, before the loop, and shut it down after it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import libcst as cst

from flowfix.codemod import RuleCodemod
from flowfix.edits import split_before_comment
from flowfix.rules import Span

Loop = cst.For | cst.While


@dataclass(frozen=True)
class HoistPlan:
    """The detector's plan (the finding's data): `kind` "with" moves the `with` at `inner`
    around the loop at `loop`; `kind` "assign" moves the assignment at `inner` before the loop,
    which is wrapped in `try`/`finally` with the statement at `shutdown` (a trailing
    `name.shutdown(...)` or the `try` whose `finally` holds it), or `name.shutdown(wait=True)`."""

    kind: str
    loop: Span
    inner: Span
    name: str
    shutdown: Span | None

    @classmethod
    def read(cls, data: Mapping[str, Any]) -> HoistPlan | None:
        if data.get("kind") not in ("with", "assign"):
            return None
        shutdown = data.get("shutdown")
        return cls(
            data["kind"],
            Span(*data["loop"]),
            Span(*data["inner"]),
            data["name"],
            Span(*shutdown) if shutdown else None,
        )


class HoistExecutorOutOfLoop(RuleCodemod):
    CODE = "EXE005"
    DESCRIPTION = "Create a per-iteration executor once before the loop and shut it down after"

    def visit_Module(self, node: cst.Module) -> None:
        # Plans by the span of the loop, and of the statements that leave it.
        self.loops: dict[Span, HoistPlan] = {}
        self.moved: dict[Span, HoistPlan] = {}
        # What leaves the loop, filled in when the inner statements are left (before the loop).
        self.opening: dict[Span, cst.With | cst.SimpleStatementLine] = {}
        self.closing: dict[Span, cst.SimpleStatementLine] = {}

    def visit_Call(self, node: cst.Call) -> None:
        span = self.target(node)
        if span is None:
            return
        plan = HoistPlan.read(self.data.get(span, {}))
        if plan is None:
            self.warn(f"{span.line}:{span.column}: no plan to hoist this pool")
            return
        if plan.loop in self.loops:
            self.warn(f"{span.line}:{span.column}: another pool leaves this loop in this pass")
            return
        self.loops[plan.loop] = plan
        self.moved[plan.inner] = plan
        if plan.shutdown is not None:
            self.moved[plan.shutdown] = plan
        self.fixed.add(span)

    # --- inside the loop ---------------------------------------------------------------------

    def leave_With(
        self, original_node: cst.With, updated_node: cst.With
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        plan = self.moved.get(self.span_of(original_node))
        if plan is None:
            return updated_node
        header = (
            updated_node.body.header if isinstance(updated_node.body, cst.IndentedBlock) else None
        )
        blank, comments = split_before_comment(tuple(updated_node.leading_lines))
        self.opening[plan.loop] = updated_node.with_changes(
            body=cst.IndentedBlock(body=[], header=header or cst.TrailingWhitespace()),
            leading_lines=comments,
        )
        return _unwrapped(updated_node.body, blank)

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.RemovalSentinel:
        if len(original_node.body) != 1:
            return updated_node
        span = self.span_of(original_node.body[0])
        plan = self.moved.get(span)
        if plan is None:
            return updated_node
        if span == plan.inner:
            self.opening[plan.loop] = updated_node
        else:
            self.closing[plan.loop] = updated_node.with_changes(leading_lines=())
        return cst.RemoveFromParent()

    def leave_Try(
        self, original_node: cst.Try, updated_node: cst.Try
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        plan = self.moved.get(self.span_of(original_node))
        if plan is None or updated_node.finalbody is None:
            return updated_node
        final = updated_node.finalbody.body
        assert isinstance(final, cst.IndentedBlock)
        shutdown = final.body[0]
        assert isinstance(shutdown, cst.SimpleStatementLine)
        self.closing[plan.loop] = shutdown.with_changes(leading_lines=())
        if updated_node.handlers:
            return updated_node.with_changes(finalbody=None)
        return _unwrapped(updated_node.body, updated_node.leading_lines)

    # --- the loop ----------------------------------------------------------------------------

    def leave_For(
        self, original_node: cst.For, updated_node: cst.For
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        return self._hoisted(original_node, updated_node)

    def leave_While(
        self, original_node: cst.While, updated_node: cst.While
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        return self._hoisted(original_node, updated_node)

    def _hoisted(
        self, original: Loop, updated: Loop
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        span = self.span_of(original)
        plan = self.loops.get(span)
        if plan is None:
            return updated
        opening = self.opening[span]
        blank, comments = split_before_comment(tuple(updated.leading_lines))
        kept = split_before_comment(tuple(opening.leading_lines))[1]
        opening = opening.with_changes(leading_lines=[*blank, *kept])
        loop = updated.with_changes(leading_lines=comments)
        if isinstance(opening, cst.With):
            return opening.with_changes(body=opening.body.with_changes(body=[loop]))
        closing = self.closing.get(span) or cst.parse_statement(
            f"{plan.name}.shutdown(wait=True)\n", self.module.config_for_parsing
        )
        guarded = cst.Try(
            body=cst.IndentedBlock(body=[loop]),
            finalbody=cst.Finally(body=cst.IndentedBlock(body=[closing])),
        )
        return cst.FlattenSentinel([opening, guarded])


def _unwrapped(
    body: cst.BaseSuite, leading: Sequence[cst.EmptyLine]
) -> cst.FlattenSentinel[cst.BaseStatement]:
    """The statements of a compound statement's `body`, the first taking over `leading`."""
    if isinstance(body, cst.SimpleStatementSuite):
        line = cst.SimpleStatementLine(body=body.body, trailing_whitespace=body.trailing_whitespace)
        return cst.FlattenSentinel([line.with_changes(leading_lines=leading)])
    assert isinstance(body, cst.IndentedBlock)
    first, *rest = body.body
    assert isinstance(first, (cst.SimpleStatementLine, cst.BaseCompoundStatement))
    first = first.with_changes(leading_lines=[*leading, *first.leading_lines])
    return cst.FlattenSentinel([first, *rest])
