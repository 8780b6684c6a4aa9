"""A client one call away: a module-level function of the run that builds and returns a new
client on every call (`def get_qdrant_client(): return QdrantClient(...)`), uncached, so
that calling it per call builds a client per call."""

from __future__ import annotations

import ast
import functools
import re
from pathlib import PurePosixPath

from flowfix.analysis import Model
from flowfix.analysis.frameworks import is_cached_function
from flowfix.analysis.model import FUNCTIONS, FunctionNode
from flowfix.analysis.values import block_nodes, single_binding_value
from flowfix.detectors.connections.client_constructors import CLIENT_WORDS, client_constructor
from flowfix.project import ProjectIndex

# What the name of a function that hands out clients has in it (`get_qdrant_client`,
# `make_session`, `create_engine`, `get_db`, `redis_connection`).
FACTORY_NAME = re.compile("client|session|conn|engine|pool|db|redis|store", re.IGNORECASE)


def named_like_factory(call: ast.Call) -> bool:
    """The called function's name says it hands out clients (a cheap first check)."""
    func = call.func
    return _factory_word(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))


@functools.lru_cache(maxsize=4096)
def _factory_word(called: str) -> bool:
    return FACTORY_NAME.search(called) is not None


def returned_client(model: Model, function: FunctionNode) -> str | None:
    """The client class `function` builds anew and returns on every call (every `return`
    gives one, or `None`), unless it is cached or a generator."""
    if is_cached_function(model, function):
        return None
    found: set[str] = set()
    for node in block_nodes(function.body):
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return None
        if not isinstance(node, ast.Return) or node.value is None:
            continue
        value: ast.AST | None = node.value
        if isinstance(value, ast.Constant) and value.value is None:
            continue
        if isinstance(value, ast.Name):
            value = single_binding_value(model, value)
        name = client_constructor(model, value) if isinstance(value, ast.Call) else None
        if name is None:
            return None
        found.add(name)
    return min(found) if found else None


def factory_client(
    model: Model, call: ast.Call, project: ProjectIndex | None, display: str
) -> tuple[str, str] | None:
    """(the factory as called, the client it returns) when `call` calls a module-level
    function of this file, or of another file of the run it imports, that returns a new
    client on every call."""
    func = call.func
    if not named_like_factory(call):
        return None
    root: ast.expr = func
    while isinstance(root, ast.Attribute):
        root = root.value
    if not isinstance(root, ast.Name):
        return None
    bindings = model.bindings_of(root)
    if len(bindings) == 1 and root is func:
        definition = bindings[0].node
        if isinstance(definition, FUNCTIONS) and model.parent(definition) is model.tree:
            client = returned_client(model, definition)
            return (root.id, client) if client is not None else None
    if project is None or not bindings or not all(binding.is_import for binding in bindings):
        return None
    for qualified in sorted(model.qualified_names(func)):
        target = _run_file(project, display, qualified)
        client = _returned_client_in(project, *target) if target is not None else None
        if client is not None:
            return (qualified.rsplit(".", 1)[-1], client)
    return None


def _module_parts(project: ProjectIndex) -> set[str]:
    """Every file stem and folder name of the run's files (what an import of a run file
    starts with)."""
    key = ("module parts",)
    found = project.memo.get(key)
    if found is None:
        found = project.memo[key] = {
            part.removesuffix(".py") for display in project.run_files for part in display.split("/")
        }
    assert isinstance(found, set)
    return found


def _run_file(project: ProjectIndex, display: str, qualified: str) -> tuple[str, str] | None:
    """(display path, function name) of the file of the run whose function `qualified` (an
    import as the caller's model spells it: absolute, or relative with leading dots) names,
    looked for as the import system would from the caller's folders."""
    stripped = qualified.lstrip(".")
    level = len(qualified) - len(stripped)
    module, _, name = stripped.rpartition(".")
    if not module or (not level and module.split(".")[0] not in _module_parts(project)):
        return None
    key = ("run file", display.rpartition("/")[0], qualified)
    if key in project.memo:
        found = project.memo[key]
        return found if isinstance(found, tuple) else None
    caller = PurePosixPath(display)
    parts = module.split(".")
    anchors = [caller.parent, *caller.parent.parents]
    result: tuple[str, str] | None = None
    for base in anchors[level - 1 : level] if level else anchors:
        for candidate in (
            base.joinpath(*parts[:-1], f"{parts[-1]}.py"),
            base.joinpath(*parts, "__init__.py"),
        ):
            if result is None and str(candidate) in project.run_files:
                result = (str(candidate), name)
    project.memo[key] = result
    return result


def _returned_client_in(project: ProjectIndex, display: str, name: str) -> str | None:
    """`returned_client` of the module-level function `name` of the run's file `display`; the
    file is parsed only when that function's text could build a client (once per file)."""
    key = ("factory", display, name)
    if key in project.memo:
        project.module_for(display)
        found = project.memo[key]
        return found if isinstance(found, str) else None
    text = project.source(display)
    client = None
    if text is not None and _may_return_client(text, name):
        parsed = project.memo.get(("factories", display))
        if parsed is None:
            parsed = project.memo[("factories", display)] = _factories(text)
        assert isinstance(parsed, dict)
        client = parsed.get(name)
    project.memo[key] = client
    return client


def _may_return_client(text: str, name: str) -> bool:
    """Whether the text of the top-level `def name(` both returns and names a client."""
    at = text.find(f"def {name}(")
    if at < 0:
        return False
    end = min(
        (found for found in (text.find("\ndef ", at), text.find("\nclass ", at)) if found > 0),
        default=len(text),
    )
    body = text[at:end]
    return "return" in body and any(word in body for word in CLIENT_WORDS)


def _factories(text: str | None) -> dict[str, str]:
    """The module-level functions of `text` that return a new client, by name."""
    if text is None:
        return {}
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    model = Model(tree, text)
    found: dict[str, str] = {}
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            client = returned_client(model, statement)
            if client is not None:
                found[statement.name] = client
    model.release()
    return found
