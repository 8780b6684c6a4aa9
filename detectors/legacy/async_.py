"""Async rules: blocking work inside coroutines (`async` is a keyword, hence `async_`)."""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import libcst as cst
from libcst.metadata import PositionProvider

from flowfix.detectors.legacy.connections import instance_name
from flowfix.libcst_detector import LibcstDetector as Detector
from flowfix.parents import ParentProvider
from flowfix.prefilter import (
    FUNCTION_DEFS,
    SCOPE_DEFS,
    FileView,
    innermost,
    matches,
)
from flowfix.reduction import Sites
from flowfix.rules import FixSafety, Severity
from flowfix.scope import ScopeProvider
from flowfix.semantics import (
    MetadataReader,
    conflicting_binding,
    inside_generator_expression,
    method_class,
    own_nodes,
    parent,
    resolves_to,
    running_coroutine,
    scope_owner,
)

# --- AST prefilter helpers ------------------------------------------------------------------


def ast_base_name(expr: ast.AST) -> str | None:
    """The name a chain of attributes, subscripts and calls starts from (`a` in `a.b(c)[0].d`):
    libcst qualifies the whole chain through that name's binding."""
    while isinstance(expr, (ast.Attribute, ast.Subscript, ast.Call)):
        expr = expr.func if isinstance(expr, ast.Call) else expr.value
    return expr.id if isinstance(expr, ast.Name) else None


def ast_module_names(view: FileView, *packages: str) -> set[str]:
    """Names from which libcst may resolve a chain into one of `packages` (words: `pflow*`
    matches `pflow_cli`): those an import of it binds, at any depth, and each package's own
    name (any module-level binding of `time`, even `time = Clock()`, reads as `time.*`)."""
    found = {package for package in packages if "*" not in package}
    for statement in view.near(packages):
        if isinstance(statement, ast.Import):
            pairs = [(a.name, a.asname or a.name.split(".")[0]) for a in statement.names]
        elif isinstance(statement, ast.ImportFrom) and statement.module:
            pairs = [(statement.module, a.asname or a.name) for a in statement.names]
        else:
            continue
        found.update(
            bound
            for module, bound in pairs
            if any(matches(module.split(".")[0], package) for package in packages)
        )
    return found


def ast_owner(view: FileView, node: ast.expr) -> tuple[list[ast.AST], int | None]:
    """The statements around `node` (outermost first) and the index of the innermost def or
    class among them, whose code `node` runs in (None at module level)."""
    chain = view.enclosing(node.lineno)
    return chain, innermost(chain)


def ast_coroutine_statement(view: FileView, node: ast.expr) -> ast.AST | None:
    """The innermost statement around `node` when `node` runs in the own code of an
    `async def` (not in a nested def or class)."""
    chain, index = ast_owner(view, node)
    return (
        chain[-1] if index is not None and isinstance(chain[index], ast.AsyncFunctionDef) else None
    )


def ast_blocks_coroutine(view: FileView, call: ast.Call) -> bool:
    """`call` runs in the own code of an `async def` and is not awaited."""
    statement = ast_coroutine_statement(view, call)
    return statement is not None and not any(
        isinstance(node, ast.Await) and node.value is call for node in ast.walk(statement)
    )


# --- shared questions for ASY002-ASY007 ---------------------------------------------------

DEPENDENCIES = (PositionProvider, ParentProvider, ScopeProvider)
# (assigned value, declared type) of one binding of a name; either may be missing.
Binding = tuple[cst.BaseExpression | None, cst.BaseExpression | None]
OFFLOADERS = frozenset({"asyncio.to_thread"})


def resolves_name(
    reader: MetadataReader, node: cst.BaseExpression, targets: frozenset[str] | set[str]
) -> str | None:
    """`resolves_to` for a plain dotted name only: libcst resolves the attribute of a call's
    result by the call (`open(p).read` is reported as `builtins.open`)."""
    base = node
    while isinstance(base, cst.Attribute):
        base = base.value
    return resolves_to(reader, node, targets) if isinstance(base, cst.Name) else None


