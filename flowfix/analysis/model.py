"""The semantic model of one module, built in one pass over CPython's `ast` tree.

It answers what pyflakes and ruff answer from their own scope models: which scope a node runs
in, which bindings a name may refer to, and what qualified name an expression resolves to
through imports. Resolution is flow-insensitive, as in libcst's and pyflakes' models: every
binding of a name in the scope that owns it is a candidate.
"""

from __future__ import annotations

import ast
import builtins
import functools
import operator
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from flowfix.rules import Span

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
ScopeNode = ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef
ScopeKind = Literal["module", "class", "function", "lambda", "comprehension"]
BindingKind = Literal["import", "assignment", "parameter", "function", "class", "global", "other"]
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
LoopNode = ast.For | ast.AsyncFor | ast.While
LOOPS = (ast.For, ast.AsyncFor, ast.While)
# Nodes whose body runs elsewhere (not where they stand), and those plus comprehensions: every
# node that opens a scope.
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
SCOPE_NODES = (*DEFINITIONS, *COMPREHENSIONS)
BUILTINS = frozenset(dir(builtins))
_NEWLINE = re.compile(r"\r\n|\r|\n")
_POSITION = operator.attrgetter("lineno", "col_offset")


@functools.lru_cache(maxsize=256)
def _last_parts(names: frozenset[str]) -> frozenset[str]:
    """`sleep` and `run` for `{"time.sleep", "asyncio.run"}`."""
    return frozenset(name.rpartition(".")[2] for name in names)


def line_starts(text: str) -> list[int]:
    """The offset where each line of `text` starts, lines ending at \\n, \\r\\n or \\r as
    CPython counts them."""
    return [0] + [match.end() for match in _NEWLINE.finditer(text)]


@dataclass(eq=False)
class Binding:
    """One place a name is bound. `qualified` is the imported name for imports."""

    name: str
    kind: BindingKind
    node: ast.AST
    scope: Scope
    qualified: str = ""

    @property
    def is_import(self) -> bool:
        return self.kind == "import"


@dataclass(eq=False)
class Scope:
    """A module, class, function, lambda or comprehension scope and the names bound in it."""

    kind: ScopeKind
    node: ast.AST
    parent: Scope | None
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    globals: set[str] = field(default_factory=set)
    nonlocals: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)  # names `del` makes local, bound or not
    qualname: str = ""

    def bind(self, binding: Binding) -> None:
        self.bindings.setdefault(binding.name, []).append(binding)

    @property
    def function_scope(self) -> Scope:
        """The nearest enclosing scope that is not a comprehension (where a walrus binds)."""
        scope = self
        while scope.kind == "comprehension" and scope.parent is not None:
            scope = scope.parent
        return scope


# Fields that never hold a node the model visits: contexts and operators (shared singletons,
# not part of the tree's shape) and the fields holding strings, numbers or lists of strings.
_NOT_NODES = frozenset(
    {
        *("ctx", "type_comment", "op", "ops", "type_ignores"),
        *("name", "attr", "id", "arg", "asname", "module", "level", "simple", "conversion"),
        *("is_async", "kind", "rest", "tag", "kwd_attrs"),
    }
)
_NOT_NODES_OF = {ast.Global: ("names",), ast.Nonlocal: ("names",), ast.Constant: ("value",)}


def _node_fields(kind: type) -> tuple[str, ...]:
    """The fields of `kind` that may hold nodes the model visits, last first."""
    fields: tuple[str, ...] = getattr(kind, "_fields", ())
    skipped = _NOT_NODES_OF.get(kind, ())
    return tuple(
        reversed([name for name in fields if name not in _NOT_NODES and name not in skipped])
    )


_FIELDS: dict[type, tuple[str, ...]] = {}


def children(node: ast.AST) -> list[ast.AST]:
    """`node`'s child nodes in source order, like `ast.iter_child_nodes` but faster and
    without contexts and operators."""
    kind = type(node)
    fields = _FIELDS.get(kind)
    if fields is None:
        fields = _FIELDS[kind] = _node_fields(kind)
    found: list[ast.AST] = []
    for name in reversed(fields):
        value = getattr(node, name, None)
        if type(value) is list:
            found.extend(child for child in value if isinstance(child, ast.AST))
        elif isinstance(value, ast.AST):
            found.append(value)
    return found


