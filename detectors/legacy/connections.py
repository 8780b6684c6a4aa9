"""Connection rules: clients and connections created where they should be reused."""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from typing import Literal, TypeVar

import libcst as cst
from libcst.metadata import PositionProvider, QualifiedNameSource

from flowfix.edits import snake_case
from flowfix.libcst_detector import LibcstDetector as Detector
from flowfix.parents import ParentProvider
from flowfix.prefilter import FUNCTION_DEFS, FileView, call_name, innermost
from flowfix.reduction import Sites
from flowfix.rules import FixSafety, Severity
from flowfix.scope import ScopeProvider
from flowfix.semantics import (
    CACHE_DECORATORS,
    INIT_METHODS,
    PER_CALL_METHODS,
    PLAIN_FRAMEWORK_PREFIXES,
    PLAIN_NODE_HOOKS,
    MetadataReader,
    decorator_names,
    find_method,
    framework_of,
    is_cached_function,
    is_call_invariant,
    is_module_level,
    is_module_level_name,
    method_class,
    parent,
    qualified_name_objects,
    qualified_names,
    scope_owner,
)

Route = Literal["init_components", "__init__", "cached_property", "factory"]
Usage = Literal["local", "inline", "context", "closed"]

KNOWN_CLIENTS = frozenset(
    {
        "openai.OpenAI",
        "openai.AsyncOpenAI",
        "openai.AzureOpenAI",
        "openai.AsyncAzureOpenAI",
        "anthropic.Anthropic",
        "anthropic.AsyncAnthropic",
        "httpx.Client",
        "httpx.AsyncClient",
        "requests.Session",
        "requests.session",
        "boto3.client",
        "boto3.resource",
        "redis.Redis",
        "redis.StrictRedis",
        "redis.asyncio.Redis",
        "sqlite3.connect",
        "psycopg.connect",
        "psycopg2.connect",
        "qdrant_client.QdrantClient",
        "elasticsearch.Elasticsearch",
        "pymongo.MongoClient",
    }
)
CLIENT_SUFFIXES = ("Client", "Session", "Connection", "Pool", "Engine")
KNOWN_CLIENT_NAMES = frozenset(name.rsplit(".", 1)[-1] for name in KNOWN_CLIENTS)
# Words that may name a client class: a known one, or a name ending with a client suffix.
CLIENT_NAME_WORDS = (*sorted(KNOWN_CLIENT_NAMES), *(f"*{suffix}" for suffix in CLIENT_SUFFIXES))
# Names that match a suffix but are not long-lived clients: executors and process pools (EXE
# rules), SQLAlchemy ORM sessions (one per unit of work by design), Dynamiq connection configs
# (cheap pydantic models; their `connect()` builds the client).
NOT_CLIENT_PREFIXES = ("concurrent.", "multiprocessing.", "sqlalchemy.orm.", "dynamiq.connections.")
THREAD_BOUND = frozenset({"sqlite3.connect", "psycopg.connect", "psycopg2.connect"})
LOOP_BOUND = frozenset({"aiohttp.ClientSession", "redis.asyncio.Redis"})
NOT_THREAD_SAFE = frozenset({"boto3.resource"})
SKIPPED_FUNCTIONS = INIT_METHODS | {"main", "cli", "startup", "lifespan"}
DATA_DECORATORS = frozenset(
    {
        "dataclasses.dataclass",
        "dataclass",
        "attr.s",
        "attr.attrs",
        "attr.define",
        "attr.frozen",
        "attr.mutable",
        "attrs.define",
        "attrs.frozen",
        "attrs.mutable",
    }
)
SLOTTED_BY_DEFAULT = frozenset(
    {"attr.define", "attr.frozen", "attr.mutable", "attrs.define", "attrs.frozen", "attrs.mutable"}
)
DATA_BASES = frozenset(
    {
        "pydantic.BaseModel",
        "typing.NamedTuple",
        "typing.TypedDict",
        "typing_extensions.TypedDict",
        "enum.Enum",
        "enum.IntEnum",
        "enum.StrEnum",
    }
)
STORE_METHODS = frozenset(
    {"append", "appendleft", "add", "extend", "insert", "setdefault", "update", "put", "register"}
)
CONDITIONAL = (
    cst.If,
    cst.Else,
    cst.Try,
    cst.TryStar,
    cst.ExceptHandler,
    cst.ExceptStarHandler,
    cst.For,
    cst.While,
    cst.Match,
    cst.IfExp,
    cst.BooleanOperation,
    cst.ListComp,
    cst.SetComp,
    cst.DictComp,
    cst.GeneratorExp,
)
HOOK_METHODS = frozenset({"__init__", "init_components"})
HOOKS: dict[Route, str] = {
    "init_components": "`init_components()`",
    "__init__": "`__init__()`",
    "cached_property": "a `functools.cached_property`",
    "factory": "a `functools.cache` factory",
}


