"""Which calls construct a long-lived client or connection, and what the class they build is
like (plain data, slotted, bound to an event loop or a thread)."""

from __future__ import annotations

import ast

from flowfix.analysis import Model
from flowfix.analysis.frameworks import base_class
from flowfix.analysis.model import BUILTINS
from flowfix.analysis.names import snake_case, spelled_name
from flowfix.analysis.values import declares_slots

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
        # Dynamiq's cache managers: each builds its backend's client (a `redis.Redis`).
        "dynamiq.cache.managers.CacheManager",
        "dynamiq.cache.managers.WorkflowCacheManager",
        "dynamiq.cache.managers.base.CacheManager",
        "dynamiq.cache.managers.workflow.WorkflowCacheManager",
    }
)
CLIENT_SUFFIXES = ("Client", "Session", "Connection", "Pool", "Engine")
# Words the code that builds a client has in it (CON001's text trigger).
CLIENT_WORDS = (
    "Client",
    "client",
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
# Names that match a suffix but are not long-lived clients: executors and process pools (EXE
# rules), SQLAlchemy ORM sessions (one per unit of work by design), Dynamiq connection configs
# (cheap pydantic models; their `connect()` builds the client).
NOT_CLIENT_PREFIXES = ("concurrent.", "multiprocessing.", "sqlalchemy.orm.", "dynamiq.connections.")
THREAD_BOUND = frozenset({"sqlite3.connect", "psycopg.connect", "psycopg2.connect"})
LOOP_BOUND = frozenset({"aiohttp.ClientSession", "redis.asyncio.Redis"})
NOT_THREAD_SAFE = frozenset({"boto3.resource"})
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


def _spelled_root(node: ast.AST) -> ast.Name | None:
    while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node if isinstance(node, ast.Name) else None


def constructor_names(model: Model, func: ast.AST) -> list[tuple[str, bool]]:
    """What the callee `func` may be, as (qualified name, bound in this module) pairs: through
    imports (`OAI` → `openai.OpenAI`), builtins, or the module's own names (`MyClient`, or
    `f.<locals>.x` for a function's local)."""
    spelled = spelled_name(func)
    root = _spelled_root(func)
    if spelled is None or root is None:
        return []
    rest = spelled[len(root.id) :]
    bindings = model.bindings_of(root)
    if not bindings:
        return [(f"builtins.{spelled}", False)] if root.id in BUILTINS else []
    found: list[tuple[str, bool]] = []
    for binding in bindings:
        default = parameter_default(model, binding.node) if binding.kind == "parameter" else None
        if default is not None:
            # `manager_cls: type[Manager] = Manager`: the class the parameter defaults to.
            found.extend((f"{name}{rest}", False) for name in model.qualified_names(default))
        elif binding.is_import:
            found.append((f"{binding.qualified}{rest}", False))
        elif binding.scope.kind == "module":
            found.append((f"{binding.name}{rest}", True))
        else:
            sep = ".<locals>." if binding.scope.kind in ("function", "lambda") else "."
            found.append((f"{binding.scope.qualname}{sep}{binding.name}{rest}", True))
    return found


def parameter_default(model: Model, arg: ast.AST) -> ast.expr | None:
    """The default value of the parameter `arg`, when it has one."""
    arguments = model.parent(arg)
    if not isinstance(arguments, ast.arguments):
        return None
    positional = [*arguments.posonlyargs, *arguments.args]
    for index, param in enumerate(positional):
        if param is arg:
            at = index - (len(positional) - len(arguments.defaults))
            return arguments.defaults[at] if at >= 0 else None
    for param, default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True):
        if param is arg:
            return default
    return None


# The last word of each known client: what a method-style callee (`x.Client()`) must end in.
_KNOWN_LAST = frozenset(name.rpartition(".")[2] for name in KNOWN_CLIENTS)


