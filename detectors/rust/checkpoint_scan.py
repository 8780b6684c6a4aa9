"""RSC002: a lookup that reads every entry of a directory to pick one."""

from __future__ import annotations

import re

from tree_sitter import Node

from flowfix.rules import FixSafety, OptIn, Severity
from flowfix.rust.detector import RustDetector

LOOKUPS = re.compile(r"^(?:get|latest|get_latest\w*|\w*_latest|find_\w+|load_\w+)$")
LISTINGS = re.compile(r"\bread_dir\b|\blist_files\b|\bnext_entry\b|\blist_\w*(?:files|entries)\b")
READS = re.compile(
    r"(?:read|read_to_string|read_to_end|from_slice|from_str|from_reader|deserialize\w*"
    r"|decode\w*|load\w*)\($"
)
MANY = re.compile(r"\b(?:Vec|VecDeque|HashMap|BTreeMap|HashSet|BTreeSet|Self)\b")
LOOPS = ("for_expression", "while_expression", "loop_expression")


class LinearCheckpointScan(RustDetector):
    """A lookup (`get_latest`, `find_*`, `load_*`, `get`) that lists a directory and reads or
    deserialises every entry to pick one.

    ## Why is this bad?
    Each lookup costs one file read and one deserialisation per stored checkpoint: O(n) in
    the number of checkpoints, growing with every run that is kept. DashFlow's checkpointer
    replaced this scan with an index (thread id → latest checkpoint id, persisted to
    `index.bin`): 10× faster with 10 checkpoints, 100× with 100 (seed 002, "Checkpoint
    Index").

    ## Example
    ```rust
    pub fn get_latest(dir: &std::path::Path, thread_id: &str) -> Option<String> {
        let mut latest = None;
        for entry in std::fs::read_dir(dir).ok()? {
            let text = std::fs::read_to_string(entry.ok()?.path()).ok()?;
            if text.starts_with(thread_id) {
                latest = Some(text);
            }
        }
        latest
    }
    ```

    ## Use instead
    ```rust
    use std::collections::HashMap;

    pub fn get_latest(index: &HashMap<String, String>, thread_id: &str) -> Option<String> {
        let id = index.get(thread_id)?;
        std::fs::read_to_string(id).ok()
    }
    ```

    ## Metric to monitor
    Checkpoint lookup latency as the number of stored checkpoints grows (it should stay
    flat), and files read per lookup.
    """

    CODE = "RSC002"
    NAME = "linear-checkpoint-scan"
    SEVERITY = Severity.OPTIMIZATION
    OPT_IN = OptIn.CONTEXT
    WHY_NOT_DEFAULT = (
        "whether a directory scan is on a hot path, or the fallback of an index, is not "
        "visible in the function"
    )
    CATEGORY = "caching"
    FIX = FixSafety.NONE
    MESSAGE = (
        "`{function}` reads every entry of a directory listing to find one: keep an index "
        "(key → latest entry) instead"
    )
    TRIGGERS = ("read_dir", "list_files", "next_entry", "list_")

    def visit_function_item(self, node: Node) -> None:
        name, body = node.child_by_field_name("name"), node.child_by_field_name("body")
        if name is None or body is None or not LOOKUPS.match(self.model.source(name)):
            return
        returns = node.child_by_field_name("return_type")
        if returns is not None and MANY.search(self.model.source(returns)):
            return  # it loads them all (a list, a map, a whole store): not a lookup
        listed = self._listing_names(body)
        for loop in self.model.nodes_in(body, *LOOPS):
            if self.model.enclosing(loop, "function_item") != node:
                continue
            head = self._head(loop)
            if not (LISTINGS.search(head) or any(re.search(rf"\b{n}\b", head) for n in listed)):
                continue
            loop_body = loop.child_by_field_name("body")
            if loop_body is not None and self._reads_every_entry(loop_body):
                self.report(loop, function=self.model.source(name))
                return

    def _reads_every_entry(self, body: Node) -> bool:
        """Whether the loop body reads or deserialises on every iteration (a read under an
        `if` or `match`, as after checking the entry's name, reads only the matching ones)."""
        for call in self.model.nodes_in(body, "call_expression"):
            callee = call.child_by_field_name("function")
            if callee is None or not READS.match(
                self.model.source(callee).rsplit(".", 1)[-1].rsplit("::", 1)[-1] + "("
            ):
                continue
            conditional = False
            for ancestor in self.model.ancestors(call):
                if ancestor == body:
                    break
                if ancestor.type in ("if_expression", "match_arm"):
                    conditional = True
                    break
            if not conditional:
                return True
        return False

    def _head(self, loop: Node) -> str:
        """What a loop iterates over or tests (`while let Some(e) = entries.next_entry()`)."""
        for field in ("value", "condition", "pattern"):
            part = loop.child_by_field_name(field)
            if part is not None and field != "pattern":
                return self.model.source(part)
        body = loop.child_by_field_name("body")
        return self.model.source(body)[:200] if loop.type == "loop_expression" and body else ""

    def _listing_names(self, body: Node) -> set[str]:
        """Variables bound to a directory listing (`let entries = fs::read_dir(dir)?;`)."""
        names: set[str] = set()
        for let in self.model.nodes_in(body, "let_declaration"):
            pattern, value = let.child_by_field_name("pattern"), let.child_by_field_name("value")
            if (
                pattern is not None
                and value is not None
                and LISTINGS.search(self.model.source(value))
            ):
                names.add(re.sub(r"^mut\s+", "", self.model.source(pattern)))
        return names
