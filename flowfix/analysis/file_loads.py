"""What a function's own code does that CAC005 follows through the call graph: the files it
reads and parses from a path its object holds (`json.loads(self.path.read_text())`), and the
calls it makes, with their receivers (`self`, an object built for the call, any other).

It reads only the function's syntax tree and a `qualify` callback that turns a dotted name
written in the function's module into a project-wide one, so flowfix.project can keep the
answers as strings for every function it indexes."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from flowfix.analysis.model import DEFINITIONS, FunctionNode, children
from flowfix.analysis.values import dotted_name, root_name

LOADERS = frozenset(
    {
        "json.load",
        "json.loads",
        "yaml.load",
        "yaml.safe_load",
        "yaml.full_load",
        "tomllib.load",
        "tomllib.loads",
        "toml.load",
        "toml.loads",
    }
)
LOADER_NAMES = frozenset(name.rsplit(".", 1)[-1] for name in LOADERS)
READ_METHODS = frozenset({"read_text", "read_bytes"})
WRITE_METHODS = frozenset({"write_text", "write_bytes"})
WRITE_WORDS = ("write", "save", "replace", "dump", "rename", "move")
MOVES = frozenset({"os.replace", "os.rename", "shutil.move", "shutil.copy", "shutil.copyfile"})
OPEN_FUNCTIONS = frozenset({"open", "builtins.open", "io.open"})
Receiver = Literal["self", "fresh", "other"]
BINDING_NODES = (
    ast.Assign,
    ast.AnnAssign,
    ast.AugAssign,
    ast.For,
    ast.AsyncFor,
    ast.withitem,
    ast.NamedExpr,
)


@dataclass(frozen=True)
class Load:
    """A file read and parsed from a path the object holds; `guarded` when it runs only while
    a cache attribute of the object is empty (`if self._data is None: ...`)."""

    shown: str
    guarded: bool


@dataclass(frozen=True)
class Site:
    """A call: its project-wide target, whether a cache attribute guards it, the receiver
    (`self.m()`, `Class(...).m()` or a local built by `Class(...)`: "fresh", else "other"),
    whether it runs only on some paths (a branch, a loop body, a handler), its position, and
    its node (None once stored in the index)."""

    target: str
    guarded: bool
    receiver: Receiver
    conditional: bool = False
    position: tuple[int, int, int, int] = (0, 0, 0, 0)  # the call's span, as `ast` gives it
    node: ast.Call | None = None


@dataclass(frozen=True)
class FileLoads:
    """What the call graph keeps of a function's `FunctionLoads`: strings, no nodes."""

    loads: list[Load]
    sites: list[Site]
    writes: bool


def instance_name(func: FunctionNode) -> str | None:
    """The first positional parameter, for a method (`self`)."""
    params = [*func.args.posonlyargs, *func.args.args]
    return params[0].arg if params else None


