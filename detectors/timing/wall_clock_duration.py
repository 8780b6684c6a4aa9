"""TIM001: wall-clock readings (`t0 = time.time()`) used only to measure durations."""

from __future__ import annotations

import ast
from dataclasses import astuple, dataclass, field

from flowfix.analysis import Model, Scope
from flowfix.analysis.frameworks import ALL_FRAMEWORKS
from flowfix.detector import Detector
from flowfix.rules import FixSafety, OptIn, Severity

WALL_CLOCK = frozenset({"time.time"})
MODULE_LEVEL_NOTE = "a module-level variable may also be read by other modules"
Key = tuple[int, str]  # (id of the scope that binds the variable, its name)
Reading = ast.Assign | ast.AnnAssign


def is_wall_clock_call(model: Model, node: ast.AST | None) -> bool:
    """`time.time()` in any import form, without arguments."""
    return (
        isinstance(node, ast.Call)
        and not node.args
        and not node.keywords
        and model.resolves_to(node.func, WALL_CLOCK) is not None
    )


def reading_target(model: Model, node: Reading) -> ast.Name | None:
    """The name in `name = time.time()` / `name: float = time.time()`."""
    if isinstance(node, ast.Assign):
        if len(node.targets) != 1:
            return None
        target: ast.AST = node.targets[0]
    else:
        target = node.target
    if isinstance(target, ast.Name) and is_wall_clock_call(model, node.value):
        return target
    return None


def subtraction_partner(model: Model, name: ast.Name) -> ast.expr | None:
    """The other operand when `name` is directly an operand of `a - b`."""
    owner = model.parent(name)
    if not isinstance(owner, ast.BinOp) or not isinstance(owner.op, ast.Sub):
        return None
    if owner.left is name:
        return owner.right
    return owner.left if owner.right is name else None


@dataclass
class Variable:
    """One variable bound only to `time.time()` readings, and every read of it."""

    scope: Scope
    statements: list[Reading] = field(default_factory=list)
    reads: list[ast.Name] = field(default_factory=list)


@dataclass(frozen=True)
class Duration:
    """Variables that hold `time.time()` readings used only in differences with each other
    or with a fresh `time.time()`; `calls` are every `time.time()` call the fix rewrites."""

    names: tuple[str, ...]  # the reported variable first
    report: Reading
    calls: tuple[ast.Call, ...]
    fix: FixSafety
    note: str


def _perf_counter_free(model: Model, call: ast.Call) -> bool:
    """`perf_counter` can be imported from `time` where `call` is (not bound to anything
    else)."""
    return all(
        isinstance(binding.node, ast.ImportFrom) and binding.node.module == "time"
        for binding in model.lookup("perf_counter", model.scope_of(call))
    )


class DurationFinder:
    """Groups of wall-clock readings of one module that only ever measure durations."""

    def __init__(
        self, model: Model, statements: list[Reading], reads: dict[str, list[ast.Name]]
    ) -> None:
        self.model = model
        self.statements = statements
        self.reads = reads

    def variables(self) -> dict[Key, Variable]:
        """Variables (not class attributes) all of whose bindings are `name = time.time()`."""
        model = self.model
        found: dict[Key, Variable] = {}
        for node in self.statements:
            target = reading_target(model, node)
            if target is None:
                continue
            scope = model.scope_of(target)
            if scope.kind == "class":
                continue
            found.setdefault((id(scope), target.id), Variable(scope)).statements.append(node)
        variables: dict[Key, Variable] = {}
        for (_, name), variable in found.items():
            bindings = variable.scope.bindings.get(name, [])
            targets = {id(reading_target(model, s)) for s in variable.statements}
            if all(id(binding.node) in targets for binding in bindings):
                own = {id(binding) for binding in bindings}
                variable.reads = [
                    read
                    for read in self.reads.get(name, [])
                    if any(id(b) in own for b in model.bindings_of(read))
                ]
                variables[(id(variable.scope), name)] = variable
        return variables

    def qualifying(self, variables: dict[Key, Variable]) -> tuple[set[Key], dict[int, Key]]:
        """The variables read only in `time.time() - v` or `u - v` between such variables."""
        owner_of = {id(read): key for key, v in variables.items() for read in v.reads}
        keep = {key for key, v in variables.items() if v.reads}
        changed = True
        while changed:
            changed = False
            for key in sorted(keep):
                for read in variables[key].reads:
                    other = subtraction_partner(self.model, read)
                    if other is None or not (
                        is_wall_clock_call(self.model, other) or owner_of.get(id(other)) in keep
                    ):
                        keep.discard(key)
                        changed = True
                        break
        return keep, owner_of

    def durations(self) -> list[Duration]:
        variables = self.variables()
        keep, owner_of = self.qualifying(variables)
        groups: dict[Key, set[Key]] = {key: {key} for key in keep}
        for key in sorted(keep):
            for read in variables[key].reads:
                other = owner_of.get(id(subtraction_partner(self.model, read)))
                if other is not None and groups[other] is not groups[key]:
                    merged = groups[key] | groups[other]
                    for member in merged:
                        groups[member] = merged
        return [
            self._duration(sorted(group), [variables[key] for key in sorted(group)])
            for group in {id(g): g for g in groups.values()}.values()
        ]

    def _duration(self, keys: list[Key], members: list[Variable]) -> Duration:
        model = self.model
        statements = [s for v in members for s in v.statements]
        calls = [s.value for s in statements if isinstance(s.value, ast.Call)]
        for variable in members:
            for read in variable.reads:
                other = subtraction_partner(model, read)
                if isinstance(other, ast.Call):
                    calls.append(other)

        def position(node: ast.AST) -> tuple[int, int]:
            return (node.lineno, node.col_offset)  # type: ignore[attr-defined]

        fix, note = FixSafety.SAFE, ""
        named = [c for c in calls if isinstance(c.func, ast.Name)]
        if not all(_perf_counter_free(model, call) for call in named):
            fix, note = FixSafety.NONE, "the name `perf_counter` is bound to something else here"
        elif any(v.scope.kind == "module" for v in members):
            fix, note = FixSafety.UNSAFE, MODULE_LEVEL_NOTE
        first = min(statements, key=position)
        reported = reading_target(model, first)
        assert reported is not None
        return Duration(
            names=(reported.id, *sorted({key[1] for key in keys} - {reported.id})),
            report=first,
            calls=tuple(sorted(calls, key=position)),
            fix=fix,
            note=note,
        )


