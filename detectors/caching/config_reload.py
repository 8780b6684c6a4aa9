"""CAC002: a config file at a constant path loaded and parsed again on every call."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from flowfix.analysis import Model
from flowfix.analysis.assignments import local_assignment
from flowfix.analysis.excerpts import code_excerpt, source_text
from flowfix.analysis.model import FUNCTIONS, FunctionNode
from flowfix.analysis.spans import span_data
from flowfix.analysis.values import (
    bound_names,
    is_env_lookup,
    local_bindings,
    own_nodes,
    root_name,
    statement_targets,
)
from flowfix.detector import Detector
from flowfix.detectors.caching.expressions import (
    arguments,
    first_argument,
    identity,
    substituted,
)
from flowfix.detectors.caching.functions import (
    function_nodes,
    imported_names,
    may_call,
    result_name,
    runs_in_function,
)
from flowfix.detectors.caching.project_writes import file_name, written_elsewhere
from flowfix.rules import FixSafety, OptIn, Severity

LOADERS = frozenset({"json.load", "json.loads", "yaml.safe_load", "yaml.load"})
LOADER_NAMES = frozenset(name.rsplit(".", 1)[-1] for name in LOADERS)
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
REMOVE_FUNCTIONS = frozenset({"os.remove", "os.unlink"})
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
MAX_LOCAL_DEPTH = 4
USER_FILE_REASON = (
    "the file is not installed with the code (a path built on `__file__`): it can change while"
    " the process runs, and a process-wide cache would keep its old contents; load it once per"
    " operation, or cache it keyed on its modification time"
)
Opener = ast.With | ast.AsyncWith


@dataclass
class ConfigLoad:
    """A load of a constant-path config file inside a function.

    `call` is the `json.load(...)`-like call; `opener` the `with open(...)` statement around it
    whose target the call reads (None when the call opens or reads the file itself); `path`
    the path expression as written and `local_paths` the locals it reads, with their constant
    values.
    """

    call: ast.Call
    opener: Opener | None
    path: ast.expr
    func: FunctionNode
    local_paths: dict[str, ast.expr] = field(default_factory=dict)


# --- reading a file ------------------------------------------------------------------------


def _read_mode(call: ast.Call) -> bool:
    """`open(...)`/`.open(...)` without a mode or with a read-only literal mode."""
    position = 1 if isinstance(call.func, ast.Name) else 0
    for index, argument in enumerate(arguments(call)):
        if argument.keyword == "mode" or (argument.keyword is None and index == position):
            value = argument.value
            return (
                not argument.star
                and isinstance(value, ast.Constant)
                and isinstance(value.value, (str, bytes))
                and not set(str(value.value)) & set("wax+")
            )
    return True


def _opened_path(model: Model, node: ast.expr) -> ast.expr | None:
    """`P` for `open(P)` / `open(P, "r")` / `P.open()` (not `module.open(...)`)."""
    if not isinstance(node, ast.Call) or not _read_mode(node):
        return None
    if model.resolves_to(node.func, OPEN_FUNCTIONS) is not None:
        return first_argument(node)
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr == "open":
        receiver = func.value
        if isinstance(receiver, ast.Name) and any(
            binding.is_import for binding in model.bindings_of(receiver)
        ):
            return None
        return receiver
    return None


def _read_path(model: Model, node: ast.expr) -> ast.expr | None:
    """`P` for `P.read_text()`, `P.read_bytes()` or `open(P).read()`."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in READ_METHODS
    ):
        receiver = node.func.value
        opened = _opened_path(model, receiver)
        if opened is not None:
            return opened
        return receiver if node.func.attr != "read" else None
    return None


def _with_source(model: Model, name: ast.Name, call: ast.Call) -> tuple[Opener, ast.expr] | None:
    """(the `with` statement, `P`) when `name` is bound by `with open(P) as name:` around
    `call`."""
    for current in model.ancestors(call):
        if isinstance(current, (*FUNCTIONS, ast.Lambda)):
            return None
        if isinstance(current, (ast.With, ast.AsyncWith)):
            for item in current.items:
                target = item.optional_vars
                if isinstance(target, ast.Name) and target.id == name.id:
                    path = _opened_path(model, item.context_expr)
                    return (current, path) if path is not None else None
    return None


