"""Caching rules: work redone on every call that could be done once and reused."""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import libcst as cst
from libcst.metadata import ImportAssignment, PositionProvider

from flowfix.detectors.legacy.connections import ast_cached
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
    bound_names,
    conflicting_binding,
    is_cached_function,
    is_env_lookup,
    is_module_level_name,
    iteration_loop,
    local_bindings,
    method_class,
    names_bound_in,
    own_nodes,
    parent,
    qualified_names,
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


# --- CAC002 ---------------------------------------------------------------------------------

LOADERS = frozenset({"json.load", "json.loads", "yaml.safe_load", "yaml.load"})
OPEN_FUNCTIONS = frozenset({"builtins.open", "io.open"})
PATH_FUNCTIONS = frozenset(
    {
        "pathlib.Path",
        "pathlib.PurePath",
        "pathlib.PosixPath",
        "pathlib.Path.home",
        "os.path.join",
        "os.path.expanduser",
        "os.path.expandvars",
        "os.path.abspath",
        "os.path.realpath",
        "os.path.dirname",
        "os.path.normpath",
        "os.fspath",
        "builtins.str",
    }
)
PATH_METHODS = frozenset(
    {"expanduser", "resolve", "absolute", "joinpath", "with_name", "with_suffix", "with_stem"}
)
READ_METHODS = frozenset({"read_text", "read_bytes", "read"})
WRITE_METHODS = frozenset({"write_text", "write_bytes", "unlink", "touch"})
MOVE_FUNCTIONS = frozenset(
    {"os.replace", "os.rename", "shutil.move", "shutil.copy", "shutil.copyfile", "shutil.copy2"}
)
MUTATING_METHODS = frozenset(
    {
        "append",
        "extend",
        "insert",
        "update",
        "pop",
        "popitem",
        "setdefault",
        "clear",
        "remove",
        "sort",
        "reverse",
        "add",
        "discard",
        "__setitem__",
        "__delitem__",
    }
)
ALIASING_METHODS = frozenset({"get", "setdefault", "items", "values", "keys"})
PATH_SUFFIXES = ("_path", "_file", "_filename")
# Last names of the calls `_written_target` may take for a write.
WRITER_CALL_NAMES = frozenset(
    {
        "open",
        "replace",
        "rename",
        "remove",
        *WRITE_METHODS,
        *(name.rsplit(".", 1)[-1] for name in MOVE_FUNCTIONS),
    }
)


@dataclass(frozen=True)
class ConfigLoad:
    """A load of a constant-path config file inside a function.

    `call` is the `json.load(...)`-like call; `replaced` the node a cached loader call
    replaces (the call itself, or the `with open(...)` statement around it); `path` the path
    expression as written and `local_paths` the locals it reads, with their constant values.
    """

    call: cst.Call
    replaced: cst.Call | cst.With
    path: cst.BaseExpression
    local_paths: dict[str, cst.BaseExpression]
    func: cst.FunctionDef


def _callee(reader: MetadataReader, node: cst.BaseExpression, targets: frozenset[str]) -> bool:
    return isinstance(node, cst.Call) and resolves_to(reader, node.func, targets) is not None


def _first_argument(call: cst.Call) -> cst.BaseExpression | None:
    if call.args and call.args[0].keyword is None and not call.args[0].star:
        return call.args[0].value
    return None


def _read_mode(call: cst.Call) -> bool:
    """`open(...)`/`.open(...)` without a mode or with a read-only literal mode."""
    for index, arg in enumerate(call.args):
        keyword = arg.keyword.value if arg.keyword is not None else None
        position = 1 if isinstance(call.func, cst.Name) else 0
        if keyword == "mode" or (keyword is None and index == position):
            return isinstance(arg.value, cst.SimpleString) and not set(
                str(arg.value.evaluated_value)
            ) & set("wax+")
    return True


def _read_path(reader: MetadataReader, node: cst.BaseExpression) -> cst.BaseExpression | None:
    """`P` for `P.read_text()`, `P.read_bytes()` or `open(P).read()`."""
    if (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value in READ_METHODS
    ):
        receiver = node.func.value
        opened = _opened_path(reader, receiver)
        if opened is not None:
            return opened
        return receiver if node.func.attr.value != "read" else None
    return None


