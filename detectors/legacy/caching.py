"""Caching rules: work redone on every call that could be done once and reused."""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import libcst as cst
from libcst.metadata import PositionProvider

from flowfix.edits import code_excerpt, snake_case
from flowfix.libcst_detector import LibcstDetector as Detector
from flowfix.parents import ParentProvider
from flowfix.prefilter import (
    BODIES,
    COMPREHENSIONS,
    FUNCTION_DEFS,
    LOOP_STATEMENTS,
    SCOPE_DEFS,
    FileView,
    call_name,
    innermost,
)
from flowfix.reduction import Sites
from flowfix.rules import FixSafety, Severity
from flowfix.scope import ScopeProvider
from flowfix.semantics import (
    MetadataReader,
    is_cached_function,
    iteration_loop,
    method_class,
    names_bound_in,
    own_nodes,
    parent,
    read_names,
    resolves_to,
    root_name,
    scope_owner,
)

DEPENDENCIES = (PositionProvider, ParentProvider, ScopeProvider)
DYNAMIQ = ("dynamiq",)
ENTRY_FUNCTIONS = frozenset({"main", "cli"})


def code_of(node: cst.CSTNode) -> str:
    """`node`'s source with whitespace runs collapsed (an identity for equal expressions)."""
    return " ".join(cst.Module([]).code_for_node(node).split())


def enclosing_functions(reader: MetadataReader, node: cst.CSTNode) -> Iterator[cst.FunctionDef]:
    """The functions around `node`, innermost first."""
    current = parent(reader, node)
    while current is not None:
        if isinstance(current, cst.FunctionDef):
            yield current
        current = parent(reader, current)


def in_cached_function(reader: MetadataReader, node: cst.CSTNode) -> bool:
    return any(is_cached_function(reader, func) for func in enclosing_functions(reader, node))


def runs_in_function(reader: MetadataReader, node: cst.CSTNode) -> cst.FunctionDef | None:
    """The function whose own body runs `node`, unless it is cached or an entry point."""
    func = scope_owner(reader, node)
    if not isinstance(func, cst.FunctionDef) or func.name.value in ENTRY_FUNCTIONS:
        return None
    return None if in_cached_function(reader, node) else func


# --- CAC001 ---------------------------------------------------------------------------------


def _first_argument(call: cst.Call) -> cst.BaseExpression | None:
    if call.args and call.args[0].keyword is None and not call.args[0].star:
        return call.args[0].value
    return None


def result_name(reader: MetadataReader, value: cst.BaseExpression) -> str | None:
    """The local `name` in `name = <value>` (or `name: T = <value>`)."""
    owner = parent(reader, value)
    if isinstance(owner, cst.Assign) and owner.value is value and len(owner.targets) == 1:
        target = owner.targets[0].target
        return target.value if isinstance(target, cst.Name) else None
    if isinstance(owner, cst.AnnAssign) and owner.value is value:
        return owner.target.value if isinstance(owner.target, cst.Name) else None
    return None


# --- CAC003 ---------------------------------------------------------------------------------

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
Kind = Literal["loop", "repeat"]


def serialization(reader: MetadataReader, call: cst.Call) -> tuple[str, cst.BaseExpression] | None:
    """(serializer, the object serialized) when `call` serializes a named object with simple
    arguments: `x.to_dict(...)`, `x.model_dump(...)`, `json.dumps(x, ...)`, ..."""
    func = call.func
    subject: cst.BaseExpression | None
    if isinstance(func, cst.Attribute) and func.attr.value in SERIALIZER_METHODS:
        serializer, subject, rest = func.attr.value, func.value, call.args
    else:
        serializer = resolves_to(reader, func, SERIALIZER_FUNCTIONS) or ""
        subject = _first_argument(call) if serializer else None
        rest = call.args[1:]
    if subject is None:
        return None
    if root_name(subject) is None or any(
        isinstance(n, (cst.Call, cst.Subscript)) for n in (subject, *own_nodes(subject))
    ):
        return None
    if not all(_simple(arg.value) and arg.star != "*" for arg in rest):
        return None
    return serializer, subject


