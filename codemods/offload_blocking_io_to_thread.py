"""ASY002: a blocking call in a coroutine → `await asyncio.to_thread(callee, *args)`."""

from __future__ import annotations

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import ParentNodeProvider, PositionProvider

from flowfix.codemod import RuleCodemod
from flowfix.edits import awaited, module_alias


class OffloadBlockingIoToThread(RuleCodemod):
    CODE = "ASY002"
    DESCRIPTION = "Run blocking calls in coroutines with `await asyncio.to_thread(...)`"
    METADATA_DEPENDENCIES = (PositionProvider, ParentNodeProvider)

    def visit_Module(self, node: cst.Module) -> None:
        self.asyncio = module_alias(node, "asyncio") or "asyncio"

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        span = self.target(original_node)
        if span is None:
            return updated_node
        if self.asyncio == "asyncio":
            AddImportsVisitor.add_needed_import(self.context, "asyncio")
        self.fixed.add(span)
        call = updated_node.with_changes(
            func=cst.Attribute(value=cst.Name(self.asyncio), attr=cst.Name("to_thread")),
            args=(self._callee_arg(updated_node), *updated_node.args),
        )
        return awaited(call, original_node, self.get_metadata(ParentNodeProvider, original_node))

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
