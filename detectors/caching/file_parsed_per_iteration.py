"""CAC005: a loop calls code that reads and parses a file its object holds, on every
iteration (seed 004: pflow's compiler reloads the registry for every node)."""

from __future__ import annotations

import ast

from flowfix.analysis import Binding
from flowfix.analysis.file_loads import FunctionLoads, Site, span_of
from flowfix.analysis.model import BUILTINS, COMPREHENSIONS, DEFINITIONS, FUNCTIONS, FunctionNode
from flowfix.analysis.values import read_names
from flowfix.detector import Detector
from flowfix.project import MAX_DEPTH, ProjectIndex
from flowfix.rules import FixSafety, OptIn, Severity

Loop = (
    ast.For
    | ast.AsyncFor
    | ast.While
    | ast.ListComp
    | ast.SetComp
    | ast.DictComp
    | ast.GeneratorExp
)
Chain = tuple[str, ...]
# Words of a retry loop's counter or bound (`attempt`, `retries`, `max_tries`).
RETRY_WORDS = ("attempt", "retr", "tries", "try")


class FileParsedPerIteration(Detector):
    """A loop calls code that reads and parses the same file again on every iteration.

    ## Why is this bad?
    A loader object (a registry, a settings manager) often re-reads and re-parses its file
    on every call of its `load()`. Called once per command that is a fixed cost; called once
    per node, per item or per request inside a loop, the cost is paid on every iteration,
    for a file whose contents did not change. pflow's analysis (seed 004) measures about
    50 ms to load its 0.5-1 MB registry; its compiler calls `Registry.load()` once or twice
    for every node it builds (to find the node's class, then its interface), and builds a
    fresh `SettingsManager()` per LLM node, whose per-object cache is therefore empty: the
    settings file is parsed again for each one.

    flowfix follows calls across the files of the run (as ASY006 does): from a call in a
    loop, through the project's functions and methods (receivers typed by annotations,
    objects built for the call), to a `json`/`yaml`/`toml` load of a file read from a path
    the object holds (`json.loads(self.path.read_text())`). The message shows the chain.

    ## Example
    ```python
    import json
    from pathlib import Path


    class Catalog:
        def __init__(self, path: Path):
            self.path = path

        def load(self):
            return json.loads(self.path.read_text())


    def build_all(specs, catalog: Catalog):
        return [catalog.load()[spec["type"]] for spec in specs]
    ```

    ## Use instead
    ```python
    def build_all(specs, catalog: Catalog):
        entries = catalog.load()
        return [entries[spec["type"]] for spec in specs]
    ```
    or keep the parsed contents on the object (`self._entries`), dropped by the methods
    that write the file, so that every `load()` after the first is a lookup. Reported
    without a fix: where the loaded data should be passed (or cached, and invalidated) is a
    design choice.

    ## Metric to monitor
    Time spent in `json`/`yaml` parsing per command or request (a profiler's cumulative
    time), and compile time of a workflow as its node count grows.

    ## Limitations
    Only loads from a path the object holds are followed (`self.<attr>`); a load of a
    constant path is CAC002's, and a path passed in as an argument is not followed. A load
    that runs only while a cache attribute of the object is empty (`if self._data is None:`)
    counts only for an object built for the call (`Settings().load()`). Receivers are
    known from parameter annotations, `x = Class(...)` and `Class(...).method()`; an
    attribute of `self` holding another object (`self.registry.load()`) is not followed, nor
    is a loop the framework runs (a batch node calling its inner node for each item, which
    in pflow compiles a sub-workflow per item). `while` loops (polling, serving: seeing the
    file change may be their point) and retry loops (`for attempt in range(retries)`) are
    not reported, nor is a call that also always writes the file its object holds (a
    read-modify-write: `MCPServerManager.add_servers_from_file()` loads, adds and saves).
    A module of the run that is imported under another name (two copies of one package in
    one run) is not followed.
    """

    CODE = "CAC005"
    NAME = "file-parsed-per-iteration"
    SEVERITY = Severity.OPTIMIZATION
    OPT_IN = OptIn.PREVIEW
    WHY_NOT_DEFAULT = (
        "new: 56-74 % of its findings were worth acting on in pflow and dynamiq, and its call "
        "graph keeps the functions of the modules it reads in memory (108 MiB against 52 on "
        "the pinned packages)"
    )
    CATEGORY = "caching"
    FIX = FixSafety.NONE
    FRAMEWORKS = ("pflow", "dynamiq", "pocketflow", "kaygraph")
    MESSAGE = (
        "`{call}` reads and parses a file on every iteration of this {loop}: {chain};"
        " load it once before the {loop}"
    )
    TRIGGERS = ("for ",)
    NEEDS_PROJECT = True

    def run(self) -> None:
        project = self.project
        module = project.module_for(self.path) if project is not None else None
        if project is None or module is None:
            return
        # The module itself is indexed from the tree at hand, not read and parsed again.
        project.offer_tree(module, self.model.tree, self.model.text)
        # The calls that run once per iteration of a loop of their own function, by function.
        candidates: dict[FunctionNode, dict[ast.Call, Loop]] = {}
        for call in self.model.nodes(ast.Call):
            assert isinstance(call, ast.Call)
            func = self.model.function_of(call)
            if isinstance(func, FUNCTIONS) and self._may_be_project_call(call):
                loop = self._loop(call, func)
                if loop is not None and not _retry_loop(loop):
                    candidates.setdefault(func, {})[call] = loop
        if not candidates:
            return
        self.chains: dict[tuple[str, bool], list[Chain]] = {}
        self.writes: dict[str, bool] = {}
        self.assigned: dict[ast.AST, dict[str, ast.expr | None]] = {}
        for func, calls in candidates.items():
            at = {span_of(call): (call, loop) for call, loop in calls.items()}
            for site in self._sites(project, module, func):
                found = at.get(site.position)
                if found is not None:
                    self._check(project, site, *found)

    def _may_be_project_call(self, call: ast.Call) -> bool:
        """A cheap first look: the callee may be a function or method of the run (a name bound
        by an import, a `def` or a `class`, a method of `self`, of an object built for the
        call, or of a parameter typed by its annotation), not a builtin or a method of an
        untyped local (`items.append`)."""
        root = call.func
        while isinstance(root, ast.Attribute):
            root = root.value
        if isinstance(root, ast.Call):
            return True
        if not isinstance(root, ast.Name):
            return False
        bindings = self.model.bindings_of(root)
        if not bindings:
            return root.id not in BUILTINS
        for binding in bindings:
            node = binding.node
            if binding.kind in ("import", "function", "class"):
                return True
            if isinstance(node, ast.arg) and (
                node.annotation is not None or node is _first(binding)
            ):
                return True
            value = self.model.parent(node)
            if isinstance(value, (ast.Assign, ast.AnnAssign)) and isinstance(value.value, ast.Call):
                return True
        return False

    def _sites(self, project: ProjectIndex, module: str, func: FunctionNode) -> list[Site]:
        """The call sites of `func`: from the call graph for a module-level function or a
        method of a module-level class (answered once for the run), else read here."""
        cls = self.model.class_of(func)
        top = cls is not None and self.model.parent(cls) is self.model.tree
        cls_key = f"{module}.{cls.name}" if top and cls is not None else None
        if cls_key is not None or self.model.parent(func) is self.model.tree:
            facts = project.file_loads(f"{cls_key or module}.{func.name}")
            if facts is not None:
                return facts.sites
        return FunctionLoads(
            func,
            lambda dotted: project.qualify(module, dotted, cls_key),
            cls is not None,
        ).sites

    def visit_Call(self, node: ast.Call) -> None:
        """Calls are read in `run` (declared so that the model collects them)."""

    def _check(self, project: ProjectIndex, site: Site, call: ast.Call, loop: Loop) -> None:
        fresh = self._fresh(call, loop)
        chains = self._chain(project, site.target, fresh, frozenset()) if fresh is not None else []
        if chains:
            self.report(
                call,
                call=f"{ast.unparse(call.func)}()",
                loop="comprehension" if isinstance(loop, COMPREHENSIONS) else "loop",
                chain="; and ".join(
                    " → ".join([*(f"{step}()" for step in chain[:-1]), chain[-1]])
                    for chain in chains[:3]
                ),
            )

    def _loop(self, call: ast.Call, func: FunctionNode) -> Loop | None:
        """The `for` loop or comprehension of `func` that runs `call` once per item (not its
        first iterable, not an `else` clause)."""
        loop = self.model.iteration_loop(call)
        path: list[ast.AST] = [call]
        for current in self.model.ancestors(call):
            if current is func or current is loop or isinstance(current, DEFINITIONS):
                break
            if isinstance(current, COMPREHENSIONS):
                first = current.generators[0]
                if not (len(path) > 1 and path[-1] is first and path[-2] is first.iter):
                    return current
            path.append(current)
        if isinstance(loop, (ast.For, ast.AsyncFor)) and self.model.function_of(
            loop
        ) is self.model.function_of(call):
            return loop
        return None  # a `while` loop polls or serves: seeing the file change may be its point

    def _fresh(self, call: ast.Call, loop: Loop) -> bool | None:
        """Whether the call's receiver is an object built anew on every iteration
        (`Settings().load()`, or a local `Settings()` assigned in the loop); None when it is
        another object on each one (the loop's item, or one built from it), so that the
        file it reads may differ too."""
        if isinstance(loop, COMPREHENSIONS):
            changing = {name for generator in loop.generators for name in _targets(generator)}
            assigned: dict[str, ast.expr | None] = {}
        else:
            if loop not in self.assigned:
                self.assigned[loop] = _assignments(loop)
            assigned = self.assigned[loop]
            changing = set(assigned)
        receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
        if isinstance(receiver, ast.Call):
            return None if read_names(receiver) & changing else True
        if not isinstance(receiver, ast.Name) or receiver.id not in changing:
            return False
        built = assigned.get(receiver.id)
        if isinstance(built, ast.Call) and not read_names(built) & changing:
            return True  # `manager = Settings()` on every iteration
        return None

    def _chain(
        self, project: ProjectIndex, target: str, fresh: bool, visiting: frozenset[str]
    ) -> list[Chain]:
        """(function, ..., the load) for each file that calling `target` parses on every call
        (the first way found to each)."""
        key = _function_key(project, target)
        if key is None:
            return []
        if key.endswith(".__init__") and not target.endswith(".__init__"):
            fresh = True  # `Class(...)`: a new object runs its `__init__`
        memo = (key, fresh)
        if memo in self.chains:
            return self.chains[memo]
        facts = project.file_loads(key)
        if facts is None or key in visiting or len(visiting) > MAX_DEPTH:
            return []
        self.chains[memo] = []
        if self._writes(project, key, frozenset()):
            return []  # a read-modify-write: the load must see the previous write
        name = _short_name(key, project)
        found: dict[Chain, Chain] = {}  # by the method that loads and the load
        for load in facts.loads:
            if fresh or not load.guarded:
                found.setdefault((name, load.shown), (name, load.shown))
        for site in facts.sites:
            if site.guarded and not fresh:
                continue
            inner = site.receiver == "fresh" or (site.receiver == "self" and fresh)
            for below in self._chain(project, site.target, inner, visiting | {key}):
                found.setdefault(below[-2:], (name, *below))
        self.chains[memo] = list(found.values())
        return self.chains[memo]

    def _writes(self, project: ProjectIndex, target: str, visiting: frozenset[str]) -> bool:
        """Calling `target` always writes a file its object holds (a read-modify-write: the
        load before the write cannot be moved out of the loop)."""
        key = _function_key(project, target)
        facts = project.file_loads(key) if key is not None else None
        if key is None or facts is None or key in visiting or len(visiting) > MAX_DEPTH:
            return False
        if key not in self.writes:
            self.writes[key] = False  # while it is being answered (a cycle writes nothing)
            self.writes[key] = facts.writes or any(
                not site.conditional and self._writes(project, site.target, visiting | {key})
                for site in facts.sites
            )
        return self.writes[key]