def _simple(node: cst.BaseExpression) -> bool:
    """Literals, names and attribute chains, and containers of them."""
    if isinstance(node, (cst.Name, cst.Attribute)):
        return root_name(node) is not None and not any(
            isinstance(n, (cst.Call, cst.Subscript)) for n in own_nodes(node)
        )
    if isinstance(node, (cst.SimpleString, cst.Integer, cst.Float, cst.ConcatenatedString)):
        return True
    if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
        return all(_simple(element.value) for element in node.elements)
    if isinstance(node, cst.Dict):
        return all(
            isinstance(element, cst.DictElement) and _simple(element.key) and _simple(element.value)
            for element in node.elements
        )
    return False


def may_change(region: cst.CSTNode, call: cst.Call, subject: cst.BaseExpression) -> bool:
    """Code in `region` may give `call` another result: it rebinds a name the call reads, or
    changes the serialized object (assigns into it, calls a method on it that is not known to
    be read-only, or passes it to another call)."""
    root = root_name(subject)
    if read_names(call) & names_bound_in(region):
        return True
    key = code_of(call)
    for node in (region, *own_nodes(region)):
        targets: list[cst.BaseExpression] = []
        if isinstance(node, cst.Assign):
            targets = [t.target for t in node.targets]
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign, cst.Del)):
            targets = [node.target]
        if any(
            isinstance(t, (cst.Attribute, cst.Subscript)) and root_name(t) == root for t in targets
        ):
            return True
        if isinstance(node, cst.Call) and code_of(node) != key:
            func = node.func
            if (
                isinstance(func, cst.Attribute)
                and root_name(func.value) == root
                and func.attr.value not in READ_ONLY_METHODS
            ):
                return True
            if any(isinstance(a.value, cst.Name) and a.value.value == root for a in node.args):
                return True
    return False


def _runs_whenever(reader: MetadataReader, node: cst.CSTNode, stop: cst.CSTNode) -> bool:
    """`node` runs every time `stop` (an ancestor) runs: no branch, handler, short-circuit,
    loop, comprehension or nested scope in between."""
    child, current = node, parent(reader, node)
    while current is not None and current is not stop:
        if (
            (isinstance(current, (cst.If, cst.IfExp)) and child is not current.test)
            or (isinstance(current, cst.BooleanOperation) and child is current.right)
            or (isinstance(current, (cst.For, cst.While)) and child is current.body)
            or isinstance(
                current,
                (
                    cst.ExceptHandler,
                    cst.ExceptStarHandler,
                    cst.Else,
                    cst.MatchCase,
                    cst.ListComp,
                    cst.SetComp,
                    cst.DictComp,
                    cst.GeneratorExp,
                    cst.Lambda,
                    cst.FunctionDef,
                    cst.ClassDef,
                ),
            )
        ):
            return False
        child, current = current, parent(reader, current)
    return True


@dataclass(frozen=True)
class Hoist:
    """One CAC003 finding: `calls` (same code; the first is reported) computed once.

    `replace`: the calls that read the local instead; `before`: the statement to put
    `<local> = <call>` in front of (None when `reuse`, an existing local that already holds
    the value, is used); `reason`: why no fix is offered, or "".
    """

    kind: Kind
    calls: tuple[cst.Call, ...]
    replace: tuple[cst.Call, ...]
    before: cst.BaseStatement | None
    reuse: str | None
    reason: str
    serializer: str


def _target_loop(
    reader: MetadataReader, call: cst.Call, subject: cst.BaseExpression
) -> cst.For | None:
    """The outermost `for` loop (within the function) the call can be hoisted out of."""
    best: cst.For | None = None
    loop = iteration_loop(reader, call)
    while isinstance(loop, cst.For) and not may_change(loop, call, subject):
        best = loop
        loop = iteration_loop(reader, loop)
    return best


def _statement_in(reader: MetadataReader, node: cst.CSTNode, block: cst.CSTNode) -> cst.CSTNode:
    """The statement of `block` that contains `node`."""
    current = node
    while True:
        owner = parent(reader, current)
        if owner is block or owner is None:
            return current
        current = owner


