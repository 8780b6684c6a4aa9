"""ASY004: `asyncio.to_thread(f, *args)` / `loop.run_in_executor(ex, f, *args)` on an
`async def` → `f(*args)`."""

from __future__ import annotations

import libcst as cst
from libcst.metadata import PositionProvider

from flowfix.codemod import RuleCodemod
from flowfix.edits import Parents


class AwaitCoroutineFunction(RuleCodemod):
    """The loop or executor the call drops goes with its assignment once no read of it is left
    (`data["assignments"]`); comments of dropped arguments are kept at the statement."""

    CODE = "ASY004"
    DESCRIPTION = "Call async functions directly instead of through `to_thread`/`run_in_executor`"
    METADATA_DEPENDENCIES = (PositionProvider, Parents)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        span = self.target(original_node)
        if span is None:
            return updated_node
        func = updated_node.func
        in_executor = isinstance(func, cst.Attribute) and func.attr.value == "run_in_executor"
        index = 1 if in_executor else 0
        for dropped in (original_node.func, *original_node.args[:index]):
            self.drop(dropped)
        self.fixed.add(span)
        call = updated_node.with_changes(
            func=updated_node.args[index].value, args=updated_node.args[index + 1 :]
        )
        self.keep_comments(original_node, call)
        return call