def _source_path(model: Model, call: ast.Call) -> tuple[Opener | None, ast.expr] | None:
    """(the `with` statement the load reads from or None, the path) for a loader call reading
    a file."""
    loaded = first_argument(call)
    if loaded is None:
        return None
    path = _opened_path(model, loaded) or _read_path(model, loaded)
    if path is not None:
        return None, path
    if isinstance(loaded, ast.Name):
        return _with_source(model, loaded, call)
    return None


# --- constant paths -------------------------------------------------------------------------


def single_assignment(func: FunctionNode, name: str) -> ast.expr | None:
    """The value of `name = value` when that is the only binding of `name` in `func`."""
    args = func.args
    params = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    if any(param is not None and param.arg == name for param in params):
        return None
    found: list[ast.expr] = []
    bindings = sum(name in names for names, _ in local_bindings(func))
    for node in function_nodes(func):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = statement_targets(node)
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                found.append(node.value)
    return found[0] if bindings == 1 and len(found) == 1 else None


class PathResolver:
    """Decides whether a path expression has the same value on every call of `func`."""

    def __init__(self, model: Model, func: FunctionNode) -> None:
        self.model, self.func = model, func
        self.locals: dict[str, ast.expr] = {}

    def constant(self, node: ast.expr | None, depth: int = 0) -> bool:
        if node is None or depth > 8:
            return False
        if isinstance(node, ast.Constant):  # not a float (libcst's `Float` was not)
            return not isinstance(node.value, (float, complex)) and node.value is not Ellipsis
        if isinstance(node, ast.JoinedStr):
            return all(
                self.constant(part.value, depth)
                for part in node.values
                if isinstance(part, ast.FormattedValue)
            )
        if isinstance(node, ast.Name):
            return self._constant_name(node, depth)
        if isinstance(node, ast.Attribute):
            return self.constant(node.value, depth)
        if isinstance(node, ast.BinOp):
            return isinstance(node.op, (ast.Div, ast.Add)) and (
                self.constant(node.left, depth) and self.constant(node.right, depth)
            )
        if isinstance(node, ast.Call):
            return self._constant_call(node, depth)
        return False

    def _constant_name(self, node: ast.Name, depth: int) -> bool:
        if node.id == "__file__" or node.id in self.locals:
            return True
        if self.model.is_module_level_name(node):
            return True
        value = single_assignment(self.func, node.id)
        if value is not None and self.constant(value, depth + 1):
            self.locals[node.id] = value
            return True
        return False

    def _constant_call(self, node: ast.Call, depth: int) -> bool:
        if any(isinstance(arg, ast.Starred) for arg in node.args) or any(
            keyword.arg is None for keyword in node.keywords
        ):
            return False
        values = [*node.args, *(keyword.value for keyword in node.keywords)]
        if not all(self.constant(value, depth) for value in values):
            return False
        if is_env_lookup(self.model, node):
            return True
        if self.model.qualified_names(node.func) & PATH_FUNCTIONS:
            return True
        func = node.func
        return (
            isinstance(func, ast.Attribute)
            and func.attr in PATH_METHODS
            and self.constant(func.value, depth)
        )

    def key(self, node: ast.expr) -> str:
        """The path's identity: its syntax tree with constant locals replaced by their
        values."""
        return identity(substituted(node, self.locals))


def config_load(model: Model, call: ast.Call) -> tuple[ConfigLoad, str] | None:
    """(the load, the path's identity) when `call` loads a constant-path file per call."""
    if model.resolves_to(call.func, LOADERS) is None:
        return None
    func = runs_in_function(model, call)
    found = _source_path(model, call) if func is not None else None
    if found is None or func is None:
        return None
    opener, path = found
    resolver = PathResolver(model, func)
    if not resolver.constant(path):
        return None
    load = ConfigLoad(call, opener, path, func, dict(resolver.locals))
    return load, resolver.key(path)


