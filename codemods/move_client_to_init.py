"""CON001: build a per-call client once, in the node's init hook or a cached module factory."""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import libcst as cst
from libcst.metadata import PositionProvider

from flowfix.analysis.model import FUNCTIONS
from flowfix.codemod import RuleCodemod
from flowfix.edits import (
    Parents,
    find_method,
    is_docstring,
    method_class,
    module_alias,
    parent,
    split_before_comment,
    statement_leading_lines,
)

# Where a construction moves (the finding's `data["route"]`).
Route = Literal["init_components", "__init__", "cached_property", "factory"]


@dataclass
class _Hoist:
    attr: str
    call: cst.Call
    route: Route
    this: str
    hook_this: str
    private_attr: bool


@dataclass
class _ClassPlan:
    taken: set[str]
    hoists: list[_Hoist] = field(default_factory=list)
    methods: list[cst.FunctionDef] = field(default_factory=list)
    by_construction: dict[tuple[Route, str], str] = field(default_factory=dict)


class MoveClientToInit(RuleCodemod):
    """Each finding's data says where its construction goes (`route`), the name stem of the
    new attribute or factory (`stem`); for methods, the instance parameter's name of the
    method (`self`) and of the hook it extends (`hook_self`), whether the class needs a
    pydantic `PrivateAttr` (`private_attr`), and the construction's structure
    (`construction`: equal ones in a class share one attribute)."""

    CODE = "CON001"
    DESCRIPTION = "Create per-call clients once: in the node's init hook or a cached module factory"
    KEEPS_METHODS = frozenset({"__init__", "init_components"})  # the hooks it extends
    METADATA_DEPENDENCIES = (
        PositionProvider,
        Parents,
    )

    def visit_Module(self, node: cst.Module) -> None:
        self.bound = self.module_bindings(node)
        self.functools = module_alias(node, "functools") or "functools"
        self.plans: dict[cst.ClassDef, _ClassPlan] = {}
        self.factories: dict[cst.FunctionDef, list[cst.FunctionDef]] = defaultdict(list)
        self.carried: dict[cst.FunctionDef, set[str]] = defaultdict(set)
        self.module_names: set[str] = set()

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        span = self.target(original_node)
        if span is None:
            return updated_node
        data = self.data[span]
        route: Route | None = data.get("route")
        if route is None:
            self.warn(f"{span.line}:{span.column}: the construction cannot move")
            return updated_node
        func = self._running_function(original_node)
        assert func is not None
        stem = str(data["stem"])
        self.fixed.add(span)
        if route == "factory":
            name = self._factory_name(f"_{func.name.value.lstrip('_')}_{stem}")
            carry = data.get("carry")
            imports = []
            if isinstance(carry, str):
                imports = [_narrowed(_binding_import(func, carry), carry)]
                self.carried[func].add(carry)
            self.factories[func].append(self._factory(name, updated_node, imports))
            self._need_functools()
            return cst.Call(func=cst.Name(name), lpar=updated_node.lpar, rpar=updated_node.rpar)
        cls = method_class(self, func)
        assert cls is not None
        plan = self.plans.get(cls)
        if plan is None:
            plan = self.plans[cls] = _ClassPlan(taken=_class_names(self.original_class(cls)))
        this = str(data["self"])
        key = (route, str(data["construction"]))
        attr = plan.by_construction.get(key)
        shared = attr is not None  # an equal construction moves: this one leaves its comments
        if attr is None:
            attr = plan.by_construction[key] = _fresh(f"_{stem}", plan.taken)
            plan.hoists.append(
                _Hoist(
                    attr,
                    updated_node.with_changes(lpar=(), rpar=()),
                    route,
                    this,
                    str(data.get("hook_self", this)),
                    bool(data.get("private_attr")),
                )
            )
        plan.methods.append(func)
        use = cst.Attribute(
            value=cst.Name(this),
            attr=cst.Name(attr),
            lpar=updated_node.lpar,
            rpar=updated_node.rpar,
        )
        if shared:
            self.keep_comments(original_node, use)
        return use

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef | cst.FlattenSentinel[cst.BaseStatement]:
        factories = self.factories.pop(original_node, None)
        if not factories:
            return updated_node
        for name in self.carried.pop(original_node, set()):
            updated_node = _drop_unused_import(updated_node, name)
        blanks, rest = _split_leading(updated_node.leading_lines)
        gap = blanks or [cst.EmptyLine(indent=False), cst.EmptyLine(indent=False)]
        placed = [factories[0].with_changes(leading_lines=blanks)]
        placed += [factory.with_changes(leading_lines=gap) for factory in factories[1:]]
        return cst.FlattenSentinel(
            [*placed, updated_node.with_changes(leading_lines=[*gap, *rest])]
        )

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.ClassDef:
        plan = self.plans.pop(original_node, None)
        if plan is None or not isinstance(updated_node.body, cst.IndentedBlock):
            return updated_node
        assert isinstance(original_node.body, cst.IndentedBlock)
        originals = list(original_node.body.body)
        body: list[cst.BaseStatement] = list(updated_node.body.body)
        first_use = min(_index(originals, method) for method in plan.methods)
        first_method = next(i for i, s in enumerate(originals) if isinstance(s, cst.FunctionDef))
        inserts: dict[int, list[cst.BaseStatement]] = defaultdict(list)
        eager: tuple[tuple[Route, int], ...] = (
            ("init_components", first_use),
            ("__init__", first_method),
        )
        for route, at in eager:
            hoists = [h for h in plan.hoists if h.route == route]
            if not hoists:
                continue
            if route == "init_components" and any(h.private_attr for h in hoists):
                declare_at = _declarations_index(originals)
                after_docstring = declare_at == 1 and is_docstring(originals[0])
                inserts[declare_at].extend(self._private_attrs(hoists, after_docstring))
            existing = find_method(original_node, route)
            if existing is not None:
                index = _index(originals, existing)
                init = body[index]
                assert isinstance(init, cst.FunctionDef)
                this = hoists[0].hook_this
                body[index] = _append(init, [_assignment(this, h) for h in hoists])
            else:
                inserts[at].append(self._new_init(route, original_node, hoists))
        for hoist in plan.hoists:
            if hoist.route == "cached_property":
                self._need_functools()
                inserts[first_use].append(self._cached_property(hoist))
        for index in sorted(inserts, reverse=True):
            body[index:index] = _spaced(inserts[index], body, index)
        return updated_node.with_changes(body=updated_node.body.with_changes(body=body))

    def _running_function(self, node: cst.CSTNode) -> cst.FunctionDef | None:
        """The `def` whose body runs `node`: a decorator, default or base is evaluated where
        its `def` or `class` stands, not in it."""
        child, current = node, parent(self, node)
        while current is not None:
            if isinstance(current, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
                if child is current.body:
                    return current if isinstance(current, cst.FunctionDef) else None
            child, current = current, parent(self, current)
        return None

    # --- building blocks ---------------------------------------------------------------------

    def _parse(self, code: str) -> cst.BaseStatement:
        return cst.parse_statement(code, config=self.module.config_for_parsing)

    def _lines(self, *lines: str) -> str:
        indent, newline = self.module.default_indent, self.module.default_newline
        return "".join(line.replace("    ", indent) + newline for line in lines)

    def _need_functools(self) -> None:
        if self.functools == "functools":
            self.add_import("functools")

    def _factory_name(self, wanted: str) -> str:
        name, counter = wanted, 2
        while name in self.module_names or name in self.bound:
            name, counter = f"{wanted}_{counter}", counter + 1
        self.module_names.add(name)
        return name

    def _factory(
        self, name: str, call: cst.Call, imports: Sequence[cst.SimpleStatementLine] = ()
    ) -> cst.FunctionDef:
        """`@functools.cache def name(): return call`, after the imports it carries."""
        factory = self._parse(
            self._lines(f"@{self.functools}.cache", f"def {name}():", "    return None")
        )
        assert isinstance(factory, cst.FunctionDef)
        factory = _with_return_value(factory, call.with_changes(lpar=(), rpar=()))
        block = factory.body
        assert isinstance(block, cst.IndentedBlock)
        return factory.with_changes(body=block.with_changes(body=[*imports, *block.body]))

    def _cached_property(self, hoist: _Hoist) -> cst.FunctionDef:
        code = self._lines(
            f"@{self.functools}.cached_property",
            f"def {hoist.attr}({hoist.this}):",
            "    return None",
        )
        prop = self._parse(code)
        assert isinstance(prop, cst.FunctionDef)
        return _with_return_value(prop, hoist.call)

    def _private_attrs(
        self, hoists: list[_Hoist], after_docstring: bool
    ) -> list[cst.BaseStatement]:
        """`_client: Any = PrivateAttr(default=None)` lines (a blank line after a docstring)."""
        self.add_import("typing", "Any")
        self.add_import("pydantic", "PrivateAttr")
        declarations: list[cst.BaseStatement] = []
        for hoist in hoists:
            statement = self._parse(self._lines(f"{hoist.attr}: Any = PrivateAttr(default=None)"))
            if after_docstring and not declarations:
                statement = statement.with_changes(leading_lines=[cst.EmptyLine(indent=False)])
            declarations.append(statement)
        return declarations

    def _new_init(self, route: Route, cls: cst.ClassDef, hoists: list[_Hoist]) -> cst.FunctionDef:
        this = hoists[0].this
        if route == "init_components":
            lines = [
                f"def init_components({this}, connection_manager=None):",
                "    super().init_components(connection_manager)",
            ]
        elif cls.bases and not _only_object(cls):
            lines = [
                f"def __init__({this}, *args, **kwargs):",
                "    super().__init__(*args, **kwargs)",
            ]
        else:
            lines = [f"def __init__({this}):", "    pass"]
        init = self._parse(self._lines(*lines))
        assert isinstance(init, cst.FunctionDef) and isinstance(init.body, cst.IndentedBlock)
        kept = [s for s in init.body.body if not _is_pass(s)]
        statements = [*kept, *(_assignment(this, h) for h in hoists)]
        return init.with_changes(body=init.body.with_changes(body=statements))


# --- helpers -----------------------------------------------------------------------------------


def _index(statements: Sequence[cst.BaseStatement], node: cst.CSTNode) -> int:
    return next(i for i, statement in enumerate(statements) if statement is node)


def _class_names(cls: ast.ClassDef) -> set[str]:
    """Every name the class defines or reads as an attribute (to avoid clashes): attribute
    names (the dotted parts of imported module names too), functions, assigned names."""
    names: set[str] = set()
    for statement in cls.body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Attribute):
                names.add(node.attr)
            elif isinstance(node, FUNCTIONS):
                names.add(node.name)
            elif isinstance(node, ast.Assign):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(node.target.id)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    names.update(alias.name.split(".")[1:])
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.update(node.module.split(".")[1:])
    return names


