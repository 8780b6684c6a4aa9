"""RSA001: `std::thread::sleep` in async Rust code."""

from __future__ import annotations

from flowfix.rules import FixSafety, Severity
from flowfix.rust.detector import RustDetector
from flowfix.rust.model import context_name


class BlockingSleepInAsyncRust(RustDetector):
    """`std::thread::sleep` in an `async fn` or `async` block blocks the executor thread.

    ## Why is this bad?
    A tokio worker thread runs many tasks, switching between them at each `.await`.
    `std::thread::sleep` never yields: the worker stops for the whole duration, and every
    task queued on it (other graph nodes of a DashFlow run, concurrent requests) waits too.
    On a current-thread runtime, such as the one `#[tokio::test]` starts, the whole program
    stalls.

    ## Example
    ```rust
    use std::thread;
    use std::time::Duration;

    async fn wait_for_rate_limit() {
        thread::sleep(Duration::from_millis(250));
    }
    ```

    ## Use instead
    ```rust
    use std::time::Duration;

    async fn wait_for_rate_limit() {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    ```

    ## Fix safety
    Unsafe: `tokio::time::sleep(d).await` needs tokio's `time` feature and a tokio runtime,
    and it lets other tasks run during the wait, which code that counted on holding the
    thread would notice. The argument is kept as written; a `use` (`use std::thread;`,
    `use std::thread::sleep as nap;`) that the rewrite leaves unused is removed. No fix is
    offered where `.await` cannot be written: in a closure inside the async body (the call is
    still reported, since the closure runs on the executor thread). Calls in a nested `fn` or
    in a closure handed to `std::thread::spawn`, `tokio::task::spawn_blocking`,
    `block_in_place` or rayon are not reported: they do not run on the executor. Nor are calls
    in a runtime's entry `main` (`#[tokio::main]`) that spawns and joins nothing beside
    itself: nothing else runs while it sleeps.

    ## Metric to monitor
    Tokio's task poll times (tokio-console's "busy" duration, or
    `RuntimeMetrics::worker_poll_count` against wall time) and p95 latency of concurrent
    graph runs.
    """

    CODE = "RSA001"
    NAME = "blocking-sleep-in-async-rust"
    SEVERITY = Severity.CRITICAL
    CATEGORY = "async"
    FIX = FixSafety.UNSAFE
    MESSAGE = "`{callee}` blocks the executor thread in {context}"
    TRIGGERS = ("sleep",)

    def run(self) -> None:
        for call, callee, _, context in self.async_calls({"std::thread::sleep"}):
            self.report(
                call,
                fix=None if context.direct else FixSafety.NONE,
                callee=self.model.source(callee),
                context=context_name(self.model, context),
            )