def name_bindings(reader: MetadataReader, name: cst.Name) -> list[Binding] | None:
    """What every binding of `name` (as seen from where it is read) assigns, or None when a
    binding is not a plain `name = value`, `name: T [= value]`, `with value as name` or an
    annotated parameter (imports, loops, tuple targets, `global` from elsewhere...)."""
    scope = reader.get_metadata(ScopeProvider, name, None)
    if scope is None:
        return None
    assignments = list(scope[name.value])  # type: ignore[index]
    if not assignments:
        return None
    found: list[Binding] = []
    for assignment in assignments:
        binding = _binding(reader, getattr(assignment, "node", None))
        if binding is None:
            return None
        found.append(binding)
    return found


def _binding(reader: MetadataReader, target: object) -> Binding | None:
    if isinstance(target, cst.Param):
        annotation = target.annotation.annotation if target.annotation else None
        return (None, annotation) if annotation is not None else None
    if not isinstance(target, cst.Name):
        return None
    owner = parent(reader, target)
    if isinstance(owner, cst.AssignTarget):
        statement = parent(reader, owner)
        return (statement.value, None) if isinstance(statement, cst.Assign) else None
    if isinstance(owner, cst.AnnAssign) and owner.target is target:
        return owner.value, owner.annotation.annotation
    if isinstance(owner, cst.AsName):
        item = parent(reader, owner)
        return (item.item, None) if isinstance(item, cst.WithItem) else None
    return None


def attribute_bindings(reader: MetadataReader, cls: cst.ClassDef, attr: str) -> list[Binding]:
    """Every `<self>.attr = value` in the class's methods and `attr [: T] = value` in its body."""
    found: list[Binding] = []
    for statement in cls.body.body:
        if isinstance(statement, cst.SimpleStatementLine):
            found += _assigned_to(statement, lambda target: _is_name(target, attr))
        elif isinstance(statement, cst.FunctionDef):
            this = instance_name(reader, statement)
            if this is not None:
                found += _assigned_to(statement.body, _self_attribute(this, attr))
    return found


def _is_name(node: cst.CSTNode, value: str) -> bool:
    return isinstance(node, cst.Name) and node.value == value


def _self_attribute(this: str, attr: str) -> Callable[[cst.CSTNode], bool]:
    def matches(target: cst.CSTNode) -> bool:
        return (
            isinstance(target, cst.Attribute)
            and _is_name(target.value, this)
            and target.attr.value == attr
        )

    return matches


def _assigned_to(root: cst.CSTNode, matches: Callable[[cst.CSTNode], bool]) -> list[Binding]:
    """(value, annotation) of the assignments below `root` (its own scope) to a matching target;
    augmented or unpacking assignments count as unknown values."""
    found: list[Binding] = []
    for node in [root, *own_nodes(root)]:
        if isinstance(node, cst.Assign):
            for target in node.targets:
                if matches(target.target):
                    found.append((node.value, None))
                elif isinstance(target.target, (cst.Tuple, cst.List)) and any(
                    matches(element.value) for element in target.target.elements
                ):
                    found.append((None, None))
        elif isinstance(node, cst.AnnAssign) and matches(node.target):
            found.append((node.value, node.annotation.annotation))
        elif isinstance(node, cst.AugAssign) and matches(node.target):
            found.append((None, None))
    return found


def self_attribute_class(
    reader: MetadataReader, expr: cst.BaseExpression
) -> tuple[cst.ClassDef, str] | None:
    """(class, attribute) for `self.attr` read in a method of that class."""
    if not (isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name)):
        return None
    owner = scope_owner(reader, expr)
    if not isinstance(owner, cst.FunctionDef):
        return None
    cls = method_class(reader, owner)
    if cls is None or instance_name(reader, owner) != expr.value.value:
        return None
    return cls, expr.attr.value