def _may_be_client(word: str) -> bool:
    """Whether a callee whose qualified name ends in `word` can be a client (`_is_client`'s
    test on the last word alone)."""
    return word in _KNOWN_LAST or (word[:1].isupper() and word.endswith(CLIENT_SUFFIXES))


def client_constructor(model: Model, call: ast.Call) -> str | None:
    """The qualified name of the client class or factory `call` constructs, if it is one."""
    func = call.func
    if isinstance(func, ast.Attribute):
        if not _may_be_client(func.attr):
            return None  # every name it may have ends in this attribute (a cheap first test)
    elif isinstance(func, ast.Name):
        # A plain name: the answer depends only on the bindings it reads (or on the builtin).
        bindings = model.bindings_of(func)
        key = (client_constructor, id(bindings) if bindings else None, func.id)
        if key not in model.memo:
            model.memo[key] = _constructed(model, func)
        return model.memo[key]  # type: ignore[return-value]
    return _constructed(model, func)


def _constructed(model: Model, func: ast.expr) -> str | None:
    found = sorted(set(constructor_names(model, func)))
    if not found or not all(_is_client(model, func, name, local) for name, local in found):
        return None
    return found[0][0]


def _is_client(model: Model, func: ast.AST, name: str, local: bool) -> bool:
    if name in KNOWN_CLIENTS:
        return True
    if name.startswith(NOT_CLIENT_PREFIXES) or "<locals>" in name:
        return False
    last = name.rsplit(".", 1)[-1]
    if not (last[:1].isupper() and last.endswith(CLIENT_SUFFIXES)):
        return False
    return _is_local_client_class(model, func) if local else True


def _is_local_client_class(model: Model, func: ast.AST) -> bool:
    """A class of this module named like a client counts unless it is plain data."""
    if not isinstance(func, ast.Name):
        return False
    bindings = model.bindings_of(func)
    return bool(bindings) and all(
        isinstance(b.node, ast.ClassDef) and not is_data_class(model, b.node) for b in bindings
    )


def _class_decorators(model: Model, cls: ast.ClassDef) -> list[tuple[set[str], ast.expr]]:
    """Each class decorator's possible names (resolved and as written), with the decorator."""
    found: list[tuple[set[str], ast.expr]] = []
    for decorator in cls.decorator_list:
        callee = decorator.func if isinstance(decorator, ast.Call) else decorator
        names = model.qualified_names(callee)
        spelled = spelled_name(callee)
        found.append((names | {spelled} if spelled else names, decorator))
    return found


def is_data_class(model: Model, cls: ast.ClassDef) -> bool:
    """Dataclass, attrs class, pydantic model, NamedTuple, TypedDict or Enum."""
    if any(names & DATA_DECORATORS for names, _ in _class_decorators(model, cls)):
        return True
    return any(model.qualified_names(base_class(base)) & DATA_BASES for base in cls.bases)


def is_slotted(model: Model, cls: ast.ClassDef) -> bool:
    """The class has `__slots__` (declared, `dataclass(slots=True)`, or attrs' slotted
    default)."""
    if declares_slots(cls):
        return True
    for names, decorator in _class_decorators(model, cls):
        slots = _keyword(decorator, "slots")
        if slots is not None:
            if isinstance(slots, ast.Constant) and slots.value is True:
                return True
        elif names & SLOTTED_BY_DEFAULT:
            return True
    return False


def _keyword(expression: ast.expr, name: str) -> ast.expr | None:
    if isinstance(expression, ast.Call):
        for keyword in expression.keywords:
            if keyword.arg == name:
                return keyword.value
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


def shown_name(call: ast.Call) -> str:
    """The constructor as the user spelled it (`OAI`, `httpx.Client`)."""
    return spelled_name(call.func) or "client"


def snake_name(call: ast.Call) -> str:
    """`OpenAI` → `openai`, `QdrantClient` → `qdrant_client`, `boto3.client` → `client`."""
    return snake_case(shown_name(call).rsplit(".", 1)[-1])
