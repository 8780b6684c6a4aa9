"""What depends on a call's inputs: the parameters of a function and every name or attribute
chain (`self.url`) its body binds or mutates from them."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence

from flowfix.analysis.arguments import argument_values
from flowfix.analysis.model import FUNCTIONS
from flowfix.analysis.names import spelled_name

# (names bound or mutated, the expressions they come from, the node that binds them)
Flows = list[tuple[set[str], Sequence[ast.AST], ast.AST]]


def references(node: ast.AST) -> set[str]:
    """Variable names and dotted attribute chains read in `node` (`self`, `self.params`, ...):
    every name, every attribute chain and its prefixes, parameter names of lambdas; not the
    names of keyword arguments."""
    found: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Attribute):
            dotted = spelled_name(current)
            if dotted:
                found.add(dotted)
            stack.append(current.value)
            continue
        if isinstance(current, ast.Name):
            found.add(current.id)
            continue
        if isinstance(current, ast.keyword):
            stack.append(current.value)
            continue
        if isinstance(current, ast.arg):
            found.add(current.arg)
        stack.extend(ast.iter_child_nodes(current))
    return found


def _references_of(sources: Iterable[ast.AST]) -> set[str]:
    found: set[str] = set()
    for source in sources:
        found |= references(source)
    return found


def target_names(target: ast.AST) -> set[str]:
    """Names and attribute chains an assignment target binds or changes (`a, b`, `self.x`,
    `self.cache[k]` → `self.cache`)."""
    if isinstance(target, (ast.Tuple, ast.List)):
        return {name for element in target.elts for name in target_names(element)}
    if isinstance(target, (ast.Starred, ast.Subscript)):
        return target_names(target.value)
    dotted = spelled_name(target)
    return {dotted} if dotted else set()


def flows(function: ast.FunctionDef | ast.AsyncFunctionDef) -> Flows:
    """What the function's own code binds or mutates, and from what: assignments, walrus,
    `for`/comprehension/`with` targets, and the receiver of every method call (`a.add(x)` may
    store `x` in `a`). Nested `def` and `class` are not entered; lambdas are."""
    found: Flows = []
    stack: list[ast.AST] = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        if isinstance(node, (*FUNCTIONS, ast.ClassDef)):
            continue
        if isinstance(node, ast.Assign):
            found.extend((target_names(target), [node.value], node) for target in node.targets)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
            if node.value is not None:
                found.append((target_names(node.target), [node.value], node))
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            found.append((target_names(node.target), [node.iter], node.target))
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            found.append((target_names(node.optional_vars), [node.context_expr], node.context_expr))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            found.append((target_names(node.func.value), argument_values(node), node))
        stack.extend(ast.iter_child_nodes(node))
    return found


def spread(tainted: set[str], bindings: Iterable[tuple[set[str], Sequence[ast.AST]]]) -> set[str]:
    """`tainted` plus every name bound from a tainted one, transitively."""
    bindings = list(bindings)
    tainted = set(tainted)
    changed = True
    while changed:
        changed = False
        for targets, sources in bindings:
            if targets - tainted and _references_of(sources) & tainted:
                tainted |= targets
                changed = True
    return tainted


def input_names(
    function: ast.FunctionDef | ast.AsyncFunctionDef,
    this: str | None,
    bindings: Flows,
    construction: ast.AST,
    loops: Sequence[ast.AST] = (),
    varying: Iterable[str] = (),
    settings: Iterable[str] = (),
) -> set[str]:
    """Parameters (but the instance `this` and the `settings`, parameters that default to the
    configuration), the `varying` names (attributes other code changes between calls) and what
    `function` derives from them before `construction` runs: `bindings` (its `flows`) that
    start after the construction count only inside a loop of `loops` around it, whose next
    iteration sees them."""
    arguments = function.args
    params = [
        *arguments.posonlyargs,
        *arguments.args,
        *arguments.kwonlyargs,
        *([arguments.vararg] if arguments.vararg else []),
        *([arguments.kwarg] if arguments.kwarg else []),
    ]
    tainted = {param.arg for param in params} - _optional_overrides(function, params)
    tainted.discard(this or "")
    tainted.difference_update(settings)
    tainted.update(varying)
    # `self.method(x)` may keep `x` somewhere on the instance, but not in every attribute:
    # it does not make all of `self` depend on the call (`self.items.add(x)` still taints
    # `self.items`).
    return spread(
        tainted,
        (
            (targets - {this or ""}, sources)
            for targets, sources, at in bindings
            if _runs_before(at, construction, loops)
        ),
    )


def attributes_set_per_run(cls: ast.ClassDef, hooks: frozenset[str], this: str) -> set[str]:
    """`<this>.x` for every attribute of the instance that one of the class's `hooks` (the
    methods its framework calls on every run: `prep`, `exec`, `post`, ...) binds or changes
    from that hook's inputs (`self.base_url = shared["base_url"]` in `prep`): the attribute
    holds the current run's input, not a value fixed when the object was built."""
    found: set[str] = set()
    for method in cls.body:
        if not isinstance(method, FUNCTIONS) or method.name not in hooks:
            continue
        arguments = method.args
        params = [*arguments.posonlyargs, *arguments.args]
        if not params:
            continue
        own = params[0].arg
        names = {
            param.arg
            for param in [
                *params[1:],
                *arguments.kwonlyargs,
                *([arguments.vararg] if arguments.vararg else []),
                *([arguments.kwarg] if arguments.kwarg else []),
            ]
        }
        tainted = spread(
            names, ((targets - {own}, sources) for targets, sources, _ in flows(method))
        )
        found.update(this + name[len(own) :] for name in tainted if name.startswith(f"{own}."))
    return found


def _optional_overrides(
    function: ast.FunctionDef | ast.AsyncFunctionDef, params: Sequence[ast.arg]
) -> set[str]:
    """Parameters that default to a constant and that the body replaces, when not given, by
    a value no parameter feeds (`api_key: str | None = None` then `api_key = api_key or
    os.getenv("API_KEY")`): an override callers rarely pass, not the call's input."""
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    defaults = dict(
        zip(
            positional[len(positional) - len(arguments.defaults) :], arguments.defaults, strict=True
        )
    )
    defaults |= {
        arg: value
        for arg, value in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
        if value
    }
    names = {param.arg for param in params}
    found: set[str] = set()
    for node in ast.walk(function):
        if not (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.BoolOp)
            and isinstance(node.value.op, ast.Or)
        ):
            continue
        name = node.targets[0].id
        first, *rest = node.value.values
        param = next((p for p in params if p.arg == name), None)
        if (
            param is not None
            and isinstance(defaults.get(param), ast.Constant)
            and isinstance(first, ast.Name)
            and first.id == name
            and not any(_references_of(rest) & names)
        ):
            found.add(name)
    return found


def _position(node: ast.AST) -> tuple[int, int]:
    return (node.lineno, node.col_offset)  # type: ignore[attr-defined]


def _runs_before(binding: ast.AST, construction: ast.AST, loops: Sequence[ast.AST]) -> bool:
    """The binding starts before the construction, or both sit in one of `loops`."""
    if _position(binding) < _position(construction):
        return True
    return any(
        _position(loop) <= _position(binding)
        and (binding.end_lineno or 0) <= (loop.end_lineno or 0)  # type: ignore[attr-defined]
        for loop in loops
    )


def depends_on(call: ast.Call, inputs: set[str]) -> bool:
    """Some argument of `call` reads one of `inputs`."""
    return any(references(value) & inputs for value in argument_values(call))
