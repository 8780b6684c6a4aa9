"""RSE001 fix: build and emit events only when a listener is registered."""

from __future__ import annotations

from tree_sitter import Node

from flowfix.detectors.rust.event_emission import call_statement
from flowfix.rules import Finding
from flowfix.rust.fixes import Edit, RustFix


class GuardEventEmission(RustFix):
    CODE = "RSE001"
    DESCRIPTION = "Wrap the event's building and emission in `if !self.<listeners>.is_empty()`"

    def fix(self, node: Node, finding: Finding) -> list[Edit] | str:
        statement = call_statement(node)
        field, lets = finding.data.get("field"), finding.data.get("lets")
        if statement is None or not isinstance(field, str) or not isinstance(lets, int):
            return "the emit call is not a statement of its own"
        first = statement
        for _ in range(lets):
            previous = first.prev_named_sibling
            if previous is None or previous.type != "let_declaration":
                return "the statements before the call changed"
            first = previous
        indent = self.model.indentation(first)
        if not indent and self.model.line_start(first.start_byte) != first.start_byte:
            return "code precedes the statement on its line"
        end = self._end_with_comment(statement)
        if any(
            literal.start_point[0] != literal.end_point[0]
            for literal in self.model.nodes_in(
                first.parent or first, "string_literal", "raw_string_literal"
            )
            if first.start_byte <= literal.start_byte < end
        ):
            return "a multi-line string would be re-indented"
        unit = "\t" if "\t" in indent else "    "
        newline = self.newline()
        body = self.model.data[first.start_byte : end].decode("utf-8")
        lines = body.split("\n")
        indented = lines[0] + "".join(
            "\n" + (unit + line if line.strip() else line) for line in lines[1:]
        )
        text = f"if !self.{field}.is_empty() {{{newline}{indent}{unit}{indented}{newline}{indent}}}"
        return [Edit(first.start_byte, end, text)]

    def _end_with_comment(self, statement: Node) -> int:
        """The statement's end, or its line's end when only a comment follows it there."""
        data = self.model.data
        line_end = data.find(b"\n", statement.end_byte)
        line_end = len(data) if line_end < 0 else line_end
        rest = data[statement.end_byte : line_end].rstrip(b"\r")
        if rest.strip().startswith(b"//"):
            return statement.end_byte + len(rest)
        return statement.end_byte