def _fresh(wanted: str, taken: set[str]) -> str:
    name, counter = wanted, 2
    while name in taken:
        name, counter = f"{wanted}_{counter}", counter + 1
    taken.add(name)
    return name


def _assignment(this: str, hoist: _Hoist) -> cst.SimpleStatementLine:
    target = cst.Attribute(value=cst.Name(this), attr=cst.Name(hoist.attr))
    return cst.SimpleStatementLine(
        [cst.Assign(targets=[cst.AssignTarget(target)], value=hoist.call)]
    )


def _own_statements(func: cst.FunctionDef) -> list[cst.SimpleStatementLine]:
    """The simple statement lines of `func`'s body and of the blocks nested in it, not those
    of nested functions and classes."""
    found: list[cst.SimpleStatementLine] = []
    stack: list[cst.CSTNode] = [func.body]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.SimpleStatementLine):
            found.append(node)
        elif not isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.BaseExpression)):
            stack.extend(reversed(node.children))
    return found


def _binds(alias: cst.ImportAlias, name: str) -> bool:
    """Whether `alias` binds `name` (`import a.b` binds `a`)."""
    if alias.asname is not None:
        target = alias.asname.name
        return isinstance(target, cst.Name) and target.value == name
    bound = alias.name
    while isinstance(bound, cst.Attribute):
        bound = bound.value
    return isinstance(bound, cst.Name) and bound.value == name


