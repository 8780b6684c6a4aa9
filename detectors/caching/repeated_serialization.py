"""CAC003: the same serialization of the same object computed again in a loop or a function."""

from __future__ import annotations

import ast
import io
import tokenize
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from flowfix.analysis import Model
from flowfix.analysis.excerpts import code_excerpt, source_text
from flowfix.analysis.frameworks import ALL_FRAMEWORKS
from flowfix.analysis.model import COMPREHENSIONS, DEFINITIONS, FUNCTIONS, LOOPS, FunctionNode
from flowfix.analysis.names import snake_case
from flowfix.analysis.spans import span_data
from flowfix.analysis.statement_lines import COMPOUND_STATEMENTS, TRY_STATEMENTS
from flowfix.analysis.values import (
    block_nodes,
    bound_names,
    own_nodes,
    read_names,
    root_name,
    statement_targets,
)
from flowfix.detector import Detector
from flowfix.detectors.caching.expressions import (
    arguments,
    identity,
)
from flowfix.detectors.caching.functions import (
    imported_names,
    may_call,
    names_bound_by,
    result_name,
)
from flowfix.rules import FixSafety, Severity

SERIALIZER_METHODS = frozenset({"to_dict", "model_dump", "model_dump_json"})
SERIALIZER_FUNCTIONS = frozenset({"json.dumps", "jsonpickle.encode"})
READ_ONLY_METHODS = frozenset(
    {
        *SERIALIZER_METHODS,
        "get",
        "items",
        "keys",
        "values",
        "copy",
        "count",
        "index",
        "debug",
        "info",
        "warning",
        "warn",
        "error",
        "exception",
        "critical",
        "log",
        "format",
        "startswith",
        "endswith",
    }
)
# Attribute names a serializer call can end in (methods, `json.dumps`, `jsonpickle.encode`).
SERIALIZER_CALL_NAMES = frozenset({*SERIALIZER_METHODS, "dumps", "encode"})
SUFFIXES = {
    "to_dict": "dict",
    "model_dump": "dict",
    "model_dump_json": "json",
    "json.dumps": "json",
    "jsonpickle.encode": "encoded",
}
FOR_LOOPS = (ast.For, ast.AsyncFor)
Kind = Literal["loop", "repeat", "variants"]
# Builtins whose result is True or False.
TESTS = frozenset({"isinstance", "issubclass", "hasattr", "callable", "bool"})
VARIANTS_REASON = (
    "its arguments are rebuilt on every iteration from a few fixed values;"
    " compute each variant once before the loop"
)
# A block of statements: the node that holds it and the field it is in (`body`, `orelse`,
# `finalbody`); an `elif` is not a block of its own (nothing can be put before it).
Block = tuple[ast.AST, str]
# A block's statements grouped by the line they share (`a = 1; b = 2` is one line).
Line = list[ast.stmt]


@dataclass(frozen=True)
class Hoist:
    """One finding: `calls` (the same expression; the first is reported) computed once.

    `replace`: the calls that read the local instead; `before`: the statement to put
    `<local> = <call>` in front of (None when `reuse`, an existing local that already holds
    the value, is used); `reason`: why no fix is offered, or "".
    """

    kind: Kind
    calls: tuple[ast.Call, ...]
    replace: tuple[ast.Call, ...]
    before: ast.stmt | None
    reuse: str | None
    reason: str
    serializer: str


def _simple(model: Model, node: ast.expr) -> bool:
    """Literals, names and attribute chains, and containers of them (an f-string only when
    implicitly concatenated with another string, as libcst's analysis read it)."""
    if isinstance(node, (ast.Name, ast.Attribute)):
        return _chain(node)
    if isinstance(node, ast.Constant):
        return not isinstance(node.value, complex) and node.value is not Ellipsis
    if isinstance(node, ast.JoinedStr):
        return _concatenated(source_text(model, node))
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(
            _simple(model, element.value if isinstance(element, ast.Starred) else element)
            for element in node.elts
        )
    if isinstance(node, ast.Dict):
        return all(
            key is not None and _simple(model, key) and _simple(model, value)
            for key, value in zip(node.keys, node.values, strict=True)
        )
    return False


