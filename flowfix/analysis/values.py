"""Questions about values and local names: what a name was assigned, which names a block
binds or reads, what stays the same on every call."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator, Sequence

from flowfix.analysis.model import COMPREHENSIONS, DEFINITIONS, Model, children, walk

# Calls whose result depends only on their arguments (and the environment).
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
ENV_LOOKUPS = frozenset({"os.getenv", "os.environ.get"})


def dotted_name(node: ast.AST) -> str | None:
    """`a.b.c` for a name or an attribute chain on a name, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def root_name(node: ast.AST) -> str | None:
    """`a` for `a`, `a.b.c`, `a[0].b`; None when the chain starts elsewhere (a call, a
    literal)."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def is_env_lookup(model: Model, node: ast.AST) -> bool:
    """`os.environ[...]`, `os.environ.get(...)`, `os.getenv(...)`."""
    if isinstance(node, ast.Subscript):
        return "os.environ" in model.qualified_names(node.value)
    if isinstance(node, ast.Call):
        return bool(model.qualified_names(node.func) & ENV_LOOKUPS)
    return False


def is_call_invariant(model: Model, node: ast.AST | None, this: str | None) -> bool:
    """Same value on every call: literals, `<this>.*`, module-level names, environment
    lookups and expressions built from them (`this` is the method's `self` name, None outside
    methods)."""
    if node is None or isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name):
        return node.id == this or model.is_module_level_name(node)
    if isinstance(node, ast.JoinedStr):
        return all(is_call_invariant(model, part, this) for part in node.values)
    if isinstance(node, ast.FormattedValue):
        return is_call_invariant(model, node.value, this) and is_call_invariant(
            model, node.format_spec, this
        )
    if isinstance(node, ast.Attribute):
        return is_call_invariant(model, node.value, this)
    if isinstance(node, ast.Subscript):
        return is_call_invariant(model, node.value, this) and is_call_invariant(
            model, node.slice, this
        )
    if isinstance(node, ast.Slice):
        return all(is_call_invariant(model, part, this) for part in (node.lower, node.upper))
    if isinstance(node, ast.UnaryOp):
        return is_call_invariant(model, node.operand, this)
    if isinstance(node, ast.BinOp):
        return is_call_invariant(model, node.left, this) and is_call_invariant(
            model, node.right, this
        )
    if isinstance(node, ast.BoolOp):
        return all(is_call_invariant(model, value, this) for value in node.values)
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(is_call_invariant(model, element, this) for element in node.elts)
    if isinstance(node, ast.Starred):
        return is_call_invariant(model, node.value, this)
    if isinstance(node, ast.Dict):
        return all(is_call_invariant(model, key, this) for key in node.keys) and all(
            is_call_invariant(model, value, this) for value in node.values
        )
    if isinstance(node, ast.Call):
        pure = is_env_lookup(model, node) or bool(model.qualified_names(node.func) & PURE_CALLS)
        return (
            pure
            and not any(isinstance(arg, ast.Starred) for arg in node.args)
            and all(is_call_invariant(model, arg, this) for arg in node.args)
            and all(
                keyword.arg is not None and is_call_invariant(model, keyword.value, this)
                for keyword in node.keywords
            )
        )
    return False


def statement_targets(node: ast.AST) -> list[ast.expr]:
    """The targets an assignment, annotated or augmented assignment, or `del` writes (none
    for any other node)."""
    if isinstance(node, (ast.Assign, ast.Delete)):
        return node.targets
    if isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        return [node.target]
    return []


def declares_slots(cls: ast.ClassDef) -> bool:
    """The class body assigns `__slots__` (plainly or with an annotation)."""
    for statement in cls.body:
        if isinstance(statement, ast.Assign):
            targets = statement.targets
        elif isinstance(statement, ast.AnnAssign):
            targets = [statement.target]
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == "__slots__" for t in targets):
            return True
    return False


def bound_names(target: ast.AST) -> set[str]:
    """Plain names an assignment or `for` target binds (`a`, `a, (b, *c)`); attributes and
    subscripts bind none."""
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, (ast.Tuple, ast.List)):
        return {name for element in target.elts for name in bound_names(element)}
    if isinstance(target, ast.Starred):
        return bound_names(target.value)
    return set()


def read_names(node: ast.AST) -> set[str]:
    """Every plain name read below `node` (nested scopes included)."""
    return {
        child.id
        for child in walk(node)
        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load)
    }


def own_nodes(root: ast.AST) -> Iterator[ast.AST]:
    """Nodes below `root` that run where it runs: bodies of nested def, lambda and class are
    not entered (the nodes that open them are yielded); comprehensions are."""
    stack = children(root)
    stack.reverse()
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, DEFINITIONS):
            below = children(node)
            below.reverse()
            stack.extend(below)


def nested_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement of `body` and of the blocks nested in it (functions and classes
    included), in source order: where imports and assignments can stand."""
    stack: list[ast.AST] = list(reversed(body))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.stmt):
            yield node
        for name in ("finalbody", "orelse", "handlers", "cases", "body"):
            value = getattr(node, name, None)
            if type(value) is list:
                stack.extend(reversed(value))