# --- the AST prefilter's view of the same questions (over-approximations) ----------------------

# Modules whose imports let a class base resolve to a framework node (see `framework_of`).
FRAMEWORK_PREFIXES = ("dynamiq", *PLAIN_FRAMEWORK_PREFIXES)
FRAMEWORK_HOOKS = PLAIN_NODE_HOOKS | {"init_components", "ensure_client", "execute"}
# What an imported lowercase client factory can only come from.
LOWERCASE_CLIENT_MODULES = {
    name.rsplit(".", 1)[1]: tuple(
        known.rsplit(".", 1)[0]
        for known in KNOWN_CLIENTS
        if known.endswith("." + name.rsplit(".", 1)[1])
    )
    for name in KNOWN_CLIENTS
    if not name.rsplit(".", 1)[1][:1].isupper()
}


def ast_dotted(node: ast.AST) -> str:
    """`a.b.c` for a name or attribute chain, else ''."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return ""
    return ".".join([node.id, *reversed(parts)])


def ast_decorators(func: ast.AST) -> set[str]:
    """The decorators of a def or class as written (`functools.cache`, `lru_cache`)."""
    names = set()
    for decorator in getattr(func, "decorator_list", ()):
        names.add(ast_dotted(decorator.func if isinstance(decorator, ast.Call) else decorator))
    return names


def ast_cached(func: ast.AST) -> bool:
    """Decorated with a cache decorator spelled as such (an alias may hide one: not a cache)."""
    return bool(ast_decorators(func) & CACHE_DECORATORS)


def ast_method_names(cls: ast.ClassDef) -> set[str]:
    return {s.name for s in cls.body if isinstance(s, FUNCTION_DEFS)}


def ast_node_class(view: FileView, cls: ast.ClassDef) -> bool:
    """Could `framework_of(cls)` be non-None: a hook method, or a base that may resolve to (or
    is spelled as) a framework class."""
    if ast_method_names(cls) & FRAMEWORK_HOOKS:
        return True
    if not cls.bases:
        return False
    if any(name.startswith(FRAMEWORK_PREFIXES) for name in view.statements.imported):
        return True
    return any(ast_dotted(base).startswith(FRAMEWORK_PREFIXES) for base in cls.bases)


def ast_runs_per_call(view: FileView, chain: Sequence[ast.AST], index: int) -> bool:
    """Could `runs_per_call` hold for the def at `chain[index]`: a per-call method of a
    possible node class, or a module-level function that is no entry point, test or cache."""
    func = chain[index]
    assert isinstance(func, FUNCTION_DEFS)
    if index == 0:
        return (
            func.name not in SKIPPED_FUNCTIONS
            and not func.name.startswith("test_")
            and not ast_cached(func)
        )
    cls = chain[index - 1]
    return (
        isinstance(cls, ast.ClassDef)
        and func.name in PER_CALL_METHODS
        and ast_node_class(view, cls)
    )


def _ast_client_name(view: FileView, call: ast.Call) -> bool:
    """The call's name (or the name it is imported as) may name a client constructor."""
    written = call_name(call)
    for name in {written, view.statements.aliases.get(written, written)}:
        if name[:1].isupper():
            if name in KNOWN_CLIENT_NAMES or name.endswith(CLIENT_SUFFIXES):
                return True
        elif any(view.imports(module) for module in LOWERCASE_CLIENT_MODULES.get(name, ())):
            return True
    return False


def _ast_kept_locally(statement: ast.AST, call: ast.Call) -> bool:
    """`construction_usage` can be non-None: the call is a `with` item, the receiver of an
    attribute, or the whole value of `name = call` / `name: T = call`."""
    if isinstance(statement, ast.Assign):
        return (
            statement.value is call
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
        )
    if isinstance(statement, ast.AnnAssign):
        return statement.value is call and isinstance(statement.target, ast.Name)
    return False


