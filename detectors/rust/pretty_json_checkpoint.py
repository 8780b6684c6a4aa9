"""RSC001: pretty-printed JSON in code that persists checkpoints or state."""

from __future__ import annotations

import re

from tree_sitter import Node

from flowfix.rules import FixSafety, OptIn, Severity
from flowfix.rust.detector import RustDetector

PRETTY = {
    "serde_json::to_string_pretty": "serde_json::to_string",
    "serde_json::to_vec_pretty": "serde_json::to_vec",
    "serde_json::to_writer_pretty": "serde_json::to_writer",
}
PERSISTING = re.compile(r"checkpoint|persist|save|snapshot", re.IGNORECASE)


class PrettyJsonCheckpoint(RustDetector):
    """Checkpoints or saved state serialised as pretty-printed JSON.

    ## Why is this bad?
    A checkpoint is written after graph nodes and read back to resume; nobody reads it by
    eye. Pretty printing adds indentation and newlines to every value (files grow by a third
    or more) and costs serialisation time on every save. DashFlow's own checkpointer moved
    from JSON to bincode: 3.1× faster serialisation and 68 % smaller files (seed 002).

    ## Example
    ```rust
    pub fn save_checkpoint<T: serde::Serialize>(state: &T) -> serde_json::Result<String> {
        serde_json::to_string_pretty(state)
    }
    ```

    ## Use instead
    ```rust
    pub fn save_checkpoint<T: serde::Serialize>(state: &T) -> serde_json::Result<String> {
        serde_json::to_string(state)
    }
    ```

    ## Fix safety
    Unsafe: the compact form (`to_string`, `to_vec`, `to_writer`) writes the same JSON value,
    and every JSON reader reads it back the same, but the file is no longer indented: tools
    or people that diff or read checkpoints by line will see one long line. The path keeps
    its own prefix (`json::to_string` under `use serde_json as json`); a function imported by
    name is written `serde_json::…` and its `use` removed when unused. A binary format
    (bincode, as DashFlow's checkpointer uses) is faster still but changes the file format:
    that is left to you. Only code that persists is reported: a function, method or type
    whose name says checkpoint, persist, save or snapshot.

    ## Metric to monitor
    Checkpoint save latency and checkpoint file size (bytes per saved state).
    """

    CODE = "RSC001"
    NAME = "pretty-json-checkpoint"
    SEVERITY = Severity.OPTIMIZATION
    OPT_IN = OptIn.MINOR
    WHY_NOT_DEFAULT = (
        "pretty JSON costs some size and time, and files people read (registries, settings, "
        "reports) are pretty on purpose"
    )
    CATEGORY = "caching"
    FIX = FixSafety.UNSAFE
    MESSAGE = (
        "`{callee}` pretty-prints persisted state in `{owner}`: use compact `{compact}` "
        "(or bincode, 3.1× faster)"
    )
    TRIGGERS = ("_pretty",)

    def run(self) -> None:
        for call, callee, qualified in self.model.calls_to(set(PRETTY)):
            owner = self._persisting_owner(call)
            if owner:
                compact = PRETTY[qualified].removeprefix("serde_json::")
                callee_text = self.model.source(callee)
                self.report(call, callee=callee_text, owner=owner, compact=compact)

    def _persisting_owner(self, call: Node) -> str:
        """The name (function, or type of the impl) saying the call persists state."""
        for name in (self.model.function_name(call), self.model.impl_type(call)):
            if name and PERSISTING.search(name):
                return name
        return ""
