"""RSA002: blocking `std::fs` calls in async Rust code."""

from __future__ import annotations

from flowfix.rules import FixSafety, OptIn, Severity
from flowfix.rust.detector import RustDetector
from flowfix.rust.model import context_name

# std::fs functions that tokio::fs mirrors with the same arguments and result (awaited).
TOKIO_TWINS = frozenset(
    {
        "canonicalize",
        "copy",
        "create_dir",
        "create_dir_all",
        "hard_link",
        "metadata",
        "read",
        "read_link",
        "read_to_string",
        "remove_dir",
        "remove_dir_all",
        "remove_file",
        "rename",
        "set_permissions",
        "symlink_metadata",
        "write",
    }
)
# Blocking calls without a drop-in twin: a directory listing, and opening a file whose reads
# and writes then block in turn (the block belongs in `spawn_blocking`).
WITHOUT_TWIN = frozenset({"read_dir", "File::open", "File::create", "File::create_new"})
TARGETS = frozenset(f"std::fs::{name}" for name in TOKIO_TWINS | WITHOUT_TWIN)


class BlockingFsInAsync(RustDetector):
    """Synchronous `std::fs` I/O in an `async fn` or `async` block blocks the executor thread.

    ## Why is this bad?
    A file read or write waits on the disk without yielding: the tokio worker that runs the
    task stops, and so do the other tasks queued on it. DashFlow's file checkpointer did its
    I/O this way before seed 002's optimisation moved it off the executor; on a slow or
    network disk each checkpoint then stalls every graph run sharing the worker.

    ## Example
    ```rust
    use std::fs;

    async fn load_prompt(path: &str) -> std::io::Result<String> {
        fs::read_to_string(path)
    }
    ```

    ## Use instead
    ```rust
    async fn load_prompt(path: &str) -> std::io::Result<String> {
        tokio::fs::read_to_string(path).await
    }
    ```

    ## Fix safety
    Unsafe: a single call with a `tokio::fs` twin (`read`, `read_to_string`, `write`,
    `create_dir_all`, `remove_file`, `rename`, `copy`, `metadata`, ...) becomes
    `tokio::fs::<same>(args).await`, which needs tokio's `fs` feature and runs the call on
    tokio's blocking pool (an extra thread hop for tiny files). A `use std::fs;` left unused is
    removed. `File::open`/`File::create` (whose reads and writes block too) and `read_dir` are
    reported without a fix: move the whole block into `tokio::task::spawn_blocking`, as
    DashFlow's checkpointer does. Calls in a closure inside the async body are reported
    without a fix (`.await` cannot be written there); calls in a nested `fn`, in a closure
    handed to `spawn_blocking`, a thread, rayon or an awaited helper (tokio's `asyncify`),
    and in a runtime's entry `main` (`#[tokio::main]`) that spawns and joins nothing beside
    itself (nothing else runs while it blocks), are not reported.

    ## Metric to monitor
    Tokio task poll times (tokio-console's busy duration) and checkpoint save/load latency
    p95 under concurrent graph runs.
    """

    CODE = "RSA002"
    NAME = "blocking-fs-in-async"
    SEVERITY = Severity.OPTIMIZATION
    OPT_IN = OptIn.CONTEXT
    WHY_NOT_DEFAULT = (
        "tokio runs a worker per core, so a blocking file call delays only the tasks of its "
        "worker; on DashFlow's sources most sit in CLI entry points that run alone"
    )
    CATEGORY = "async"
    FIX = FixSafety.UNSAFE
    MESSAGE = "`{callee}` is blocking file I/O in {context}: {advice}"
    TRIGGERS = ("fs",)

    def run(self) -> None:
        for call, callee, qualified, context in self.async_calls(TARGETS):
            name = qualified.removeprefix("std::fs::")
            twin = name in TOKIO_TWINS
            advice = (
                f"use `tokio::fs::{name}(…).await`"
                if twin
                else "move this I/O into `tokio::task::spawn_blocking`"
            )
            self.report(
                call,
                fix=None if twin and context.direct else FixSafety.NONE,
                callee=self.model.source(callee),
                context=context_name(self.model, context),
                advice=advice,
            )
