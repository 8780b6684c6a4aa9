"""EXE004: a thread pool sized by an integer literal, or a `MAX_WORKERS…` constant set to one."""

from __future__ import annotations

import ast
import re

from flowfix.analysis.frameworks import ALL_FRAMEWORKS
from flowfix.analysis.model import FUNCTIONS
from flowfix.analysis.names import full_name
from flowfix.detector import Detector
from flowfix.detectors.executors.executor_classes import (
    EXECUTOR_SUFFIX,
    executor_class,
    is_parallel_node,
    is_thread_pool,
)
from flowfix.rules import FixSafety, OptIn, Severity

TRANSPARENT_CALLS = frozenset({"builtins.min", "builtins.max", "builtins.int"})


def literal_int(node: ast.AST | None) -> int | None:
    """The value of an integer literal (not a bool, not a signed number)."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    return None


def is_pool_constant(name: str) -> bool:
    """`MAX_WORKERS`, `MAX_WORKERS_THREAD_POOL_EXECUTOR`, `DEFAULT_MAX_WORKERS`; not process
    pools."""
    return (
        name.isupper()
        and "MAX_WORKERS" in name
        and "PROCESS" not in name
        and not re.search(r"(^|_)(PROC|PROCS|CPU)(_|$)", name)
    )


def size_argument(call: ast.Call, positional: bool) -> ast.keyword | ast.expr | None:
    """The `max_workers=` argument of `call` (or its first positional one, for executors)."""
    for keyword in call.keywords:
        if keyword.arg == "max_workers":
            return keyword
    if positional and call.args and not isinstance(call.args[0], ast.Starred):
        return call.args[0]
    return None


class HardCodedPoolSize(Detector):
    """A thread pool's size is a hard-coded number.

    ## Why is this bad?
    The right number of threads for I/O-bound work (LLM and HTTP calls) depends on the
    machine and the load: a literal `8` under-uses a large host and cannot be raised for 50
    concurrent requests without a code change. Dynamiq's PR #674 replaced
    `MAX_WORKERS_THREAD_POOL_EXECUTOR = 8` with Python's own heuristic,
    `min(32, os.cpu_count() + 4)`, overridable through `DYNAMIQ_MAX_WORKERS`.

    ## Example
    ```python
    from concurrent.futures import ThreadPoolExecutor

    MAX_WORKERS = 8
    POOL = ThreadPoolExecutor(max_workers=MAX_WORKERS)
    ```

    ## Use instead
    ```python
    import os
    from concurrent.futures import ThreadPoolExecutor

    MAX_WORKERS = int(os.environ.get("APP_MAX_WORKERS", min(32, (os.cpu_count() or 1) + 4)))
    POOL = ThreadPoolExecutor(max_workers=MAX_WORKERS)
    ```

    ## Fix safety
    Unsafe: the literal becomes `int(os.environ.get("<PREFIX>_MAX_WORKERS", min(32,
    (os.cpu_count() or 1) + 4)))`, so the default size changes to the standard library's
    heuristic (more threads on most hosts, more concurrent calls to rate-limited APIs), and
    every pool of the package reads the same variable. `<PREFIX>` is the upper-cased name of
    the file's top-level package (folders holding `__init__.py`); a file outside any package
    uses its own module name (`worker.py` → `WORKER_MAX_WORKERS`). `import os` is added when
    missing; no fix is offered where `os` names something else.

    Not reported: `max_workers=1` (a single worker is deliberate: ordering, timeouts),
    process pools (CPU-bound sizing differs), sizes computed from parameters or settings, and
    test files (the `test-paths` of the configuration, as for every production-only rule).
    A `MAX_WORKERS…` constant is left alone when its name mentions processes or the module
    passes it to something other than a thread pool (a process pool, a semaphore, `range()`).

    ## Metric to monitor
    Per-node latency p50/p95 under concurrent load, queue wait time of submitted tasks, and
    live thread count.
    """

    CODE = "EXE004"
    NAME = "hard-coded-pool-size"
    SEVERITY = Severity.OPTIMIZATION
    OPT_IN = OptIn.TUNING
    WHY_NOT_DEFAULT = (
        "a pool's right size depends on the workload and the host; a fixed size is often the "
        "author's deliberate choice"
    )
    CATEGORY = "executors"
    FIX = FixSafety.UNSAFE
    FRAMEWORKS = ALL_FRAMEWORKS
    MESSAGE = "Hard-coded thread pool size {size} in `{code}`"
    TRIGGERS = ("max_workers", "MAX_WORKERS", EXECUTOR_SUFFIX)

    def run(self) -> None:
        """Calls and constants in source order; a constant is judged by every read of it in
        the module, taken from the model's list of names (`visit_Name` only declares it)."""
        self._constants: list[tuple[ast.Assign | ast.AnnAssign, ast.Name, int]] = []
        for kind in (ast.Call, ast.Assign, ast.AnnAssign):
            visit = getattr(self, f"visit_{kind.__name__}")
            for node in self.model.nodes(kind):
                visit(node)
        if not self._constants:
            return
        wanted = {target.id for _, target, _ in self._constants}
        self._reads: dict[str, list[ast.Name]] = {}
        for node in self.model.nodes(ast.Name):
            assert isinstance(node, ast.Name)
            if node.id in wanted and not isinstance(node.ctx, ast.Store):
                self._reads.setdefault(node.id, []).append(node)
        for node, target, size in self._constants:
            if not self._used_for_other_than_threads(target):
                self._report(node, size, f"{target.id} = {size}")

    def visit_Call(self, node: ast.Call) -> None:
        if not self._sizes_thread_pool(node):
            return
        arg = size_argument(node, positional=executor_class(self.model, node) is not None)
        value = arg.value if isinstance(arg, ast.keyword) else arg
        size = literal_int(value)
        if arg is None or size is None or size <= 1:
            return
        callee = full_name(node.func) or "pool"
        shown = f"max_workers={size}" if isinstance(arg, ast.keyword) else f"{callee}({size})"
        self._report(arg, size, shown)

    def visit_Assign(self, node: ast.Assign) -> None:
        if len(node.targets) == 1:
            self._check_constant(node, node.targets[0], node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._check_constant(node, node.target, node.value)

    def visit_Name(self, node: ast.Name) -> None:
        """Collected by `run()`."""

    def _sizes_thread_pool(self, call: ast.Call) -> bool:
        """A thread pool constructor, or `super().__init__(...)` of a KayGraph parallel node."""
        if is_thread_pool(self.model, call):
            return True
        func = call.func
        if not (
            isinstance(func, ast.Attribute)
            and func.attr == "__init__"
            and isinstance(func.value, ast.Call)
            and full_name(func.value.func) == "super"
        ):
            return False
        owner = self.model.function_of(call)
        cls = self.model.class_of(owner) if isinstance(owner, FUNCTIONS) else None
        return cls is not None and any(
            is_parallel_node(name)
            for base in cls.bases
            for name in self.model.qualified_names(base)
        )

    def _check_constant(
        self, node: ast.Assign | ast.AnnAssign, target: ast.AST, value: ast.AST
    ) -> None:
        if not isinstance(target, ast.Name) or not is_pool_constant(target.id):
            return
        size = literal_int(value)
        if size is None or size <= 1:
            return
        if self.model.scope_of(node).kind not in ("module", "class"):
            return
        self._constants.append((node, target, size))

    def _used_for_other_than_threads(self, target: ast.Name) -> bool:
        """The module passes the constant to something that is not a thread pool's size."""
        bindings = {id(b) for b in self.model.lookup(target.id, self.model.scope_of(target))}
        for read in self._reads.get(target.id, []):
            if any(id(b) in bindings for b in self.model.bindings_of(read)):
                if self._non_thread_use(read):
                    return True
        return False

    def _non_thread_use(self, node: ast.AST) -> bool:
        """`node`, a read of the constant, is passed (through `or`, `if`-`else`, arithmetic
        and `min`/`max`/`int`) to something other than a thread pool's size."""
        while True:
            found = self._argument_of(node)
            if found is None:
                return False
            call, keyword = found
            if self.model.qualified_names(call.func) & TRANSPARENT_CALLS:
                node = call
                continue
            if is_thread_pool(self.model, call):
                return False
            return keyword != "max_workers" or executor_class(self.model, call) is not None

    def _argument_of(self, node: ast.AST) -> tuple[ast.Call, str | None] | None:
        """(the call `node` is an argument of, through `or`, `if`-`else` and arithmetic; its
        keyword: "" when positional, None for `**`)."""
        child, owner = node, self.model.parent(node)
        while isinstance(owner, (ast.BoolOp, ast.IfExp, ast.BinOp)):
            child, owner = owner, self.model.parent(owner)
        if isinstance(owner, ast.keyword):
            call = self.model.parent(owner)
            return (call, owner.arg) if isinstance(call, ast.Call) else None
        if isinstance(owner, ast.Starred):
            child, owner = owner, self.model.parent(owner)
        if isinstance(owner, ast.Call) and owner.func is not child:
            return owner, ""
        return None

    def _report(self, node: ast.AST, size: int, shown: str) -> None:
        fix, note = FixSafety.UNSAFE, ""
        if self.model.bound_otherwise(node, "os"):
            fix, note = FixSafety.NONE, "the name `os` is bound to something else here"
        self.report(node, fix=fix, note=note, size=size, code=shown)