def _retry_loop(loop: Loop) -> bool:
    """`while attempt < max_attempts:` / `for attempt in range(retries):`: a few attempts,
    each doing the whole (slow) operation again; a load in it is not the cost."""
    if isinstance(loop, ast.While):
        words = _words(loop.test)
    elif isinstance(loop, (ast.For, ast.AsyncFor)):
        words = _words(loop.target) | (
            _words(loop.iter) if isinstance(loop.iter, ast.Call) else set()
        )
    else:
        return False
    return any(word.startswith(RETRY_WORDS) for word in words)


def _words(node: ast.AST) -> set[str]:
    return {
        word
        for child in ast.walk(node)
        if isinstance(child, (ast.Name, ast.Attribute))
        for word in (child.id if isinstance(child, ast.Name) else child.attr).lower().split("_")
    }


def _targets(generator: ast.comprehension) -> set[str]:
    return {node.id for node in ast.walk(generator.target) if isinstance(node, ast.Name)}


def _assignments(loop: ast.For | ast.AsyncFor | ast.While) -> dict[str, ast.expr | None]:
    """Every name the loop binds (its target too), with its value when that is its only
    binding there (`name = value`)."""
    found: dict[str, ast.expr | None] = {}
    values: dict[str, list[ast.expr]] = {}
    for node in ast.walk(loop):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            found[node.id] = None
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            values.setdefault(node.targets[0].id, []).append(node.value)
    for name, assigned in values.items():
        if len(assigned) == 1:
            found[name] = assigned[0]
    return found