class FunctionLoads:
    """The loads and call sites of one function's own body (nested defs run elsewhere)."""

    def __init__(
        self, func: FunctionNode, qualify: Callable[[str], str], method: bool = False
    ) -> None:
        self.qualify = qualify
        self.qualified: dict[str, str] = {}
        self.this = instance_name(func) if method else None
        self.assigned_attrs: set[str] = set()
        self.reads: dict[str, ast.expr] = {}  # local name → the path it holds the file of
        self.classes: dict[str, tuple[str, bool]] = {}  # local name → (class, built here)
        self._locals(func)
        self.loads: list[Load] = []
        self.sites: list[Site] = []
        # The function always writes a file its object holds (`self.path.write_text(...)`,
        # `open(self.path, "w")`, `tmp.replace(self.path)`): a load next to it reads back.
        self.writes = False
        self.conditional = False
        self._block(func.body, False)

    # --- locals ---------------------------------------------------------------------------

    def _locals(self, func: FunctionNode) -> None:
        """Parameters typed by a class, locals holding a file read or an object built here,
        and the attributes of the object the function assigns (one pass)."""
        args = func.args
        for param in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            cls = _annotated_class(param.annotation)
            if cls is not None and param.arg != self.this:
                self.classes[param.arg] = (cls, False)
        counts: dict[str, int] = {}
        for node in _own_nodes(func):
            if isinstance(node, ast.Attribute):
                if isinstance(node.ctx, ast.Store) and _is_name(node.value, self.this):
                    self.assigned_attrs.add(node.attr)
                continue
            if not isinstance(node, BINDING_NODES):
                continue
            for name, value in _bindings(node):
                counts[name] = counts.get(name, 0) + 1
                path = self._read_path(value) if value is not None else None
                if path is not None:
                    self.reads[name] = path
                elif isinstance(value, ast.Call):
                    built = dotted_name(value.func)
                    if built and built.rsplit(".", 1)[-1][:1].isupper():
                        self.classes[name] = (built, True)
        self.local_names = {
            *counts,
            *(p.arg for p in [*args.posonlyargs, *args.args, *args.kwonlyargs]),
            *(p.arg for p in (args.vararg, args.kwarg) if p is not None),
        }
        for name, count in counts.items():
            if count > 1:
                self.reads.pop(name, None)
                if self.classes.get(name, ("", False))[1]:
                    self.classes.pop(name)

    def _read_path(self, node: ast.expr) -> ast.expr | None:
        """`P` for `open(P)`, `P.open()`, `P.read_text()`, `open(P).read()` (read mode)."""
        if not isinstance(node, ast.Call):
            return None
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in READ_METHODS:
            return func.value
        if isinstance(func, ast.Attribute) and func.attr == "read":
            return self._read_path(func.value)
        if not _read_mode(node):
            return None
        if isinstance(func, ast.Name) and self._qualified(func.id) in OPEN_FUNCTIONS:
            return node.args[0] if node.args else None
        if isinstance(func, ast.Attribute) and func.attr == "open" and not node.args:
            return func.value
        return None

    # --- the body -------------------------------------------------------------------------

    def _block(self, statements: list[ast.stmt], guarded: bool) -> None:
        for statement in statements:
            self._visit(statement, guarded)
            if isinstance(statement, ast.If) and self._early_return(statement):
                guarded = True  # `if self._data is not None: return self._data`

    def _visit(self, node: ast.stmt, guarded: bool) -> None:
        if isinstance(node, DEFINITIONS):
            return
        if isinstance(node, ast.If):
            self._calls_in(node.test, guarded)
            outer, self.conditional = self.conditional, True
            self._block(node.body, guarded or self._memo_test(node.test))
            self._block(node.orelse, guarded)
            self.conditional = outer
            return
        blocks: list[tuple[str, list[ast.stmt]]] = []
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, ast.AST):
                self._calls_in(value, guarded)
            elif type(value) is list and value:
                if isinstance(value[0], ast.stmt):
                    blocks.append((name, value))
                elif isinstance(value[0], (ast.excepthandler, ast.match_case)):
                    outer, self.conditional = self.conditional, True
                    for item in value:
                        self._calls_in(
                            getattr(item, "type", None) or getattr(item, "guard", None), guarded
                        )
                        self._block(item.body, guarded)
                    self.conditional = outer
                else:
                    for item in value:
                        if isinstance(item, ast.AST):
                            self._calls_in(item, guarded)
        for name, block in blocks:
            outer = self.conditional
            # a `try` body and a `with` body always start; other blocks may not run
            self.conditional = outer or not (
                name == "body" and isinstance(node, (ast.Try, ast.With, ast.AsyncWith))
            )
            self._block(block, guarded)
            self.conditional = outer

    def _calls_in(self, root: ast.AST | None, guarded: bool) -> None:
        """Every call of an expression (lambdas run elsewhere), in source order."""
        stack = [root] if root is not None else []
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Lambda):
                continue
            if isinstance(node, ast.Call):
                self._call(node, guarded)
            below = children(node)
            below.reverse()
            stack.extend(below)

    def _memo_test(self, test: ast.expr) -> bool:
        """The test reads a cache attribute the function also assigns (`self._data`)."""
        return bool(self.assigned_attrs) and any(
            isinstance(node, ast.Attribute)
            and _is_name(node.value, self.this)
            and node.attr in self.assigned_attrs
            for node in ast.walk(test)
        )

    def _early_return(self, statement: ast.If) -> bool:
        return (
            not statement.orelse
            and isinstance(statement.body[-1], ast.Return)
            and self._memo_test(statement.test)
        )

    def _qualified(self, dotted: str) -> str:
        found = self.qualified.get(dotted)
        if found is None:
            found = self.qualified[dotted] = self.qualify(dotted)
        return found

    def _call(self, call: ast.Call, guarded: bool) -> None:
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        loader = dotted_name(func) if name in LOADER_NAMES else None
        if loader is not None and self._qualified(loader) in LOADERS and call.args:
            argument = call.args[0]
            if isinstance(argument, ast.Name) and argument.id in self.reads:
                path: ast.expr | None = self.reads[argument.id]
            else:
                path = self._read_path(argument)
            if path is not None and self.this is not None and root_name(path) == self.this:
                shown = f"{self._qualified(loader)}() of `{ast.unparse(path)}`"
                self.loads.append(Load(shown, guarded))
            return
        if not self.conditional and self._writes_own_file(call):
            self.writes = True
        site = self._site(call.func)
        if site is not None:
            target, receiver = site
            position = span_of(call)
            self.sites.append(Site(target, guarded, receiver, self.conditional, position, call))

    def _writes_own_file(self, call: ast.Call) -> bool:
        """`self.p.write_text(...)`, `open(self.p, "w")`, `x.replace(self.p)`,
        `os.replace(x, self.p)`, or `self.p` handed to a helper named for writing
        (`_replace_config_file(tmp, self.p)`): a write to a path the object holds."""
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in WRITE_METHODS:
            return root_name(func.value) == self.this
        targets: list[ast.expr] = []
        if isinstance(func, ast.Attribute) and func.attr in {"replace", "rename"}:
            targets = call.args[:1]
        callee = dotted_name(func)
        qualified = self._qualified(callee) if callee else ""
        if qualified in MOVES:
            targets = call.args[1:2]
        elif qualified in OPEN_FUNCTIONS and not _read_mode(call):
            targets = call.args[:1]
        elif callee and any(word in callee.rsplit(".", 1)[-1].lower() for word in WRITE_WORDS):
            targets = [*call.args, *(keyword.value for keyword in call.keywords)]
        return any(root_name(target) == self.this for target in targets)

    def _site(self, func: ast.expr) -> tuple[str, Receiver] | None:
        """The call's target and receiver; None for a method of a local whose class is not
        known (`items.append`), which no project function can be."""
        if isinstance(func, ast.Name):
            return None if func.id in self.local_names else (self._qualified(func.id), "other")
        if not isinstance(func, ast.Attribute):
            return None
        value = func.value
        if isinstance(value, ast.Name) and value.id == self.this:
            return self._qualified(f"self.{func.attr}"), "self"
        if isinstance(value, ast.Call):
            built = dotted_name(value.func)
            return (f"{self._qualified(built)}.{func.attr}", "fresh") if built else None
        if isinstance(value, ast.Name) and value.id in self.classes:
            cls, built_here = self.classes[value.id]
            return f"{self._qualified(cls)}.{func.attr}", "fresh" if built_here else "other"
        dotted = dotted_name(func)
        if dotted is None or dotted.partition(".")[0] in self.local_names:
            return None
        return self._qualified(dotted), "other"


