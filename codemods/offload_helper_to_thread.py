"""ASY006: `helper(args)` reached from a coroutine → `await asyncio.to_thread(helper, args)`."""

from __future__ import annotations

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import ParentNodeProvider, PositionProvider

from flowfix.codemod import RuleCodemod
from flowfix.edits import awaited, module_alias


class OffloadHelperToThread(RuleCodemod):
    CODE = "ASY006"
    DESCRIPTION = "Run blocking project helpers called from coroutines in `asyncio.to_thread`"
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
        comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        first = cst.Arg(
            value=updated_node.func, comma=comma if updated_node.args else cst.MaybeSentinel.DEFAULT
        )
        call = updated_node.with_changes(
            func=cst.Attribute(value=cst.Name(self.asyncio), attr=cst.Name("to_thread")),
            args=(first, *updated_node.args),
        )
        return awaited(call, original_node, self.get_metadata(ParentNodeProvider, original_node))
