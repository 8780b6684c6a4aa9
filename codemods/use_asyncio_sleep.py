"""ASY001: `time.sleep(x)` in a coroutine → `await asyncio.sleep(x)`."""

from __future__ import annotations

import libcst as cst

from flowfix.codemod import AwaitAsyncioCall


class UseAsyncioSleep(AwaitAsyncioCall):
    CODE = "ASY001"
    DESCRIPTION = "Replace `time.sleep(...)` in coroutines with `await asyncio.sleep(...)`"

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        span = self.target(original_node)
        if span is None:
            return updated_node
        self.remove_import_if_unused(original_node.func)
        self.fixed.add(span)
        call = updated_node.with_changes(func=self.asyncio_function("sleep"))
        return self.awaited(call, original_node)
