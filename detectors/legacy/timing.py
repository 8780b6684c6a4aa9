"""Timing rules: durations measured with the wall clock."""

from __future__ import annotations

import ast
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import (
    Assignment,
    ClassScope,
    GlobalScope,
    ImportAssignment,
    PositionProvider,
    Scope,
)

from flowfix.libcst_detector import LibcstDetector as Detector
from flowfix.parents import ParentProvider
from flowfix.prefilter import (
    COMPREHENSIONS,
    FUNCTION_DEFS,
    SCOPE_DEFS,
    FileView,
    call_name,
    innermost,
)
from flowfix.reduction import Sites
from flowfix.rules import FixSafety, Severity
from flowfix.scope import ScopeProvider
from flowfix.semantics import MetadataReader, descendants, parent, resolves_to

DEPENDENCIES = (PositionProvider, ParentProvider, ScopeProvider)
WALL_CLOCK = frozenset({"time.time"})
MODULE_LEVEL_NOTE = "a module-level variable may also be read by other modules"
Key = tuple[int, str]  # (id of the scope that binds the variable, its name)


@dataclass(frozen=True)
class DurationReadings:
    """Variables that hold `time.time()` readings used only in differences with each other or
    with a fresh `time.time()`; `calls` are every `time.time()` call the fix rewrites."""

    names: tuple[str, ...]  # the reported variable first
    report: cst.CSTNode
    calls: tuple[cst.Call, ...]
    fix: FixSafety
    note: str


def is_wall_clock_call(reader: MetadataReader, node: cst.CSTNode) -> bool:
    """`time.time()` in any import form, without arguments."""
    return (
        isinstance(node, cst.Call)
        and not node.args
        and resolves_to(reader, node.func, WALL_CLOCK) is not None
    )


def _reading_target(reader: MetadataReader, node: cst.CSTNode) -> cst.Name | None:
    """The name in `name = time.time()` / `name: float = time.time()`."""
    if isinstance(node, cst.Assign) and len(node.targets) == 1:
        target: cst.BaseExpression = node.targets[0].target
    elif isinstance(node, cst.AnnAssign):
        target = node.target
    else:
        return None
    if isinstance(target, cst.Name) and node.value and is_wall_clock_call(reader, node.value):
        return target
    return None


def _subtraction_partner(reader: MetadataReader, name: cst.Name) -> cst.BaseExpression | None:
    """The other operand when `name` is directly an operand of `a - b`."""
    owner = parent(reader, name)
    if not isinstance(owner, cst.BinaryOperation) or not isinstance(owner.operator, cst.Subtract):
        return None
    if owner.left is name:
        return owner.right
    return owner.left if owner.right is name else None


@dataclass
class _Variable:
    """One variable bound only to `time.time()` readings."""

    scope: Scope
    statements: list[cst.CSTNode]
    accesses: list[cst.Name]


def _variables(reader: MetadataReader, module: cst.Module) -> dict[Key, _Variable]:
    """Variables (not class attributes) all of whose bindings are `name = time.time()`."""
    found: dict[Key, _Variable] = {}
    for node in descendants(module):
        target = _reading_target(reader, node)
        if target is None:
            continue
        scope = reader.get_metadata(ScopeProvider, target, None)
        if not isinstance(scope, Scope) or isinstance(scope, ClassScope):
            continue
        key = (id(scope), target.value)
        found.setdefault(key, _Variable(scope, [], [])).statements.append(node)
    variables: dict[Key, _Variable] = {}
    for key, variable in found.items():
        assignments = variable.scope.assignments[key[1]]
        targets = {id(_reading_target(reader, s)) for s in variable.statements}
        if all(isinstance(a, Assignment) and id(a.node) in targets for a in assignments):
            reads = {id(access.node): access.node for a in assignments for access in a.references}
            names = [node for node in reads.values() if isinstance(node, cst.Name)]
            if len(names) == len(reads):
                variable.accesses = names
                variables[key] = variable
    return variables


def _qualifying(
    reader: MetadataReader, variables: dict[Key, _Variable]
) -> tuple[set[Key], dict[int, Key]]:
    """The variables read only in `time.time() - v` or `u - v` between such variables."""
    owner_of = {id(name): key for key, v in variables.items() for name in v.accesses}
    keep = {key for key, v in variables.items() if v.accesses}
    changed = True
    while changed:
        changed = False
        for key in sorted(keep):
            for name in variables[key].accesses:
                other = _subtraction_partner(reader, name)
                if other is None or not (
                    is_wall_clock_call(reader, other) or owner_of.get(id(other)) in keep
                ):
                    keep.discard(key)
                    changed = True
                    break
    return keep, owner_of


def _perf_counter_free(reader: MetadataReader, call: cst.Call) -> bool:
    """`perf_counter` can be imported from `time` where `call` is (not bound to anything else)."""
    scope = reader.get_metadata(ScopeProvider, call, None)
    if not isinstance(scope, Scope) or "perf_counter" not in scope:
        return True
    return all(
        isinstance(a, ImportAssignment)
        and isinstance(a.node, cst.ImportFrom)
        and a.node.module is not None
        and cst.helpers.get_full_name_for_node(a.node.module) == "time"
        for a in scope["perf_counter"]
    )


