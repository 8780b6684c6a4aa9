"""RSA001 fix: `std::thread::sleep(d)` → `tokio::time::sleep(d).await`."""

from __future__ import annotations

from tree_sitter import Node

from flowfix.rules import Finding
from flowfix.rust.fixes import Edit, RustFix


class UseTokioSleep(RustFix):
    CODE = "RSA001"
    DESCRIPTION = "Replace `std::thread::sleep(d)` with `tokio::time::sleep(d).await`"

    def fix(self, node: Node, finding: Finding) -> list[Edit] | str:
        context = self.model.async_context(node)
        callee = node.child_by_field_name("function")
        if context is None or not context.direct or callee is None:
            return "`.await` cannot be written there"
        return [self.replace_path(callee, "tokio::time::sleep"), self.insert_after(node, ".await")]