def _evaluates(node: cst.CSTNode, key: str) -> bool:
    """A call with code `key` runs whenever the expression or statement `node` runs (not one in
    an `if`/`else` branch of an expression, after a short-circuit, or in a nested scope)."""
    if isinstance(node, cst.Call) and code_of(node) == key:
        return True
    if isinstance(
        node,
        (cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp, cst.BaseSuite),
    ):
        return False
    if isinstance(node, cst.IfExp):
        return _evaluates(node.test, key)
    if isinstance(node, cst.BooleanOperation):
        return _evaluates(node.left, key)
    return any(_evaluates(child, key) for child in node.children)


def always_runs(node: cst.CSTNode, key: str) -> bool:
    """Some call with code `key` runs whenever the block or statement `node` runs: in a plain
    statement, or in every branch of an `if`/`elif`/`else` chain."""
    if isinstance(node, cst.IndentedBlock):
        return any(always_runs(statement, key) for statement in node.body)
    if isinstance(node, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
        return any(_evaluates(small, key) for small in node.body)
    if isinstance(node, cst.If):
        return _evaluates(node.test, key) or (
            node.orelse is not None
            and always_runs(node.body, key)
            and always_runs(node.orelse, key)
        )
    if isinstance(node, cst.Else):
        return always_runs(node.body, key)
    if isinstance(node, cst.With):
        return any(_evaluates(item, key) for item in node.items) or always_runs(node.body, key)
    if isinstance(node, (cst.Try, cst.TryStar)):
        return always_runs(node.body, key) or (
            node.finalbody is not None and always_runs(node.finalbody.body, key)
        )
    if isinstance(node, cst.For):
        return _evaluates(node.iter, key)
    if isinstance(node, cst.While):
        return _evaluates(node.test, key)
    return False


def _inside_try(reader: MetadataReader, node: cst.CSTNode, stop: cst.CSTNode) -> bool:
    """`node` sits in the body of a `try` below `stop`."""
    child, current = node, parent(reader, node)
    while current is not None and current is not stop:
        if isinstance(current, (cst.Try, cst.TryStar)) and child is current.body:
            return True
        child, current = current, parent(reader, current)
    return False


def _loop_hoist(
    reader: MetadataReader, calls: list[cst.Call], subject: cst.BaseExpression, serializer: str
) -> Hoist | None:
    """The calls in the loop around `calls[0]`, when they run on every iteration of it."""
    innermost = iteration_loop(reader, calls[0])
    loop = _target_loop(reader, calls[0], subject)
    if loop is None or not isinstance(innermost, cst.For):
        return None
    if not always_runs(innermost.body, code_of(calls[0])):
        return None
    grouped = tuple(c for c in calls if _within(reader, c, loop.body))
    reason = ""
    if any(_inside_try(reader, call, loop) for call in grouped):
        reason = "it runs inside `try` in the loop; hoisting would move its errors out of it"
    reuse = _assigned_before(reader, loop, grouped[0], subject, serializer)
    before = None if reuse is not None else loop
    return Hoist("loop", grouped, grouped, before, reuse, reason, serializer)


def _assigned_before(
    reader: MetadataReader,
    loop: cst.For,
    call: cst.Call,
    subject: cst.BaseExpression,
    serializer: str,
) -> str | None:
    """`name` when a statement `name = <same call>` precedes the loop in its block and nothing
    in between (nor the loop) rebinds `name` or may change the call's result."""
    block = parent(reader, loop)
    if not isinstance(block, cst.IndentedBlock):
        return None
    body = list(block.body)
    index = next(i for i, statement in enumerate(body) if statement is loop)
    key = code_of(call)
    for position in range(index - 1, -1, -1):
        statement = body[position]
        line = statement if isinstance(statement, cst.SimpleStatementLine) else None
        small = line.body[0] if line is not None and len(line.body) == 1 else None
        if (
            isinstance(small, cst.Assign)
            and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
            and code_of(small.value) == key
        ):
            name = small.targets[0].target.value
            region = body[position + 1 : index + 1]
            if any(may_change(s, call, subject) for s in region):
                return None
            return None if _local_may_change(region, call, name, serializer) else name
    return None


def _within(reader: MetadataReader, node: cst.CSTNode, ancestor: cst.CSTNode) -> bool:
    current = parent(reader, node)
    while current is not None:
        if current is ancestor:
            return True
        current = parent(reader, current)
    return False


def _common_block(reader: MetadataReader, calls: Sequence[cst.Call]) -> cst.CSTNode | None:
    """The innermost block (indented block or one-line suite) that contains every call."""
    chains = []
    for call in calls:
        chain = []
        current = parent(reader, call)
        while current is not None and not isinstance(current, cst.FunctionDef):
            if isinstance(current, (cst.IndentedBlock, cst.SimpleStatementSuite)):
                chain.append(current)
            current = parent(reader, current)
        chains.append(chain)
    common = [block for block in chains[0] if all(block in chain for chain in chains[1:])]
    return common[0] if common else None


def _repeat_hoist(
    reader: MetadataReader, calls: list[cst.Call], subject: cst.BaseExpression, serializer: str
) -> Hoist | None:
    block = _common_block(reader, calls)
    if not isinstance(block, (cst.IndentedBlock, cst.SimpleStatementSuite)):
        return None
    statements = [_statement_in(reader, call, block) for call in calls]
    if not all(_runs_whenever(reader, call, block) for call in calls):
        return None
    body = list(block.body)
    positions = [next(i for i, s in enumerate(body) if s is statement) for statement in statements]
    first, last = min(positions), max(positions)
    region = body[first : last + 1]
    if any(may_change(statement, calls[0], subject) for statement in region):
        return None
    if any(isinstance(n, (cst.Await, cst.Yield)) for s in region for n in (s, *own_nodes(s))):
        return None
    for call, position in zip(calls[:-1], positions[:-1], strict=True):
        name = result_name(reader, call)
        if name and _local_may_change(body[position + 1 : last + 1], call, name, serializer):
            return None  # an earlier result is changed or handed on: the copies are on purpose
    reuse = _reused_local(reader, calls[0], statements[0], region, serializer)
    if isinstance(block, cst.SimpleStatementSuite) and reuse is None:
        reason = "the calls are on a one-line block"
        return Hoist("repeat", tuple(calls), (), None, None, reason, serializer)
    before = None if reuse is not None else statements[0]
    assert before is None or isinstance(before, cst.BaseStatement)
    replace = tuple(calls[1:]) if reuse is not None else tuple(calls)
    return Hoist("repeat", tuple(calls), replace, before, reuse, "", serializer)


def _reused_local(
    reader: MetadataReader,
    call: cst.Call,
    statement: cst.CSTNode,
    region: Sequence[cst.CSTNode],
    serializer: str,
) -> str | None:
    """`name` when the first call is the whole value of `name = call` on a line of its own and
    `name` keeps that value until the last call."""
    name = result_name(reader, call)
    if name is None or not isinstance(statement, cst.SimpleStatementLine):
        return None
    if len(statement.body) != 1 or statement.body[0] is not parent(reader, call):
        return None
    return None if _local_may_change(region[1:], call, name, serializer) else name


def _local_may_change(
    region: Sequence[cst.CSTNode], call: cst.Call, name: str, serializer: str
) -> bool:
    """The local `name` (holding `call`'s result) is rebound in `region`, or, for a dict
    result, changed or handed to other code there."""
    if any(name in names_bound_in(statement) for statement in region):
        return True
    if SUFFIXES[serializer] != "dict":
        return False  # strings cannot change
    return any(may_change(statement, call, cst.Name(name)) for statement in region)


def serialization_hoists(
    reader: MetadataReader, func: cst.FunctionDef, calls: Sequence[cst.Call] | None = None
) -> list[Hoist]:
    """Every repeated serialization in `func`'s own body (among `calls`, its own calls in
    source order, when the caller already collected them)."""
    if calls is None:
        calls = [node for node in own_nodes(func.body) if isinstance(node, cst.Call)]
    groups: dict[str, list[cst.Call]] = {}
    subjects: dict[str, tuple[str, cst.BaseExpression]] = {}
    for node in calls:
        found = serialization(reader, node)
        if found is not None:
            key = code_of(node)
            groups.setdefault(key, []).append(node)
            subjects.setdefault(key, found)
    hoists: list[Hoist] = []
    for key, group in groups.items():
        serializer, subject = subjects[key]
        looped = [c for c in group if iteration_loop(reader, c) is not None]
        while looped:
            hoist = _loop_hoist(reader, looped, subject, serializer)
            done = set(map(id, hoist.calls)) if hoist is not None else {id(looped[0])}
            looped = [c for c in looped if id(c) not in done]
            if hoist is not None:
                hoists.append(hoist)
        if len(group) > 1 and not any(iteration_loop(reader, c) is not None for c in group):
            hoist = _repeat_hoist(reader, group, subject, serializer)
            if hoist is not None:
                hoists.append(hoist)
    return sorted(hoists, key=lambda h: _order(reader, h.calls[0]))


def _order(reader: MetadataReader, node: cst.CSTNode) -> tuple[int, int]:
    start = reader.get_metadata(PositionProvider, node).start  # type: ignore[attr-defined]
    return (start.line, start.column)


def hoisted_name(
    reader: MetadataReader, hoist: Hoist, func: cst.FunctionDef, taken: set[str]
) -> str:
    """A local for the hoisted value, `<object>_dict`/`_json`/`_encoded`, that `func` does not
    use yet (nor `taken`)."""
    found = serialization(reader, hoist.calls[0])
    subject = found[1] if found is not None else cst.Name("value")
    stem = subject.attr.value if isinstance(subject, cst.Attribute) else root_name(subject) or ""
    stem = stem.strip("_") or "value"
    if stem in {"self", "cls"}:
        cls = method_class(reader, func)
        stem = snake_case(cls.name.value) if cls is not None else "value"
    base = f"{stem}_{SUFFIXES[hoist.serializer]}"
    used = taken | read_names(func) | names_bound_in(func)
    name, counter = base, 2
    while name in used:
        name, counter = f"{base}_{counter}", counter + 1
    return name


SCOPE_NODES = (*SCOPE_DEFS, ast.Lambda)
TRY_NODES = (ast.Try, getattr(ast, "TryStar", ast.Try))
# The blocks around a call: (statement, the field of its statements that holds the call).
BlockPath = list[tuple[ast.AST, str]]
CallKey = tuple[object, ...]


def _ast_root(node: ast.expr) -> str | None:
    """`root_name` on the AST."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _ast_chain(node: ast.expr) -> bool:
    """A name or an attribute chain on a name (no call, no subscript)."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)


def _ast_simple(node: ast.expr) -> bool:
    """Could `_simple` hold: names, attribute chains, literals (any f-string: implicitly
    concatenated, libcst's `ConcatenatedString` is simple) and containers of them."""
    if isinstance(node, (ast.Name, ast.Attribute)):
        return _ast_chain(node)
    if isinstance(node, (ast.Constant, ast.JoinedStr)):
        return True
    if isinstance(node, ast.Starred):
        return _ast_simple(node.value)
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(_ast_simple(element) for element in node.elts)
    if isinstance(node, ast.Dict):
        return all(
            key is not None and _ast_simple(key) and _ast_simple(value)
            for key, value in zip(node.keys, node.values, strict=True)
        )
    return False


def _ast_module_name(view: FileView, name: str, module: str) -> bool:
    """May `name` be bound by `import <module>` / `import <module> as <name>`?"""
    return view.imports(module) and (
        name == module or re.search(rf"\b{module}\s+as\s+{name}\b", view.text) is not None
    )


def _ast_serialization(view: FileView, call: ast.Call) -> ast.expr | None:
    """The serialized object when `serialization` may hold for `call`: a named object (no call
    or subscript in it) and simple arguments, the callee a serializer method or a name that
    may be `json.dumps` / `jsonpickle.encode`."""
    func, rest = call.func, call.args
    if isinstance(func, ast.Attribute) and func.attr in SERIALIZER_METHODS:
        subject: ast.expr | None = func.value
    else:
        name = call_name(call)
        modules = {"dumps": "json", "encode": "jsonpickle"}
        module = modules.get(name) or modules.get(view.statements.aliases.get(name, ""))
        if module is None or not (
            _ast_module_name(view, func.value.id, module)
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
            else isinstance(func, ast.Name) and view.imports(module)
        ):
            return None
        subject, rest = (call.args[0] if call.args else None), call.args[1:]
    if subject is None or isinstance(subject, ast.Starred) or not _ast_chain(subject):
        return None
    if any(isinstance(arg, ast.Starred) for arg in rest) or not all(
        _ast_simple(value) for value in [*rest, *(k.value for k in call.keywords)]
    ):
        return None
    return subject


def _ast_key(node: ast.AST) -> CallKey:
    """Equal for calls with equal `code_of` (which collapses whitespace even inside strings,
    so string contents are left out)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
        return ("str",)
    return (
        type(node).__name__,
        *(
            tuple(_ast_key(v) if isinstance(v, ast.AST) else v for v in value)
            if isinstance(value, list)
            else _ast_key(value)
            if isinstance(value, ast.AST)
            else value
            for _, value in ast.iter_fields(node)
        ),
    )


def _ast_within(node: ast.AST, first: ast.AST, last: ast.AST) -> bool:
    """Does `node` lie between the start of `first` and the end of `last`?"""
    start = (node.lineno, node.col_offset)  # type: ignore[attr-defined]
    end = (node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
    return (first.lineno, first.col_offset) <= start and end <= (  # type: ignore[attr-defined]
        last.end_lineno,  # type: ignore[attr-defined]
        last.end_col_offset,  # type: ignore[attr-defined]
    )


def _ast_iteration_loop(chain: Sequence[ast.AST], call: ast.Call) -> ast.AST | None:
    """`iteration_loop`: the innermost statement of `chain` (below the function) that runs
    `call` once per iteration, in a loop's body or a `while` test."""
    for statement in reversed(chain):
        if isinstance(statement, LOOP_STATEMENTS):
            body = statement.body
            if _ast_within(call, body[0], body[-1]) or (
                isinstance(statement, ast.While)
                and _ast_within(call, statement.test, statement.test)
            ):
                return statement
    return None


def _ast_own_nodes(root: ast.AST) -> Iterator[ast.AST]:
    """`root` and the nodes below it in its scope (in nested defs, lambdas and classes none)."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, SCOPE_NODES):
            stack.extend(ast.iter_child_nodes(node))


def _ast_bound(target: ast.AST | None) -> set[str]:
    """`bound_names` on the AST."""
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, (ast.Tuple, ast.List)):
        return {name for element in target.elts for name in _ast_bound(element)}
    if isinstance(target, ast.Starred):
        return _ast_bound(target.value)
    return set()


def _ast_may_change(loop: ast.AST, call: ast.Call, subject: ast.expr, key: CallKey) -> bool:
    """Does `may_change(loop, call, subject)` surely hold: the loop binds a name the call
    reads, assigns into the object, or calls it or hands it to a call other than `call`'s
    equals?"""
    root = _ast_root(subject)
    reads = {node.id for node in ast.walk(call) if isinstance(node, ast.Name)}
    for node in _ast_own_nodes(loop):
        targets: list[ast.expr] = []
        bound: set[str] = set()
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Delete) and len(node.targets) == 1:
            targets = node.targets
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.NamedExpr, ast.comprehension)):
            bound = _ast_bound(node.target)
        elif isinstance(node, ast.withitem):
            bound = _ast_bound(node.optional_vars)
        elif isinstance(node, (*FUNCTION_DEFS, ast.ClassDef)):
            bound = {node.name}
        if reads & bound.union(*map(_ast_bound, targets)):
            return True
        if any(
            isinstance(t, (ast.Attribute, ast.Subscript)) and _ast_root(t) == root for t in targets
        ):
            return True
        if isinstance(node, ast.Call):
            func = node.func
            values = [*node.args, *(k.value for k in node.keywords)]
            if (
                (
                    isinstance(func, ast.Attribute)
                    and _ast_root(func.value) == root
                    and func.attr not in READ_ONLY_METHODS
                )
                or any(
                    isinstance(value, ast.Name) and value.id == root
                    for value in (v.value if isinstance(v, ast.Starred) else v for v in values)
                )
            ) and _ast_key(node) != key:
                return True
    return False


def _ast_evaluates(node: ast.AST, key: CallKey) -> bool:
    """`_evaluates` on the AST (calls compared by `_ast_key`)."""
    if isinstance(node, ast.Call) and _ast_key(node) == key:
        return True
    if isinstance(node, (ast.Lambda, *COMPREHENSIONS)):
        return False
    if isinstance(node, ast.IfExp):
        return _ast_evaluates(node.test, key)
    if isinstance(node, ast.BoolOp):
        return _ast_evaluates(node.values[0], key)
    return any(_ast_evaluates(child, key) for child in ast.iter_child_nodes(node))


def _ast_always_runs(statements: Sequence[ast.stmt], key: CallKey) -> bool:
    """`always_runs` on a block of statements."""
    return any(_ast_statement_runs(statement, key) for statement in statements)


def _ast_statement_runs(node: ast.stmt, key: CallKey) -> bool:
    if isinstance(node, ast.If):
        return _ast_evaluates(node.test, key) or (
            bool(node.orelse)
            and _ast_always_runs(node.body, key)
            and _ast_always_runs(node.orelse, key)
        )
    if isinstance(node, (ast.With, ast.AsyncWith)):
        return any(_ast_evaluates(item, key) for item in node.items) or _ast_always_runs(
            node.body, key
        )
    if isinstance(node, TRY_NODES):
        return _ast_always_runs(node.body, key) or _ast_always_runs(node.finalbody, key)
    if isinstance(node, (ast.For, ast.AsyncFor)):
        return _ast_evaluates(node.iter, key)
    if isinstance(node, ast.While):
        return _ast_evaluates(node.test, key)
    if isinstance(node, (*FUNCTION_DEFS, ast.ClassDef, ast.Match)):
        return False
    return _ast_evaluates(node, key)


def _ast_block_path(chain: Sequence[ast.AST], call: ast.Call) -> BlockPath | None:
    """The blocks around `call` below its function, outermost first, as (statement, field);
    None inside a `match` statement."""
    path: BlockPath = []
    for statement in chain:
        if isinstance(statement, (ast.Match, ast.match_case)):
            return None
        field = next(
            (
                name
                for name in BODIES
                if (items := getattr(statement, name, None))
                and _ast_within(call, items[0], items[-1])
            ),
            None,
        )
        if field is None:
            break
        path.append((statement, field))
    return path


def _ast_branch(statement: ast.AST, field: str) -> bool:
    """Do the statements in `field` of `statement` run only on some paths (the body or `else`
    of an `if` or a loop, an `except` or `try`'s `else`)?"""
    return isinstance(statement, (ast.If, *LOOP_STATEMENTS, ast.ExceptHandler)) or (
        isinstance(statement, TRY_NODES) and field == "orelse"
    )


def _ast_conditional(statement: ast.AST, call: ast.Call) -> bool:
    """Is `call`, in `statement`'s own expressions, in a lambda, a comprehension, a branch of
    `... if ... else ...` or an operand after the first of `and`/`or`?"""
    stack = [statement]
    while stack:
        node = stack.pop()
        parts: list[ast.expr] = []
        if isinstance(node, (ast.Lambda, *COMPREHENSIONS)):
            parts = [node]
        elif isinstance(node, ast.IfExp):
            parts = [node.body, node.orelse]
        elif isinstance(node, ast.BoolOp):
            parts = node.values[1:]
        if any(_ast_within(call, part, part) for part in parts):
            return True
        for _, value in ast.iter_fields(node):
            if isinstance(value, ast.expr):
                stack.append(value)
            elif isinstance(value, list):
                stack.extend(v for v in value if isinstance(v, (ast.expr, ast.withitem)))
    return False


def _ast_repeats(members: Sequence[tuple[ast.Call, BlockPath | None]]) -> bool:
    """Could `_repeat_hoist` hold for some of `members` (calls with their block paths): two
    of them that reach their innermost common block without entering a branch."""
    for (_, first), (_, second) in itertools.combinations(members, 2):
        if first is None or second is None:
            return True
        common = 0
        for (a, a_field), (b, b_field) in zip(first, second, strict=False):
            if a is not b or a_field != b_field:
                break
            common += 1
        if not any(_ast_branch(*entry) for entry in first[common:] + second[common:]):
            return True
    return False


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

    ## Limitations
    Dynamiq's own callback loops call `self.to_dict(**dict_kwargs)` with arguments that
    change per callback; they are not reported, although caching one result per argument set
    would help. Comprehensions are not treated as loops, and a serialization that a helper
    method repeats on every call is not followed.
    """

    CODE = "CAC003"
    NAME = "repeated-serialization"
    SEVERITY = Severity.OPTIMIZATION
    CATEGORY = "caching"
    FIX = FixSafety.UNSAFE
    FRAMEWORKS = ("dynamiq", "pocketflow", "kaygraph", "pflow")
    MESSAGE = "`{call}` is evaluated {where} in `{function}()`; compute it once"
    TRIGGERS = ("to_dict", "model_dump", "dumps", "encode")
    METADATA_DEPENDENCIES = DEPENDENCIES
    REACH = "function"

    @classmethod
    def ast_candidate(cls, view: FileView) -> Sites:
        """Each call that may be a `serialization` (`_ast_serialization`) in a function's own
        code: on every iteration of its innermost loop, a `for` that does not visibly change
        it (`_ast_may_change`) and whose body always runs such a call; or, outside loops, one
        of two or more in one function, two of which run whenever their innermost common block
        does (`_ast_repeats`)."""
        sites: list[ast.AST] = []
        repeats: dict[tuple[int, CallKey], list[tuple[ast.Call, BlockPath | None]]] = {}
        for call in view.calls_to(*SERIALIZER_CALL_NAMES):
            subject = _ast_serialization(view, call)
            if subject is None:
                continue
            chain = view.enclosing(call.lineno)
            index = innermost(chain)
            func = chain[index] if index is not None else None
            if (
                index is None
                or not isinstance(func, FUNCTION_DEFS)
                or not _ast_within(call, func.body[0], func.body[-1])
            ):
                continue
            below, key = chain[index + 1 :], _ast_key(call)
            loop = _ast_iteration_loop(below, call)
            if loop is None:
                path = _ast_block_path(below, call)
                statement = (
                    below[len(path)] if path is not None and len(path) < len(below) else None
                )
                if statement is None or not _ast_conditional(statement, call):
                    repeats.setdefault((id(func), key), []).append((call, path))
            elif (
                isinstance(loop, (ast.For, ast.AsyncFor))
                and not _ast_may_change(loop, call, subject, key)
                and _ast_always_runs(loop.body, key)
            ):
                sites.append(call)
        return sites + [
            call for group in repeats.values() if _ast_repeats(group) for call, _ in group
        ]

    def visit_Module(self, node: cst.Module) -> None:
        self.calls: dict[cst.FunctionDef, list[cst.Call]] = {}

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value not in SERIALIZER_CALL_NAMES:
            return
        owner = scope_owner(self, node)
        if isinstance(owner, cst.FunctionDef):
            self.calls.setdefault(owner, []).append(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        calls = self.calls.pop(original_node, [])
        for hoist in serialization_hoists(self, original_node, calls):
            count = f"{len(hoist.calls)} times"
            self.report(
                hoist.calls[0],
                fix=FixSafety.NONE if hoist.reason else FixSafety.UNSAFE,
                note=hoist.reason,
                call=code_excerpt(hoist.calls[0]),
                where="on every iteration of a loop" if hoist.kind == "loop" else count,
                function=original_node.name.value,
            )