def _import_aliases(statement: cst.BaseSmallStatement) -> Sequence[cst.ImportAlias]:
    if isinstance(statement, (cst.Import, cst.ImportFrom)) and not isinstance(
        statement.names, cst.ImportStar
    ):
        return statement.names
    return ()


def _binding_import(func: cst.FunctionDef, name: str) -> cst.Import | cst.ImportFrom:
    """The import statement of `func`'s own code that binds `name` (the detector found it)."""
    for line in _own_statements(func):
        for small in line.body:
            if any(_binds(alias, name) for alias in _import_aliases(small)):
                assert isinstance(small, (cst.Import, cst.ImportFrom))
                return small
    raise AssertionError(f"no import of {name}")


def _narrowed(statement: cst.Import | cst.ImportFrom, name: str) -> cst.SimpleStatementLine:
    """`statement` reduced to the alias that binds `name`, as a line of its own."""
    alias = next(a for a in _import_aliases(statement) if _binds(a, name))
    alias = alias.with_changes(comma=cst.MaybeSentinel.DEFAULT)
    if isinstance(statement, cst.ImportFrom):
        narrowed: cst.Import | cst.ImportFrom = statement.with_changes(
            names=[alias], lpar=None, rpar=None, semicolon=cst.MaybeSentinel.DEFAULT
        )
    else:
        narrowed = statement.with_changes(names=[alias], semicolon=cst.MaybeSentinel.DEFAULT)
    return cst.SimpleStatementLine(body=[narrowed])