def span_of(node: ast.expr) -> tuple[int, int, int, int]:
    """(line, column, end line, end column) of an expression (a call and its callee's own call
    start at the same place: `Catalog(path).reload()`)."""
    return (node.lineno, node.col_offset, node.end_lineno or 0, node.end_col_offset or 0)


def _is_name(node: ast.AST, name: str | None) -> bool:
    return name is not None and isinstance(node, ast.Name) and node.id == name


def _own_nodes(func: FunctionNode) -> Iterator[ast.AST]:
    stack: list[ast.AST] = list(func.body)
    while stack:
        node = stack.pop()
        if isinstance(node, DEFINITIONS):
            continue
        yield node
        stack.extend(children(node))


def _bindings(node: ast.AST) -> Iterator[tuple[str, ast.expr | None]]:
    """(name, value) for `name = value`, `name: T = value`, `with value as name`; other
    bindings of a name count with no value."""
    if isinstance(node, ast.Assign):
        for target in node.targets:
            if isinstance(target, ast.Name):
                yield target.id, node.value
            else:
                yield from ((n.id, None) for n in ast.walk(target) if isinstance(n, ast.Name))
    elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        yield node.target.id, node.value
    elif isinstance(node, ast.withitem) and isinstance(node.optional_vars, ast.Name):
        yield node.optional_vars.id, node.context_expr
    elif isinstance(node, (ast.AugAssign, ast.For, ast.AsyncFor)):
        target = node.target
        yield from ((n.id, None) for n in ast.walk(target) if isinstance(n, ast.Name))
    elif isinstance(node, ast.NamedExpr):
        yield node.target.id, node.value


def _read_mode(call: ast.Call) -> bool:
    """No mode, or a literal read-only one."""
    mode: ast.expr | None = None
    position = 1 if isinstance(call.func, ast.Name) else 0
    if len(call.args) > position:
        mode = call.args[position]
    for keyword in call.keywords:
        if keyword.arg == "mode":
            mode = keyword.value
    if mode is None:
        return True
    return (
        isinstance(mode, ast.Constant)
        and isinstance(mode.value, str)
        and not set(mode.value) & set("wax+")
    )


def _annotated_class(annotation: ast.expr | None) -> str | None:
    """The class an annotation names: `Registry`, `Optional[Registry]`, `Registry | None`,
    `"Registry"`; None for anything else."""
    if annotation is None:
        return None
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            annotation = ast.parse(annotation.value, mode="eval").body
        except SyntaxError:
            return None
    if isinstance(annotation, ast.Subscript) and dotted_name(annotation.value) in {
        "Optional",
        "typing.Optional",
    }:
        annotation = annotation.slice
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        sides = [annotation.left, annotation.right]
        named = [s for s in sides if not (isinstance(s, ast.Constant) and s.value is None)]
        if len(named) != 1:
            return None
        annotation = named[0]
    dotted = dotted_name(annotation)
    if dotted is None or not dotted.rsplit(".", 1)[-1][:1].isupper():
        return None
    return dotted
