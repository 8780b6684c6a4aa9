"""TIM001: `t0 = time.time()` … `time.time() - t0` → `time.perf_counter()` at both ends."""

from __future__ import annotations

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor

from flowfix.codemod import RuleCodemod
from flowfix.detectors.legacy.timing import DEPENDENCIES, wall_clock_durations
from flowfix.edits import from_import_alias
from flowfix.rules import FixSafety


class UsePerfCounter(RuleCodemod):
    CODE = "TIM001"
    DESCRIPTION = "Measure durations with `time.perf_counter()` instead of `time.time()`"
    METADATA_DEPENDENCIES = DEPENDENCIES

    def visit_Module(self, node: cst.Module) -> None:
        self.perf_counter = from_import_alias(node, "time", "perf_counter")
        self.calls: set[int] = set()
        for duration in wall_clock_durations(self, node):
            span = self.target(duration.report)
            if span is None:
                continue
            if duration.fix is FixSafety.NONE:
                self.warn(duration.note)
                continue
            self.calls |= {id(call) for call in duration.calls}
            self.fixed.add(span)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        if id(original_node) not in self.calls:
            return updated_node
        func = updated_node.func
        if isinstance(func, cst.Attribute):
            return updated_node.with_changes(func=func.with_changes(attr=cst.Name("perf_counter")))
        if self.perf_counter is None:
            AddImportsVisitor.add_needed_import(self.context, "time", "perf_counter")
        RemoveImportsVisitor.remove_unused_import_by_node(self.context, original_node.func)
        return updated_node.with_changes(
            func=cst.Name(self.perf_counter or "perf_counter", lpar=func.lpar, rpar=func.rpar)
        )
