"""CAC003: compute a serialization repeated in a loop or a function once, into a local."""

from __future__ import annotations

from collections import defaultdict

import libcst as cst

from flowfix.codemod import RuleCodemod
from flowfix.detectors.legacy.caching import DEPENDENCIES, Hoist, hoisted_name, serialization_hoists
from flowfix.edits import split_before_comment, statement_leading_lines
from flowfix.semantics import scope_owner


class HoistRepeatedSerialization(RuleCodemod):
    CODE = "CAC003"
    DESCRIPTION = "Serialize once into a local instead of on every iteration or use"
    METADATA_DEPENDENCIES = DEPENDENCIES

    def visit_Module(self, node: cst.Module) -> None:
        self.hoists: dict[cst.FunctionDef, list[Hoist]] = {}
        self.names: dict[cst.FunctionDef, set[str]] = defaultdict(set)
        self.replacements: dict[cst.Call, str] = {}
        self.inserts: dict[cst.CSTNode, list[cst.BaseStatement]] = defaultdict(list)

    def visit_Call(self, node: cst.Call) -> None:
        span = self.target(node)
        func = scope_owner(self, node) if span is not None else None
        if span is None or not isinstance(func, cst.FunctionDef):
            return
        if func not in self.hoists:
            self.hoists[func] = serialization_hoists(self, func)
        hoist = next((h for h in self.hoists[func] if h.calls[0] is node), None)
        if hoist is None or hoist.reason:
            self.warn(f"{span.line}:{span.column}: {hoist.reason if hoist else 'no longer found'}")
            return
        name = hoist.reuse or hoisted_name(self, hoist, func, self.names[func])
        self.names[func].add(name)
        for call in hoist.replace:
            self.replacements[call] = name
        if hoist.before is not None:
            value = node.with_changes(lpar=(), rpar=())
            assignment = cst.Assign(targets=[cst.AssignTarget(cst.Name(name))], value=value)
            self.inserts[hoist.before].append(cst.SimpleStatementLine(body=[assignment]))
        self.fixed.add(span)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        name = self.replacements.get(original_node)
        if name is None:
            return updated_node
        return cst.Name(name, lpar=updated_node.lpar, rpar=updated_node.rpar)

    def on_leave(  # type: ignore[override]  # libcst's two bases disagree on the return type
        self, original_node: cst.CSTNodeT, updated_node: cst.CSTNodeT
    ) -> cst.CSTNodeT | cst.RemovalSentinel | cst.FlattenSentinel[cst.CSTNodeT]:
        result = super().on_leave(original_node, updated_node)
        inserts = self.inserts.pop(original_node, None)
        if not inserts or not isinstance(
            result, (cst.SimpleStatementLine, cst.BaseCompoundStatement)
        ):
            return result
        blank, comments = split_before_comment(statement_leading_lines(result))
        placed = [inserts[0].with_changes(leading_lines=blank), *inserts[1:]]
        moved = result.with_changes(leading_lines=comments)
        return cst.FlattenSentinel([*placed, moved])  # type: ignore[list-item]
