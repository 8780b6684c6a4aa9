"""RSA001 fix: `std::thread::sleep(d)` → `tokio::time::sleep(d).await`."""

from __future__ import annotations

from tree_sitter import Node

from flowfix.rules import Finding
from flowfix.rust.fixes import Edit, RustFix


class UseTokioSleep(RustFix):
    CODE = "RSA001"
    DESCRIPTION = "Replace `std::thread::sleep(d)` with `tokio::time::sleep(d).await`"

    def fix(self, node: Node, finding: Finding) -> list[Edit] | str:
        return self.awaited_call_to(node, "tokio::time::sleep")
