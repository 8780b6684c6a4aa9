"""Shared semantic questions for detectors and codemods: names, scopes, framework node classes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal, Protocol

import libcst as cst
from libcst.metadata import (
    BuiltinScope,
    GlobalScope,
    ImportAssignment,
    ProviderT,
    QualifiedName,
    QualifiedNameSource,
)

from flowfix.parents import ParentProvider
from flowfix.scope import ScopeProvider

# Methods that a framework calls once per request / item / run.
PER_CALL_METHODS = frozenset({"execute", "execute_async", "exec", "exec_async", "run", "__call__"})
# Methods that run once per object: creating resources there is the intended pattern.
INIT_METHODS = frozenset(
    {
        "__init__",
        "__post_init__",
        "model_post_init",
        "init_components",
        "ensure_client",
        "setup",
        "__enter__",
        "__aenter__",
        "connect",
        "open",
        "start",
    }
)
DYNAMIQ_HOOKS = frozenset({"execute", "execute_async", "init_components", "ensure_client"})
PLAIN_NODE_HOOKS = frozenset(
    {"prep", "exec", "post", "prep_async", "exec_async", "post_async", "exec_fallback"}
)
PLAIN_FRAMEWORK_PREFIXES = ("pocketflow", "kaygraph", "pflow")
CACHE_DECORATORS = frozenset(
    {
        "functools.cache",
        "functools.lru_cache",
        "functools.cached_property",
        "cache",
        "lru_cache",
        "cached_property",
    }
)
ScopeOwner = cst.FunctionDef | cst.Lambda | cst.ClassDef | cst.Module
Framework = Literal["dynamiq", "plain"]


class MetadataReader(Protocol):
    """Anything with libcst's `get_metadata` (visitors, transformers, codemods)."""

    def get_metadata(self, key: ProviderT, node: cst.CSTNode, default: object = ...) -> object: ...


def qualified_name_objects(reader: MetadataReader, node: cst.CSTNode) -> set[QualifiedName]:
    """What libcst's QualifiedNameProvider gives for `node`, asked of its scope on demand.

    The provider visits every node of the module to attach a lazy value to each; a detector
    asks about a few calls and names, so asking the scope (ScopeProvider) directly gives the
    same answer without that walk.
    """
    scope = reader.get_metadata(ScopeProvider, node, None)
    return set(scope.get_qualified_names_for(node)) if scope else set()  # type: ignore[attr-defined]


def qualified_names(reader: MetadataReader, node: cst.CSTNode) -> set[str]:
    """Fully qualified names `node` may refer to, resolved through imports (aliases included).
    The reader must declare ScopeProvider among its metadata dependencies."""
    return {name.name for name in qualified_name_objects(reader, node)}


PYDANTIC_PREFIXES = ("dynamiq.", "pydantic.")


def is_pydantic_model(reader: MetadataReader, cls: cst.ClassDef) -> bool:
    """Whether a base of `cls` comes from pydantic or Dynamiq (whose nodes are pydantic models)."""
    bases = set().union(*(qualified_names(reader, base.value) for base in cls.bases))
    return any(name.startswith(PYDANTIC_PREFIXES) for name in bases)


def callee_names(reader: MetadataReader, call: cst.Call) -> set[str]:
    """Qualified names of what `call` calls."""
    return qualified_names(reader, call.func)


def parent(reader: MetadataReader, node: cst.CSTNode) -> cst.CSTNode | None:
    return reader.get_metadata(ParentProvider, node, None)  # type: ignore[return-value]


def scope_owner(reader: MetadataReader, node: cst.CSTNode) -> ScopeOwner:
    """The nearest `def`, `lambda`, `class` or module whose body `node` runs in."""
    current = parent(reader, node)
    while current is not None:
        if isinstance(current, (cst.FunctionDef, cst.Lambda, cst.ClassDef, cst.Module)):
            return current
        current = parent(reader, current)
    raise ValueError("node is not attached to a module")


def running_coroutine(reader: MetadataReader, node: cst.CSTNode) -> cst.FunctionDef | None:
    """The `async def` whose own body runs `node` (not a nested def, lambda or class)."""
    owner = scope_owner(reader, node)
    if isinstance(owner, cst.FunctionDef) and owner.asynchronous is not None:
        return owner
    return None


def inside_generator_expression(
    reader: MetadataReader, node: cst.CSTNode, stop: cst.CSTNode
) -> bool:
    """True if `node` sits in a generator expression below `stop` (its body runs lazily)."""
    current = parent(reader, node)
    while current is not None and current is not stop:
        if isinstance(current, cst.GeneratorExp):
            return True
        current = parent(reader, current)
    return False


