"""RSA002 fix: `std::fs::<f>(args)` → `tokio::fs::<f>(args).await`."""

from __future__ import annotations

from tree_sitter import Node

from flowfix.rules import Finding
from flowfix.rust.fixes import Edit, RustFix
from flowfix.rust.model import path_segments


class UseTokioFs(RustFix):
    CODE = "RSA002"
    DESCRIPTION = "Replace a blocking `std::fs` call with its awaited `tokio::fs` twin"

    def fix(self, node: Node, finding: Finding) -> list[Edit] | str:
        context = self.model.async_context(node)
        callee = node.child_by_field_name("function")
        if context is None or not context.direct or callee is None:
            return "`.await` cannot be written there"
        name = path_segments(self.model.resolve(callee))[-1]
        return [self.replace_path(callee, f"tokio::fs::{name}"), self.insert_after(node, ".await")]
