"""CON001: a client or connection constructed on every call of a node's per-call method or of
a module-level helper."""

from __future__ import annotations

import ast
from typing import Any

from flowfix.analysis.arguments import argument_values
from flowfix.analysis.frameworks import (
    ALL_FRAMEWORKS,
    PER_CALL_METHODS,
    PLAIN_NODE_HOOKS,
    find_method,
    is_pydantic_model,
)
from flowfix.analysis.methods import instance_name
from flowfix.analysis.model import FunctionNode
from flowfix.analysis.values import is_call_invariant, is_env_lookup
from flowfix.detector import Detector
from flowfix.detectors.connections.call_inputs import (
    Flows,
    attributes_set_per_run,
    depends_on,
    flows,
    input_names,
    references,
)
from flowfix.detectors.connections.client_constructors import (
    CLIENT_WORDS,
    NOT_THREAD_SAFE,
    THREAD_BOUND,
    client_constructor,
    is_loop_bound,
    shown_name,
    snake_name,
)
from flowfix.detectors.connections.client_factories import factory_client, named_like_factory
from flowfix.detectors.connections.client_hoist import (
    HOOKS,
    Route,
    default_hook,
    hoist_route,
)
from flowfix.detectors.connections.client_usage import (
    Usage,
    assigned_local,
    construction_usage,
    is_conditional,
)
from flowfix.detectors.connections.helper_callers import helper_called_per_call
from flowfix.detectors.connections.local_imports import LocalImport, constructor_import
from flowfix.detectors.connections.per_call import Kind, PerCall
from flowfix.rules import FixSafety, Severity

SHOWN_LIMIT = 40
# The methods a framework calls on every run of a node: what they store on the instance
# changes from run to run.
PER_RUN_HOOKS = PER_CALL_METHODS | PLAIN_NODE_HOOKS
# Opening these per call is cheap (a local file): one opened and closed per query is fine.
CHEAP_TO_OPEN = frozenset({"sqlite3.connect"})
# Where the client is reported but not moved, and why.
REPORT_ONLY: dict[Kind, str] = {
    "service": "not a node: flowfix knows no init hook of this class to move it to",
    "wrapper": "built in a decorator's wrapper: move it out of the closure by hand",
}


def _wording(name: str, usage: Usage, hook: str) -> tuple[str, str]:
    """What the message says happens on every call, and what to do instead."""
    if name in CHEAP_TO_OPEN:
        if usage == "context":
            return "opens a new connection", "its `with` block commits but never closes it"
        return "opens a new connection", "it is never closed"
    if usage == "context":
        return "is opened and closed again", f"keep one open across calls, created in {hook}"
    return "is constructed", f"create it once in {hook}"


