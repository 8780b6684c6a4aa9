"""TIM001: `t0 = time.time()` … `time.time() - t0` → `time.perf_counter()` at both ends."""

from __future__ import annotations

import libcst as cst

from flowfix.codemod import RuleCodemod
from flowfix.edits import from_import_alias
from flowfix.rules import Span


class UsePerfCounter(RuleCodemod):
    CODE = "TIM001"
    DESCRIPTION = "Measure durations with `time.perf_counter()` instead of `time.time()`"

    def visit_Module(self, node: cst.Module) -> None:
        self.perf_counter = from_import_alias(node, "time", "perf_counter")
        # Every `time.time()` call of each finding (the reported reading first among them),
        # by span, as the detector found them.
        self.calls: dict[Span, Span] = {}
        for span, data in self.data.items():
            if not data.get("calls"):
                self.warn(f"{span.line}:{span.column}: no calls to rewrite")
                continue
            for call in data["calls"]:
                self.calls[Span(*call)] = span

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        finding = self.calls.get(self.span_of(original_node))
        if finding is None:
            return updated_node
        self.fixed.add(finding)
        func = updated_node.func
        if isinstance(func, cst.Attribute):
            return updated_node.with_changes(func=func.with_changes(attr=cst.Name("perf_counter")))
        if self.perf_counter is None:
            self.add_import("time", "perf_counter")
        self.remove_import_if_unused(original_node.func)
        return updated_node.with_changes(
            func=cst.Name(self.perf_counter or "perf_counter", lpar=func.lpar, rpar=func.rpar)
        )
