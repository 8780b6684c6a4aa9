"""MEM001: after `post()` appends to a shared-store list, keep only its last N items."""

from __future__ import annotations

import libcst as cst

from flowfix.codemod import RuleCodemod
from flowfix.rules import Span


class BoundSharedStoreList(RuleCodemod):
    CODE = "MEM001"
    DESCRIPTION = "Trim a shared-store list to its last N items after `post()` appends to it"

    def visit_Module(self, node: cst.Module) -> None:
        self.bound = self.config.threshold("shared-store-bound")
        # Trims to insert after the statement (a loop, or a line's last statement) at a span.
        self.trims: dict[Span, list[cst.BaseStatement]] = {}

    def visit_Call(self, node: cst.Call) -> None:
        span = self.target(node)
        if span is None:
            return
        data = self.data.get(span, {})
        if "anchor" not in data:
            self.warn(f"{span.line}:{span.column}: no place to trim this list")
            return
        store, key = data["store"], data["key"]
        newline, indent = self.module.default_newline, self.module.default_indent
        code = f"{store}[{key}] = {store}[{key}][-{self.bound}:]{newline}"
        if data["guard"]:
            code = f"if {key} in {store}:{newline}{indent}{code}"
        trim = cst.parse_statement(code, config=self.module.config_for_parsing)
        self.trims.setdefault(Span(*data["anchor"]), []).append(trim)
        self.fixed.add(span)

    def _trimmed(
        self, span: Span, updated: cst.BaseStatement
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        trims = self.trims.pop(span, None)
        return cst.FlattenSentinel([updated, *trims]) if trims else updated

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        return self._trimmed(self.span_of(original_node.body[-1]), updated_node)

    def leave_For(
        self, original_node: cst.For, updated_node: cst.For
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        return self._trimmed(self.span_of(original_node), updated_node)

    def leave_While(
        self, original_node: cst.While, updated_node: cst.While
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        return self._trimmed(self.span_of(original_node), updated_node)
