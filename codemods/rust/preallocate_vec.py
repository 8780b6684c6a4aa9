"""RSP001 fix: `Vec::new()` / `vec![]` → `Vec::with_capacity(<length>)`."""

from __future__ import annotations

from tree_sitter import Node

from flowfix.rules import Finding
from flowfix.rust.fixes import Edit, RustFix


class PreallocateVec(RustFix):
    CODE = "RSP001"
    DESCRIPTION = "Create the vector with the capacity the loop needs"
    TARGET = "let_declaration"

    def fix(self, node: Node, finding: Finding) -> list[Edit] | str:
        value = node.child_by_field_name("value")
        capacity = finding.data.get("capacity")
        if value is None or not isinstance(capacity, str):
            return "the finding does not say the capacity"
        callee = value.child_by_field_name("function")
        if value.type == "call_expression" and callee is not None:
            name = callee.child_by_field_name("name")
            arguments = value.child_by_field_name("arguments")
            if name is None or arguments is None:
                return "unexpected constructor"
            return [self.replace(name, "with_capacity"), self.replace(arguments, f"({capacity})")]
        return [self.replace(value, f"Vec::with_capacity({capacity})")]
