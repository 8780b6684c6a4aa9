"""RSC001 fix: `serde_json::to_*_pretty` → the compact `serde_json::to_*`."""

from __future__ import annotations

from tree_sitter import Node

from flowfix.rules import Finding
from flowfix.rust.fixes import Edit, RustFix


class UseCompactJson(RustFix):
    CODE = "RSC001"
    DESCRIPTION = "Serialise checkpoints with compact JSON"

    def fix(self, node: Node, finding: Finding) -> list[Edit] | str:
        callee = node.child_by_field_name("function")
        if callee is None:
            return "the call has no callee"
        if callee.type == "scoped_identifier":
            name = callee.child_by_field_name("name")
            assert name is not None
            return [self.replace(name, self.model.source(name).removesuffix("_pretty"))]
        qualified = self.model.resolve(callee).removesuffix("_pretty")
        return [self.replace_path(callee, qualified)]
