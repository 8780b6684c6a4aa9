"""ASY001: `time.sleep(x)` in a coroutine → `await asyncio.sleep(x)`."""

from __future__ import annotations

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.metadata import ParentNodeProvider, PositionProvider

from flowfix.codemod import RuleCodemod
from flowfix.edits import awaited, module_alias


class UseAsyncioSleep(RuleCodemod):
    CODE = "ASY001"
    DESCRIPTION = "Replace `time.sleep(...)` in coroutines with `await asyncio.sleep(...)`"
    METADATA_DEPENDENCIES = (PositionProvider, ParentNodeProvider)

    def visit_Module(self, node: cst.Module) -> None:
        self.asyncio = module_alias(node, "asyncio") or "asyncio"

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        span = self.target(original_node)
        if span is None:
            return updated_node
        if self.asyncio == "asyncio":
            AddImportsVisitor.add_needed_import(self.context, "asyncio")
        RemoveImportsVisitor.remove_unused_import_by_node(self.context, original_node.func)
        self.fixed.add(span)
        call = updated_node.with_changes(
            func=cst.Attribute(value=cst.Name(self.asyncio), attr=cst.Name("sleep"))
        )
        return awaited(call, original_node, self.get_metadata(ParentNodeProvider, original_node))