def _first(binding: Binding) -> ast.arg | None:
    """The first parameter of the function that binds `binding` (a method's `self`)."""
    func = binding.scope.node
    if isinstance(func, FUNCTIONS):
        params = [*func.args.posonlyargs, *func.args.args]
        return params[0] if params else None
    return None


def _short_name(key: str, project: ProjectIndex) -> str:
    """`Class.method` for a method, `function` for a function (as the chain shows them)."""
    owner, _, name = key.rpartition(".")
    return f"{owner.rpartition('.')[2]}.{name}" if owner in project.class_bases else name


def _function_key(project: ProjectIndex, target: str) -> str | None:
    """The project function `target` names: a function, a method (of the class or a base
    class of the project), or a class (its `__init__`)."""
    key = project.resolve(target)
    if project.has_function(key):
        return key
    if key in project.class_bases:
        return _method(project, key, "__init__", 0)
    owner, _, name = key.rpartition(".")
    if not owner:
        return None
    cls = project.resolve(owner)
    return _method(project, cls, name, 0) if cls in project.class_bases else None


def _method(project: ProjectIndex, cls: str, name: str, depth: int) -> str | None:
    key = f"{cls}.{name}"
    if project.has_function(key):
        return key
    if depth > MAX_DEPTH:
        return None
    for base in project.class_bases.get(cls, []):
        found = _method(project, project.resolve(base), name, depth + 1)
        if found is not None:
            return found
    return None
