"""ASY003: `open()` or a `pathlib.Path` read/write in a coroutine's own body."""

from __future__ import annotations

import ast

from flowfix.analysis import Model
from flowfix.analysis.arguments import first_argument_value
from flowfix.analysis.blocking import (
    OPEN_FUNCTIONS,
    PATH_CLASSES,
    PATH_FACTORIES,
    PATH_IO,
    PATH_METHODS,
)
from flowfix.analysis.frameworks import ALL_FRAMEWORKS
from flowfix.detector import Detector
from flowfix.detectors.async_.bound_values import bound_class
from flowfix.detectors.async_.offload import is_awaited, offload_fix
from flowfix.detectors.async_.script_entry import coroutines_run_alone
from flowfix.rules import FixSafety, Severity

MAX_PATH_DEPTH = 4
DEVNULL = frozenset({"os.devnull"})
IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError"})


class BlockingFileIoInAsync(Detector):
    """File I/O with `open()` or `pathlib.Path` inside `async def` blocks the event loop.

    ## Why is this bad?
    Reading and writing files are blocking system calls: while a coroutine reads a document,
    writes a result JSON or loads a prompt template, no other task of the loop runs. Local
    disks usually answer in microseconds, but network file systems, container overlay layers
    and large files take milliseconds to seconds, and those stalls add to every concurrent
    request. The Dynamiq review checklist flags "file I/O without `aiofiles` in async node
    execution".

    ## Example
    ```python
    from pathlib import Path


    async def load_prompt(name):
        return Path("prompts", name).read_text(encoding="utf-8")
    ```

    ## Use instead
    ```python
    import asyncio
    from pathlib import Path


    async def load_prompt(name):
        return await asyncio.to_thread(Path("prompts", name).read_text, encoding="utf-8")
    ```
    For `with open(...)` blocks use `aiofiles.open()` (or `anyio.open_file()`), or move the
    whole block into a sync function run with `await asyncio.to_thread(...)`.

    ## Fix safety
    Unsafe, and only for the single-call forms `path.read_text()`, `read_bytes()`,
    `write_text()` and `write_bytes()` on a `pathlib.Path`: the path is still built on the
    loop and the one call moves to `await asyncio.to_thread(path.read_text, ...)`, which runs
    in a worker thread (a cancelled coroutine does not stop the write). `open()` is reported
    without a fix: in `with open(...)` the reads and writes are spread over the block, and in
    `json.load(open(p))` or `open(p).read()` the file would still be opened on the loop (and
    never closed); rewrite those by hand with `aiofiles` or a helper run in a thread. No fix
    inside a generator expression or where `asyncio` names something else. Calls in a nested
    `def`, `lambda` or `class` are not reported; `read_text()` on anything not known to be a
    `pathlib.Path` (`anyio.Path`, `aiofiles` objects, unknown parameters) is left alone.

    ## Metric to monitor
    Event-loop lag (`loop.slow_callback_duration` warnings in debug mode) and p95 latency of
    concurrent requests while files are read or written.

    ## Limitations
    Not reported where nothing else can be waiting on the loop or where the blocking form is
    the author's fallback: in a coroutine this module starts with `asyncio.run()` (a script's
    `main()`) that starts no task of its own (`create_task`, `ensure_future`, a task group or
    nursery, an MCP client session, whose reader is a task),
    in a web app's `@app.on_event("startup")` / `("shutdown")` handlers when none of them
    starts a task (no request is served while they run), and in an `except ImportError:`
    handler (the sync path kept for installs without `aiofiles`). The severity is
    *optimization*: a local disk answers in microseconds, and the stall only grows with large
    files or network file systems.
    """

    CODE = "ASY003"
    NAME = "blocking-file-io-in-async"
    SEVERITY = Severity.OPTIMIZATION
    CATEGORY = "async"
    FIX = FixSafety.UNSAFE
    FRAMEWORKS = ALL_FRAMEWORKS
    MESSAGE = "`{callee}()` blocks the event loop with file I/O in async `{function}()`; {advice}"
    TRIGGERS = ("open(", "read_", "write_")
    NEEDS = "async"  # a coroutine: `async def`

    def visit_Call(self, node: ast.Call) -> None:
        coroutine = self.model.coroutine_of(node)
        if coroutine is None or is_awaited(self.model, node):
            return
        func = node.func
        opens = self.model.resolves_to(func, OPEN_FUNCTIONS) is not None
        path_io = (
            not opens
            and isinstance(func, ast.Attribute)
            and func.attr in PATH_IO
            and is_path(self.model, func.value)
        )
        if (
            not (opens or path_io)
            or coroutine in coroutines_run_alone(self.model)
            or self._in_import_fallback(node, coroutine)
        ):
            return
        function = coroutine.name
        if opens:
            if self._opens_devnull(node):
                return
            advice = "use `aiofiles.open()` or run the file work in `asyncio.to_thread()`"
            note = "`open()` spreads the I/O over later calls; rewrite it by hand"
            self.report(
                node, fix=FixSafety.NONE, note=note, callee="open", function=function, advice=advice
            )
            return
        assert isinstance(func, ast.Attribute)
        fix, note = offload_fix(self.model, node, coroutine)
        self.report(
            node,
            fix=fix,
            note=note,
            callee=f"Path.{func.attr}",
            function=function,
            advice="use `await asyncio.to_thread()` or `aiofiles`",
        )

    def _in_import_fallback(self, node: ast.Call, coroutine: ast.AST) -> bool:
        """In an `except ImportError:` handler: the sync path kept for installs without the
        async library the `try` imports."""
        for ancestor in self.model.ancestors(node):
            if ancestor is coroutine:
                return False
            if isinstance(ancestor, ast.ExceptHandler) and ancestor.type is not None:
                caught = (
                    ancestor.type.elts if isinstance(ancestor.type, ast.Tuple) else [ancestor.type]
                )
                if any(isinstance(c, ast.Name) and c.id in IMPORT_ERRORS for c in caught):
                    return True
        return False

    def _opens_devnull(self, node: ast.Call) -> bool:
        """`open(os.devnull, ...)` never waits on a disk."""
        first = first_argument_value(node)
        return first is not None and self.model.resolves_to(first, DEVNULL) is not None


def is_path(model: Model, expr: ast.expr, depth: int = 0) -> bool:
    """`expr` is a `pathlib.Path`: constructed, derived (`/`, `.parent`, `.with_suffix()`), or a
    name / `self` attribute only ever bound to one."""
    if depth > MAX_PATH_DEPTH:
        return False
    if isinstance(expr, ast.Call):
        if model.resolves_to(expr.func, PATH_FACTORIES) is not None:
            return True
        func = expr.func
        return (
            isinstance(func, ast.Attribute)
            and func.attr in PATH_METHODS
            and is_path(model, func.value, depth + 1)
        )
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Div):
        return is_path(model, expr.left, depth + 1)
    if isinstance(expr, ast.Attribute) and expr.attr == "parent":
        if is_path(model, expr.value, depth + 1):
            return True
    if isinstance(expr, (ast.Name, ast.Attribute)):
        held = bound_class(
            model,
            expr,
            PATH_CLASSES,
            lambda value: "pathlib.Path" if is_path(model, value, depth + 1) else None,
        )
        return held is not None
    return False