def _ast_targets(target: ast.AST) -> set[str]:
    """Part of `_target_names` (plain names and attribute chains)."""
    if isinstance(target, (ast.Tuple, ast.List)):
        return {name for element in target.elts for name in _ast_targets(element)}
    if isinstance(target, (ast.Starred, ast.Subscript)):
        return _ast_targets(target.value)
    dotted = ast_dotted(target)
    return {dotted} if dotted else set()


def _ast_references(node: ast.AST) -> set[str]:
    """Part of `_references`: names, and attribute chains on a name."""
    return {name for child in ast.walk(node) if (name := ast_dotted(child))}


N = TypeVar("N", ast.AST, cst.CSTNode)


def _spread_taint(
    tainted: set[str],
    bindings: Sequence[tuple[set[str], N]],
    references: Callable[[N], set[str]],
) -> set[str]:
    """`tainted` plus every name bound from a tainted one, transitively (for the AST mirror
    and for libcst alike: `references` reads the names a binding's source uses)."""
    tainted = set(tainted)
    changed = True
    while changed:
        changed = False
        for targets, source in bindings:
            if targets - tainted and references(source) & tainted:
                tainted |= targets
                changed = True
    return tainted


def _ast_depends_on_inputs(func: ast.AST, call: ast.Call, method: bool) -> bool:
    """`depends_on_inputs` surely holds: an argument reads a parameter (not a method's first
    one) or a name bound from one, by the bindings `_bindings` sees but method calls."""
    args = func.args  # type: ignore[attr-defined]
    params = [*args.posonlyargs, *args.args][1 if method else 0 :]
    tainted = {p.arg for p in [*params, *args.kwonlyargs, args.vararg, args.kwarg] if p}
    bindings: list[tuple[set[str], ast.AST]] = []
    stack: list[ast.AST] = list(func.body)  # type: ignore[attr-defined]
    while stack:
        node = stack.pop()
        if isinstance(node, (*FUNCTION_DEFS, ast.ClassDef)):
            continue
        if isinstance(node, ast.Assign):
            bindings += [(_ast_targets(target), node.value) for target in node.targets]
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)) and node.value:
            bindings.append((_ast_targets(node.target), node.value))
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            bindings.append((_ast_targets(node.target), node.iter))
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            bindings.append((_ast_targets(node.optional_vars), node.context_expr))
        stack.extend(ast.iter_child_nodes(node))
    tainted = _spread_taint(tainted, bindings, _ast_references)
    values = [*call.args, *(keyword.value for keyword in call.keywords)]
    return any(_ast_references(value) & tainted for value in values)


# --- what is a client ------------------------------------------------------------------------


def client_constructor(reader: MetadataReader, call: cst.Call) -> str | None:
    """The qualified name of the client class or factory `call` constructs, if it is one."""
    names = qualified_name_objects(reader, call.func)
    found = sorted(names, key=lambda q: q.name)
    if not found or not all(_is_client(reader, call.func, q.name, q.source) for q in found):
        return None
    return str(found[0].name)


def _is_client(reader: MetadataReader, func: cst.BaseExpression, name: str, source: object) -> bool:
    if name in KNOWN_CLIENTS:
        return True
    if name.startswith(NOT_CLIENT_PREFIXES) or "<locals>" in name:
        return False
    last = name.rsplit(".", 1)[-1]
    if not (last[:1].isupper() and last.endswith(CLIENT_SUFFIXES)):
        return False
    if source is QualifiedNameSource.LOCAL:
        return _is_local_client_class(reader, func)
    return True


def _is_local_client_class(reader: MetadataReader, func: cst.BaseExpression) -> bool:
    """A class of this module named like a client counts unless it is plain data."""
    if not isinstance(func, cst.Name):
        return False
    scope = reader.get_metadata(ScopeProvider, func, None)
    if scope is None:
        return False
    assignments = list(scope[func.value])  # type: ignore[index]
    return bool(assignments) and all(
        isinstance(a.node, cst.ClassDef) and not is_data_class(reader, a.node) for a in assignments
    )