def _drop_unused_import(func: cst.FunctionDef, name: str) -> cst.FunctionDef:
    """`func` without its import of `name` when nothing else in it reads `name` any more; a
    statement left with no alias goes, unless it was the only statement of its block."""

    class _Reads(cst.CSTVisitor):
        found = False

        def visit_ImportAlias(self, node: cst.ImportAlias) -> bool:
            return False

        def visit_Name(self, node: cst.Name) -> None:
            self.found = self.found or node.value == name

    reads = _Reads()
    func.body.visit(reads)
    if reads.found:
        return func

    class _Drop(cst.CSTTransformer):
        def leave_IndentedBlock(
            self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
        ) -> cst.IndentedBlock:
            lines: list[cst.BaseStatement] = []
            dropped_first = False
            for line in updated_node.body:
                kept = _without_alias(line, name)
                if kept is None:
                    dropped_first = dropped_first or not lines
                    continue
                if dropped_first and not lines:
                    # The block's new first line loses the blank lines that followed the import.
                    _, comments = split_before_comment(statement_leading_lines(kept))
                    kept = kept.with_changes(leading_lines=comments)
                lines.append(kept)
            return updated_node.with_changes(body=lines) if lines else updated_node

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is func

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

    result = func.visit(_Drop())
    assert isinstance(result, cst.FunctionDef)
    return result


