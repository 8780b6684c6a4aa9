"""MEM001: after `post()` appends to a shared-store list, keep only its last N items."""

from __future__ import annotations

import libcst as cst
from libcst.metadata import PositionProvider

from flowfix.codemod import RuleCodemod
from flowfix.detectors.legacy.memory import store_appends, store_parameter, trim_plan
from flowfix.parents import ParentProvider
from flowfix.scope import ScopeProvider
from flowfix.semantics import scope_owner


class BoundSharedStoreList(RuleCodemod):
    CODE = "MEM001"
    DESCRIPTION = "Trim a shared-store list to its last N items after `post()` appends to it"
    METADATA_DEPENDENCIES = (PositionProvider, ParentProvider, ScopeProvider)

    def visit_Module(self, node: cst.Module) -> None:
        self.bound = self.config.threshold("shared-store-bound")
        self.trims: dict[cst.CSTNode, list[cst.BaseStatement]] = {}

    def visit_Call(self, node: cst.Call) -> None:
        span = self.target(node)
        if span is None:
            return
        func = scope_owner(self, node)
        store = store_parameter(self, func) if isinstance(func, cst.FunctionDef) else None
        if store is None or not isinstance(func, cst.FunctionDef):
            return
        group = next(g for g in store_appends(func, store).values() if g[0].call is node)
        plan = trim_plan(self, func, store, group)
        if isinstance(plan, str):
            self.warn(f"{span.line}:{span.column}: {plan}")
            return
        key = self.module.code_for_node(plan.key)
        newline, indent = self.module.default_newline, self.module.default_indent
        code = f"{store}[{key}] = {store}[{key}][-{self.bound}:]{newline}"
        if plan.guard:
            code = f"if {key} in {store}:{newline}{indent}{code}"
        trim = cst.parse_statement(code, config=self.module.config_for_parsing)
        self.trims.setdefault(plan.anchor, []).append(trim)
        self.fixed.add(span)

    def _trimmed(
        self, original: cst.BaseStatement, updated: cst.BaseStatement
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        trims = self.trims.pop(original, None)
        return cst.FlattenSentinel([updated, *trims]) if trims else updated

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        return self._trimmed(original_node, updated_node)

    def leave_For(
        self, original_node: cst.For, updated_node: cst.For
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        return self._trimmed(original_node, updated_node)

    def leave_While(
        self, original_node: cst.While, updated_node: cst.While
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        return self._trimmed(original_node, updated_node)