def _is_none(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def bound_class(
    reader: MetadataReader,
    expr: cst.BaseExpression,
    classes: frozenset[str],
    constructs: Callable[[cst.BaseExpression], str | None],
) -> str | None:
    """The one class of `classes` that every binding of `expr` (a name, or `self.attr` of the
    enclosing class) holds: constructed (`constructs(value)`), or declared with that type.
    `None` values are ignored; any other value makes the answer unknown (None)."""
    bindings: list[Binding] | None
    if isinstance(expr, cst.Name):
        bindings = name_bindings(reader, expr)
    else:
        owner = self_attribute_class(reader, expr)
        bindings = attribute_bindings(reader, *owner) if owner else None
    if not bindings:
        return None
    found: set[str] = set()
    for value, annotation in bindings:
        held = resolves_name(reader, annotation, classes) if annotation is not None else None
        held = held or (constructs(value) if value is not None else None)
        if held is not None:
            found.add(held)
        elif not _is_none(value):
            return None
    return found.pop() if len(found) == 1 else None


def shown_callee(func: cst.BaseExpression) -> str:
    """The callee as spelled, calls in the receiver dropped (`OpenAI.chat.completions.create`)."""
    dotted = cst.helpers.get_full_name_for_node(func)
    if dotted and not dotted.startswith("None"):
        return dotted
    return func.attr.value if isinstance(func, cst.Attribute) else "call"


def attribute_path(func: cst.BaseExpression, depth: int) -> tuple[cst.BaseExpression, str] | None:
    """(receiver, `a.b.c`) when `func` is `receiver.a.b.c` with `depth` attributes."""
    parts: list[str] = []
    node = func
    for _ in range(depth):
        if not isinstance(node, cst.Attribute):
            return None
        parts.append(node.attr.value)
        node = node.value
    return node, ".".join(reversed(parts))


def offload_fix(
    reader: MetadataReader, call: cst.Call, coroutine: cst.FunctionDef
) -> tuple[FixSafety | None, str]:
    """Whether `call` can become `await asyncio.to_thread(...)` here: (None, "") when it can."""
    if inside_generator_expression(reader, call, coroutine):
        return FixSafety.NONE, "inside a generator expression, `await` would change its type"
    if conflicting_binding(reader, call, "asyncio"):
        return FixSafety.NONE, "the name `asyncio` is bound to something else here"
    return None, ""


def is_offloaded(reader: MetadataReader, call: cst.Call) -> bool:
    """`call` is itself an argument of `asyncio.to_thread(...)` / `loop.run_in_executor(...)`."""
    arg = parent(reader, call)
    outer = parent(reader, arg) if isinstance(arg, cst.Arg) else None
    return isinstance(outer, cst.Call) and (
        resolves_name(reader, outer.func, OFFLOADERS) is not None
        or (isinstance(outer.func, cst.Attribute) and outer.func.attr.value == "run_in_executor")
    )


def is_awaited(reader: MetadataReader, call: cst.Call) -> bool:
    owner = parent(reader, call)
    return isinstance(owner, cst.Await) and owner.expression is call


def literal_keyword(call: cst.Call, keyword: str) -> str | None:
    """The source of `keyword=` in `call`, if passed."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return cst.Module([]).code_for_node(arg.value)
    return None


# --- ASY002: blocking network and process calls ---------------------------------------------

HTTP_VERBS = ("get", "post", "put", "patch", "delete", "head", "options", "request")
HTTP_ALTERNATIVE = "`httpx.AsyncClient`"
PROCESS_ALTERNATIVE = "`asyncio.create_subprocess_exec()`"
BLOCKING_FUNCTIONS: dict[str, str] = {
    **{f"requests.{verb}": HTTP_ALTERNATIVE for verb in HTTP_VERBS},
    **{f"requests.api.{verb}": HTTP_ALTERNATIVE for verb in HTTP_VERBS},
    **{f"httpx.{verb}": HTTP_ALTERNATIVE for verb in HTTP_VERBS},
    "urllib.request.urlopen": HTTP_ALTERNATIVE,
    **{
        f"subprocess.{name}": PROCESS_ALTERNATIVE
        for name in ("run", "call", "check_call", "check_output", "getoutput", "getstatusoutput")
    },
}
# Calls whose result still reads from the network afterwards (`urlopen(url).read()`).
LAZY_RESPONSES = frozenset({"urllib.request.urlopen"})
LLM_METHODS = frozenset(
    {
        "chat.completions.create",
        "chat.completions.parse",
        "beta.chat.completions.parse",
        "completions.create",
        "embeddings.create",
        "responses.create",
        "messages.create",
    }
)
HTTP_METHODS = frozenset({*HTTP_VERBS, "send"})
# Sync client class → (its blocking methods, the async replacement to suggest).
SYNC_CLIENTS: dict[str, tuple[frozenset[str], str]] = {
    "openai.OpenAI": (LLM_METHODS, "`openai.AsyncOpenAI`"),
    "openai.Client": (LLM_METHODS, "`openai.AsyncOpenAI`"),
    "openai.AzureOpenAI": (LLM_METHODS, "`openai.AsyncAzureOpenAI`"),
    "anthropic.Anthropic": (LLM_METHODS, "`anthropic.AsyncAnthropic`"),
    "anthropic.Client": (LLM_METHODS, "`anthropic.AsyncAnthropic`"),
    "requests.Session": (HTTP_METHODS, HTTP_ALTERNATIVE),
    "requests.session": (HTTP_METHODS, HTTP_ALTERNATIVE),
    "requests.sessions.Session": (HTTP_METHODS, HTTP_ALTERNATIVE),
    "httpx.Client": (HTTP_METHODS, HTTP_ALTERNATIVE),
}
SYNC_CLIENT_NAMES = frozenset(SYNC_CLIENTS)
CLIENT_METHODS = LLM_METHODS | HTTP_METHODS
MAX_METHOD_DEPTH = max(path.count(".") + 1 for path in CLIENT_METHODS)
BLOCKING_MODULES = ("requests", "httpx", "urllib", "subprocess", "openai", "anthropic")
# Last name component of every blocking callee above (the AST prefilter's question).
BLOCKING_CALL_NAMES = frozenset(
    name.rsplit(".", 1)[-1] for name in [*BLOCKING_FUNCTIONS, *CLIENT_METHODS]
)


@dataclass(frozen=True)
class BlockingCall:
    """A call that blocks on the network or a child process: how it is spelled and what to use."""

    callee: str
    alternative: str
    reads_later: bool = False


def blocking_io_call(reader: MetadataReader, call: cst.Call) -> BlockingCall | None:
    """`requests.get(...)`, `subprocess.run(...)`, `client.chat.completions.create(...)` on a
    client bound to a sync constructor, ... (receivers that cannot be resolved are not)."""
    name = resolves_name(reader, call.func, frozenset(BLOCKING_FUNCTIONS))
    if name is not None:
        lazy = name in LAZY_RESPONSES
        return BlockingCall(shown_callee(call.func), BLOCKING_FUNCTIONS[name], lazy)
    for depth in range(1, MAX_METHOD_DEPTH + 1):
        split = attribute_path(call.func, depth)
        if split is None:
            return None
        receiver, path = split
        if path not in CLIENT_METHODS:
            continue
        client = sync_client(reader, receiver)
        if client is not None and path in SYNC_CLIENTS[client][0]:
            return BlockingCall(shown_callee(call.func), SYNC_CLIENTS[client][1])
    return None


def _constructed_client(reader: MetadataReader, value: cst.BaseExpression) -> str | None:
    if isinstance(value, cst.Call):
        return resolves_name(reader, value.func, SYNC_CLIENT_NAMES)
    return None


def sync_client(reader: MetadataReader, receiver: cst.BaseExpression) -> str | None:
    """The sync client class `receiver` holds: `OpenAI(...)` itself, or a name / `self.attr`
    that is only ever bound to one (or declared with that type)."""
    built = _constructed_client(reader, receiver)
    if built is not None or not isinstance(receiver, (cst.Name, cst.Attribute)):
        return built
    return bound_class(
        reader, receiver, SYNC_CLIENT_NAMES, lambda value: _constructed_client(reader, value)
    )


def _ast_client_method(view: FileView, func: ast.expr, imported: set[str]) -> bool:
    """`<receiver>.chat.completions.create` (a client method path) on a name or `x.attr` that
    a statement may bind to a client (see `_ast_binds_client`)."""
    path: list[str] = []
    while isinstance(func, ast.Attribute) and len(path) < MAX_METHOD_DEPTH:
        path.insert(0, func.attr)
        func = func.value
        if ".".join(path) not in CLIENT_METHODS:
            continue
        if isinstance(func, ast.Name):
            word = func.id
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            word = func.attr
        else:
            continue
        if any(_ast_binds_client(s, word, imported) for s in view.near([word])):
            return True
    return False


def _ast_binds_client(statement: ast.AST, word: str, imported: set[str]) -> bool:
    """An assignment, a `with ... as word` or a def with a parameter `word` whose value,
    annotation, item or parameter annotation starts from a name of `imported` (as a client
    constructor or type must)."""
    parts: list[ast.expr | None]
    if isinstance(statement, (ast.Assign, ast.AnnAssign)):
        parts = [statement.value, getattr(statement, "annotation", None)]
    elif isinstance(statement, (ast.With, ast.AsyncWith)):
        parts = [
            item.context_expr
            for item in statement.items
            if isinstance(item.optional_vars, ast.Name) and item.optional_vars.id == word
        ]
    elif isinstance(statement, FUNCTION_DEFS):
        args = statement.args
        params = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        parts = [param.annotation for param in params if param is not None and param.arg == word]
    else:
        return False
    return any(part is not None and ast_base_name(part) in imported for part in parts)


class BlockingIoInAsync(Detector):
    """A blocking HTTP, subprocess or sync LLM-client call inside `async def` stalls the event loop.

    ## Why is this bad?
    While `requests.get()`, `subprocess.run()` or a sync `OpenAI().chat.completions.create()`
    waits for the network, the event loop thread waits with it: every other coroutine of the
    loop (the other nodes of a PocketFlow `AsyncFlow`, the parallel branches of a Dynamiq
    flow's `execute_async`, concurrent requests of the service) is frozen. An LLM call takes
    seconds, so ten "concurrent" requests run one after the other. The KayGraph performance
    guide measures 100 one-second API calls at 100 s sequentially and 2 s as async nodes; a
    blocking call inside `exec_async` brings them back to 100 s. The same guide lists "no
    blocking operations in async nodes" (with `requests.get` in `exec_async` as its example),
    and the Dynamiq review checklist flags `requests.*` in async context.

    ## Example
    ```python
    import requests


    async def fetch_weather(city):
        response = requests.get("https://wttr.in/" + city, timeout=5)
        return response.json()
    ```

    ## Use instead
    ```python
    import asyncio

    import requests


    async def fetch_weather(city):
        response = await asyncio.to_thread(requests.get, "https://wttr.in/" + city, timeout=5)
        return response.json()
    ```
    Better still, use an async client: `httpx.AsyncClient`, `openai.AsyncOpenAI`,
    `anthropic.AsyncAnthropic`, `asyncio.create_subprocess_exec()`.

    ## Fix safety
    Unsafe: `await asyncio.to_thread(callee, *args, **kwargs)` runs the same call in the
    default thread pool, so it no longer blocks the loop, but the call now runs in another
    thread (thread-local state, context variables are copied, the pool has
    `min(32, cpu_count + 4)` workers) and a cancelled coroutine leaves the thread running.
    `asyncio` is imported (an existing alias is reused). No fix is offered for streamed
    calls (`stream=True`, `urlopen()`: reading the result still blocks), inside a generator
    expression, or where `asyncio` names something else. Calls on a client are reported only
    when the client is constructed in the call (`OpenAI().…`) or the name / `self` attribute
    is only ever bound to a sync client (`client = OpenAI()`, `self.client = Anthropic()` in
    the class, `client: OpenAI`); calls in a nested `def`, `lambda` or `class`, and calls
    already passed to `asyncio.to_thread` / `run_in_executor` as a function, are not
    reported.

    ## Metric to monitor
    Event-loop lag (`loop.slow_callback_duration` warnings in debug mode) and the p95 latency
    of concurrent requests; throughput should scale with concurrency instead of staying flat.

    ## Limitations
    Sync clients passed in from other modules, or stored under another name than the one
    they were built with, are not recognised; helpers that block indirectly are ASY006.
    """

    CODE = "ASY002"
    NAME = "blocking-io-in-async"
    SEVERITY = Severity.CRITICAL
    CATEGORY = "async"
    FIX = FixSafety.UNSAFE
    FRAMEWORKS = ("dynamiq", "pocketflow", "kaygraph", "pflow")
    MESSAGE = "`{callee}()` blocks the event loop in async `{function}()`; use {alternative}"
    TRIGGERS = BLOCKING_MODULES
    METADATA_DEPENDENCIES = DEPENDENCIES
    REACH = "class"  # a `self.client` receiver is bound in any method of the class

    @classmethod
    def ast_candidate(cls, view: FileView) -> Sites:
        """Each call to a blocking name, not awaited, in the own code of an `async def`: on a
        chain from a name that may stand for a blocking module (`requests.get`,
        `OpenAI().chat.completions.create`), or a client method on a name / `self` attribute
        that a statement may bind to a client (`client = OpenAI()`, `c: Client`)."""
        if not (view.has_async_def and view.mentions(*BLOCKING_MODULES)):
            return False
        imported = ast_module_names(view, *BLOCKING_MODULES)
        return [
            call
            for call in view.calls_to(*BLOCKING_CALL_NAMES)
            if (
                ast_base_name(call.func) in imported
                or _ast_client_method(view, call.func, imported)
            )
            and ast_blocks_coroutine(view, call)
        ]

    def visit_Call(self, node: cst.Call) -> None:
        coroutine = running_coroutine(self, node)
        if coroutine is None or is_awaited(self, node):
            return
        blocking = blocking_io_call(self, node)
        if blocking is None:
            return
        fix, note = offload_fix(self, node, coroutine)
        if fix is None and literal_keyword(node, "stream") not in (None, "False"):
            fix, note = FixSafety.NONE, "a streamed response still blocks while it is iterated"
        if fix is None and blocking.reads_later:
            fix, note = FixSafety.NONE, "the response body is read later, on the event loop"
        if fix is None and is_offloaded(self, node):
            fix, note = (
                FixSafety.NONE,
                "the call runs before `to_thread` gets it; pass the function",
            )
        self.report(
            node,
            fix=fix,
            note=note,
            callee=blocking.callee,
            function=coroutine.name.value,
            alternative=f"{blocking.alternative} or `asyncio.to_thread()`",
        )


# --- ASY003: blocking file I/O --------------------------------------------------------------

OPEN_FUNCTIONS = frozenset({"builtins.open", "io.open"})
PATH_CLASSES = frozenset({"pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath"})
PATH_FACTORIES = PATH_CLASSES | frozenset({"pathlib.Path.home", "pathlib.Path.cwd"})
PATH_METHODS = frozenset(
    {"with_suffix", "with_name", "with_stem", "joinpath", "resolve", "absolute", "expanduser"}
)
PATH_IO = frozenset({"read_text", "read_bytes", "write_text", "write_bytes"})
MAX_PATH_DEPTH = 4


def is_path(reader: MetadataReader, expr: cst.BaseExpression, depth: int = 0) -> bool:
    """`expr` is a `pathlib.Path`: constructed, derived (`/`, `.parent`, `.with_suffix()`), or a
    name / `self` attribute only ever bound to one."""
    if depth > MAX_PATH_DEPTH:
        return False
    if isinstance(expr, cst.Call):
        if resolves_name(reader, expr.func, PATH_FACTORIES) is not None:
            return True
        func = expr.func
        return (
            isinstance(func, cst.Attribute)
            and func.attr.value in PATH_METHODS
            and is_path(reader, func.value, depth + 1)
        )
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Divide):
        return is_path(reader, expr.left, depth + 1)
    if isinstance(expr, cst.Attribute) and expr.attr.value == "parent":
        if is_path(reader, expr.value, depth + 1):
            return True
    if isinstance(expr, (cst.Name, cst.Attribute)):
        held = bound_class(
            reader,
            expr,
            PATH_CLASSES,
            lambda value: "pathlib.Path" if is_path(reader, value, depth + 1) else None,
        )
        return held is not None
    return False


def _ast_opens_devnull(view: FileView, call: ast.Call) -> bool:
    """`open(os.devnull, ...)` where every binding of `os` is `import os`, one of them at module
    level: libcst surely resolves the argument to `os.devnull`."""
    first = call.args[0] if call.args else None
    if not (
        isinstance(first, ast.Attribute)
        and first.attr == "devnull"
        and isinstance(first.value, ast.Name)
        and first.value.id == "os"
    ):
        return False
    module_level = False
    for statement in view.near(["os"]):
        for node in ast.walk(statement):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    if (alias.asname or alias.name.split(".")[0]) != "os":
                        continue
                    if isinstance(node, ast.ImportFrom) or alias.name != "os":
                        return False
                    module_level = module_level or innermost(view.enclosing(node.lineno)) is None
            elif _ast_binds(node, "os"):
                return False
    return module_level


def _ast_binds(node: ast.AST, name: str) -> bool:
    """`node` binds `name` otherwise than by an import."""
    if isinstance(node, ast.Name):
        return node.id == name and not isinstance(node.ctx, ast.Load)
    if isinstance(node, ast.arg):
        return node.arg == name
    if isinstance(node, ast.MatchMapping):
        return node.rest == name
    if isinstance(node, (ast.Global, ast.Nonlocal)):
        return name in node.names
    named = (*SCOPE_DEFS, ast.ExceptHandler, ast.MatchAs, ast.MatchStar)
    return isinstance(node, named) and node.name == name


class BlockingFileIoInAsync(Detector):
    """File I/O with `open()` or `pathlib.Path` inside `async def` blocks the event loop.

    ## Why is this bad?
    Reading and writing files are blocking system calls: while a coroutine reads a document,
    writes a result JSON or loads a prompt template, no other task of the loop runs. Local
    disks usually answer in microseconds, but network file systems, container overlay layers
    and large files take milliseconds to seconds, and those stalls add to every concurrent
    request. The Dynamiq review checklist flags "file I/O without `aiofiles` in async node
    execution".

    ## Example
    ```python
    from pathlib import Path


    async def load_prompt(name):
        return Path("prompts", name).read_text(encoding="utf-8")
    ```

    ## Use instead
    ```python
    import asyncio
    from pathlib import Path


    async def load_prompt(name):
        return await asyncio.to_thread(Path("prompts", name).read_text, encoding="utf-8")
    ```
    For `with open(...)` blocks use `aiofiles.open()` (or `anyio.open_file()`), or move the
    whole block into a sync function run with `await asyncio.to_thread(...)`.

    ## Fix safety
    Unsafe, and only for the single-call forms `path.read_text()`, `read_bytes()`,
    `write_text()` and `write_bytes()` on a `pathlib.Path`: the path is still built on the
    loop and the one call moves to `await asyncio.to_thread(path.read_text, ...)`, which runs
    in a worker thread (a cancelled coroutine does not stop the write). `open()` is reported
    without a fix: in `with open(...)` the reads and writes are spread over the block, and in
    `json.load(open(p))` or `open(p).read()` the file would still be opened on the loop (and
    never closed); rewrite those by hand with `aiofiles` or a helper run in a thread. No fix
    inside a generator expression or where `asyncio` names something else. Calls in a nested
    `def`, `lambda` or `class` are not reported; `read_text()` on anything not known to be a
    `pathlib.Path` (`anyio.Path`, `aiofiles` objects, unknown parameters) is left alone.

    ## Metric to monitor
    Event-loop lag (`loop.slow_callback_duration` warnings in debug mode) and p95 latency of
    concurrent requests while files are read or written.
    """

    CODE = "ASY003"
    NAME = "blocking-file-io-in-async"
    SEVERITY = Severity.CRITICAL
    CATEGORY = "async"
    FIX = FixSafety.UNSAFE
    FRAMEWORKS = ("dynamiq", "pocketflow", "kaygraph", "pflow")
    MESSAGE = "`{callee}()` blocks the event loop with file I/O in async `{function}()`; {advice}"
    TRIGGERS = ("open(", "read_", "write_")
    METADATA_DEPENDENCIES = DEPENDENCIES
    REACH = "class"  # a `self.path` receiver is bound in any method of the class

    @classmethod
    def ast_candidate(cls, view: FileView) -> Sites:
        """Each call, not awaited, in the own code of an `async def` to `open()` (a plain name,
        or on a chain from a name that may stand for `io` / `builtins`) but `open(os.devnull)`,
        or to a `Path` I/O method (only where `pathlib` is mentioned: every way to know a path
        needs it)."""
        if not view.has_async_def:
            return False
        io_names = ast_module_names(view, "io", "builtins")
        path_io = PATH_IO if view.mentions("pathlib") else frozenset()
        return [
            call
            for call in view.calls_to(*path_io, "open")
            if (
                (
                    (isinstance(call.func, ast.Name) or ast_base_name(call.func) in io_names)
                    and not _ast_opens_devnull(view, call)
                )
                or (isinstance(call.func, ast.Attribute) and call.func.attr in path_io)
            )
            and ast_blocks_coroutine(view, call)
        ]

    def visit_Call(self, node: cst.Call) -> None:
        coroutine = running_coroutine(self, node)
        if coroutine is None or is_awaited(self, node):
            return
        function = coroutine.name.value
        if resolves_name(self, node.func, OPEN_FUNCTIONS) is not None:
            if self._opens_devnull(node):
                return
            advice = "use `aiofiles.open()` or run the file work in `asyncio.to_thread()`"
            note = "`open()` spreads the I/O over later calls; rewrite it by hand"
            self.report(
                node, fix=FixSafety.NONE, note=note, callee="open", function=function, advice=advice
            )
            return
        if self._is_path_io(node):
            fix, note = offload_fix(self, node, coroutine)
            self.report(
                node,
                fix=fix,
                note=note,
                callee=f"Path.{cast('cst.Attribute', node.func).attr.value}",
                function=function,
                advice="use `await asyncio.to_thread()` or `aiofiles`",
            )

    def _opens_devnull(self, node: cst.Call) -> bool:
        """`open(os.devnull, ...)` never waits on a disk."""
        return (
            bool(node.args) and resolves_name(self, node.args[0].value, {"os.devnull"}) is not None
        )

    def _is_path_io(self, node: cst.Call) -> bool:
        func = node.func
        return (
            isinstance(func, cst.Attribute)
            and func.attr.value in PATH_IO
            and is_path(self, func.value)
        )
