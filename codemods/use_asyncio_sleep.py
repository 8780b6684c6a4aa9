"""ASY001: `time.sleep(x)` in a coroutine → `await asyncio.sleep(x)`."""

from __future__ import annotations

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.metadata import ParentNodeProvider, PositionProvider

from flowfix.codemod import RuleCodemod
from flowfix.edits import module_alias


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
            func=cst.Attribute(value=cst.Name(self.asyncio), attr=cst.Name("sleep")),
            lpar=(),
            rpar=(),
        )
        lpar, rpar = updated_node.lpar, updated_node.rpar
        if not lpar and self._needs_parentheses(original_node):
            lpar, rpar = (cst.LeftParen(),), (cst.RightParen(),)
        return cst.Await(expression=call, lpar=lpar, rpar=rpar)

    def _needs_parentheses(self, node: cst.Call) -> bool:
        """`await` binds looser than attribute access, subscription and calls."""
        owner = self.get_metadata(ParentNodeProvider, node)
        return (
            (isinstance(owner, cst.Attribute) and owner.value is node)
            or (isinstance(owner, cst.Subscript) and owner.value is node)
            or (isinstance(owner, cst.Call) and owner.func is node)
        )
