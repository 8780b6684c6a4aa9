"""CAC003: compute a serialization repeated in a loop or a function once, into a local."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import libcst as cst
from libcst.metadata import PositionProvider

from flowfix.codemod import RuleCodemod
from flowfix.edits import Parents, split_before_comment, statement_leading_lines
from flowfix.rules import Span


class HoistRepeatedSerialization(RuleCodemod):
    """Each finding's data names the function and its hoists (one, or a repeated pair's
    two): for each, its first call, the calls that read the new local (`replace`), the
    statement to assign it before (`before`, None when an existing local is `reuse`d) and the
    candidate names of the local, the first one not taken by another hoist of the same
    function being used."""

    CODE = "CAC003"
    DESCRIPTION = "Serialize once into a local instead of on every iteration or use"
    METADATA_DEPENDENCIES = (PositionProvider, Parents)

    def visit_Module(self, node: cst.Module) -> None:
        self.copied: set[Span] = set()  # the calls whose code the new assignments hold
        self.names: dict[tuple[int, ...], set[str]] = defaultdict(set)
        self.replacements: dict[Span, str] = {}
        self.inserts: dict[tuple[int, int], list[cst.BaseStatement]] = defaultdict(list)
        # Each hoist by the span of its first call: (its finding's span, the function, the hoist).
        self.hoists: dict[Span, tuple[Span, tuple[int, ...], Mapping[str, Any]]] = {}
        for span, data in self.data.items():
            if "hoists" not in data:
                self.warn(f"{span.line}:{span.column}: the finding carries no hoist")
                continue
            for hoist in data["hoists"]:
                self.hoists[Span(*hoist["call"])] = (span, tuple(data["function"]), hoist)

    def visit_Call(self, node: cst.Call) -> None:
        entry = self.hoists.get(self.span_of(node)) if self.hoists else None
        if entry is None:
            return
        finding, function, data = entry
        taken = self.names[function]
        name = data["reuse"] or next(n for n in data["names"] if n not in taken)
        taken.add(name)
        for call in data["replace"]:
            self.replacements[Span(*call)] = name
        if data["before"] is not None:
            value = node.with_changes(lpar=(), rpar=())
            self.copied.add(self.span_of(node))
            assignment = cst.Assign(targets=[cst.AssignTarget(cst.Name(name))], value=value)
            line, column = data["before"][:2]
            self.inserts[(line, column)].append(cst.SimpleStatementLine(body=[assignment]))
        self.fixed.add(finding)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if not self.replacements:
            return updated_node
        # The position libcst gives (parentheses outside, as in `ast`), or `span_of`'s reading.
        rng = self.get_metadata(PositionProvider, original_node)
        own = Span(rng.start.line, rng.start.column + 1, rng.end.line, rng.end.column + 1)
        name = self.replacements.get(own) or self.replacements.get(self.span_of(original_node))
        if name is None:
            return updated_node
        local = cst.Name(name, lpar=updated_node.lpar, rpar=updated_node.rpar)
        if self.span_of(original_node) not in self.copied:
            self.keep_comments(original_node, local)
        return local

    def on_leave(  # type: ignore[override]  # libcst's two bases disagree on the return type
        self, original_node: cst.CSTNodeT, updated_node: cst.CSTNodeT
    ) -> cst.CSTNodeT | cst.RemovalSentinel | cst.FlattenSentinel[cst.CSTNodeT]:
        result = super().on_leave(original_node, updated_node)
        if not self.inserts or not isinstance(
            original_node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)
        ):
            return result
        # Not `span_of`: it reads a class's or a `with`'s own `lpar` as one around the
        # statement. Statements start where the detector's spans say.
        start = self.get_metadata(PositionProvider, original_node).start
        inserts = self.inserts.pop((start.line, start.column + 1), None)
        if not inserts or not isinstance(
            result, (cst.SimpleStatementLine, cst.BaseCompoundStatement)
        ):
            return result
        blank, comments = split_before_comment(statement_leading_lines(result))
        placed = [inserts[0].with_changes(leading_lines=blank), *inserts[1:]]
        moved = result.with_changes(leading_lines=comments)
        return cst.FlattenSentinel([*placed, moved])  # type: ignore[list-item]