def _with_source(
    reader: MetadataReader, name: cst.Name, call: cst.Call
) -> tuple[cst.With, cst.BaseExpression] | None:
    """(the `with` statement, `P`) when `name` is bound by `with open(P) as name:` around `call`."""
    current = parent(reader, call)
    while current is not None and not isinstance(current, (cst.FunctionDef, cst.Lambda)):
        if isinstance(current, cst.With):
            for item in current.items:
                target = item.asname.name if item.asname is not None else None
                if isinstance(target, cst.Name) and target.value == name.value:
                    path = _opened_path(reader, item.item)
                    return (current, path) if path is not None else None
        current = parent(reader, current)
    return None


def single_assignment(func: cst.FunctionDef, name: str) -> cst.BaseExpression | None:
    """The value of `name = value` when that is the only binding of `name` in `func`."""
    params = func.params
    every = [*params.posonly_params, *params.params, *params.kwonly_params]
    stars = [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
    if any(param.name.value == name for param in [*every, *stars]):
        return None
    found: list[cst.BaseExpression] = []
    bindings = sum(name in names for names, _ in local_bindings(func))
    for node in own_nodes(func.body):
        if isinstance(node, (cst.Assign, cst.AnnAssign)) and node.value is not None:
            targets = (
                [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
            )
            if any(isinstance(t, cst.Name) and t.value == name for t in targets):
                found.append(node.value)
    return found[0] if bindings == 1 and len(found) == 1 else None


class _PathResolver:
    """Decides whether a path expression has the same value on every call of `func`."""

    def __init__(self, reader: MetadataReader, func: cst.FunctionDef) -> None:
        self.reader, self.func = reader, func
        self.locals: dict[str, cst.BaseExpression] = {}

    def constant(self, node: cst.BaseExpression | None, depth: int = 0) -> bool:
        if node is None or depth > 8:
            return False
        if isinstance(node, (cst.SimpleString, cst.Integer)):
            return True
        if isinstance(node, cst.ConcatenatedString):
            return self.constant(node.left, depth) and self.constant(node.right, depth)
        if isinstance(node, cst.FormattedString):
            return all(
                self.constant(part.expression, depth)
                for part in node.parts
                if isinstance(part, cst.FormattedStringExpression)
            )
        if isinstance(node, cst.Name):
            return self._constant_name(node, depth)
        if isinstance(node, cst.Attribute):
            return self.constant(node.value, depth)
        if isinstance(node, cst.BinaryOperation):
            return isinstance(node.operator, (cst.Divide, cst.Add)) and (
                self.constant(node.left, depth) and self.constant(node.right, depth)
            )
        if isinstance(node, cst.Call):
            return self._constant_call(node, depth)
        return False

    def _constant_name(self, node: cst.Name, depth: int) -> bool:
        if node.value == "__file__" or node.value in self.locals:
            return True
        if is_module_level_name(self.reader, node):
            return True
        value = single_assignment(self.func, node.value)
        if value is not None and self.constant(value, depth + 1):
            self.locals[node.value] = value
            return True
        return False

    def _constant_call(self, node: cst.Call, depth: int) -> bool:
        if any(arg.star for arg in node.args):
            return False
        if not all(self.constant(arg.value, depth) for arg in node.args):
            return False
        if is_env_lookup(self.reader, node):
            return True
        if qualified_names(self.reader, node.func) & PATH_FUNCTIONS:
            return True
        func = node.func
        return (
            isinstance(func, cst.Attribute)
            and func.attr.value in PATH_METHODS
            and self.constant(func.value, depth)
        )

    def key(self, node: cst.BaseExpression) -> str:
        """The path's identity: its code with constant locals replaced by their values."""
        return code_of(substitute(node, self.locals))


def substitute(node: cst.CSTNodeT, values: dict[str, cst.BaseExpression]) -> cst.CSTNodeT:
    """`node` with every read of a name in `values` replaced by that expression (itself
    substituted, and parenthesized when it is an operation)."""
    if not values:
        return node
    labels: set[int] = set()

    class _Labels(cst.CSTVisitor):
        def visit_Attribute(self, attribute: cst.Attribute) -> None:
            labels.add(id(attribute.attr))

        def visit_Arg(self, arg: cst.Arg) -> None:
            if arg.keyword is not None:
                labels.add(id(arg.keyword))

    node.visit(_Labels())

    class _Substitute(cst.CSTTransformer):
        def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
            value = values.get(original_node.value)
            if value is None or id(original_node) in labels:
                return updated_node
            rest = {name: expr for name, expr in values.items() if name != original_node.value}
            inlined = substitute(value, rest)
            if isinstance(inlined, (cst.BinaryOperation, cst.BooleanOperation)):
                return inlined.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
            return inlined

    return node.visit(_Substitute())  # type: ignore[return-value]


def _is_import(reader: MetadataReader, name: cst.Name) -> bool:
    """`name` is bound by an import (a module, not a path)."""
    scope = reader.get_metadata(ScopeProvider, name, None)
    if scope is None or name.value not in scope:  # type: ignore[operator]
        return False
    return any(isinstance(a, ImportAssignment) for a in scope[name.value])  # type: ignore[index]


def _opened_path(reader: MetadataReader, node: cst.BaseExpression) -> cst.BaseExpression | None:
    """`P` for `open(P)` / `open(P, "r")` / `P.open()` (not `module.open(...)`)."""
    if not isinstance(node, cst.Call) or not _read_mode(node):
        return None
    if _callee(reader, node, OPEN_FUNCTIONS):
        return _first_argument(node)
    func = node.func
    if isinstance(func, cst.Attribute) and func.attr.value == "open":
        receiver = func.value
        if isinstance(receiver, cst.Name) and _is_import(reader, receiver):
            return None
        return receiver
    return None


def _source_path(
    reader: MetadataReader, call: cst.Call
) -> tuple[cst.Call | cst.With, cst.BaseExpression] | None:
    """(the node a cached loader replaces, the path) for a loader call reading a file."""
    source = _first_argument(call)
    if source is None:
        return None
    path = _opened_path(reader, source) or _read_path(reader, source)
    if path is not None:
        return call, path
    if isinstance(source, cst.Name):
        return _with_source(reader, source, call)
    return None


def config_load(reader: MetadataReader, call: cst.Call) -> tuple[ConfigLoad, str] | None:
    """(the load, the path's identity) when `call` loads a constant-path file per call."""
    if resolves_to(reader, call.func, LOADERS) is None:
        return None
    func = runs_in_function(reader, call)
    found = _source_path(reader, call) if func is not None else None
    if found is None or func is None:
        return None
    replaced, path = found
    resolver = _PathResolver(reader, func)
    if not resolver.constant(path):
        return None
    return ConfigLoad(call, replaced, path, dict(resolver.locals), func), resolver.key(path)


class _Calls(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found: list[cst.Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        self.found.append(node)


def _written_target(reader: MetadataReader, call: cst.Call) -> cst.BaseExpression | None:
    """The path a call writes, moves onto or deletes, if it is one."""
    func = call.func
    receiver = func.value if isinstance(func, cst.Attribute) else None
    method = func.attr.value if isinstance(func, cst.Attribute) else ""
    first = _first_argument(call)
    if method == "open" or _callee(reader, call, OPEN_FUNCTIONS):
        return None if _read_mode(call) else receiver if method == "open" else first
    if method in WRITE_METHODS:
        return receiver
    if _callee(reader, call, MOVE_FUNCTIONS):  # before `.replace`: `os.replace(src, dst)`
        return call.args[1].value if len(call.args) >= 2 else None
    if method in {"replace", "rename"} and first is not None:  # `Path.replace(dst)`
        return first
    if _callee(reader, call, frozenset({"os.remove", "os.unlink"})):
        return first
    return None


def written_paths(reader: MetadataReader, module: cst.Module) -> set[str]:
    """Identities of the paths the module writes anywhere (a file it writes is not constant)."""
    calls = _Calls()
    module.visit(calls)
    keys: set[str] = set()
    for call in calls.found:
        target = _written_target(reader, call)
        if target is None:
            continue
        func = scope_owner(reader, call)
        if isinstance(func, cst.FunctionDef):
            resolver = _PathResolver(reader, func)
            resolver.constant(target)
            keys.add(resolver.key(target))
        else:
            keys.add(code_of(target))
    return keys


def _aliases(node: cst.CSTNode | None, names: set[str]) -> bool:
    """`node` evaluates to (part of) the object some name in `names` holds."""
    if isinstance(node, cst.Name):
        return node.value in names
    if isinstance(node, (cst.Attribute, cst.Subscript)):
        return root_name(node) in names
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        return node.func.attr.value in ALIASING_METHODS and _aliases(node.func.value, names)
    if isinstance(node, cst.BooleanOperation):
        return _aliases(node.left, names) or _aliases(node.right, names)
    if isinstance(node, cst.IfExp):
        return _aliases(node.body, names) or _aliases(node.orelse, names)
    return False


def result_name(reader: MetadataReader, value: cst.BaseExpression) -> str | None:
    """The local `name` in `name = <value>` (or `name: T = <value>`)."""
    owner = parent(reader, value)
    if isinstance(owner, cst.Assign) and owner.value is value and len(owner.targets) == 1:
        target = owner.targets[0].target
        return target.value if isinstance(target, cst.Name) else None
    if isinstance(owner, cst.AnnAssign) and owner.value is value:
        return owner.target.value if isinstance(owner.target, cst.Name) else None
    return None


def _holder(reader: MetadataReader, call: cst.Call) -> tuple[cst.BaseExpression, bool]:
    """The outermost expression that still holds (part of) the call's result, and whether a
    mutating method is called on it on the way (`load()["k"].append(...)`)."""
    node: cst.BaseExpression = call
    while True:
        owner = parent(reader, node)
        if isinstance(owner, (cst.Attribute, cst.Subscript)) and owner.value is node:
            grand = parent(reader, owner)
            if isinstance(owner, cst.Attribute) and isinstance(grand, cst.Call):
                if owner.attr.value in MUTATING_METHODS:
                    return grand, True
                if owner.attr.value not in ALIASING_METHODS:
                    return node, False
                node = grand
                continue
            node = owner
        elif isinstance(owner, (cst.BooleanOperation, cst.IfExp)) and (
            not isinstance(owner, cst.IfExp) or owner.test is not node
        ):
            node = owner
        else:
            return node, False


def mutates_result(reader: MetadataReader, load: ConfigLoad) -> bool:
    """The function changes the loaded object in place (through any local alias of it)."""
    holder, mutated = _holder(reader, load.call)
    name = result_name(reader, holder)
    if mutated or name is None:
        return mutated
    names = {name}
    bindings = local_bindings(load.func)
    changed = True
    while changed:
        changed = False
        for bound, source in bindings:
            if bound - names and _aliases(source, names):
                names |= bound
                changed = True
    for node in own_nodes(load.func.body):
        targets: list[cst.BaseExpression] = []
        if isinstance(node, cst.Assign):
            targets = [t.target for t in node.targets]
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign)):
            targets = [node.target]
        elif isinstance(node, cst.Del):
            targets = [node.target]
        if any(
            isinstance(t, (cst.Attribute, cst.Subscript)) and root_name(t) in names for t in targets
        ):
            return True
        if isinstance(node, cst.AugAssign) and _aliases(node.target, names):
            return True
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value in MUTATING_METHODS
            and _aliases(node.func.value, names)
        ):
            return True
    return False


@dataclass(frozen=True)
class LoaderPlan:
    """CAC002's rewrite: a `functools.cache` loader named after `stem`, placed before `anchor`.

    `statement` is, for a `with open(...)` load, the one statement in the `with` body.
    """

    anchor: cst.FunctionDef | cst.ClassDef
    stem: str
    statement: cst.SimpleStatementLine | None


def _with_statement(load: ConfigLoad) -> cst.SimpleStatementLine | str:
    """The only statement of the `with` body (`name = load(f)` / `return load(f)`)."""
    block = load.replaced
    assert isinstance(block, cst.With)
    body = block.body
    if (
        block.asynchronous is not None
        or len(block.items) != 1
        or not isinstance(body, cst.IndentedBlock)
        or len(body.body) != 1
        or not isinstance(body.body[0], cst.SimpleStatementLine)
        or len(body.body[0].body) != 1
    ):
        return "the `with` block does more than load the file"
    statement = body.body[0]
    small = statement.body[0]
    if isinstance(small, cst.Return) and small.value is load.call:
        return statement
    if (
        isinstance(small, cst.Assign)
        and small.value is load.call
        and len(small.targets) == 1
        and isinstance(small.targets[0].target, cst.Name)
    ):
        return statement
    return "the `with` block does more than load the file"


def _local_reads(reader: MetadataReader, load: ConfigLoad) -> list[str]:
    """Names the loader code would read that are not module-level (the path's locals aside)."""
    skip = set(load.local_paths)
    if isinstance(load.replaced, cst.With):
        item = load.replaced.items[0]
        if item.asname is not None:
            skip |= bound_names(item.asname.name)
    root = load.replaced.items[0].item if isinstance(load.replaced, cst.With) else load.call
    nodes: list[cst.CSTNode] = [root, *own_nodes(root)]
    if root is not load.call:
        nodes += [load.call, *own_nodes(load.call)]
    labels = {id(node.attr) for node in nodes if isinstance(node, cst.Attribute)} | {
        id(node.keyword) for node in nodes if isinstance(node, cst.Arg) and node.keyword
    }
    return sorted(
        {
            node.value
            for node in nodes
            if isinstance(node, cst.Name)
            and id(node) not in labels
            and node.value not in skip
            and node.value != "__file__"
            and not is_module_level_name(reader, node)
        }
    )


def path_stem(path: cst.BaseExpression) -> str:
    """A loader name stem: the file name without extension, or the path constant's name."""
    strings = [n for n in (path, *own_nodes(path)) if isinstance(n, cst.SimpleString)]
    for string in reversed(strings):
        value = str(string.evaluated_value).replace("\\", "/").rsplit("/", 1)[-1]
        stem = re.sub(r"\W+", "_", value.split(".", 1)[0]).strip("_").lower()
        if stem and not stem[0].isdigit():
            return stem
    names = [n.value for n in (path, *own_nodes(path)) if isinstance(n, cst.Name)]
    for name in reversed(names):
        stem = name.lower().strip("_")
        for suffix in PATH_SUFFIXES:
            stem = stem.removesuffix(suffix)
        if stem and stem not in {"file", "path", "os", "pathlib"}:
            return stem
    return "config"


def loader_plan(reader: MetadataReader, load: ConfigLoad) -> LoaderPlan | str:
    """How the load moves into a cached loader, or why it cannot."""
    if conflicting_binding(reader, load.call, "functools"):
        return "the name `functools` is bound to something else here"
    if mutates_result(reader, load):
        return "the function changes the loaded object; a cached object would carry the change"
    statement = None
    if isinstance(load.replaced, cst.With):
        found = _with_statement(load)
        if isinstance(found, str):
            return found
        statement = found
    local = _local_reads(reader, load)
    if local:
        return f"the load reads local name `{local[0]}`"
    anchor: cst.FunctionDef | cst.ClassDef = load.func
    current = parent(reader, load.func)
    while current is not None:
        if isinstance(current, (cst.FunctionDef, cst.ClassDef)):
            anchor = current
        current = parent(reader, current)
    path = substitute(load.path, load.local_paths)
    return LoaderPlan(anchor=anchor, stem=path_stem(path), statement=statement)


LOADER_NAMES = frozenset(name.rsplit(".", 1)[-1] for name in LOADERS)
PATH_CALL_NAMES = frozenset(
    name.rsplit(".", 1)[-1] for name in PATH_FUNCTIONS | {"os.getenv", "os.environ.get"}
)


AstScope = dict[str, list[ast.expr] | None]


def _ast_scope(func: ast.FunctionDef | ast.AsyncFunctionDef) -> AstScope:
    """The names `func` surely binds in its own scope: parameters (None), and others with the
    values of their plain `name = value` assignments; `global`/`nonlocal` names left out."""
    args = func.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    scope: AstScope = {arg.arg: None for arg in every if arg is not None}
    declared: set[str] = set()
    stack: list[ast.AST] = list(func.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
        if isinstance(node, (*SCOPE_DEFS, ast.Lambda, *COMPREHENSIONS)) or (
            isinstance(node, ast.AnnAssign) and node.value is None
        ):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            scope.setdefault(node.id, [])
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                values = scope.setdefault(target.id, []) if isinstance(target, ast.Name) else None
                if values is not None and node.value is not None:
                    values.append(node.value)
        stack.extend(ast.iter_child_nodes(node))
    return {name: values for name, values in scope.items() if name not in declared}


def _ast_opened(node: ast.expr) -> list[ast.expr]:
    """What may be `P` when `node` may be `open(P, ...)`, `io.open(P)` or `P.open(...)` (the
    mode is not checked)."""
    if not isinstance(node, ast.Call):
        return []
    first = [node.args[0]] if node.args and not isinstance(node.args[0], ast.Starred) else []
    if isinstance(node.func, ast.Attribute):
        return [node.func.value, *first] if node.func.attr == "open" else []
    return first if isinstance(node.func, ast.Name) else []  # `open` or an alias of it


def _ast_read(node: ast.expr) -> list[ast.expr]:
    """What may be `P` for `P.read_text()`, `P.read_bytes()` or `open(P).read()`."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in READ_METHODS
    ):
        return [*_ast_opened(node.func.value), node.func.value]
    return []


def _ast_constant(node: ast.expr, scope: AstScope, depth: int = 0) -> bool:
    """Could `_PathResolver.constant` hold for `node`: built from literals, names not bound in
    the function (`scope`), locals assigned such a value, and path or environment calls on
    such values."""
    if depth > 8:
        return False
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.JoinedStr):
        return all(
            _ast_constant(part.value, scope, depth)
            for part in node.values
            if isinstance(part, ast.FormattedValue)
        )
    if isinstance(node, ast.Name):
        if node.id == "__file__" or node.id not in scope:
            return True
        values = scope[node.id]
        return values is not None and any(_ast_constant(v, scope, depth + 1) for v in values)
    if isinstance(node, ast.Attribute):
        return _ast_constant(node.value, scope, depth)
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, (ast.Div, ast.Add)) and (
            _ast_constant(node.left, scope, depth) and _ast_constant(node.right, scope, depth)
        )
    if isinstance(node, ast.Call):
        if any(isinstance(arg, ast.Starred) for arg in node.args) or any(
            keyword.arg is None for keyword in node.keywords
        ):
            return False
        values = [*node.args, *(keyword.value for keyword in node.keywords)]
        if not all(_ast_constant(value, scope, depth) for value in values):
            return False
        func = node.func
        if isinstance(func, ast.Name):
            return True  # may be `Path`, `str`, `getenv`, `join`, ... imported by name
        return isinstance(func, ast.Attribute) and (
            func.attr in PATH_CALL_NAMES
            or (func.attr in PATH_METHODS and _ast_constant(func.value, scope, depth))
        )
    return False


class ConfigReloadedPerCall(Detector):
    """A config file at a fixed path is read and parsed again on every call.

    ## Why is this bad?
    Parsing JSON or YAML costs time proportional to the file: pflow's analysis measures
    about 50 ms to load its 0.5-1 MB node registry, paid on every command and every
    compilation that loads it again. When the path is a constant (a literal, a module
    constant, `Path.home() / ...`, `Path(__file__).parent / ...`), every call reads the same
    file and gets the same result, so it can be loaded once per process.

    ## Example
    ```python
    import json
    from pathlib import Path

    REGISTRY = Path.home() / ".pflow" / "registry.json"


    def node_metadata(node_type):
        registry = json.loads(REGISTRY.read_text())
        return registry[node_type]
    ```

    ## Use instead
    ```python
    import json
    from pathlib import Path
    import functools

    REGISTRY = Path.home() / ".pflow" / "registry.json"


    @functools.cache
    def _load_registry():
        return json.loads(REGISTRY.read_text())


    def node_metadata(node_type):
        registry = _load_registry()
        return registry[node_type]
    ```

    ## Fix safety
    Unsafe: the load (`json.load(open(P))`, `json.loads(P.read_text())`,
    `yaml.safe_load(...)`, or a `with open(P) as f:` block whose only statement loads `f`)
    moves into a module-level `functools.cache` loader placed before the function, and the
    function calls it. Behaviour changes: the file is read once per process, so later edits
    by another process or module are not seen until restart, a relative path is resolved
    against the working directory of the first call, and every caller now gets the same
    object, so a caller that mutates it changes what the next caller sees. No fix is offered
    when the function itself mutates the loaded object, when the `with` block does more than
    load the file, or when the load reads other local names. A file that the same module
    writes (`open(P, "w")`, `P.write_text()`, `os.replace(..., P)`, ...) is not reported, nor
    are loads in cached functions, `main()`/`cli()`, or at module level.

    ## Metric to monitor
    Time spent in `json`/`yaml` parsing per request or command (a profiler's cumulative
    time), and command start-up latency.

    ## Limitations
    Paths read from `self` or from parameters are not constant and are not reported, even
    when every instance uses the same file.
    """

    CODE = "CAC002"
    NAME = "config-reloaded-per-call"
    SEVERITY = Severity.OPTIMIZATION
    CATEGORY = "caching"
    FIX = FixSafety.UNSAFE
    FRAMEWORKS = ("pflow", "dynamiq", "pocketflow", "kaygraph")
    MESSAGE = "`{loader}()` parses `{path}` again on every call of `{function}()`"
    TRIGGERS = ("json", "yaml")
    METADATA_DEPENDENCIES = DEPENDENCIES
    REACH = "function"

    @classmethod
    def ast_candidate(cls, view: FileView) -> Sites:
        """Each loader call in a function (no entry point, none around it cached) whose first
        argument reads a file (`open(P)`, `P.open()`, `P.read_text()`, `open(P).read()`, or
        a name a surrounding `with open(P) as name:` binds) at a path that may be constant;
        with them every call that may write a file (`written_paths` reads the whole module)."""
        if not (view.imports("json") or view.imports("yaml")):
            return False
        sites: list[ast.AST] = []
        for call in view.calls_to(*LOADER_NAMES):
            if not call.args:
                continue
            chain = view.enclosing(call.lineno)
            index = innermost(chain)
            if index is None or not isinstance(chain[index], FUNCTION_DEFS):
                continue
            func = chain[index]
            assert isinstance(func, FUNCTION_DEFS)
            if func.name in ENTRY_FUNCTIONS or any(
                ast_cached(s) for s in chain if isinstance(s, FUNCTION_DEFS)
            ):
                continue
            source = call.args[0]
            if isinstance(source, ast.Name):
                paths = [
                    path
                    for s in chain[index + 1 :]
                    if isinstance(s, (ast.With, ast.AsyncWith))
                    for item in s.items
                    if isinstance(item.optional_vars, ast.Name)
                    and item.optional_vars.id == source.id
                    for path in _ast_opened(item.context_expr)
                ]
            else:
                paths = [*_ast_opened(source), *_ast_read(source)]
            scope = _ast_scope(func)
            if any(_ast_constant(path, scope) for path in paths):
                sites.append(call)
        return sites and [*sites, *view.calls_to(*WRITER_CALL_NAMES)]

    def visit_Module(self, node: cst.Module) -> None:
        self.module = node
        self.writes: set[str] | None = None

    def visit_Call(self, node: cst.Call) -> None:
        found = config_load(self, node)
        if found is None:
            return
        load, key = found
        if self.writes is None:
            self.writes = written_paths(self, self.module)
        if key in self.writes:
            return
        plan = loader_plan(self, load)
        fix, note = (FixSafety.NONE, plan) if isinstance(plan, str) else (FixSafety.UNSAFE, "")
        self.report(
            node,
            fix=fix,
            note=note,
            loader=resolves_to(self, node.func, LOADERS),
            path=code_excerpt(load.path, 50),
            function=load.func.name.value,
        )


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