def wall_clock_durations(reader: MetadataReader, module: cst.Module) -> list[DurationReadings]:
    """Every group of wall-clock readings in `module` that only ever measure durations."""
    variables = _variables(reader, module)
    keep, owner_of = _qualifying(reader, variables)
    groups: dict[Key, set[Key]] = {key: {key} for key in keep}
    for key in sorted(keep):
        for name in variables[key].accesses:
            other = owner_of.get(id(_subtraction_partner(reader, name)))
            if other is not None and groups[other] is not groups[key]:
                merged = groups[key] | groups[other]
                for member in merged:
                    groups[member] = merged
    results: list[DurationReadings] = []
    for group in {id(g): g for g in groups.values()}.values():
        members = [variables[key] for key in sorted(group)]
        results.append(_duration(reader, sorted(group), members))
    return results


def _duration(
    reader: MetadataReader, keys: list[Key], members: list[_Variable]
) -> DurationReadings:
    statements = [s for v in members for s in v.statements]
    calls = [s.value for s in statements if isinstance(s, (cst.Assign, cst.AnnAssign))]
    for variable in members:
        for name in variable.accesses:
            other = _subtraction_partner(reader, name)
            if isinstance(other, cst.Call):
                calls.append(other)

    def position(node: cst.CSTNode) -> tuple[int, int]:
        start = reader.get_metadata(PositionProvider, node).start  # type: ignore[attr-defined]
        return (start.line, start.column)

    fix, note = FixSafety.SAFE, ""
    named = [c for c in calls if isinstance(c, cst.Call) and isinstance(c.func, cst.Name)]
    if not all(_perf_counter_free(reader, call) for call in named):
        fix, note = FixSafety.NONE, "the name `perf_counter` is bound to something else here"
    elif any(isinstance(v.scope, GlobalScope) for v in members):
        fix, note = FixSafety.UNSAFE, MODULE_LEVEL_NOTE
    first = min(statements, key=position)
    reported = _reading_target(reader, first)
    assert reported is not None
    return DurationReadings(
        names=(reported.value, *sorted({key[1] for key in keys} - {reported.value})),
        report=first,
        calls=tuple(sorted((c for c in calls if isinstance(c, cst.Call)), key=position)),
        fix=fix,
        note=note,
    )


def _ast_reading_target(statement: ast.AST, call: ast.Call) -> str | None:
    """`v` when `statement` is `v = <call>` / `v: T = <call>` and `call` takes no arguments."""
    if call.args or call.keywords:
        return None
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target = statement.targets[0]
    elif isinstance(statement, ast.AnnAssign):
        target = statement.target
    else:
        return None
    return target.id if isinstance(target, ast.Name) and statement.value is call else None


def _ast_measures_only(func: ast.AST, name: str, clocks: set[str]) -> bool | None:
    """Is `name`, in the own code of `func` (nested scopes aside: they may rebind it), read
    only as an operand of `-` and stored only by `name = <clock>()` readings? None when a
    `global` statement makes it a module-level name."""
    operands: set[int] = set()
    readings: set[int] = set()
    names: list[ast.Name] = []
    nested = False  # a nested scope may read it too
    stack: list[ast.AST] = list(func.body)  # type: ignore[attr-defined]
    while stack:
        node = stack.pop()
        if isinstance(node, (*SCOPE_DEFS, ast.Lambda, *COMPREHENSIONS)):
            nested = True
            continue
        if isinstance(node, ast.Global) and name in node.names:
            return None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub):
            operands.update({id(node.left), id(node.right)})
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            value = node.value
            if isinstance(value, ast.Call) and call_name(value) in clocks:
                if _ast_reading_target(node, value) == name:
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    readings.add(id(targets[0]))
        elif isinstance(node, ast.Name) and node.id == name:
            names.append(node)
        stack.extend(ast.iter_child_nodes(node))
    loads = [n for n in names if isinstance(n.ctx, ast.Load)]
    return (nested or bool(loads)) and all(
        id(n) in operands if isinstance(n.ctx, ast.Load) else id(n) in readings for n in names
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
    CATEGORY = "timing"
    FIX = FixSafety.SAFE
    FRAMEWORKS = ("dynamiq", "pocketflow", "kaygraph", "pflow")
    MESSAGE = (
        "`{name}` times a duration with the wall clock `time.time()`; use `time.perf_counter()`"
    )
    TRIGGERS = ("time",)
    METADATA_DEPENDENCIES = DEPENDENCIES
    REACH = "function"

    @classmethod
    def ast_candidate(cls, view: FileView) -> Sites:
        """Each `v = time()` (no arguments) in a function whose own code reads `v` only as an
        operand of `-` and binds it only to such readings; any module-level one (or one of a
        `global` name) needs the whole module, where every function may read it."""
        if not view.imports("time"):
            return False
        sites: list[ast.AST] = []
        clocks = {"time", *(a for a, n in view.statements.aliases.items() if n == "time")}
        for call in view.calls_to("time"):
            chain = view.enclosing(call.lineno)
            target = _ast_reading_target(chain[-1], call) if chain else None
            if target is None:
                continue
            index = innermost(chain)
            if index is None:
                return True
            owner = chain[index]
            if isinstance(owner, FUNCTION_DEFS):
                verdict = _ast_measures_only(owner, target, clocks)
                if verdict is None:
                    return True
                if verdict:
                    sites.append(chain[-1])
        return sites

    def visit_Module(self, node: cst.Module) -> None:
        for duration in wall_clock_durations(self, node):
            self.report(
                duration.report,
                fix=duration.fix,
                note=duration.note,
                name=duration.names[0],
            )