def _decorators(
    reader: MetadataReader, cls: cst.ClassDef
) -> list[tuple[set[str], cst.BaseExpression]]:
    """Each class decorator's possible names, with the decorator expression."""
    found: list[tuple[set[str], cst.BaseExpression]] = []
    for decorator in cls.decorators:
        target = decorator.decorator
        callee = target.func if isinstance(target, cst.Call) else target
        names = qualified_names(reader, callee)
        dotted = cst.helpers.get_full_name_for_node(callee)
        found.append((names | {dotted} if dotted else names, target))
    return found


def is_data_class(reader: MetadataReader, cls: cst.ClassDef) -> bool:
    """Dataclass, attrs class, pydantic model, NamedTuple, TypedDict or Enum."""
    if any(names & DATA_DECORATORS for names, _ in _decorators(reader, cls)):
        return True
    return any(qualified_names(reader, base.value) & DATA_BASES for base in cls.bases)


def is_slotted(reader: MetadataReader, cls: cst.ClassDef) -> bool:
    """The class has `__slots__` (declared, `dataclass(slots=True)`, or attrs' slotted default)."""
    for statement in cls.body.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign):
                    targets = [t.target for t in small.targets]
                elif isinstance(small, cst.AnnAssign):
                    targets = [small.target]
                else:
                    continue
                if any(isinstance(t, cst.Name) and t.value == "__slots__" for t in targets):
                    return True
    for names, target in _decorators(reader, cls):
        slots = _keyword(target, "slots")
        if slots is not None:
            if isinstance(slots, cst.Name) and slots.value == "True":
                return True
        elif names & SLOTTED_BY_DEFAULT:
            return True
    return False


def _keyword(expression: cst.BaseExpression, name: str) -> cst.BaseExpression | None:
    if isinstance(expression, cst.Call):
        for arg in expression.args:
            if arg.keyword is not None and arg.keyword.value == name:
                return arg.value
    return None


def is_loop_bound(name: str) -> bool:
    """Async clients: bound to the event loop they first run on."""
    parts = name.split(".")
    return (
        name in LOOP_BOUND
        or parts[-1].startswith("Async")
        or "aio" in parts[:-1]
        or "asyncio" in parts[:-1]
    )


def shown_name(call: cst.Call) -> str:
    """The constructor as the user spelled it (`OAI`, `httpx.Client`)."""
    return cst.helpers.get_full_name_for_node(call.func) or "client"


def snake_name(call: cst.Call) -> str:
    """`OpenAI` → `openai`, `QdrantClient` → `qdrant_client`, `boto3.client` → `client`."""
    return snake_case(shown_name(call).rsplit(".", 1)[-1])


# --- where it runs ---------------------------------------------------------------------------


def runs_per_call(reader: MetadataReader, func: cst.FunctionDef) -> bool:
    """A node class's per-call method, or a module-level helper function."""
    cls = method_class(reader, func)
    if cls is not None:
        return func.name.value in PER_CALL_METHODS and framework_of(reader, cls) is not None
    return (
        is_module_level(reader, func)
        and func.name.value not in SKIPPED_FUNCTIONS
        and not func.name.value.startswith("test_")
        and not is_cached_function(reader, func)
    )


def instance_name(reader: MetadataReader, func: cst.FunctionDef) -> str | None:
    """The name of a method's instance parameter (`self`), None for static/class methods."""
    if decorator_names(reader, func) & {
        "staticmethod",
        "classmethod",
        "builtins.staticmethod",
        "builtins.classmethod",
    }:
        return None
    params = [*func.params.posonly_params, *func.params.params]
    return params[0].name.value if params else None


def assigned_local(reader: MetadataReader, call: cst.Call) -> str | None:
    """`name` for `name = call` / `name: T = call`."""
    owner = parent(reader, call)
    if isinstance(owner, cst.Assign) and owner.value is call and len(owner.targets) == 1:
        target = owner.targets[0].target
        return target.value if isinstance(target, cst.Name) else None
    if (
        isinstance(owner, cst.AnnAssign)
        and owner.value is call
        and isinstance(owner.target, cst.Name)
    ):
        return owner.target.value
    return None


def returns_early(func: cst.FunctionDef) -> bool:
    """A `return` anywhere in the body but a trailing bare `return`."""
    found: list[cst.Return] = []

    class _Returns(cst.CSTVisitor):
        def visit_Return(self, node: cst.Return) -> None:
            found.append(node)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is func

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

    func.visit(_Returns())
    return any(node is not trailing_return(func) for node in found)