def _without_alias(line: cst.BaseStatement, name: str) -> cst.BaseStatement | None:
    """`line` with the import alias binding `name` removed (None when nothing is left)."""
    if not isinstance(line, cst.SimpleStatementLine):
        return line
    body: list[cst.BaseSmallStatement] = []
    for small in line.body:
        aliases = list(_import_aliases(small))
        kept = [alias for alias in aliases if not _binds(alias, name)]
        if len(kept) == len(aliases):
            body.append(small)
        elif kept:
            kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            body.append(small.with_changes(names=kept))
    if not body:
        return None
    if len(body) < len(line.body):
        body[-1] = body[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
    return line.with_changes(body=body)


def _with_return_value(func: cst.FunctionDef, value: cst.BaseExpression) -> cst.FunctionDef:
    block = func.body
    assert isinstance(block, cst.IndentedBlock)
    line = block.body[0]
    assert isinstance(line, cst.SimpleStatementLine)
    new_line = line.with_changes(body=[cst.Return(value=value)])
    return func.with_changes(body=block.with_changes(body=[new_line]))


def _append(func: cst.FunctionDef, statements: list[cst.SimpleStatementLine]) -> cst.FunctionDef:
    """Append to the body, before a trailing bare `return`; a one-line body becomes a block."""
    body = func.body
    if isinstance(body, cst.SimpleStatementSuite):
        first = cst.SimpleStatementLine(
            body=body.body, trailing_whitespace=body.trailing_whitespace
        )
        return func.with_changes(body=cst.IndentedBlock(body=[first, *statements]))
    lines = list(body.body)
    at = len(lines) - 1 if _trailing_return(func) is not None else len(lines)
    lines[at:at] = statements
    return func.with_changes(body=body.with_changes(body=lines))


def _trailing_return(func: cst.FunctionDef) -> cst.Return | None:
    """The body's last statement when it is a bare `return` (alone on its line)."""
    body = func.body
    if not isinstance(body, cst.IndentedBlock) or not body.body:
        return None
    last = body.body[-1]
    if isinstance(last, cst.SimpleStatementLine) and len(last.body) == 1:
        small = last.body[0]
        if isinstance(small, cst.Return) and small.value is None:
            return small
    return None


def _split_leading(
    lines: Sequence[cst.EmptyLine],
) -> tuple[list[cst.EmptyLine], list[cst.EmptyLine]]:
    """Blank lines before the first comment line, and the rest (comments stay with their def)."""
    count = 0
    while count < len(lines) and lines[count].comment is None:
        count += 1
    return list(lines[:count]), list(lines[count:])


def _spaced(
    new: list[cst.BaseStatement], body: list[cst.BaseStatement], index: int
) -> list[cst.BaseStatement]:
    """Blank lines around statements inserted before `body[index]` (which keeps its comments)."""
    following = body[index]
    assert isinstance(following, (cst.SimpleStatementLine, cst.BaseCompoundStatement))
    blanks, rest = _split_leading(following.leading_lines)
    has_def = any(isinstance(s, cst.FunctionDef) for s in new)
    if has_def or (isinstance(following, (cst.FunctionDef, cst.ClassDef)) and not blanks):
        body[index] = following.with_changes(leading_lines=[cst.EmptyLine(indent=False), *rest])
    spaced: list[cst.BaseStatement] = []
    for statement in new:
        if isinstance(statement, cst.FunctionDef):
            gap = blanks if not spaced and (blanks or index == 0) else [cst.EmptyLine(indent=False)]
            statement = statement.with_changes(leading_lines=gap)
        spaced.append(statement)
    return spaced


def _declarations_index(statements: Sequence[cst.BaseStatement]) -> int:
    """Index after the docstring and the leading field declarations of a class body."""
    index = 0
    while index < len(statements):
        statement = statements[index]
        if not isinstance(statement, cst.SimpleStatementLine):
            break
        if not all(isinstance(s, (cst.Assign, cst.AnnAssign)) for s in statement.body) and not (
            index == 0 and is_docstring(statement)
        ):
            break
        index += 1
    return index


def _is_pass(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and all(
        isinstance(s, cst.Pass) for s in statement.body
    )


def _only_object(cls: cst.ClassDef) -> bool:
    return all(
        isinstance(base.value, cst.Name) and base.value.value == "object" and base.keyword is None
        for base in cls.bases
    )