def enclosing_loop(reader: MetadataReader, node: cst.CSTNode) -> cst.For | cst.While | None:
    """The innermost `for`/`while` whose body runs `node` within the same function."""
    current = parent(reader, node)
    while current is not None and not isinstance(
        current, (cst.FunctionDef, cst.Lambda, cst.ClassDef)
    ):
        if isinstance(current, (cst.For, cst.While)):
            return current
        current = parent(reader, current)
    return None


def method_class(reader: MetadataReader, func: cst.FunctionDef) -> cst.ClassDef | None:
    """The class `func` is a method of (directly in the class body), else None."""
    block = parent(reader, func)
    owner = parent(reader, block) if block is not None else None
    return owner if isinstance(owner, cst.ClassDef) else None


def is_module_level(reader: MetadataReader, func: cst.FunctionDef) -> bool:
    block = parent(reader, func)
    return isinstance(block, cst.Module)


def decorator_names(reader: MetadataReader, func: cst.FunctionDef) -> set[str]:
    names: set[str] = set()
    for decorator in func.decorators:
        target = decorator.decorator
        if isinstance(target, cst.Call):
            target = target.func
        names |= qualified_names(reader, target)
        dotted = cst.helpers.get_full_name_for_node(target)
        if dotted:
            names.add(dotted)
    return names


def is_cached_function(reader: MetadataReader, func: cst.FunctionDef) -> bool:
    return bool(decorator_names(reader, func) & CACHE_DECORATORS)


def method_names(cls: cst.ClassDef) -> set[str]:
    """Names of functions defined directly in the class body."""
    return {stmt.name.value for stmt in cls.body.body if isinstance(stmt, cst.FunctionDef)}


def find_method(cls: cst.ClassDef, name: str) -> cst.FunctionDef | None:
    for stmt in cls.body.body:
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value == name:
            return stmt
    return None


def framework_of(reader: MetadataReader, cls: cst.ClassDef) -> Framework | None:
    """Which framework's node class `cls` is: by its resolved bases, else by its hooks."""
    bases: set[str] = set()
    for base in cls.bases:
        bases |= qualified_names(reader, base.value)
        dotted = cst.helpers.get_full_name_for_node(base.value)
        if dotted:
            bases.add(dotted)
    if any(name.startswith("dynamiq.") for name in bases):
        return "dynamiq"
    if any(name.startswith(PLAIN_FRAMEWORK_PREFIXES) for name in bases):
        return "plain"
    methods = method_names(cls)
    if methods & {"init_components", "ensure_client", "execute"}:
        return "dynamiq"
    if methods & PLAIN_NODE_HOOKS:
        return "plain"
    return None


def is_module_level_name(reader: MetadataReader, name: cst.Name) -> bool:
    """True if `name` resolves only to module-level bindings or builtins."""
    scope = reader.get_metadata(ScopeProvider, name, None)
    if scope is None:
        return False
    assignments = scope[name.value]  # type: ignore[index]
    if not assignments:
        return False
    return all(isinstance(a.scope, (GlobalScope, BuiltinScope)) for a in assignments)


def is_bound_in_module(reader: MetadataReader, module: cst.Module, name: str) -> bool:
    """True if the module's global scope binds `name` (import, assignment, def, class)."""
    scope = reader.get_metadata(ScopeProvider, module, None)
    return scope is not None and name in scope  # type: ignore[operator]


def is_env_lookup(reader: MetadataReader, node: cst.BaseExpression) -> bool:
    """`os.environ[...]`, `os.environ.get(...)`, `os.getenv(...)`."""
    if isinstance(node, cst.Subscript):
        return "os.environ" in qualified_names(reader, node.value)
    if isinstance(node, cst.Call):
        names = callee_names(reader, node)
        return bool(names & {"os.getenv", "os.environ.get"})
    return False


def resolves_to(
    reader: MetadataReader, node: cst.CSTNode, targets: frozenset[str] | set[str]
) -> str | None:
    """The target `node` refers to when every binding it may have is one of `targets`.

    Targets are library names: a binding made in the module itself (`time = Clock()` at module
    level makes `time.sleep` a local name) is not one of them.
    """
    found = qualified_name_objects(reader, node)
    if any(name.source is QualifiedNameSource.LOCAL for name in found):
        return None
    names = {name.name for name in found}
    if names and names <= targets:
        return sorted(names)[0]
    return None