class ClientCreatedPerCall(Detector):
    """A client or connection is constructed on every call instead of once.

    ## Why is this bad?
    Constructing an SDK or HTTP client (`OpenAI()`, `httpx.Client()`, `boto3.client()`,
    `QdrantClient()`, ...) builds a new connection pool. A client built inside a node's
    `execute()`/`exec()` or inside a helper such as `call_llm()` pays for a fresh TCP and TLS
    handshake on every item and throws away keep-alive connections, which adds tens to hundreds
    of milliseconds per call and leaves sockets in `TIME_WAIT` under load. Dynamiq's guide lists
    "nodes creating clients in `execute()` instead of `init_components()`" as a connection
    management problem. A client opened in a `with` block per call pays the same setup (for an
    MCP `ClientSession`, a transport and a protocol handshake per tool call), and a
    `sqlite3.connect()` in a `with` block is never closed: the block only commits.

    The cost is per call only where the code runs per call: a node's per-call methods and the
    methods they call on `self`, the public methods of a Dynamiq class that is not a node (a
    memory backend, a tracing client: the framework calls them per operation), a decorator's
    wrapper (`@functools.wraps`), and a module-level helper that the run shows called per call
    (from a method, in a loop, from a request handler, or from such a helper). A client can
    also be one call away: a function of the run that builds and returns a new one each time
    (`get_qdrant_client()`, uncached) costs the same when it is called per call.

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
    (`client = self._client`). A helper that imports the constructor itself (`from openai
    import OpenAI` in the branch that uses it) gets a factory that carries that import, and
    the helper's import goes when nothing else reads it.

    Unsafe: async clients (bound to the event loop they first run on), `boto3.resource()` (not
    thread-safe), a construction that is conditional or inside `try` and would become eager,
    arguments that read `self.params` in a plain class (they can change between runs), and a
    helper's import of the constructor that is not the statement right before the
    construction (the import then runs after the statements between them).
    No fix: a client used as a context manager or closed in the function, sqlite3/psycopg
    connections (bound to their thread), arguments computed per call, a constructor imported
    inside a method, static methods and slotted classes, clients of Dynamiq classes that are
    not nodes or of decorator wrappers (no hook to move them to), and clients a factory
    function returns (the factory should hand out one client). Not reported: constructions
    whose arguments depend on the call's inputs (what the function derives from its
    parameters before the construction, and instance attributes that a hook run on every
    call sets from its own inputs, like `self.base_url = shared["base_url"]` in `prep()`; an
    optional parameter the body fills from elsewhere when it is not given, `api_key =
    api_key or os.getenv(...)`, is not one, nor is a parameter that defaults to the
    configuration, `url=QDRANT_URL` or `url=os.getenv("QDRANT_URL")`: the client is then
    reported without a fix, to be cached per value), that are returned or stored, or that
    run in init hooks, and a sqlite3 connection opened and closed per call (a local file:
    cheap).

    ## Metric to monitor
    Open connections and new TLS handshakes per minute (for example `ss -tan state
    time-wait | wc -l`), and per-node latency p50/p95.

    ## Limitations
    A module-level helper is reported when some file of the run that can import it (below
    the highest folder from which its path is a module name) calls it per call, or when the
    run holds no such file (its callers are unknown, as in an editor); one called only once
    (from `main()`, a `__main__` block, a test or a fixture) or by nothing is not. Methods of
    plain classes that are not nodes are not checked: nothing says how often they run. A
    class of the same module named `*Client`/`*Session`/... counts unless it is a dataclass,
    attrs class, pydantic model, NamedTuple, TypedDict or Enum; an imported one counts by name
    alone, and so does a class a parameter defaults to (`manager_cls=WorkflowCacheManager`:
    Dynamiq's cache managers build a Redis client). PocketFlow flows run shallow copies of
    each node, so a `cached_property` filled on a copy is reused within that run (every item
    of a `BatchNode`) but not across runs. A factory is looked for only behind a call whose
    name says it hands out clients (`client`, `session`, `conn`, `engine`, `pool`, `db`,
    `redis`, `store`), in the same file or a file of the run the caller imports.
    """

    CODE = "CON001"
    NAME = "client-created-per-call"
    SEVERITY = Severity.CRITICAL
    CATEGORY = "connections"
    FIX = FixSafety.SAFE
    FRAMEWORKS = ALL_FRAMEWORKS
    NEEDS_PROJECT = True
    MESSAGE = "`{client}()` {what} on every call of `{function}()`; {advice}"
    TRIGGERS = CLIENT_WORDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._flows_of: dict[FunctionNode, Flows] = {}
        self._set_per_run: dict[tuple[ast.ClassDef, str], set[str]] = {}
        self._per_call = PerCall(self.model)

    def visit_Call(self, node: ast.Call) -> None:
        name = client_constructor(self.model, node)
        if name is None and not named_like_factory(node):
            return
        function = self.model.function_of(node)
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return
        kind = self._per_call.kind(function)
        factory = None
        if name is None and kind is not None:
            factory = factory_client(self.model, node, self.project, self.path)
            name = factory[1] if factory is not None else None
        if name is None or kind is None:
            return
        usage = construction_usage(self.model, node, function)
        if usage is None or (usage == "closed" and name in CHEAP_TO_OPEN):
            return
        cls = self.model.class_of(function)
        this = instance_name(self.model, function) if cls is not None else None
        if depends_on(node, self._inputs(function, this, node)):
            return
        if factory is not None:
            route, why = None, f"`{factory[0]}()` builds it: make that function return one client"
        elif kind in REPORT_ONLY:
            route, why = None, REPORT_ONLY[kind]
        else:
            route, why = hoist_route(self.model, function, node)
        if kind == "helper" and not self._called_per_call(function):
            return
        carried = constructor_import(self.model, node, function) if route == "factory" else None
        fix, note = self._fix_safety(node, name, function, this, usage, route, why, carried)
        data = self._codemod_data(node, function, this, route) if route else None
        if data is not None and carried is not None:
            data["carry"] = carried.name
        hook = HOOKS.get(kind) or HOOKS[route or default_hook(self.model, function)]
        what, advice = _wording(name, usage, hook)
        if factory is not None:
            client = name.rsplit(".", 1)[-1]
            what, advice = f"builds a new `{client}`", "have it return one client, made once"
        self.report(
            node,
            fix=fix,
            note=note,
            data=data,
            client=shown_name(node),
            function=function.name,
            what=what,
            advice=advice,
        )

    def _called_per_call(self, function: FunctionNode) -> bool:
        """Whether the run shows the module-level helper `function` called per call (a node's
        method, a loop, a request handler...), or cannot tell (its callers are not in the
        run)."""
        if self.project is None:
            return True
        called = helper_called_per_call(self.project, self.path, function.name, self.model)
        return called is not False

    def _inputs(self, function: FunctionNode, this: str | None, call: ast.Call) -> set[str]:
        """The function's parameters but `this`, the instance attributes that the class's
        per-run hooks set from their inputs, and what its body derives from them before `call`
        runs (the function's bindings and the class's attributes are collected once)."""
        if function not in self._flows_of:
            self._flows_of[function] = flows(function)
        loops: list[ast.AST] = []
        for owner in self.model.ancestors(call):
            if owner is function:
                break
            if isinstance(owner, (ast.For, ast.AsyncFor, ast.While)):
                loops.append(owner)
        varying: set[str] = set()
        cls = self.model.class_of(function)
        if cls is not None and this is not None:
            key = (cls, this)
            if key not in self._set_per_run:
                self._set_per_run[key] = attributes_set_per_run(cls, PER_RUN_HOOKS, this)
            varying = self._set_per_run[key]
        return input_names(
            function, this, self._flows_of[function], call, loops, varying, self._settings(function)
        )

    def _settings(self, function: FunctionNode) -> set[str]:
        """Parameters that default to the configuration: a module-level name or an attribute
        of one (`url=QDRANT_URL`, `url=settings.qdrant_url`) or an environment lookup
        (`url=os.getenv("QDRANT_URL")`). Callers leave them out, as they leave out an
        optional key the body fills from the environment; a literal default is an option
        callers pass."""
        arguments = function.args
        positional = [*arguments.posonlyargs, *arguments.args]
        pairs = [
            *zip(
                positional[len(positional) - len(arguments.defaults) :],
                arguments.defaults,
                strict=True,
            ),
            *zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True),
        ]
        return {param.arg for param, default in pairs if self._is_setting(default)}

    def _is_setting(self, default: ast.expr | None) -> bool:
        if default is None:
            return False
        if is_env_lookup(self.model, default):
            return True
        root = default
        while isinstance(root, ast.Attribute):
            root = root.value
        return (
            isinstance(root, ast.Name)
            and bool(self.model.bindings_of(root))
            and self.model.is_module_level_name(root)
        )

    def _codemod_data(
        self, node: ast.Call, function: FunctionNode, this: str | None, route: Route
    ) -> dict[str, Any]:
        """What the codemod needs: the route, the attribute or factory stem, the instance names
        of the method and of the hook it extends, whether a pydantic `PrivateAttr` is needed,
        and the construction's structure (equal constructions of a class share one
        attribute)."""
        stem = (assigned_local(self.model, node) or snake_name(node)).lstrip("_")
        data: dict[str, Any] = {"route": route, "stem": stem}
        cls = self.model.class_of(function)
        if cls is None:
            return data
        data["self"] = this or "self"
        data["construction"] = ast.dump(node)
        if route in ("init_components", "__init__"):
            hook = find_method(cls, route)
            if hook is not None:
                data["hook_self"] = instance_name(self.model, hook) or "self"
        if route == "init_components":
            data["private_attr"] = is_pydantic_model(self.model, cls)
        return data

    def _fix_safety(
        self,
        node: ast.Call,
        name: str,
        function: FunctionNode,
        this: str | None,
        usage: Usage,
        route: Route | None,
        why: str,
        carried: LocalImport | None,
    ) -> tuple[FixSafety, str]:
        unstable = self._unstable_argument(node, this)
        blockers = [
            (usage == "context", "used as a context manager, so it is closed after every call"),
            (
                usage == "closed",
                "closed at the end of the call; drop the `close()` when reusing it",
            ),
            (name in THREAD_BOUND, "database connections are bound to their thread; use a pool"),
            (route is None, why),
            (
                carried is None and not self._callee_is_global(node),
                "the constructor is not imported at module level",
            ),
            (unstable is not None, self._unstable_note(unstable, function)),
        ]
        notes = [text for hit, text in blockers if hit]
        if notes:
            return FixSafety.NONE, "; ".join(notes)
        risks = [
            (is_loop_bound(name), "async clients are bound to the event loop they first run on"),
            (name in NOT_THREAD_SAFE, "the client is not thread-safe once shared"),
            (
                route in ("init_components", "__init__")
                and is_conditional(self.model, node, function),
                "the construction is conditional or inside `try` and would become eager",
            ),
            (
                route == "cached_property"
                and this is not None
                and f"{this}.params" in references(node),
                "`self.params` can change between runs; the cached client keeps the first value",
            ),
            (
                carried is not None and not carried.adjacent,
                "the constructor's import moves into the factory, after the statements between "
                "them",
            ),
        ]
        notes = [text for hit, text in risks if hit]
        return (FixSafety.UNSAFE, "; ".join(notes)) if notes else (FixSafety.SAFE, "")

    def _unstable_argument(self, call: ast.Call, this: str | None) -> ast.expr | None:
        """The first argument that is not a literal, `self.*`, module-level name or environment
        lookup (`*args` and `**kwargs` never are)."""
        starred = {id(arg.value) for arg in call.args if isinstance(arg, ast.Starred)}
        starred |= {id(keyword.value) for keyword in call.keywords if keyword.arg is None}
        for value in argument_values(call):
            if id(value) in starred or not is_call_invariant(self.model, value, this):
                return value
        return None

    def _unstable_note(self, unstable: ast.expr | None, function: FunctionNode) -> str:
        """Why argument `unstable` keeps the construction where it is."""
        if unstable is None:
            return ""
        shown = self._shown(unstable)
        if isinstance(unstable, ast.Name) and unstable.id in self._settings(function):
            return (
                f"argument `{shown}` is a parameter that defaults to the configuration; "
                "cache the client per value (a `functools.cache` factory taking it)"
            )
        return f"argument `{shown}` is computed per call"

    def _callee_is_global(self, call: ast.Call) -> bool:
        """The constructor's root name is bound at module level (so the code can move)."""
        root: ast.expr = call.func
        while isinstance(root, ast.Attribute):
            root = root.value
        return isinstance(root, ast.Name) and self.model.is_module_level_name(root)

    def _shown(self, node: ast.AST) -> str:
        """`node`'s source on one line, cut to SHOWN_LIMIT characters."""
        span = self.model.span(node)
        lines = self.model.lines[span.line - 1 : span.end_line]
        lines[-1] = lines[-1][: span.end_column - 1]
        lines[0] = lines[0][span.column - 1 :]
        text = " ".join(" ".join(lines).split())
        return text if len(text) <= SHOWN_LIMIT else text[: SHOWN_LIMIT - 1] + "…"