def _chain(node: ast.expr) -> bool:
    """A name or an attribute chain on a name (no call, no subscript)."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)


def _concatenated(text: str) -> bool:
    """`text` is several string literals written side by side."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(f"({text})").readline))
    except (tokenize.TokenError, SyntaxError):
        return False
    return sum(token.type == tokenize.STRING for token in tokens) > 1


def serialization(model: Model, call: ast.Call) -> tuple[str, ast.expr] | None:
    """(serializer, the object serialized) when `call` serializes a named object with simple
    arguments: `x.to_dict(...)`, `x.model_dump(...)`, `json.dumps(x, ...)`, ..."""
    func = call.func
    given = arguments(call)
    subject: ast.expr | None
    if isinstance(func, ast.Attribute) and func.attr in SERIALIZER_METHODS:
        serializer, subject, rest = func.attr, func.value, given
    else:
        serializer = model.resolves_to(func, SERIALIZER_FUNCTIONS) or ""
        first = given[0] if serializer and given else None
        subject = (
            first.value if first is not None and not first.keyword and not first.star else None
        )
        rest = given[1:]
    if subject is None or not _chain(subject):
        return None
    if not all(_simple(model, arg.value) and arg.star != "*" for arg in rest):
        return None
    return serializer, subject


class FunctionAnalysis:
    """The repeated serializations of one function's own code."""

    def __init__(self, model: Model, func: FunctionNode) -> None:
        self.model, self.func = model, func
        self.keys: dict[ast.AST, str] = {}
        self.used: set[str] | None = None

    def key(self, call: ast.AST) -> str:
        found = self.keys.get(call)
        if found is None:
            found = self.keys[call] = identity(call)
        return found

    # --- blocks -------------------------------------------------------------------------

    def blocks_around(self, node: ast.AST) -> list[Block]:
        """The blocks that contain `node` within the function, innermost first."""
        chain: list[Block] = []
        child = node
        for current in self.model.ancestors(node):
            if isinstance(child, ast.stmt):
                for name in ("body", "orelse", "finalbody"):
                    statements = getattr(current, name, None)
                    if (
                        isinstance(statements, list)
                        and any(s is child for s in statements)
                        and not self._is_elif(current, name)
                    ):
                        chain.append((current, name))
                        break
            if current is self.func:
                break
            child = current
        return chain

    def _is_elif(self, owner: ast.AST, name: str) -> bool:
        statements = getattr(owner, name)
        if not isinstance(owner, ast.If) or name != "orelse" or len(statements) != 1:
            return False
        inner = statements[0]
        text = self.model.lines[inner.lineno - 1].encode("utf-8")[inner.col_offset :]
        return isinstance(inner, ast.If) and text.startswith(b"elif")

    def lines(self, block: Block) -> list[Line]:
        """The block's statements, grouped by the physical line they share."""
        grouped: list[Line] = []
        for statement in getattr(block[0], block[1]):
            if grouped and grouped[-1][-1].end_lineno == statement.lineno:
                grouped[-1].append(statement)
            else:
                grouped.append([statement])
        return grouped

    def one_line(self, block: Block) -> bool:
        """The block follows its colon on the same line (`for x in y: f(x)`)."""
        first = getattr(block[0], block[1])[0]
        text = self.model.lines[first.lineno - 1].encode("utf-8")[: first.col_offset]
        return bool(text.strip())

    def line_index(self, lines: Sequence[Line], node: ast.AST, block: Block) -> int:
        """The index of the line of `block` that contains `node`."""
        statement = node
        for current in self.model.ancestors(node):
            if current is block[0]:
                break
            statement = current
        return next(i for i, line in enumerate(lines) if any(s is statement for s in line))

    def within_block(self, node: ast.AST, block: Block) -> bool:
        statements = getattr(block[0], block[1])
        child = node
        for current in self.model.ancestors(node):
            if current is block[0]:
                return any(s is child for s in statements)
            child = current
        return False

    def runs_whenever(self, node: ast.AST, stop: ast.AST) -> bool:
        """`node` runs every time the block held by `stop` runs: no branch, handler,
        short-circuit, loop body, comprehension or nested scope in between."""
        child = node
        for current in self.model.ancestors(node):
            if current is stop:
                return True
            if (
                (isinstance(current, (ast.If, ast.IfExp)) and child is not current.test)
                or (isinstance(current, ast.BoolOp) and child is not current.values[0])
                or (
                    isinstance(current, LOOPS)
                    and (_holds(current.body, child) or _holds(current.orelse, child))
                )
                or (isinstance(current, TRY_STATEMENTS) and _holds(current.orelse, child))
                or isinstance(current, (ast.ExceptHandler, ast.match_case, *COMPREHENSIONS))
                or isinstance(current, DEFINITIONS)
            ):
                return False
            child = current
        return True

    def inside_try(self, node: ast.AST, stop: ast.AST) -> bool:
        """`node` sits in the body of a `try` below `stop`."""
        child = node
        for current in self.model.ancestors(node):
            if current is stop:
                return False
            if isinstance(current, TRY_STATEMENTS) and _holds(current.body, child):
                return True
            child = current
        return False

    # --- what may change the result -----------------------------------------------------

    def may_change(
        self,
        region: ast.stmt,
        call: ast.Call,
        root: str | None,
        ignore: frozenset[str] = frozenset(),
    ) -> bool:
        """Code in `region` may give `call` another result: it rebinds a name the call reads
        (but those in `ignore`), or changes the serialized object (whose root name is `root`:
        assigns into it, calls a method on it that is not known to be read-only, or passes it
        to another call)."""
        if (read_names(call) - ignore) & names_bound_by(region):
            return True
        for node in (region, *own_nodes(region)):
            targets = statement_targets(node)
            if any(
                isinstance(t, (ast.Attribute, ast.Subscript)) and root_name(t) == root
                for t in targets
            ):
                return True
            if isinstance(node, ast.Call):
                func = node.func
                if (
                    (
                        isinstance(func, ast.Attribute)
                        and root_name(func.value) == root
                        and func.attr not in READ_ONLY_METHODS
                    )
                    or any(
                        isinstance(argument.value, ast.Name) and argument.value.id == root
                        for argument in arguments(node)
                    )
                ) and self.key(node) != self.key(call):
                    return True
        return False

    def local_may_change(
        self, region: Sequence[Line], call: ast.Call, name: str, serializer: str
    ) -> bool:
        """The local `name` (holding `call`'s result) is rebound in `region`, or, for a dict
        result, changed or handed to other code there."""
        statements = [statement for line in region for statement in line]
        if any(name in names_bound_by(statement) for statement in statements):
            return True
        if SUFFIXES[serializer] != "dict":
            return False  # strings cannot change
        return any(self.may_change(statement, call, name) for statement in statements)

    # --- whether a call runs on every pass ----------------------------------------------

    def evaluates(self, node: ast.AST, key: str) -> bool:
        """A call with identity `key` runs whenever the expression or simple statement `node`
        runs (not one in a branch of an expression, after a short-circuit, or in a nested
        scope)."""
        if isinstance(node, ast.Call) and self.key(node) == key:
            return True
        if isinstance(node, (ast.Lambda, *COMPREHENSIONS)):
            return False
        if isinstance(node, ast.IfExp):
            return self.evaluates(node.test, key)
        if isinstance(node, ast.BoolOp):
            return self.evaluates(node.values[0], key)
        return any(self.evaluates(child, key) for child in ast.iter_child_nodes(node))

    def always_runs(self, statements: Sequence[ast.stmt], key: str) -> bool:
        """Some call with identity `key` runs whenever the block `statements` runs: in a plain
        statement, or in every branch of an `if`/`elif`/`else` chain."""
        return any(self.statement_runs(statement, key) for statement in statements)

    def statement_runs(self, node: ast.stmt, key: str) -> bool:
        if isinstance(node, ast.If):
            return self.evaluates(node.test, key) or (
                bool(node.orelse)
                and self.always_runs(node.body, key)
                and self.always_runs(node.orelse, key)
            )
        if isinstance(node, (ast.With, ast.AsyncWith)):
            return any(self.evaluates(item, key) for item in node.items) or self.always_runs(
                node.body, key
            )
        if isinstance(node, TRY_STATEMENTS):
            return self.always_runs(node.body, key) or self.always_runs(node.finalbody, key)
        if isinstance(node, FOR_LOOPS):
            return self.evaluates(node.iter, key)
        if isinstance(node, ast.While):
            return self.evaluates(node.test, key)
        if isinstance(node, COMPOUND_STATEMENTS):
            return False
        return self.evaluates(node, key)

    # --- hoists -------------------------------------------------------------------------

    def hoists(self, calls: Sequence[ast.Call]) -> list[Hoist]:
        """Every repeated serialization among `calls` (the function's own calls, in source
        order)."""
        model = self.model
        groups: dict[str, list[ast.Call]] = {}
        subjects: dict[str, tuple[str, ast.expr]] = {}
        for node in calls:
            found = serialization(model, node)
            if found is not None:
                key = self.key(node)
                groups.setdefault(key, []).append(node)
                subjects.setdefault(key, found)
        hoists: list[Hoist] = []
        for key, group in groups.items():
            serializer, subject = subjects[key]
            looped = [c for c in group if model.iteration_loop(c) is not None]
            while looped:
                hoist = self.loop_hoist(looped, subject, serializer)
                if hoist is None:
                    hoist = self.variant_hoist(looped[0], subject, serializer)
                done = set(hoist.calls) if hoist is not None else {looped[0]}
                looped = [c for c in looped if c not in done]
                if hoist is not None:
                    hoists.append(hoist)
            if len(group) > 1 and not any(model.iteration_loop(c) is not None for c in group):
                hoist = self.repeat_hoist(group, subject, serializer)
                if hoist is not None:
                    hoists.append(hoist)
        return sorted(hoists, key=lambda h: (h.calls[0].lineno, h.calls[0].col_offset))

    def target_loop(self, call: ast.Call, subject: ast.expr) -> ast.For | ast.AsyncFor | None:
        """The outermost `for` loop (within the function) the call can be hoisted out of."""
        best: ast.For | ast.AsyncFor | None = None
        loop = self.model.iteration_loop(call)
        root = root_name(subject)
        while isinstance(loop, FOR_LOOPS) and not self.may_change(loop, call, root):
            best = loop
            loop = self.model.iteration_loop(loop)
        return best

    def loop_hoist(self, calls: list[ast.Call], subject: ast.expr, serializer: str) -> Hoist | None:
        """The calls in the loop around `calls[0]`, when they run on every iteration of it."""
        innermost = self.model.iteration_loop(calls[0])
        loop = self.target_loop(calls[0], subject)
        if loop is None or not isinstance(innermost, FOR_LOOPS):
            return None
        if not self.always_runs(innermost.body, self.key(calls[0])):
            return None
        grouped = tuple(c for c in calls if self.within_block(c, (loop, "body")))
        reason = ""
        if any(self.inside_try(call, loop) for call in grouped):
            reason = "it runs inside `try` in the loop; hoisting would move its errors out of it"
        reuse = self.assigned_before(loop, grouped[0], subject, serializer)
        before = None if reuse is not None else loop
        return Hoist("loop", grouped, grouped, before, reuse, reason, serializer)

    def variant_hoist(self, call: ast.Call, subject: ast.expr, serializer: str) -> Hoist | None:
        """Dynamiq's callback loops: the call runs on every iteration of a `for` loop with
        arguments rebuilt on each one from fixed values (`options = {}`, then
        `options["for_tracing"] = True` for some callbacks; `flag = isinstance(...)`). Each
        variant could be computed once; reported without a fix."""
        loop = self.model.iteration_loop(call)
        if not isinstance(loop, FOR_LOOPS) or not self.always_runs(loop.body, self.key(call)):
            return None
        root = root_name(subject)
        varying = frozenset(read_names(call) - {root} - bound_names(loop.target))
        if not varying or not all(self.fixed_in_loop(name, loop) for name in varying):
            return None
        if any(self.may_change(statement, call, root, varying) for statement in loop.body):
            return None
        return Hoist("variants", (call,), (), None, None, VARIANTS_REASON, serializer)

    def fixed_in_loop(self, name: str, loop: ast.For | ast.AsyncFor) -> bool:
        """`name` is set afresh in the loop body before use, and only to fixed values: every
        binding of it there is `name = <fixed>`, every item store `name[<literal>] = <fixed>`
        (`<fixed>`: literals, displays of them, or a test such as `isinstance(...)`)."""
        assigned = False
        for node in block_nodes(loop.body):
            if not isinstance(node, ast.stmt) or name not in names_bound_by(node):
                if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Subscript) and root_name(t) == name for t in node.targets
                ):
                    if not all(
                        isinstance(t, ast.Subscript) and isinstance(t.slice, ast.Constant)
                        for t in node.targets
                    ) or not _fixed(node.value):
                        return False
                continue
            if isinstance(node, COMPOUND_STATEMENTS):
                continue  # the statements inside are visited on their own
            if not (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and _fixed(node.value)
            ):
                return False
            assigned = True
        return assigned

    def assigned_before(
        self, loop: ast.For | ast.AsyncFor, call: ast.Call, subject: ast.expr, serializer: str
    ) -> str | None:
        """`name` when a line `name = <same call>` precedes the loop in its block and nothing
        in between (nor the loop) rebinds `name` or may change the call's result."""
        blocks = self.blocks_around(loop)
        if not blocks or self.one_line(blocks[0]):
            return None
        lines = self.lines(blocks[0])
        index = self.line_index(lines, loop, blocks[0])
        key, root = self.key(call), root_name(subject)
        for position in range(index - 1, -1, -1):
            line = lines[position]
            small = line[0] if len(line) == 1 else None
            if (
                isinstance(small, ast.Assign)
                and len(small.targets) == 1
                and isinstance(small.targets[0], ast.Name)
                and identity(small.value) == key
            ):
                name = small.targets[0].id
                region = lines[position + 1 : index + 1]
                if any(self.may_change(s, call, root) for line in region for s in line):
                    return None
                return None if self.local_may_change(region, call, name, serializer) else name
        return None

    def common_block(self, calls: Sequence[ast.Call]) -> Block | None:
        """The innermost block that contains every call."""
        chains = [self.blocks_around(call) for call in calls]
        common = [block for block in chains[0] if all(block in chain for chain in chains[1:])]
        return common[0] if common else None

    def repeat_hoist(
        self, calls: list[ast.Call], subject: ast.expr, serializer: str
    ) -> Hoist | None:
        block = self.common_block(calls)
        if block is None:
            return None
        if not all(self.runs_whenever(call, block[0]) for call in calls):
            return None
        lines = self.lines(block)
        positions = [self.line_index(lines, call, block) for call in calls]
        first, last = min(positions), max(positions)
        region = lines[first : last + 1]
        root = root_name(subject)
        statements = [statement for line in region for statement in line]
        if any(self.may_change(statement, calls[0], root) for statement in statements):
            return None
        if any(
            isinstance(node, (ast.Await, ast.Yield, ast.YieldFrom))
            for statement in statements
            for node in (statement, *own_nodes(statement))
        ):
            return None
        for call, position in zip(calls[:-1], positions[:-1], strict=True):
            name = result_name(self.model, call)
            if name and self.local_may_change(
                lines[position + 1 : last + 1], call, name, serializer
            ):
                return None  # an earlier result is changed or handed on: the copies are on purpose
        one_line = self.one_line(block)
        reuse = (
            None
            if one_line
            else self.reused_local(calls[0], lines[positions[0]], region, serializer)
        )
        if one_line and reuse is None:
            reason = "the calls are on a one-line block"
            return Hoist("repeat", tuple(calls), (), None, None, reason, serializer)
        before = None if reuse is not None else lines[positions[0]][0]
        replace = tuple(calls[1:]) if reuse is not None else tuple(calls)
        return Hoist("repeat", tuple(calls), replace, before, reuse, "", serializer)

    def reused_local(
        self, call: ast.Call, line: Line, region: Sequence[Line], serializer: str
    ) -> str | None:
        """`name` when the first call is the whole value of `name = call` on a line of its own
        and `name` keeps that value until the last call."""
        name = result_name(self.model, call)
        if name is None or len(line) != 1 or line[0] is not self.model.parent(call):
            return None
        return None if self.local_may_change(region[1:], call, name, serializer) else name

    # --- the fix's local ----------------------------------------------------------------

    def base_name(self, hoist: Hoist) -> str:
        """`<object>_dict`/`_json`/`_encoded`: what the hoisted value is a serialization of."""
        subject = serialization(self.model, hoist.calls[0])
        stem = ""
        if subject is not None:
            node = subject[1]
            stem = node.attr if isinstance(node, ast.Attribute) else root_name(node) or ""
        stem = stem.strip("_") or "value"
        if stem in {"self", "cls"}:
            cls = self.model.class_of(self.func)
            stem = snake_case(cls.name) if cls is not None else "value"
        return f"{stem}_{SUFFIXES[hoist.serializer]}"

    def consumer_name(self, hoist: Hoist, base: str) -> str | None:
        """The base name qualified by what the value is handed to, to tell apart two hoists of
        the same value in one function: `callback.on_node_end(self.to_dict())` gives
        `node_end_dict`, `log.debug(json.dumps(payload))` gives `debug_payload_json`."""
        call = hoist.calls[0]
        owner = self.model.parent(call)
        if not isinstance(owner, ast.Call) or owner.func is call:
            owner = self.model.parent(owner) if isinstance(owner, ast.keyword) else None
        if not isinstance(owner, ast.Call):
            return None
        func = owner.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        name = snake_case(name).strip("_").removeprefix("on_")
        if not name:
            return None
        stem, _, suffix = base.rpartition("_")
        if stem in name.split("_"):
            return f"{name}_{suffix}"
        return f"{name}_{base}"

    def names(self, hoist: Hoist, count: int, qualify: bool) -> list[str]:
        """`count` candidate locals for the hoisted value that the function does not use yet:
        the base name (qualified by the value's consumer first, when `qualify`: another hoist
        of the function has the same base name), then `<base>_2`, ...."""
        base = self.base_name(hoist)
        if self.used is None:
            self.used = set(_identifiers(self.func))
        used = self.used
        qualified = self.consumer_name(hoist, base) if qualify else None
        found = [qualified] if qualified and qualified not in used else []
        name, counter = base, 2
        while len(found) < count:
            if name not in used and name not in found:
                found.append(name)
            name, counter = f"{base}_{counter}", counter + 1
        return found


