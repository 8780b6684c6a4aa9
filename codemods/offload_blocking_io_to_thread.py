"""ASY002: a blocking call in a coroutine → `await asyncio.to_thread(callee, *args)`."""

from __future__ import annotations

import libcst as cst

from flowfix.codemod import AwaitAsyncioCall


class OffloadBlockingIoToThread(AwaitAsyncioCall):
    CODE = "ASY002"
    DESCRIPTION = "Run blocking calls in coroutines with `await asyncio.to_thread(...)`"

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        span = self.target(original_node)
        if span is None:
            return updated_node
        self.fixed.add(span)
        call = updated_node.with_changes(
            func=self.asyncio_function("to_thread"),
            args=(self._callee_arg(updated_node), *updated_node.args),
        )
        return self.awaited(call, original_node)

    @staticmethod
    def _callee_arg(call: cst.Call) -> cst.Arg:
        """The callee as the first argument, laid out like the call's own first argument."""
        if not call.args:
            return cst.Arg(value=call.func)
        before = call.whitespace_before_args
        after: cst.BaseParenthesizableWhitespace = cst.SimpleWhitespace(" ")
        if isinstance(before, cst.ParenthesizedWhitespace):
            after = cst.ParenthesizedWhitespace(indent=before.indent, last_line=before.last_line)
        return cst.Arg(value=call.func, comma=cst.Comma(whitespace_after=after))
