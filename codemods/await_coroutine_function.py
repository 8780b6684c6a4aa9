"""ASY004: `asyncio.to_thread(f, *args)` / `loop.run_in_executor(ex, f, *args)` on an
`async def` → `f(*args)`."""

from __future__ import annotations

import libcst as cst

from flowfix.codemod import RuleCodemod


class AwaitCoroutineFunction(RuleCodemod):
    CODE = "ASY004"
    DESCRIPTION = "Call async functions directly instead of through `to_thread`/`run_in_executor`"

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        span = self.target(original_node)
        if span is None:
            return updated_node
        func = updated_node.func
        in_executor = isinstance(func, cst.Attribute) and func.attr.value == "run_in_executor"
        index = 1 if in_executor else 0
        if not in_executor:
            self.remove_import_if_unused(original_node.func)
        self.fixed.add(span)
        return updated_node.with_changes(
            func=updated_node.args[index].value, args=updated_node.args[index + 1 :]
        )