def trailing_return(func: cst.FunctionDef) -> cst.Return | None:
    """The body's last statement when it is a bare `return`."""
    body = func.body
    if not isinstance(body, cst.IndentedBlock) or not body.body:
        return None
    last = body.body[-1]
    if isinstance(last, cst.SimpleStatementLine) and len(last.body) == 1:
        small = last.body[0]
        if isinstance(small, cst.Return) and small.value is None:
            return small
    return None


def has_dynamiq_base(reader: MetadataReader, cls: cst.ClassDef) -> bool:
    return any(
        name.startswith("dynamiq.")
        for base in cls.bases
        for name in qualified_names(reader, base.value)
    )


def uses_name(node: cst.CSTNode, name: str) -> bool:
    return name in _references(node)


def hoist_route(
    reader: MetadataReader, func: cst.FunctionDef, call: cst.Call
) -> tuple[Route | None, str]:
    """Where the construction can move to, or (None, why not)."""
    cls = method_class(reader, func)
    if cls is None:
        return "factory", ""
    this = instance_name(reader, func)
    if this is None:
        return None, f"`{func.name.value}()` has no instance parameter"
    if is_slotted(reader, cls):
        return None, f"`{cls.name.value}` uses `__slots__`; add a slot for the client by hand"
    init_components = find_method(cls, "init_components")
    if framework_of(reader, cls) == "dynamiq" and (
        has_dynamiq_base(reader, cls) or init_components
    ):
        if init_components is not None:
            if returns_early(init_components):
                return None, "`init_components()` returns early"
            if instance_name(reader, init_components) != this and uses_name(call, this):
                return None, "`init_components()` names its instance parameter differently"
        return "init_components", ""
    if is_data_class(reader, cls) or uses_name(call, this):
        return "cached_property", ""
    init = find_method(cls, "__init__")
    if init is not None and returns_early(init):
        return "cached_property", ""
    return "__init__", ""


def default_hook(reader: MetadataReader, func: cst.FunctionDef) -> Route:
    cls = method_class(reader, func)
    if cls is None:
        return "factory"
    return "init_components" if framework_of(reader, cls) == "dynamiq" else "__init__"


# --- how the client is used ------------------------------------------------------------------


def construction_usage(
    reader: MetadataReader, call: cst.Call, func: cst.FunctionDef
) -> Usage | None:
    """How the new client is used in `func`; None when it escapes (returned, stored, passed on)."""
    owner = parent(reader, call)
    if isinstance(owner, cst.WithItem) and owner.item is call:
        return "context"
    if isinstance(owner, cst.Attribute) and owner.value is call:
        return "inline"
    local = assigned_local(reader, call)
    if local is None or local in _declared_outer(func):
        return None
    usages = {_reference_usage(reader, name, func) for name in _loads_of(func, local)}
    if "escape" in usages:
        return None
    if "context" in usages:
        return "context"
    return "closed" if "closed" in usages else "local"


def _declared_outer(func: cst.FunctionDef) -> set[str]:
    names: set[str] = set()

    class _Decls(cst.CSTVisitor):
        def visit_Global(self, node: cst.Global) -> None:
            names.update(item.name.value for item in node.names)

        def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
            names.update(item.name.value for item in node.names)

    func.body.visit(_Decls())
    return names


def _loads_of(func: cst.FunctionDef, local: str) -> list[cst.Name]:
    """`local` read as a variable in `func` (not attribute names, keywords or targets)."""
    found: list[cst.Name] = []

    class _Loads(cst.CSTVisitor):
        def visit_Attribute(self, node: cst.Attribute) -> bool:
            node.value.visit(self)
            return False

        def visit_Arg(self, node: cst.Arg) -> bool:
            node.value.visit(self)
            return False

        def visit_AssignTarget(self, node: cst.AssignTarget) -> bool:
            return not isinstance(node.target, cst.Name)

        def visit_Name(self, node: cst.Name) -> None:
            if node.value == local:
                found.append(node)

    func.body.visit(_Loads())
    return found