def conflicting_binding(reader: MetadataReader, node: cst.CSTNode, name: str) -> bool:
    """True if `name`, seen from `node`'s scope, is bound to something other than an import."""
    scope = reader.get_metadata(ScopeProvider, node, None)
    if scope is None or name not in scope:  # type: ignore[operator]
        return False
    return any(
        not isinstance(a, ImportAssignment)
        for a in scope[name]  # type: ignore[index]
    )


PURE_CALLS = frozenset(
    {
        "builtins.int",
        "builtins.float",
        "builtins.str",
        "builtins.bool",
        "builtins.min",
        "builtins.max",
        "os.cpu_count",
    }
)


def is_call_invariant(reader: MetadataReader, node: cst.BaseExpression, this: str | None) -> bool:
    """Same value on every call: literals, `<this>.*`, module-level names, env lookups, and
    expressions built from them (`this` is the method's `self` name, None outside methods)."""

    def stable(child: cst.BaseExpression | None) -> bool:
        return child is None or is_call_invariant(reader, child, this)

    if isinstance(node, (cst.SimpleString, cst.Integer, cst.Float, cst.Imaginary)):
        return True
    if isinstance(node, cst.Name):
        return node.value == this or is_module_level_name(reader, node)
    if isinstance(node, cst.ConcatenatedString):
        return stable(node.left) and stable(node.right)
    if isinstance(node, cst.FormattedString):
        return all(
            stable(part.expression)
            for part in node.parts
            if isinstance(part, cst.FormattedStringExpression)
        )
    if isinstance(node, cst.Attribute):
        return stable(node.value)
    if isinstance(node, cst.Subscript):
        return stable(node.value) and all(
            stable(element.slice.value)
            if isinstance(element.slice, cst.Index)
            else isinstance(element.slice, cst.Slice)
            and stable(element.slice.lower)
            and stable(element.slice.upper)
            for element in node.slice
        )
    if isinstance(node, cst.UnaryOperation):
        return stable(node.expression)
    if isinstance(node, (cst.BinaryOperation, cst.BooleanOperation)):
        return stable(node.left) and stable(node.right)
    if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
        return all(stable(element.value) for element in node.elements)
    if isinstance(node, cst.Dict):
        return all(
            stable(element.key) and stable(element.value)
            if isinstance(element, cst.DictElement)
            else stable(element.value)
            for element in node.elements
        )
    if isinstance(node, cst.Call):
        pure = is_env_lookup(reader, node) or bool(qualified_names(reader, node.func) & PURE_CALLS)
        return pure and all(not arg.star and stable(arg.value) for arg in node.args)
    return False


def bound_names(target: cst.CSTNode) -> set[str]:
    """Plain names an assignment or `for` target binds (`a`, `a, (b, *c)`); attributes and
    subscripts bind none."""
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        return {name for element in target.elements for name in bound_names(element.value)}
    if isinstance(target, cst.StarredElement):
        return bound_names(target.value)
    return set()


def read_names(node: cst.CSTNode) -> set[str]:
    """Every plain name read below `node` (attribute and keyword names are not reads)."""
    found: set[str] = set()

    class _Reads(cst.CSTVisitor):
        def visit_Attribute(self, attribute: cst.Attribute) -> bool:
            attribute.value.visit(self)
            return False

        def visit_Arg(self, arg: cst.Arg) -> bool:
            arg.value.visit(self)
            return False

        def visit_Name(self, name: cst.Name) -> None:
            found.add(name.value)

    node.visit(_Reads())
    return found


def root_name(node: cst.BaseExpression) -> str | None:
    """`a` for `a`, `a.b.c`, `a[0].b`; None when the chain starts elsewhere (a call, a literal)."""
    while isinstance(node, (cst.Attribute, cst.Subscript)):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