def walk(node: ast.AST) -> Iterator[ast.AST]:
    """`node` and every node below it, depth first in source order (`ast.walk` goes breadth
    first and is slower)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        below = children(current)
        below.reverse()
        stack.extend(below)


# Nodes that bind names or open a scope (`Model._enter`); other nodes only pass scopes on.
_ENTERING = frozenset(
    {
        ast.FunctionDef,
        ast.AsyncFunctionDef,
        ast.Lambda,
        ast.ClassDef,
        *COMPREHENSIONS,
        ast.Import,
        ast.ImportFrom,
        ast.Global,
        ast.Nonlocal,
        ast.NamedExpr,
        ast.ExceptHandler,
        ast.MatchAs,
        ast.MatchStar,
        ast.MatchMapping,
    }
)


class Model:
    """Parents, scopes and bindings of one module, and the questions rules ask of them."""

    def __init__(self, tree: ast.Module, text: str, collect: Iterable[type] = ()) -> None:
        self.tree = tree
        self.text = text
        self.parents: dict[ast.AST, ast.AST] = {}
        self.scopes: dict[ast.AST, Scope] = {}
        self.scope_at: dict[ast.AST, Scope] = {}  # every node: the scope evaluating it
        self.collected: dict[type, list[ast.AST]] = {kind: [] for kind in collect}
        self.module_scope = Scope("module", tree, None)
        self.scopes[tree] = self.module_scope
        self._lines: list[str] | None = None
        self._sorted: set[type] = set()
        # What helpers work out once per module and reuse (keyed by the helper), e.g. what a
        # callee name read in a scope constructs; dropped with the model.
        self.memo: dict[object, object] = {}
        self._line_starts: list[int] | None = None
        self._build()

    # --- building -----------------------------------------------------------------------

    def _build(self) -> None:
        parents, collected, scope_at = self.parents, self.collected, self.scope_at
        stack: list[tuple[ast.AST, Scope]] = [(self.tree, self.module_scope)]
        fields_of, entering = _FIELDS, _ENTERING
        name_kind, constant_kind, comprehension_kind = ast.Name, ast.Constant, ast.comprehension
        load_kind, names = ast.Load, collected.get(ast.Name)
        constants = collected.get(constant_kind)
        pop, push = stack.pop, stack.append
        while stack:
            node, scope = pop()
            scope_at[node] = scope
            kind = type(node)
            wanted = collected.get(kind)
            if wanted is not None:
                wanted.append(node)
            fields = fields_of.get(kind)
            if fields is None:
                fields = fields_of[kind] = _node_fields(kind)
            inner = self._enter(node, kind, scope) if kind in entering else None
            for field_name in fields:
                value = getattr(node, field_name, None)
                if value is None:
                    continue
                if inner is not None:
                    child_scope = self._child_scope(node, field_name, scope, inner)
                elif kind is comprehension_kind and field_name == "iter":
                    child_scope = self._iterable_scope(node, scope)
                else:
                    child_scope = scope
                for child in reversed(value) if type(value) is list else (value,):
                    child_kind = type(child)
                    # Names and constants have no children: handled here, never stacked.
                    if child_kind is name_kind:
                        parents[child] = node
                        scope_at[child] = child_scope
                        if names is not None:
                            names.append(child)
                        context = type(child.ctx)
                        if context is not load_kind:
                            self._name(child, child_scope, context)
                    elif child_kind is constant_kind:
                        parents[child] = node
                        scope_at[child] = child_scope
                        if constants is not None:
                            constants.append(child)
                    elif child is not None:  # (`{**x}` and `kw_defaults` hold None in lists)
                        parents[child] = node
                        push((child, child_scope))
        self._redirect_declared()

    @staticmethod
    def _name(node: ast.Name, scope: Scope, context: type) -> None:
        """Bind a name stored or deleted in `scope` (`context` is its context's type)."""
        if context is ast.Store:
            scope.bind(Binding(node.id, "assignment", node, scope))
        elif context is ast.Del:
            # `del x` gives no value (no binding) but makes `x` local to the scope.
            scope.deleted.add(node.id)

    def _enter(self, node: ast.AST, kind: type, scope: Scope) -> Scope | None:
        """Bind what `node` itself binds; the new scope it opens, if any."""
        if kind in (ast.FunctionDef, ast.AsyncFunctionDef):
            assert isinstance(node, FUNCTIONS)
            scope.bind(Binding(node.name, "function", node, scope))
            return self._bind_parameters(node.args, self._open("function", node, scope, node.name))
        if kind is ast.Lambda:
            assert isinstance(node, ast.Lambda)
            return self._bind_parameters(node.args, self._open("lambda", node, scope, "<lambda>"))
        if kind is ast.ClassDef:
            assert isinstance(node, ast.ClassDef)
            scope.bind(Binding(node.name, "class", node, scope))
            return self._open("class", node, scope, node.name)
        if kind in COMPREHENSIONS:
            return self._open("comprehension", node, scope, "<comprehension>")
        if kind is ast.Import:
            assert isinstance(node, ast.Import)
            for alias in node.names:
                if alias.asname:
                    scope.bind(Binding(alias.asname, "import", node, scope, alias.name))
                else:
                    top = alias.name.partition(".")[0]
                    scope.bind(Binding(top, "import", node, scope, top))
            return None
        if kind is ast.ImportFrom:
            assert isinstance(node, ast.ImportFrom)
            prefix = "." * node.level + (node.module or "")
            for alias in node.names:
                if alias.name == "*":
                    continue
                joined = f"{prefix}.{alias.name}" if node.module else f"{prefix}{alias.name}"
                scope.bind(Binding(alias.asname or alias.name, "import", node, scope, joined))
            return None
        if kind is ast.Global:
            scope.globals.update(node.names)  # type: ignore[attr-defined]
            return None
        if kind is ast.Nonlocal:
            scope.nonlocals.update(node.names)  # type: ignore[attr-defined]
            return None
        if kind is ast.NamedExpr:
            target = node.target  # type: ignore[attr-defined]
            owner = scope.function_scope
            owner.bind(Binding(target.id, "assignment", target, owner))
            return None
        if kind is ast.ExceptHandler:
            if node.name:  # type: ignore[attr-defined]
                scope.bind(Binding(node.name, "other", node, scope))  # type: ignore[attr-defined]
            return None
        if kind in (ast.MatchAs, ast.MatchStar):
            if node.name:  # type: ignore[attr-defined]
                scope.bind(Binding(node.name, "other", node, scope))  # type: ignore[attr-defined]
            return None
        if kind is ast.MatchMapping:
            if node.rest:  # type: ignore[attr-defined]
                scope.bind(Binding(node.rest, "other", node, scope))  # type: ignore[attr-defined]
            return None
        return None

    @staticmethod
    def _bind_parameters(arguments: ast.arguments, scope: Scope) -> Scope:
        """Bind every parameter of `arguments` in `scope` (the function's own); `scope`."""
        for arg in (
            *arguments.posonlyargs,
            *arguments.args,
            *([arguments.vararg] if arguments.vararg else []),
            *arguments.kwonlyargs,
            *([arguments.kwarg] if arguments.kwarg else []),
        ):
            scope.bind(Binding(arg.arg, "parameter", arg, scope))
        return scope

    def _open(self, kind: ScopeKind, node: ast.AST, parent: Scope, name: str) -> Scope:
        if parent.kind in ("function", "lambda"):
            qualname = f"{parent.qualname}.<locals>.{name}"
        elif parent.kind == "module":
            qualname = name
        else:
            qualname = f"{parent.qualname}.{name}"
        scope = Scope(kind, node, parent, qualname=qualname)
        self.scopes[node] = scope
        return scope

    @staticmethod
    def _child_scope(node: ast.AST, field_name: str, outer: Scope, inner: Scope) -> Scope:
        """The scope the children in `node`'s field `field_name` are evaluated in, when
        `node` opens the scope `inner`: decorators, defaults, annotations and bases run
        outside it."""
        if isinstance(node, (*FUNCTIONS, ast.ClassDef, ast.Lambda)):
            return inner if field_name == "body" else outer
        return inner  # a comprehension (see _iterable_scope for its first iterable)

    @staticmethod
    def _iterable_scope(clause: ast.AST, scope: Scope) -> Scope:
        """A comprehension's first iterable runs in the enclosing scope."""
        if scope.kind == "comprehension" and scope.node.generators[0] is clause:  # type: ignore[attr-defined]
            assert scope.parent is not None
            return scope.parent
        return scope

    def _redirect_declared(self) -> None:
        """Bindings of names declared `global` / `nonlocal` belong to the declared scope."""
        for scope in list(self.scopes.values()):
            for name in scope.globals | scope.nonlocals:
                moved = scope.bindings.pop(name, [])
                deleted = name in scope.deleted
                scope.deleted.discard(name)
                if not moved and not deleted:
                    continue
                if name in scope.globals:
                    target: Scope | None = self.module_scope
                else:
                    target = self._nonlocal_owner(scope, name)
                if target is not None:
                    for binding in moved:
                        binding.scope = target
                        target.bind(binding)
                    if deleted:
                        target.deleted.add(name)

    @staticmethod
    def _nonlocal_owner(scope: Scope, name: str) -> Scope | None:
        current = scope.parent
        while current is not None and current.kind != "module":
            if current.kind in ("function", "lambda") and name in current.bindings:
                return current
            current = current.parent
        return None

    def release(self) -> None:
        """Break the model's reference cycles (a binding and its scope) once no rule needs it
        any more, so that reference counting frees it at once."""
        for scope in self.scopes.values():
            scope.bindings.clear()
        self.memo.clear()

    # --- structure ----------------------------------------------------------------------

    def parent(self, node: ast.AST) -> ast.AST | None:
        return self.parents.get(node)

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        current = self.parents.get(node)
        while current is not None:
            yield current
            current = self.parents.get(current)

    def nodes(self, kind: type) -> list[ast.AST]:
        """Every node of `kind` (one of the types collected when the model was built), in
        source order."""
        found = self.collected[kind]
        if kind not in self._sorted:
            found.sort(key=_POSITION)
            self._sorted.add(kind)
        return found

    def scope_of(self, node: ast.AST) -> Scope:
        """The scope whose code evaluates `node` (recorded when the model was built)."""
        return self.scope_at.get(node, self.module_scope)

    def function_of(self, node: ast.AST) -> ast.AST | None:
        """The function or lambda whose own body runs `node` (None at module or class level,
        or in a comprehension's own scope at those levels)."""
        scope = self.scope_of(node)
        while scope.kind == "comprehension":
            assert scope.parent is not None
            scope = scope.parent
        return scope.node if scope.kind in ("function", "lambda") else None

    def coroutine_of(self, node: ast.AST) -> ast.AsyncFunctionDef | None:
        """The `async def` whose own body runs `node`: not a nested def, lambda or class
        (comprehensions, generator expressions included, count as the coroutine's body)."""
        scope = self.scope_of(node)
        while scope.kind == "comprehension":
            assert scope.parent is not None
            scope = scope.parent
        return scope.node if isinstance(scope.node, ast.AsyncFunctionDef) else None

    def in_generator_expression(self, node: ast.AST, stop: ast.AST) -> bool:
        """True if `node` sits in a generator expression below `stop` (it runs lazily)."""
        for current in self.ancestors(node):
            if current is stop:
                return False
            if isinstance(current, ast.GeneratorExp):
                return True
        return False

    def class_of(self, function: ast.AST) -> ast.ClassDef | None:
        """The class `function` is a method of (defined directly in its body)."""
        owner = self.parents.get(function)
        return owner if isinstance(owner, ast.ClassDef) else None

    def enclosing_loop(self, node: ast.AST) -> ast.For | ast.AsyncFor | ast.While | None:
        """The innermost loop around `node` within the same function (any part of it)."""
        for current in self.ancestors(node):
            if isinstance(current, DEFINITIONS):
                return None
            if isinstance(current, (ast.For, ast.AsyncFor, ast.While)):
                return current
        return None

    def iteration_loop(self, node: ast.AST) -> ast.For | ast.AsyncFor | ast.While | None:
        """The innermost loop of the same function that runs `node` once per iteration: in its
        body or a `while` test, not in a `for`'s iterable or an `else` clause."""
        child = node
        for current in self.ancestors(node):
            if isinstance(current, DEFINITIONS):
                return None
            if isinstance(current, (ast.For, ast.AsyncFor)) and child in current.body:
                return current
            if isinstance(current, ast.While) and (child in current.body or child is current.test):
                return current
            child = current
        return None

    # --- names --------------------------------------------------------------------------

    def lookup(self, name: str, scope: Scope) -> list[Binding]:
        """The bindings `name` may refer to when read in `scope` (empty: builtin, unbound, or
        only deleted in the scope that owns it)."""
        if name in scope.globals:
            return self.module_scope.bindings.get(name, [])
        current: Scope | None = scope
        first = True
        while current is not None:
            if current.kind != "class" or first:
                found = current.bindings.get(name)
                if found:
                    return found
                if name in current.deleted:
                    return []
            first = False
            current = current.parent
        return []

    def bindings_of(self, name: ast.Name) -> list[Binding]:
        return self.lookup(name.id, self.scope_of(name))

    def qualified_names(self, node: ast.AST) -> set[str]:
        """What `node` (a name or an attribute chain on one) may refer to: imported names
        through their imports (`t.sleep` → `time.sleep` after `import time as t`), builtins as
        `builtins.<name>`, and names bound in the module as their dotted local path."""
        attributes: list[str] = []
        while isinstance(node, ast.Attribute):
            attributes.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return set()
        suffix = "".join(f".{attr}" for attr in reversed(attributes))
        return {f"{base}{suffix}" for base in self._name_bases(node)}

    def _name_bases(self, name: ast.Name) -> set[str]:
        bindings = self.bindings_of(name)
        if not bindings:
            return {f"builtins.{name.id}"} if name.id in BUILTINS else set()
        found: set[str] = set()
        for binding in bindings:
            if binding.is_import:
                found.add(binding.qualified)
            elif binding.scope.kind == "module":
                found.add(binding.name)
            else:
                sep = ".<locals>." if binding.scope.kind in ("function", "lambda") else "."
                found.add(f"{binding.scope.qualname}{sep}{binding.name}")
        return found

    def resolves_to(self, node: ast.AST, targets: Iterable[str]) -> str | None:
        """The target `node` refers to when every binding it may have is an import of one of
        `targets` (or a builtin named there). A name bound in the module itself is not a
        library target: `time = Clock()` makes `time.sleep` a local name."""
        root = node
        while isinstance(root, ast.Attribute):
            root = root.value
        if not isinstance(root, ast.Name):
            return None
        wanted = targets if isinstance(targets, frozenset) else frozenset(targets)
        if isinstance(node, ast.Attribute) and node.attr not in _last_parts(wanted):
            return None  # every name `x.attr` may have ends in `attr` (a cheap first test)
        if any(not binding.is_import for binding in self.bindings_of(root)):
            return None
        names = self.qualified_names(node)
        if names and names <= wanted:
            return min(names)
        return None

    def bound_otherwise(self, node: ast.AST, name: str) -> bool:
        """True if `name`, read where `node` is, may be bound to something other than an
        import (so a fix cannot use it for the module of that name)."""
        return any(not b.is_import for b in self.lookup(name, self.scope_of(node)))

    def is_module_level_name(self, name: ast.Name) -> bool:
        """True if `name` resolves only to module-level bindings or to a builtin."""
        bindings = self.bindings_of(name)
        if not bindings:
            return name.id in BUILTINS
        return all(binding.scope.kind == "module" for binding in bindings)

    # --- positions ----------------------------------------------------------------------

    @property
    def lines(self) -> list[str]:
        """The module's lines as CPython numbers them (split at \\n, \\r\\n and \\r)."""
        if self._lines is None:
            self._lines = _NEWLINE.split(self.text)
        return self._lines

    def column(self, line: int, offset: int) -> int:
        """The code-point column of the UTF-8 byte `offset` on 1-based `line`."""
        if line < 1 or line > len(self.lines):
            return offset
        text = self.lines[line - 1]
        if text.isascii():
            return offset
        return len(text.encode("utf-8")[:offset].decode("utf-8", "replace"))

    def source(self, node: ast.AST) -> str:
        """The source text of `node`, line endings kept (as `ast.get_source_segment`, without
        splitting the whole module's text again on every call)."""
        if self._line_starts is None:
            self._line_starts = line_starts(self.text)
        starts, span = self._line_starts, self.span(node)
        return self.text[
            starts[span.line - 1] + span.column - 1 : starts[span.end_line - 1]
            + span.end_column
            - 1
        ]

    def span(self, node: ast.AST) -> Span:
        """`node`'s range as users see it: 1-based lines and code-point columns, the end
        exclusive (parentheses around an expression are outside it, as in `ast`)."""
        line, end_line = node.lineno, node.end_lineno  # type: ignore[attr-defined]
        end_line = line if end_line is None else end_line
        end_offset = node.end_col_offset  # type: ignore[attr-defined]
        return Span(
            line,
            self.column(line, node.col_offset) + 1,  # type: ignore[attr-defined]
            end_line,
            self.column(end_line, end_offset if end_offset is not None else 0) + 1,
        )