# --- files the module writes ----------------------------------------------------------------


def written_target(model: Model, call: ast.Call) -> ast.expr | None:
    """The path a call writes, moves onto or deletes, if it is one."""
    func = call.func
    receiver = func.value if isinstance(func, ast.Attribute) else None
    method = func.attr if isinstance(func, ast.Attribute) else ""
    first = first_argument(call)
    if method == "open" or model.resolves_to(func, OPEN_FUNCTIONS) is not None:
        return None if _read_mode(call) else receiver if method == "open" else first
    if method in WRITE_METHODS:
        return receiver
    if model.resolves_to(func, MOVE_FUNCTIONS) is not None:  # before `.replace`: `os.replace`
        given = arguments(call)
        return given[1].value if len(given) >= 2 else None
    if method in {"replace", "rename"} and first is not None:  # `Path.replace(dst)`
        return first
    if model.resolves_to(func, REMOVE_FUNCTIONS) is not None:
        return first
    return None


def written_paths(model: Model) -> set[str]:
    """Identities of the paths the module writes anywhere (a file it writes is not
    constant)."""
    keys: set[str] = set()
    for call in model.nodes(ast.Call):
        assert isinstance(call, ast.Call)
        target = written_target(model, call)
        if target is None:
            continue
        func = model.function_of(call)
        if isinstance(func, FUNCTIONS):
            resolver = PathResolver(model, func)
            resolver.constant(target)
            keys.add(resolver.key(target))
        else:
            keys.add(identity(target))
    return keys


def written_file_names(text: str | None) -> set[str]:
    """The names of the files a module's text writes, moves onto or deletes, anywhere: the
    file name its path ends in, read through the locals a function assigns it to once
    (`target = os.path.join(out, "data.json")` then `open(target, "w")`)."""
    try:
        tree = ast.parse(text) if text else None
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        tree = None
    if tree is None or text is None:
        return set()
    model = Model(tree, text)
    names: set[str] = set()
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call):
            continue
        target = written_target(model, call)
        function = model.function_of(call)
        for _ in range(MAX_LOCAL_DEPTH):
            if not (isinstance(target, ast.Name) and isinstance(function, FUNCTIONS)):
                break
            target = single_assignment(function, target.id)
        name = file_name(target) if target is not None else None
        if name:
            names.add(name)
    model.release()
    return names


# --- whether the loaded object is changed ---------------------------------------------------


def _aliases(node: ast.AST | None, names: set[str]) -> bool:
    """`node` evaluates to (part of) the object some name in `names` holds."""
    if isinstance(node, ast.Name):
        return node.id in names
    if isinstance(node, (ast.Attribute, ast.Subscript)):
        return root_name(node) in names
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr in ALIASING_METHODS and _aliases(node.func.value, names)
    if isinstance(node, ast.BoolOp):
        return any(_aliases(value, names) for value in node.values)
    if isinstance(node, ast.IfExp):
        return _aliases(node.body, names) or _aliases(node.orelse, names)
    return False


def _holder(model: Model, call: ast.Call) -> tuple[ast.expr, bool]:
    """The outermost expression that still holds (part of) the call's result, and whether a
    mutating method is called on it on the way (`load()["k"].append(...)`)."""
    node: ast.expr = call
    while True:
        owner = model.parent(node)
        if isinstance(owner, (ast.Attribute, ast.Subscript)) and owner.value is node:
            grand = model.parent(owner)
            if (
                isinstance(owner, ast.Attribute)
                and isinstance(grand, ast.Call)
                and grand.func is owner
            ):
                if owner.attr in MUTATING_METHODS:
                    return grand, True
                if owner.attr not in ALIASING_METHODS:
                    return node, False
                node = grand
                continue
            node = owner
        elif isinstance(owner, ast.BoolOp) or (
            isinstance(owner, ast.IfExp) and owner.test is not node
        ):
            node = owner
        else:
            return node, False