class WallClockDuration(Detector):
    """A duration measured with the wall clock `time.time()` instead of `time.perf_counter()`.

    ## Why is this bad?
    `time.time()` follows the system clock, which NTP adjusts and administrators reset: a
    duration taken from two readings can come out negative or hours long. On Windows before
    Python 3.13 it also advances in steps of about 16 ms, too coarse for the millisecond node
    overheads that orchestration benchmarks report (seed 004 times flow compilation in `ms`
    with `time.time()`). Per-node latency metrics, retry back-offs and timeouts built on it
    are then wrong exactly when the clock moves. `time.perf_counter()` is monotonic and has
    the highest available resolution.

    ## Example
    ```python
    import time


    def timed_run(flow, shared):
        start = time.time()
        flow.run(shared)
        return time.time() - start
    ```

    ## Use instead
    ```python
    import time


    def timed_run(flow, shared):
        start = time.perf_counter()
        flow.run(shared)
        return time.perf_counter() - start
    ```

    ## Fix safety
    Safe when every reading of the variable is used only in a difference with a fresh
    `time.time()` or with another such variable (`end - start`): only the difference is
    observable, and it is the same duration on a better clock. Both ends are rewritten; with
    `from time import time`, `perf_counter` is imported from `time` (an existing alias is
    reused) and the `time` import is dropped once unused. Lowered to unsafe for module-level
    variables (another module could import the timestamp) and to no fix where the name
    `perf_counter` is bound to something else. A reading that is stored on an object, logged,
    returned, compared with a stored timestamp, converted (`datetime.fromtimestamp`) or passed
    anywhere is a wall-clock timestamp and is not reported, nor is `int(time.time())`.

    ## Metric to monitor
    Per-node latency p50/p95 from the corrected timers: negative or outlier durations around
    clock adjustments disappear.

    ## Limitations
    Readings kept in attributes (`self.start = time.time()`) and deadlines
    (`deadline = time.time() + 30`) are not followed, since other code may read them.
    """

    CODE = "TIM001"
    NAME = "wall-clock-duration"
    SEVERITY = Severity.OPTIMIZATION
    OPT_IN = OptIn.MINOR
    WHY_NOT_DEFAULT = (
        "a wall-clock duration is off only when the system clock is stepped during the measurement"
    )
    CATEGORY = "timing"
    FIX = FixSafety.SAFE
    FRAMEWORKS = ALL_FRAMEWORKS
    MESSAGE = (
        "`{name}` times a duration with the wall clock `time.time()`; use `time.perf_counter()`"
    )
    TRIGGERS = ("time",)

    def run(self) -> None:
        """The readings and the reads of their names, from the model's node lists (the
        `visit_` methods below only declare which lists the model collects)."""
        model = self.model
        readings = {
            node: target
            for kind in (ast.Assign, ast.AnnAssign)
            for node in model.nodes(kind)
            if isinstance(node, (ast.Assign, ast.AnnAssign))  # for the type checker
            and (target := reading_target(model, node)) is not None
        }
        if not readings:
            return
        statements: list[Reading] = sorted(
            readings, key=lambda node: (node.lineno, node.col_offset)
        )
        names = {target.id for target in readings.values()}
        reads: dict[str, list[ast.Name]] = {}
        for node in model.nodes(ast.Name):
            assert isinstance(node, ast.Name)
            if node.id in names and not isinstance(node.ctx, ast.Store):
                reads.setdefault(node.id, []).append(node)
        for duration in DurationFinder(model, statements, reads).durations():
            calls = [list(astuple(model.span(call))) for call in duration.calls]
            self.report(
                duration.report,
                fix=duration.fix,
                note=duration.note,
                data={"calls": calls} if duration.fix is not FixSafety.NONE else None,
                name=duration.names[0],
            )

    def visit_Assign(self, node: ast.Assign) -> None:
        """Collected by `run()`."""

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        """Collected by `run()`."""

    def visit_Name(self, node: ast.Name) -> None:
        """Collected by `run()`."""