def _reference_usage(reader: MetadataReader, name: cst.Name, func: cst.FunctionDef) -> str:
    owner = parent(reader, name)
    if isinstance(owner, cst.Attribute) and owner.value is name:
        attr = owner.attr.value
        return (
            "closed"
            if attr in {"close", "aclose"}
            else "context"
            if attr in {"__enter__", "__aenter__"}
            else "use"
        )
    if isinstance(owner, cst.WithItem) and owner.item is name:
        return "context"
    if isinstance(owner, cst.AnnAssign) and owner.target is name:
        return "use"
    node: cst.CSTNode = name
    while owner is not None and owner is not func:
        if isinstance(owner, (cst.Return, cst.Yield, cst.Lambda, cst.FunctionDef, cst.ClassDef)):
            return "escape"
        if isinstance(owner, (cst.Assign, cst.AnnAssign, cst.AugAssign, cst.NamedExpr)):
            return "escape" if node is owner.value else "use"
        if isinstance(owner, cst.Arg):
            call = parent(reader, owner)
            callee = (
                cst.helpers.get_full_name_for_node(call.func)
                if isinstance(call, cst.Call)
                else None
            )
            last = (callee or "").rsplit(".", 1)[-1]
            return "escape" if last in STORE_METHODS or last[:1].isupper() else "use"
        if isinstance(owner, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            return "use"
        node, owner = owner, parent(reader, owner)
    return "use"


def is_conditional(reader: MetadataReader, call: cst.Call, func: cst.FunctionDef) -> bool:
    """The construction runs only on some calls, or inside `try`."""
    current = parent(reader, call)
    while current is not None and current is not func:
        if isinstance(current, CONDITIONAL):
            return True
        current = parent(reader, current)
    return False


# --- what the arguments depend on ------------------------------------------------------------


def _references(node: cst.CSTNode) -> set[str]:
    """Variable names and dotted attribute chains read in `node` (`self`, `self.params`, ...)."""
    found: set[str] = set()

    class _Refs(cst.CSTVisitor):
        def visit_Attribute(self, attribute: cst.Attribute) -> bool:
            dotted = cst.helpers.get_full_name_for_node(attribute)
            if dotted:
                found.add(dotted)
            attribute.value.visit(self)
            return False

        def visit_Arg(self, arg: cst.Arg) -> bool:
            arg.value.visit(self)
            return False

        def visit_Name(self, name: cst.Name) -> None:
            found.add(name.value)

    node.visit(_Refs())
    return found


def _target_names(target: cst.CSTNode) -> set[str]:
    if isinstance(target, (cst.Tuple, cst.List)):
        return {name for element in target.elements for name in _target_names(element.value)}
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value)
    if isinstance(target, cst.Subscript):
        return _target_names(target.value)
    dotted = cst.helpers.get_full_name_for_node(target)
    return {dotted} if dotted else set()


def _bindings(func: cst.FunctionDef) -> list[tuple[set[str], cst.CSTNode]]:
    """(names bound or mutated, the expression they come from) for the function's own body."""
    found: list[tuple[set[str], cst.CSTNode]] = []

    class _Bindings(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            for target in node.targets:
                found.append((_target_names(target.target), node.value))

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            if node.value is not None:
                found.append((_target_names(node.target), node.value))

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            found.append((_target_names(node.target), node.value))

        def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
            found.append((_target_names(node.target), node.value))

        def visit_For(self, node: cst.For) -> None:
            found.append((_target_names(node.target), node.iter))

        def visit_CompFor(self, node: cst.CompFor) -> None:
            found.append((_target_names(node.target), node.iter))

        def visit_WithItem(self, node: cst.WithItem) -> None:
            if node.asname is not None:
                found.append((_target_names(node.asname.name), node.item))

        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Attribute):
                found.append(
                    (
                        _target_names(node.func.value),
                        cst.Tuple([cst.Element(a.value) for a in node.args]),
                    )
                )

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is func

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

    func.visit(_Bindings())
    return found


def input_names(reader: MetadataReader, func: cst.FunctionDef) -> set[str]:
    """Parameters (but the instance) and everything derived from them in `func`."""
    params = func.params
    tainted = {
        p.name.value for p in [*params.posonly_params, *params.params, *params.kwonly_params]
    }
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            tainted.add(star.name.value)
    this = instance_name(reader, func) if method_class(reader, func) is not None else None
    tainted.discard(this or "")
    return _spread_taint(tainted, _bindings(func), _references)


def depends_on_inputs(reader: MetadataReader, func: cst.FunctionDef, call: cst.Call) -> bool:
    """Some constructor argument reads the call's inputs."""
    tainted = input_names(reader, func)
    return any(_references(arg.value) & tainted for arg in call.args)