def mutates_result(model: Model, load: ConfigLoad) -> bool:
    """The function changes the loaded object in place (through any local alias of it)."""
    holder, mutated = _holder(model, load.call)
    name = result_name(model, holder)
    if mutated or name is None:
        return mutated
    names = {name}
    bindings = local_bindings(load.func)
    changed = True
    while changed:
        changed = False
        for bound, value in bindings:
            if bound - names and _aliases(value, names):
                names |= bound
                changed = True
    for node in function_nodes(load.func):
        targets = statement_targets(node)
        if any(
            isinstance(t, (ast.Attribute, ast.Subscript)) and root_name(t) in names for t in targets
        ):
            return True
        if isinstance(node, ast.AugAssign) and _aliases(node.target, names):
            return True
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in MUTATING_METHODS
            and _aliases(node.func.value, names)
        ):
            return True
    return False


# --- the rewrite ----------------------------------------------------------------------------


def _with_reason(model: Model, load: ConfigLoad) -> str:
    """Why the `with` block cannot become the loader's body ("" when it can: its only
    statement is `name = load(f)` or `return load(f)`)."""
    block = load.opener
    assert block is not None
    reason = "the `with` block does more than load the file"
    if isinstance(block, ast.AsyncWith) or len(block.items) != 1 or len(block.body) != 1:
        return reason
    statement = block.body[0]
    if _one_line(model, statement):
        return reason
    if isinstance(statement, ast.Return) and statement.value is load.call:
        return ""
    if (
        isinstance(statement, ast.Assign)
        and statement.value is load.call
        and len(statement.targets) == 1
        and isinstance(statement.targets[0], ast.Name)
    ):
        return ""
    return reason


def _one_line(model: Model, statement: ast.stmt) -> bool:
    """`statement` follows its block's colon on the same line (`with x as f: return ...`)."""
    text = model.lines[statement.lineno - 1].encode("utf-8")[: statement.col_offset]
    return bool(text.strip())


def _local_reads(model: Model, load: ConfigLoad) -> list[str]:
    """Names the loader code would read that are not module-level (the path's locals
    aside)."""
    skip = set(load.local_paths)
    root: ast.AST = load.call
    if load.opener is not None:
        item = load.opener.items[0]
        if item.optional_vars is not None:
            skip |= bound_names(item.optional_vars)
        root = item.context_expr
    nodes: list[ast.AST] = [root, *own_nodes(root)]
    if root is not load.call:
        nodes += [load.call, *own_nodes(load.call)]
    return sorted(
        {
            node.id
            for node in nodes
            if isinstance(node, ast.Name)
            and node.id not in skip
            and node.id != "__file__"
            and not model.is_module_level_name(node)
        }
    )


def _words(node: ast.AST) -> Iterator[str | ast.Constant]:
    """The string literals (as nodes) and the identifiers (names, attribute and keyword
    names) of `node`, in source order; string parts of f-strings are not literals."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (str, bytes)):
            yield node
        return
    if isinstance(node, ast.Name):
        yield node.id
        return
    if isinstance(node, ast.Attribute):
        yield from _words(node.value)
        yield node.attr
        return
    if isinstance(node, ast.JoinedStr):
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                yield from _words(part.value)
        return
    if isinstance(node, ast.keyword):
        if node.arg:
            yield node.arg
        yield from _words(node.value)
        return
    if isinstance(node, ast.Call):
        yield from _words(node.func)
        parts: list[ast.expr | ast.keyword] = [*node.args, *node.keywords]
        for argument in sorted(parts, key=lambda part: (part.lineno, part.col_offset)):
            yield from _words(argument)
        return
    if isinstance(node, ast.Lambda):
        return
    for child in ast.iter_child_nodes(node):
        yield from _words(child)


def path_stem(path: ast.AST) -> str:
    """A loader name stem: the file name without extension, or the path constant's name."""
    words = list(_words(path))
    for string in reversed([w for w in words if isinstance(w, ast.Constant)]):
        value = str(string.value).replace("\\", "/").rsplit("/", 1)[-1]
        stem = re.sub(r"\W+", "_", value.split(".", 1)[0]).strip("_").lower()
        if stem and not stem[0].isdigit():
            return stem
    for name in reversed([w for w in words if isinstance(w, str)]):
        stem = name.lower().strip("_")
        for suffix in PATH_SUFFIXES:
            stem = stem.removesuffix(suffix)
        if stem and stem not in {"file", "path", "os", "pathlib"}:
            return stem
    return "config"