def assigned_targets(statement: ast.AST | None) -> list[ast.expr]:
    """Targets of an assignment (tuples, lists and starred targets unpacked), else []."""
    if isinstance(statement, ast.Assign):
        targets = list(statement.targets)
    elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
        targets = [statement.target]
    else:
        return []
    flat: list[ast.expr] = []
    while targets:
        target = targets.pop()
        if isinstance(target, (ast.Tuple, ast.List)):
            targets.extend(target.elts)
        elif isinstance(target, ast.Starred):
            targets.append(target.value)
        else:
            flat.append(target)
    return flat


def block_nodes(statements: Sequence[ast.stmt]) -> Iterator[ast.AST]:
    """The statements of a block and the nodes below them that run where they run, in source
    order: `own_nodes` of the block (a nested def, lambda or class is yielded, its body
    not)."""
    for statement in statements:
        yield statement
        if not isinstance(statement, DEFINITIONS):
            yield from own_nodes(statement)


Bindings = list[tuple[set[str], "ast.AST | None"]]


def local_bindings(root: ast.AST) -> Bindings:
    """(names bound, the expression they come from) for every binding below `root` that runs
    in its scope: assignments, walrus, `for`/comprehension/`with`/`except` targets, `del`,
    imports, nested `def`/`class` names. Bodies of nested functions and classes are not
    entered; comprehensions are (their targets count, as libcst's analysis counted them)."""
    found: Bindings = []
    stack = children(root)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Assign):
            found.extend((bound_names(target), node.value) for target in node.targets)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
            found.append((bound_names(node.target), node.value))
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            found.append((bound_names(node.target), node.iter))
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            found.append((bound_names(node.optional_vars), node.context_expr))
        elif isinstance(node, ast.ExceptHandler) and node.name:
            found.append(({node.name}, None))
        elif isinstance(node, ast.Delete):
            found.extend((bound_names(target), None) for target in node.targets)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name != "*":
                    found.append(({(alias.asname or alias.name).partition(".")[0]}, None))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.append(({node.name}, None))
            continue
        if isinstance(node, ast.Lambda):
            continue
        stack.extend(children(node))
    return found


def names_bound_in(root: ast.AST) -> set[str]:
    """Every name bound below `root` in its own scope (see `local_bindings`)."""
    return {name for names, _ in local_bindings(root) for name in names}


def derived_names(
    seeds: set[str], bindings: Bindings, reads: Callable[[ast.AST], set[str]] | None = None
) -> set[str]:
    """`seeds` plus every name bound from an expression that reads one of them (to a
    fixpoint); `reads` says which names an expression reads (default `read_names`)."""
    reads = reads or read_names
    tainted = set(seeds)
    changed = True
    while changed:
        changed = False
        for names, source in bindings:
            if names - tainted and source is not None and reads(source) & tainted:
                tainted |= names
                changed = True
    return tainted


def loop_item_names(loop: ast.AST) -> set[str]:
    """Names that take a new value from the iterated item: a `for` target and the names the
    body derives from it (empty for `while`)."""
    if not isinstance(loop, (ast.For, ast.AsyncFor)):
        return set()
    body = ast.Module(body=loop.body, type_ignores=[])
    return derived_names(bound_names(loop.target), local_bindings(body))


def assigned_value(model: Model, target: ast.AST) -> ast.AST | None:
    """The value bound to the name `target` by `target = v`, `target: T = v`, or by position
    in `a, target = u, v` (None for other bindings)."""
    owner = model.parent(target)
    if isinstance(owner, (ast.Tuple, ast.List)):
        values = assigned_value(model, owner)
        if (
            isinstance(values, (ast.Tuple, ast.List))
            and len(values.elts) == len(owner.elts)
            and not any(isinstance(e, ast.Starred) for e in values.elts)
        ):
            return values.elts[owner.elts.index(target)]  # type: ignore[arg-type]
        return None
    if isinstance(owner, ast.Assign) and len(owner.targets) == 1 and owner.targets[0] is target:
        return owner.value
    if isinstance(owner, ast.AnnAssign) and owner.target is target:
        return owner.value
    return None


def single_binding_value(model: Model, name: ast.Name) -> ast.AST | None:
    """The value of the only binding of `name` visible from its scope, when it is assigned
    once with `assigned_value`'s forms."""
    bindings = model.bindings_of(name)
    if len(bindings) != 1 or bindings[0].is_import:
        return None
    return assigned_value(model, bindings[0].node)


def kind_between(
    model: Model, node: ast.AST, stop: ast.AST, kinds: type | tuple[type, ...]
) -> bool:
    """True if an ancestor of `node` below `stop` is one of `kinds`."""
    for current in model.ancestors(node):
        if current is stop:
            return False
        if isinstance(current, kinds):
            return True
    return False


def in_comprehension(model: Model, node: ast.AST, stop: ast.AST) -> bool:
    """True if `node` sits in a comprehension or generator expression below `stop`."""
    return kind_between(model, node, stop, COMPREHENSIONS)