def _fixed(node: ast.expr) -> bool:
    """A value from a small fixed set: a literal, a display of literals, or a test
    (`isinstance(...)`, a comparison, `not x`, `a and b`) that is True or False."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(_fixed(element) for element in node.elts)
    if isinstance(node, ast.Dict):
        return all(
            key is not None and _fixed(key) and _fixed(value)
            for key, value in zip(node.keys, node.values, strict=True)
        )
    if isinstance(node, (ast.Compare, ast.BoolOp)) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
    ):
        return True
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in TESTS


def _holds(statements: list[ast.stmt], node: ast.AST) -> bool:
    return any(statement is node for statement in statements)


def _identifiers(func: FunctionNode) -> Iterator[str]:
    """Every name the function's code spells (bound or read, nested scopes included)."""
    yield func.name
    for node in ast.walk(func):
        if isinstance(node, ast.Name):
            yield node.id
        elif isinstance(node, ast.arg):
            yield node.arg
        elif isinstance(node, (*FUNCTIONS, ast.ClassDef)):
            yield node.name
        elif isinstance(node, ast.alias):
            yield node.name.partition(".")[0]
            if node.asname:
                yield node.asname
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module.partition(".")[0]
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            yield from node.names
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            yield node.name
        elif isinstance(node, ast.MatchMapping) and node.rest:
            yield node.rest


