"""Whether the run calls a module-level helper per call: from a node's or a service's method,
inside a loop, from a request handler, or from a helper that is itself called so.

A helper nothing calls repeatedly (one called once from a script's `__main__` block, or by
nothing at all) pays for its client once: a per-call client there is not worth reporting.
The callers are looked for in the files of the run that can import the helper: those below
the highest folder from which the helper's path is a module name (`app/utils/llm.py` is
`utils.llm` from `app/`, `app.utils.llm` from above it when `app` is a name), as a script run
from one of those folders, or a package there, imports it. Only files whose text names the
helper are parsed.
"""

from __future__ import annotations

import ast
import functools
import keyword
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

from flowfix.analysis import Model
from flowfix.analysis.frameworks import ONCE_PER_RUN_FUNCTIONS, decorator_names, framework_of
from flowfix.analysis.model import FUNCTIONS
from flowfix.analysis.values import in_comprehension
from flowfix.project import ProjectIndex

MAX_DEPTH = 3
# Decorators that register a function to run per request, message or tool call (the last
# part of the decorator's name: `@app.post(...)`, `@router.websocket(...)`, `@mcp.tool()`).
HANDLER_DECORATORS = frozenset(
    {"get", "post", "put", "patch", "delete", "route", "api_route", "websocket", "tool", "task"}
)
# "method": a method of a class that is no framework node (per call for CON001, whose
# services' methods run per request; not for ASY007).
Context = Literal["per-call", "once", "helper", "method"]


@dataclass(frozen=True)
class Site:
    """A place a file calls (or passes on) a name: what the name may resolve to, how often
    that code runs, and for a call in a plain module-level function, that function."""

    targets: frozenset[str]
    context: Context
    caller: str = ""


def helper_called_per_call(
    index: ProjectIndex,
    display: str,
    name: str,
    own: Model | None = None,
    depth: int = 0,
    *,
    methods: bool = True,
) -> bool | None:
    """True when some code of the run calls `name`, a module-level function of file
    `display`, per call; False when none does though files of the run could import it; None
    when no other file of the run can (its callers are elsewhere: the answer is unknown).
    `own` is the model of `display` when the caller has it (it is not parsed again). With
    `methods=False`, a call from a method of a class that is no framework node does not
    count as per call."""
    helper = PurePosixPath(display)
    root = _import_root(helper)
    others = [] if root is None else _mentioning(index, root, display, name)
    for caller_display in [display, *others]:
        targets = _targets(helper, PurePosixPath(caller_display), name)
        for site in _sites(index, caller_display, name, own if caller_display == display else None):
            if not site.targets & targets:
                continue
            if site.context == "per-call" or (methods and site.context == "method"):
                return True
            if site.context == "helper" and depth < MAX_DEPTH and site.caller != name:
                above = helper_called_per_call(
                    index, caller_display, site.caller, None, depth + 1, methods=methods
                )
                if above is not False:
                    return True
    if root is not None and not _under(index, root, display):
        return None  # the file is all the run holds of its project
    return False


def _is_module_name(part: str) -> bool:
    return part.isidentifier() and not keyword.iskeyword(part)


def _import_root(helper: PurePosixPath) -> PurePosixPath | None:
    """The highest folder from which `helper` is importable by a dotted name (None when its
    own name is not a module name)."""
    if not _is_module_name(helper.stem):
        return None
    root = helper.parent
    while root.name and _is_module_name(root.name) and root.parent != root:
        root = root.parent
    return root


def _under(index: ProjectIndex, root: PurePosixPath, display: str) -> list[str]:
    """The other files of the run below `root`."""
    key = ("under", root)
    found = index.memo.get(key)
    if found is None:
        found = index.memo[key] = [other for other in index.run_files if _is_below(other, root)]
    assert isinstance(found, list)
    return [other for other in found if other != display]


def _is_below(display: str, root: PurePosixPath) -> bool:
    """Whether the file `display` is below the folder `root` (strings: this runs over every
    file of the run)."""
    folder = str(root)
    if folder == ".":
        return not display.startswith(("/", "../"))
    return display.startswith(folder.rstrip("/") + "/")


def _mentioning(index: ProjectIndex, root: PurePosixPath, display: str, name: str) -> list[str]:
    """The files of the run below `root` (but `display`) whose text has `name`. Every file
    below `root` is consulted, so that a caller added anywhere there invalidates a cached
    answer."""
    below = _under(index, root, display)
    key = ("mentions", root, name)
    found = index.memo.get(key)
    if found is None:
        found = index.memo[key] = [other for other in below if name in (index.source(other) or "")]
    else:
        for other in below:
            index.module_for(other)
    assert isinstance(found, list)
    return [other for other in found if other != display]


def _dotted(base: PurePosixPath, path: PurePosixPath) -> str:
    """`a.b.c` for `base/a/b/c.py` (the stem for a module file), `a.b` for a folder."""
    parts = path.relative_to(base).parts
    if parts and parts[-1].endswith(".py"):
        parts = (*parts[:-1], PurePosixPath(parts[-1]).stem)
    return ".".join(parts)