def local_bindings(root: cst.CSTNode) -> list[tuple[set[str], cst.CSTNode | None]]:
    """(names bound, the expression they come from) for every binding below `root` that runs in
    its scope: assignments, walrus, `for`/comprehension/`with`/`except` targets, `del`, imports,
    nested `def`/`class` names. Bodies of nested functions and classes are not entered."""
    found: list[tuple[set[str], cst.CSTNode | None]] = []

    class _Bindings(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            for target in node.targets:
                found.append((bound_names(target.target), node.value))

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            found.append((bound_names(node.target), node.value))

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            found.append((bound_names(node.target), node.value))

        def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
            found.append((bound_names(node.target), node.value))

        def visit_For(self, node: cst.For) -> None:
            found.append((bound_names(node.target), node.iter))

        def visit_CompFor(self, node: cst.CompFor) -> None:
            found.append((bound_names(node.target), node.iter))

        def visit_WithItem(self, node: cst.WithItem) -> None:
            if node.asname is not None:
                found.append((bound_names(node.asname.name), node.item))

        def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
            if node.name is not None:
                found.append((bound_names(node.name.name), None))

        def visit_Del(self, node: cst.Del) -> None:
            found.append((bound_names(node.target), None))

        def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
            bound: cst.BaseExpression = node.asname.name if node.asname else node.name
            while isinstance(bound, cst.Attribute):
                bound = bound.value
            found.append((bound_names(bound), None))

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            if node is root:
                return True
            found.append(({node.name.value}, None))
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            if node is root:
                return True
            found.append(({node.name.value}, None))
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return node is root

    root.visit(_Bindings())
    return found


def derived_names(seeds: set[str], bindings: list[tuple[set[str], cst.CSTNode | None]]) -> set[str]:
    """`seeds` plus every name bound from an expression that reads one of them (to a fixpoint)."""
    tainted = set(seeds)
    changed = True
    while changed:
        changed = False
        for names, source in bindings:
            if names - tainted and source is not None and read_names(source) & tainted:
                tainted |= names
                changed = True
    return tainted


def iteration_loop(reader: MetadataReader, node: cst.CSTNode) -> cst.For | cst.While | None:
    """The innermost `for`/`while` of the same function that runs `node` once per iteration: in
    its body or a `while` test, not in a `for`'s iterable or an `else` clause."""
    child, current = node, parent(reader, node)
    while current is not None and not isinstance(
        current, (cst.FunctionDef, cst.Lambda, cst.ClassDef)
    ):
        if isinstance(current, cst.For) and child is current.body:
            return current
        if isinstance(current, cst.While) and (child is current.body or child is current.test):
            return current
        child, current = current, parent(reader, current)
    return None


def loop_item_names(loop: cst.For | cst.While) -> set[str]:
    """Names that take a new value from the iterated item: a `for` target and the names the
    body derives from it (empty for `while`)."""
    if isinstance(loop, cst.While):
        return set()
    return derived_names(bound_names(loop.target), local_bindings(loop.body))


def assigned_value(reader: MetadataReader, target: cst.CSTNode) -> cst.BaseExpression | None:
    """The value bound to the name `target` by `target = v`, `target: T = v`, or by position in
    `a, target = u, v` (None for other bindings)."""
    owner = parent(reader, target)
    if isinstance(owner, cst.Element):
        targets = parent(reader, owner)
        values = assigned_value(reader, targets) if targets is not None else None
        if (
            isinstance(targets, (cst.Tuple, cst.List))
            and isinstance(values, (cst.Tuple, cst.List))
            and len(values.elements) == len(targets.elements)
            and not any(isinstance(e, cst.StarredElement) for e in values.elements)
        ):
            index = next(i for i, e in enumerate(targets.elements) if e is owner)
            return values.elements[index].value
        return None
    if isinstance(owner, cst.AssignTarget):
        assign = parent(reader, owner)
        if isinstance(assign, cst.Assign) and len(assign.targets) == 1:
            return assign.value
    if isinstance(owner, cst.AnnAssign) and owner.target is target:
        return owner.value
    return None


def single_binding_value(reader: MetadataReader, name: cst.Name) -> cst.BaseExpression | None:
    """The value of the only binding of `name` visible from its scope, when it is assigned once
    with `assigned_value`'s forms."""
    scope = reader.get_metadata(ScopeProvider, name, None)
    if scope is None:
        return None
    bindings = list(scope[name.value])  # type: ignore[index]
    if len(bindings) != 1 or isinstance(bindings[0], ImportAssignment):
        return None
    return assigned_value(reader, bindings[0].node)


def own_nodes(root: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Nodes below `root` that run in its scope (bodies of nested def, lambda, class excluded)."""
    for child in root.children:
        yield child
        if not isinstance(child, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            yield from own_nodes(child)


def descendants(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node below `node`, depth first (nested scopes included)."""
    for child in node.children:
        yield child
        yield from descendants(child)


def names_bound_in(root: cst.CSTNode) -> set[str]:
    """Every name bound below `root` in its own scope (see `local_bindings`)."""
    return {name for names, _ in local_bindings(root) for name in names}