def unstable_argument(
    reader: MetadataReader, call: cst.Call, this: str | None
) -> cst.BaseExpression | None:
    """The first argument that is not a literal, `self.*`, module-level name or env lookup."""
    for arg in call.args:
        if arg.star or not is_call_invariant(reader, arg.value, this):
            return arg.value
    return None


def callee_is_global(reader: MetadataReader, call: cst.Call) -> bool:
    """The constructor's root name is bound at module level (so the code can move)."""
    root: cst.BaseExpression = call.func
    while isinstance(root, cst.Attribute):
        root = root.value
    return isinstance(root, cst.Name) and is_module_level_name(reader, root)


def _code(node: cst.CSTNode, limit: int = 40) -> str:
    text = " ".join(cst.Module([]).code_for_node(node).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- the rule --------------------------------------------------------------------------------


class ClientCreatedPerCall(Detector):
    """A client or connection is constructed on every call instead of once.

    ## Why is this bad?
    Constructing an SDK or HTTP client (`OpenAI()`, `httpx.Client()`, `boto3.client()`,
    `QdrantClient()`, ...) builds a new connection pool. A client built inside a node's
    `execute()`/`exec()` or inside a helper such as `call_llm()` pays for a fresh TCP and TLS
    handshake on every item and throws away keep-alive connections, which adds tens to hundreds
    of milliseconds per call and leaves sockets in `TIME_WAIT` under load. Dynamiq's guide lists
    "nodes creating clients in `execute()` instead of `init_components()`" as a connection
    management problem.

    ## Example
    ```python
    from openai import OpenAI
    from pocketflow import Node


    class Summarize(Node):
        def exec(self, text):
            client = OpenAI()
            response = client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": text}]
            )
            return response.choices[0].message.content
    ```

    ## Use instead
    ```python
    from openai import OpenAI
    from pocketflow import Node


    class Summarize(Node):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._client = OpenAI()

        def exec(self, text):
            client = self._client
            response = client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": text}]
            )
            return response.choices[0].message.content
    ```

    ## Fix safety
    Safe when every constructor argument is a literal, `self.*`, a module-level name or an
    environment lookup: the client is then built once with the same arguments. In a Dynamiq
    node the construction moves to `init_components()` (created, calling
    `super().init_components(connection_manager)`, when missing) and, when the node's base
    comes from pydantic or Dynamiq, a pydantic `PrivateAttr` is declared; in a
    PocketFlow/KayGraph/pflow or plain class it moves to `__init__()`, or to
    a `functools.cached_property` when an argument reads `self` (PocketFlow sets `self.params`
    after construction), the class is a dataclass/attrs class, or `__init__` returns early; a
    module-level helper gets a `functools.cache` factory. The per-call code keeps its local
    (`client = self._client`).

    Unsafe: async clients (bound to the event loop they first run on), `boto3.resource()` (not
    thread-safe), a construction that is conditional or inside `try` and would become eager,
    and arguments that read `self.params` in a plain class (they can change between runs).
    No fix: a client used as a context manager or closed in the function, sqlite3/psycopg
    connections (bound to their thread), arguments computed per call, a constructor imported
    inside the function, static methods and slotted classes. Constructions whose arguments
    depend on the call's inputs, that are returned or stored, or that run in init hooks are
    not reported.

    ## Metric to monitor
    Open connections and new TLS handshakes per minute (for example `ss -tan state
    time-wait | wc -l`), and per-node latency p50/p95.

    ## Limitations
    Only the per-call methods of recognised node classes (`execute`, `execute_async`, `exec`,
    `exec_async`, `run`, `__call__`) and module-level functions are checked, not helper methods
    they call. A class of the same module named `*Client`/`*Session`/... counts unless it is a
    dataclass, attrs class, pydantic model, NamedTuple, TypedDict or Enum; an imported one
    counts by name alone. PocketFlow flows run shallow copies of each node, so a
    `cached_property` filled on a copy is reused within that run (every item of a `BatchNode`)
    but not across runs.
    """

    CODE = "CON001"
    NAME = "client-created-per-call"
    SEVERITY = Severity.CRITICAL
    CATEGORY = "connections"
    FIX = FixSafety.SAFE
    FRAMEWORKS = ("dynamiq", "pocketflow", "kaygraph", "pflow")
    MESSAGE = (
        "`{client}()` is constructed on every call of `{function}()`; create it once in {hook}"
    )
    TRIGGERS = (
        "Client",
        "Session",
        "session",
        "Connection",
        "connect",
        "Pool",
        "Engine",
        "OpenAI",
        "Anthropic",
        "Redis",
        "boto3",
        "Elasticsearch",
    )

    REACH = "function"

    @classmethod
    def ast_candidate(cls, view: FileView) -> Sites:
        """Each client constructor called in a per-call method of a possible node class or in
        a module-level function, as a `with` item, an attribute's receiver or the whole value
        of an assignment to a plain name (every other use escapes or is not reported), none
        of whose arguments surely reads the call's inputs; with the `__init__` and
        `init_components` methods of its class."""
        words = view.expand(CLIENT_NAME_WORDS)
        used: list[ast.Call] = []
        for node in view.nodes_near(words, ast.withitem, ast.Attribute, ast.Assign, ast.AnnAssign):
            if isinstance(node, ast.withitem):
                value: ast.AST = node.context_expr
            elif isinstance(node, ast.Attribute):
                value = node.value
            else:
                value = node.value  # type: ignore[attr-defined]
                if not _ast_kept_locally(node, value):  # type: ignore[arg-type]
                    continue
            if isinstance(value, ast.Call) and _ast_client_name(view, value):
                used.append(value)
        sites: list[ast.AST] = []
        for call in used:
            chain = view.enclosing(call.lineno)
            index = innermost(chain)
            if (
                index is not None
                and isinstance(chain[index], FUNCTION_DEFS)
                and ast_runs_per_call(view, chain, index)
            ):
                owner = chain[index - 1] if index > 0 else None
                if _ast_depends_on_inputs(chain[index], call, isinstance(owner, ast.ClassDef)):
                    continue
                sites.append(call)
                if isinstance(owner, ast.ClassDef):  # `hoist_route` reads these methods' bodies
                    sites += [s for s in owner.body if getattr(s, "name", "") in HOOK_METHODS]
        return sites

    METADATA_DEPENDENCIES = (
        PositionProvider,
        ParentProvider,
        ScopeProvider,
    )

    def visit_Call(self, node: cst.Call) -> None:
        name = client_constructor(self, node)
        if name is None:
            return
        func = scope_owner(self, node)
        if not isinstance(func, cst.FunctionDef) or not runs_per_call(self, func):
            return
        usage = construction_usage(self, node, func)
        if usage is None or depends_on_inputs(self, func, node):
            return
        route, why = hoist_route(self, func, node)
        fix, note = self._fix_safety(node, name, func, usage, route, why)
        self.report(
            node,
            fix=fix,
            note=note,
            client=shown_name(node),
            function=func.name.value,
            hook=HOOKS[route or default_hook(self, func)],
        )

    def _fix_safety(
        self,
        node: cst.Call,
        name: str,
        func: cst.FunctionDef,
        usage: Usage,
        route: Route | None,
        why: str,
    ) -> tuple[FixSafety, str]:
        cls = method_class(self, func)
        this = instance_name(self, func) if cls is not None else None
        unstable = unstable_argument(self, node, this)
        blockers = [
            (usage == "context", "used as a context manager, so it is closed after every call"),
            (
                usage == "closed",
                "closed at the end of the call; drop the `close()` when reusing it",
            ),
            (name in THREAD_BOUND, "database connections are bound to their thread; use a pool"),
            (route is None, why),
            (not callee_is_global(self, node), "the constructor is not imported at module level"),
            (
                unstable is not None,
                f"argument `{_code(unstable)}` is computed per call"
                if unstable is not None
                else "",
            ),
        ]
        notes = [text for hit, text in blockers if hit]
        if notes:
            return FixSafety.NONE, "; ".join(notes)
        risks = [
            (is_loop_bound(name), "async clients are bound to the event loop they first run on"),
            (name in NOT_THREAD_SAFE, "the client is not thread-safe once shared"),
            (
                route in ("init_components", "__init__") and is_conditional(self, node, func),
                "the construction is conditional or inside `try` and would become eager",
            ),
            (
                route == "cached_property"
                and this is not None
                and uses_name(node, f"{this}.params"),
                "`self.params` can change between runs; the cached client keeps the first value",
            ),
        ]
        notes = [text for hit, text in risks if hit]
        return (FixSafety.UNSAFE, "; ".join(notes)) if notes else (FixSafety.SAFE, "")