@functools.lru_cache(maxsize=4096)
def _targets(helper: PurePosixPath, caller: PurePosixPath, name: str) -> frozenset[str]:
    """The qualified names under which `caller` may call `name` of `helper` (as the
    semantic model spells them: absolute, or with leading dots for relative imports)."""
    if caller == helper:
        return frozenset({name})
    found: set[str] = set()
    modules = [helper]
    if helper.stem != "__init__":
        modules.append(helper.parent)  # a package that re-exports the helper
    base = caller.parent
    while True:
        for module in modules:
            if module.is_relative_to(base) and module != base:
                dotted = _dotted(base, module)
                if dotted and all(_is_module_name(part) for part in dotted.split(".")):
                    found.add(f"{dotted}.{name}")
        if base.parent == base or not base.name:
            break
        base = base.parent
    for level, anchor in enumerate([caller.parent, *caller.parent.parents], start=1):
        for module in modules:
            if module.is_relative_to(anchor):
                dotted = _dotted(anchor, module) if module != anchor else ""
                found.add("." * level + (f"{dotted}.{name}" if dotted else name))
    return frozenset(found)


def _sites(index: ProjectIndex, display: str, name: str, own: Model | None) -> list[Site]:
    """Every call of `name` (as spelled, or under an alias it is imported as), and every other
    use of it, in the file (memoized per file and name); `own`, when given, is its model."""
    key = ("sites", display, name)
    found = index.memo.get(key)
    if found is None:
        if own is not None:
            index.module_for(display)
            found = _find_sites(own, name, list(ast.walk(own.tree)))
        else:
            model = _model(index, display)
            nodes = (
                []
                if model is None
                else [
                    *model.nodes(ast.Name),
                    *model.nodes(ast.Attribute),
                    *model.nodes(ast.ImportFrom),
                ]
            )
            found = _find_sites(model, name, nodes) if model is not None else []
        index.memo[key] = found
    else:
        index.module_for(display)
    assert isinstance(found, list)
    return found


def _model(index: ProjectIndex, display: str) -> Model | None:
    """The semantic model of a file of the run. Only the last one built is kept: what is
    worked out from it is memoised (`_sites`), and a run that kept every model it built
    kept their trees to its end."""
    kept = index.memo.get("model")
    if isinstance(kept, tuple) and kept[0] == display:
        return kept[1]  # type: ignore[no-any-return]
    if isinstance(kept, tuple) and kept[1] is not None:
        kept[1].release()
    text = index.source(display)
    try:
        tree = ast.parse(text) if text is not None else None
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        tree = None
    kinds = (ast.Name, ast.Attribute, ast.ImportFrom)
    model = Model(tree, text, kinds) if tree is not None and text else None
    index.memo["model"] = (display, model)
    return model


def _find_sites(model: Model, name: str, nodes: list[ast.AST]) -> list[Site]:
    """The uses of `name` among `nodes` (the module's names, attributes and imports)."""
    spellings = {name} | {
        alias.asname
        for node in nodes
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.name == name and alias.asname
    }
    sites: list[Site] = []
    for node in nodes:
        if not isinstance(node, ast.Name | ast.Attribute):
            continue
        last = node.attr if isinstance(node, ast.Attribute) else node.id
        owner = model.parent(node)
        if last not in spellings or isinstance(owner, ast.Attribute):
            continue  # only whole chains: `a.b` in `a.b.c` is not one
        if not isinstance(node.ctx, ast.Load):  # type: ignore[attr-defined]
            continue
        targets = frozenset(model.qualified_names(node))
        if not targets:
            continue
        called = isinstance(owner, ast.Call) and owner.func is node
        context, caller = _context(model, node) if called else ("per-call", "")
        sites.append(Site(targets, context, caller))
    return sites


def _context(model: Model, node: ast.AST) -> tuple[Context, str]:
    """How often the code around `node` runs."""
    function = model.function_of(node)
    if _in_loop(model, node, function):
        return "per-call", ""
    if function is None:
        return "once", ""
    if not isinstance(function, FUNCTIONS):
        return "per-call", ""  # a lambda: a callback
    if function.name in ONCE_PER_RUN_FUNCTIONS or function.name.startswith("test_"):
        return "once", ""
    owner = model.parent(function)
    if (
        isinstance(owner, ast.ClassDef)
        and model.parent(owner) is model.tree
        and framework_of(model, owner) is None
    ):
        return "method", ""
    if owner is not model.tree:
        return "per-call", ""  # a node's method, a nested callback or closure
    decorators = {name.rsplit(".", 1)[-1] for name in decorator_names(model, function)}
    if decorators & HANDLER_DECORATORS:
        return "per-call", ""
    if "fixture" in decorators:
        return "once", ""
    return "helper", function.name


def _in_loop(model: Model, node: ast.AST, function: ast.AST | None) -> bool:
    """`node` runs once per iteration of a loop or comprehension of its own function."""
    stop = function if function is not None else model.tree
    return model.iteration_loop(node) is not None or in_comprehension(model, node, stop)