def _local_source(model: Model, value: ast.expr) -> str:
    """A local's value as written, its continuation lines relative to the indentation of the
    statement that assigns it (as libcst keeps them, so that they follow the loader's)."""
    lines = source_text(model, value).split("\n")
    first = model.lines[value.lineno - 1]
    indent = first[: len(first) - len(first.lstrip())]
    return "\n".join([lines[0], *(line.removeprefix(indent) for line in lines[1:])])


def shipped_with_code(model: Model, node: ast.AST, depth: int = 0) -> bool:
    """The path is anchored on the module's own file (`Path(__file__).parent / "x.yaml"`,
    `os.path.join(os.path.dirname(__file__), ...)`, or a module constant built so): a file
    installed with the code, which does not change while the process runs."""
    if depth > 8:
        return False
    for child in ast.walk(node):
        if not isinstance(child, ast.Name):
            continue
        if child.id == "__file__":
            return True
        bindings = model.bindings_of(child)
        if len(bindings) == 1 and bindings[0].scope.kind == "module":
            value = model.parent(bindings[0].node)
            if (
                isinstance(value, (ast.Assign, ast.AnnAssign))
                and value.value is not None
                and shipped_with_code(model, value.value, depth + 1)
            ):
                return True
    return False


def loader_plan(model: Model, load: ConfigLoad) -> dict[str, object] | str:
    """What the codemod needs to move the load into a cached loader, or why it cannot."""
    if not shipped_with_code(model, substituted(load.path, load.local_paths)):
        return USER_FILE_REASON
    if model.bound_otherwise(load.call, "functools"):
        return "the name `functools` is bound to something else here"
    if mutates_result(model, load):
        return "the function changes the loaded object; a cached object would carry the change"
    if load.opener is not None:
        reason = _with_reason(model, load)
        if reason:
            return reason
    local = _local_reads(model, load)
    if local:
        return f"the load reads local name `{local[0]}`"
    anchor: ast.AST = load.func
    for current in model.ancestors(load.func):
        if isinstance(current, (*FUNCTIONS, ast.ClassDef)):
            anchor = current
    body: list[ast.AST] = [load.call]
    if load.opener is not None:
        body.insert(0, load.opener.items[0])
    return {
        "anchor": span_data(model, anchor),
        "with": span_data(model, load.opener) if load.opener is not None else None,
        "locals": {name: _local_source(model, value) for name, value in load.local_paths.items()},
        "stem": path_stem(substituted(load.path, load.local_paths)),
        "key": "|".join(identity(substituted(part, load.local_paths)) for part in body),
        # The path's locals, removed by the codemod once the moved load was their only reader.
        "assignments": [
            found
            for name in load.local_paths
            if (found := local_assignment(model, load.func, name)) is not None
        ],
    }


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

    NODE_INDEX = Path(__file__).parent / "node_index.json"


    def node_metadata(node_type):
        index = json.loads(NODE_INDEX.read_text())
        return index[node_type]
    ```

    ## Use instead
    ```python
    import json
    from pathlib import Path
    import functools

    NODE_INDEX = Path(__file__).parent / "node_index.json"


    @functools.cache
    def _load_node_index():
        return json.loads(NODE_INDEX.read_text())


    def node_metadata(node_type):
        index = _load_node_index()
        return index[node_type]
    ```

    ## Fix safety
    Unsafe, and offered only for a file installed with the code: a path built on
    `__file__` (`Path(__file__).parent / "prompts.yaml"`, a module constant built so). The
    load (`json.load(open(P))`, `json.loads(P.read_text())`, `yaml.safe_load(...)`, or a
    `with open(P) as f:` block whose only statement loads `f`) moves into a module-level
    `functools.cache` loader placed before the function, and the function calls it; a local
    that only held the path goes with it. Behaviour changes: the file is read once per
    process, so an edit made while it runs is not seen until restart, and every caller now
    gets the same object, so a caller that mutates it changes what the next caller sees.

    A file in the user's home (`~/.pflow/mcp-servers.json`), the working directory or a path
    from the environment is reported without a fix: the user edits it while a server keeps
    running (`pflow mcp add` while `pflow`'s MCP server runs), and a process-wide cache would
    keep serving the old contents; load it once per operation, or cache it keyed on its
    modification time. No fix is offered either when the function itself mutates the loaded
    object, when the `with` block does more than load the file, or when the load reads other
    local names. A file that the same module writes (`open(P, "w")`, `P.write_text()`,
    `os.replace(..., P)`, ...) is not reported, nor one of the same file name that another
    file of the run writes (a pipeline stage's output that the next stage reads back), nor
    are loads in cached functions, `main()`/`cli()`, or at module level.

    ## Metric to monitor
    Time spent in `json`/`yaml` parsing per request or command (a profiler's cumulative
    time), and command start-up latency.

    ## Limitations
    Paths read from `self` or from parameters are not constant and are not reported, even
    when every instance uses the same file.
    """

    def _written_elsewhere(self, load: ConfigLoad) -> bool:
        """Another file of the run, not a test, writes a file of the loaded file's name."""
        name = file_name(substituted(load.path, load.local_paths))
        return (
            self.project is not None
            and name is not None
            and written_elsewhere(
                self.project, self.path, name, written_file_names, self._is_program_code
            )
        )

    def _is_program_code(self, display: str) -> bool:
        """Not a test file (by the project's `test-paths`)."""
        return not self.config.is_test_file(display)

    CODE = "CAC002"
    NAME = "config-reloaded-per-call"
    SEVERITY = Severity.OPTIMIZATION
    OPT_IN = OptIn.MINOR
    WHY_NOT_DEFAULT = (
        "on every corpus read so far its findings were small, user-edited files re-read per "
        "call, a cost small next to the call's own work"
    )
    CATEGORY = "caching"
    FIX = FixSafety.UNSAFE
    FRAMEWORKS = ("pflow", "dynamiq", "pocketflow", "kaygraph")
    MESSAGE = "`{loader}()` parses `{path}` again on every call of `{function}()`"
    TRIGGERS = ("json", "yaml")
    NEEDS = "load"  # every loader's name holds it (LOADERS)
    NEEDS_PROJECT = True

    # Identities of the paths the module writes, read once, when a first load is found.
    writes: set[str] | None = None

    imported: frozenset[str] | None = None

    def visit_Call(self, node: ast.Call) -> None:
        if self.imported is None:
            self.imported = imported_names(self.model)
        if not may_call(node.func, LOADER_NAMES, self.imported):
            return
        found = config_load(self.model, node)
        if found is None:
            return
        load, key = found
        if self.writes is None:
            self.writes = written_paths(self.model)
        if key in self.writes or self._written_elsewhere(load):
            return
        plan = loader_plan(self.model, load)
        fixable = not isinstance(plan, str)
        self.report(
            node,
            fix=FixSafety.UNSAFE if fixable else FixSafety.NONE,
            note="" if fixable else str(plan),
            data=plan if isinstance(plan, dict) else None,
            loader=self.model.resolves_to(node.func, LOADERS),
            path=code_excerpt(self.model, load.path, 50),
            function=load.func.name,
        )
