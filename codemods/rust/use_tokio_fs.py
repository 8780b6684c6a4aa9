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
        callee = node.child_by_field_name("function")
        if callee is None:
            return "the call has no callee"
        name = path_segments(self.model.resolve(callee))[-1]
        return self.awaited_call_to(node, f"tokio::fs::{name}")