class RepeatedSerialization(Detector):
    """The same object is serialized again and again with the same call.

    ## Why is this bad?
    `to_dict()`, `model_dump()`, `json.dumps()` and `jsonpickle.encode()` walk the whole
    object graph every time. Dynamiq nodes serialize themselves for every callback of every
    event (`callback.on_node_start(self.to_dict(for_tracing=True), ...)` in a loop over the
    callbacks), and the Dynamiq review checklist lists "`to_dict(for_tracing=True)` called
    multiple times per node execution" and `TracingCallbackHandler` "serializing large node
    state on every event". When the object does not change in between, one serialization
    can serve every use.

    ## Example
    ```python
    class Notifier:
        def notify_start(self, node, input_data):
            for callback in self.callbacks:
                callback.on_node_start(node.to_dict(for_tracing=True), input_data)
    ```

    ## Use instead
    ```python
    class Notifier:
        def notify_start(self, node, input_data):
            node_dict = node.to_dict(for_tracing=True)
            for callback in self.callbacks:
                callback.on_node_start(node_dict, input_data)
    ```

    ## Fix safety
    Unsafe: the call is computed once into a new local (`<object>_dict`, `<object>_json`, ...)
    before the loop, or before its first use, and every identical call (same code, same
    object, same arguments) reads that local; an existing `name = <call>` line is reused.
    Behaviour changes: every user now shares one result, so a callback that mutates the dict
    it receives changes what the next one sees; the value is computed even when the loop runs
    zero times; and the object is serialized before the loop body runs, so a change made to
    it by code the loop calls (a callback holding a reference to it) is no longer reflected.
    No fix is offered when the call sits inside `try` within the loop (its errors would leave
    the handler) or on a one-line block.

    Not reported: calls on different objects, calls whose object or arguments may change in
    between (a name they read is rebound, the object is assigned into, passed to another call
    or has a method called on it that is not known to be read-only; between repeated calls
    also any `await` or `yield`), calls that run only on some paths (an `if` branch, a
    handler, a short-circuit, a comprehension), `while` loops, and calls whose object or
    arguments contain calls or subscripts.

    ## Metric to monitor
    CPU time spent in serialization per node execution (a profiler's cumulative time for
    `to_dict`/`model_dump`/`json.dumps`) and per-node latency p50/p95 with tracing enabled.

    Dynamiq's own callback loops (`Node.run_on_node_*`, `Flow.run_on_flow_*`,
    `Workflow.run_on_workflow_*`) rebuild the arguments on every iteration (`dict_kwargs =
    {}`, then `dict_kwargs["for_tracing"] = True` for a tracing handler) and serialize the
    node again for each callback: reported without a fix when every name the arguments read
    is set afresh in the loop to fixed values only (literals, displays of them, a test such
    as `isinstance(...)`); compute each variant once before the loop. Calls that share a
    statement with another repeated serialization (`print(a.model_dump())`,
    `print(b.model_dump())`, then `assert a.model_dump() == b.model_dump()`) are one
    finding, fixed together.

    ## Limitations
    Comprehensions are not treated as loops, and a serialization that a helper method
    repeats on every call is not followed: Dynamiq calls `run_on_node_execute_stream()` once
    per streamed chunk (from `llms/base.py`), so its per-callback serialization is also paid
    per chunk; the finding is in `node.py`, the chunk loop is not named.
    """

    CODE = "CAC003"
    NAME = "repeated-serialization"
    SEVERITY = Severity.OPTIMIZATION
    CATEGORY = "caching"
    FIX = FixSafety.UNSAFE
    FRAMEWORKS = ALL_FRAMEWORKS
    MESSAGE = "{what} in `{function}()`; {advice}"
    TRIGGERS = ("to_dict", "model_dump", "dumps", "encode")

    def run(self) -> None:
        model = self.model
        calls: dict[FunctionNode, list[ast.Call]] = {}
        imported = imported_names(model)
        for node in model.nodes(ast.Call):
            assert isinstance(node, ast.Call)
            if not may_call(node.func, SERIALIZER_CALL_NAMES, imported):
                continue
            owner = model.function_of(node)
            if isinstance(owner, FUNCTIONS):
                calls.setdefault(owner, []).append(node)
        for function, own in calls.items():
            analysis = FunctionAnalysis(model, function)
            hoists = analysis.hoists(own)
            fixable = [hoist for hoist in hoists if not hoist.reason and not hoist.reuse]
            # Hoists sharing a base name are named after their consumers (`node_start_dict`).
            bases = Counter(analysis.base_name(hoist) for hoist in fixable)
            shared = {id(h) for h in fixable if bases[analysis.base_name(h)] > 1}
            for group in self._pairs(hoists):
                self._report(analysis, group, len(fixable), shared)

    def visit_Call(self, node: ast.Call) -> None:
        """Calls are read in `run` (declared so that the model collects them)."""

    def _pairs(self, hoists: list[Hoist]) -> list[list[Hoist]]:
        """The hoists, those of repeated calls that share a statement grouped (`print(a(),
        b())` then `assert a() == b()`: one repeated pair, one finding)."""
        groups: list[list[Hoist]] = []
        statements: list[set[ast.stmt]] = []
        for hoist in hoists:
            own = (
                {self._statement(call) for call in hoist.calls} if hoist.kind == "repeat" else set()
            )
            for index, seen in enumerate(statements):
                if own & seen:
                    groups[index].append(hoist)
                    seen |= own
                    break
            else:
                groups.append([hoist])
                statements.append(own)
        return groups

    def _statement(self, node: ast.AST) -> ast.stmt:
        for current in self.model.ancestors(node):
            if isinstance(current, ast.stmt):
                return current
        raise AssertionError("a call outside any statement")

    def _report(
        self, analysis: FunctionAnalysis, group: list[Hoist], fixable: int, shared: set[int]
    ) -> None:
        model = self.model
        reason = next((hoist.reason for hoist in group if hoist.reason), "")
        data: dict[str, object] | None = None
        if not reason:
            data = {
                "function": span_data(model, analysis.func),
                "hoists": [
                    {
                        "call": span_data(model, hoist.calls[0]),
                        "replace": [span_data(model, call) for call in hoist.replace],
                        "before": (
                            span_data(model, hoist.before) if hoist.before is not None else None
                        ),
                        "reuse": hoist.reuse,
                        "names": (
                            []
                            if hoist.reuse
                            else analysis.names(hoist, max(fixable, 1), id(hoist) in shared)
                        ),
                    }
                    for hoist in group
                ],
            }
        calls = " and ".join(f"`{code_excerpt(model, hoist.calls[0])}`" for hoist in group)
        counts = sorted({len(hoist.calls) for hoist in group})
        if group[0].kind != "repeat":
            what = f"{calls} is evaluated on every iteration of a loop"
        elif len(group) == 1:
            what = f"{calls} is evaluated {counts[0]} times"
        else:
            times = " or ".join(str(count) for count in counts)
            what = f"{calls} are each evaluated {times} times"
        advice = {"variants": "compute each variant once"}.get(
            group[0].kind, "compute it once" if len(group) == 1 else "compute them once"
        )
        self.report(
            group[0].calls[0],
            fix=FixSafety.NONE if reason else FixSafety.UNSAFE,
            note=reason,
            data=data,
            what=what,
            function=analysis.func.name,
            advice=advice,
        )
