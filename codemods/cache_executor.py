"""EXE001: `with Executor(...) as pool:` per call → a cached executor reused across calls."""

from __future__ import annotations

import ast
import itertools
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import PositionProvider

from flowfix.analysis.frameworks import methods
from flowfix.codemod import RuleCodemod
from flowfix.edits import (
    is_docstring,
    module_alias,
    split_before_comment,
    statement_leading_lines,
)

Owner = cst.ClassDef | cst.FunctionDef


@dataclass
class _ClassPlan:
    """Members to add to one class: (attribute, getter, constructor code) per executor."""

    taken: set[str]
    pydantic: bool
    context_manager: bool  # the class defines `__enter__` or `__exit__`
    executors: list[tuple[str, str, str]] = field(default_factory=list)


def _free_name(taken: set[str], *candidates: str) -> str:
    """The first candidate not in `taken` (then the last one numbered from 2), marked taken."""
    numbered = (f"{candidates[-1]}_{n}" for n in itertools.count(2))
    name = next(c for c in itertools.chain(candidates, numbered) if c not in taken)
    taken.add(name)
    return name


def _class_names(cls: ast.ClassDef) -> set[str]:
    """Members of `cls`: methods, class-level assignments and every `self.<name>`."""
    names = set(methods(cls))
    for statement in cls.body:
        for node in ast.walk(statement):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "self"
            ):
                names.add(node.attr)
        targets = (
            statement.targets
            if isinstance(statement, ast.Assign)
            else [statement.target]
            if isinstance(statement, ast.AnnAssign)
            else []
        )
        names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


class CacheExecutor(RuleCodemod):
    """The finding's data says where the pool is cached: `form` "instance" (a lazily created
    attribute of the class whose span is `owner`, a pydantic `PrivateAttr` when `pydantic`) or
    "factory" (a module-level `functools.cache` function named `factory`, placed before the
    module-level function or class whose span is `owner`)."""

    CODE = "EXE001"
    DESCRIPTION = "Reuse a cached executor instead of creating one per call"

    def visit_Module(self, node: cst.Module) -> None:
        self.module_node = node
        self.taken_globals: set[str] = set()
        self.owners: list[Owner] = []
        self.plans: dict[int, _ClassPlan] = {}
        self.factories: dict[int, list[cst.BaseStatement]] = {}
        self.replacements: dict[int, str] = {}

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.owners.append(node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.owners.append(node)

    def _owner(self, span: list[int]) -> Owner | None:
        """The enclosing class or function that starts where `span` does."""
        for owner in reversed(self.owners):
            start = self.get_metadata(PositionProvider, owner).start
            if (start.line, start.column + 1) == (span[0], span[1]):
                return owner
        return None

    def visit_With(self, node: cst.With) -> None:
        call = node.items[0].item if node.items else None
        span = self.target(call) if isinstance(call, cst.Call) else None
        if span is None or len(node.items) != 1:
            return
        data = self.data[span]
        owner = self._owner(data["owner"]) if data.get("owner") else None
        if owner is None:
            self.warn("the class or function that caches the executor was not found")
            return
        assert isinstance(call, cst.Call)
        code = self.module.code_for_node(call)
        if data["form"] == "instance":
            assert isinstance(owner, cst.ClassDef)
            getter = self._add_member(owner, bool(data.get("pydantic")), code)
            self.replacements[id(node)] = f"self.{getter}()"
        else:
            self.replacements[id(node)] = f"{self._add_factory(owner, data['factory'], code)}()"
        self.fixed.add(span)

    def _add_member(self, cls: cst.ClassDef, pydantic: bool, code: str) -> str:
        plan = self.plans.get(id(cls))
        if plan is None:
            tree = self.original_class(cls)
            context_manager = bool({"__enter__", "__exit__"} & set(methods(tree)))
            plan = _ClassPlan(_class_names(tree), pydantic, context_manager)
            self.plans[id(cls)] = plan
        suffix = next(
            s
            for s in itertools.chain([""], (f"_{n}" for n in itertools.count(2)))
            if not {f"_executor{s}", f"_get_executor{s}"} & plan.taken
        )
        attribute, getter = f"_executor{suffix}", f"_get_executor{suffix}"
        plan.taken |= {attribute, getter}
        plan.executors.append((attribute, getter, code))
        return getter

    def _add_factory(self, owner: Owner, factory: str, code: str) -> str:
        name, suffix = factory, 2
        while name in self.taken_globals:
            name, suffix = f"{factory}_{suffix}", suffix + 1
        self.taken_globals.add(name)
        functools, atexit = self._module("functools"), self._module("atexit")
        statement = cst.parse_statement(
            f"@{functools}.cache\n"
            f"def {name}():\n"
            f"    executor = {code}\n"
            f"    {atexit}.register(executor.shutdown)\n"
            f"    return executor\n",
            self.module.config_for_parsing,
        )
        self.factories.setdefault(id(owner), []).append(statement)
        return name

    def _module(self, name: str) -> str:
        alias = module_alias(self.module_node, name)
        if alias is None:
            self.add_import(name)
        return alias or name

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        if not any(id(statement) in self.replacements for statement in original_node.body):
            return updated_node
        body: list[cst.BaseStatement] = []
        pending: list[cst.EmptyLine] = []
        for original, statement in zip(original_node.body, updated_node.body, strict=True):
            if pending:
                statement = statement.with_changes(
                    leading_lines=[*pending, *statement_leading_lines(statement)]
                )
                pending = []
            expression = self.replacements.get(id(original))
            if expression is None or not isinstance(statement, cst.With):
                body.append(statement)
                continue
            unwrapped, pending = self._unwrap(statement, expression)
            body.extend(unwrapped)
        return updated_node.with_changes(body=body, footer=[*pending, *updated_node.footer])

    def _unwrap(
        self, statement: cst.With, expression: str
    ) -> tuple[list[cst.BaseStatement], list[cst.EmptyLine]]:
        """`name = <expression>` then the dedented body, and the body's trailing comment lines."""
        asname = statement.items[0].asname
        assert asname is not None and isinstance(asname.name, cst.Name)
        assign = cst.parse_statement(
            f"{asname.name.value} = {expression}\n", self.module.config_for_parsing
        )
        assign = assign.with_changes(leading_lines=statement.leading_lines)
        block = statement.body
        if not isinstance(block, cst.IndentedBlock):
            assert isinstance(block, cst.SimpleStatementSuite)
            line = cst.SimpleStatementLine(
                body=block.body, trailing_whitespace=block.trailing_whitespace
            )
            return [assign, line], []
        assign = assign.with_changes(trailing_whitespace=block.header)
        return [assign, *block.body], list(block.footer)

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        self.owners.pop()
        plan = self.plans.get(id(original_node))
        if plan is not None:
            updated_node = self._add_members(updated_node, plan)
        return self._with_factories(original_node, updated_node)

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        self.owners.pop()
        return self._with_factories(original_node, updated_node)

    def _with_factories(
        self, original: cst.ClassDef | cst.FunctionDef, updated: cst.ClassDef | cst.FunctionDef
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        """`updated` preceded by the module-level factories created for it."""
        factories = self.factories.get(id(original))
        if not factories:
            return updated
        blank, comments = split_before_comment(tuple(updated.leading_lines))
        two = [cst.EmptyLine(indent=False), cst.EmptyLine(indent=False)]
        placed = [
            factory.with_changes(leading_lines=blank if index == 0 else two)
            for index, factory in enumerate(factories)
        ]
        return cst.FlattenSentinel([*placed, updated.with_changes(leading_lines=[*two, *comments])])

    def _add_members(self, cls: cst.ClassDef, plan: _ClassPlan) -> cst.ClassDef:
        """Declare the attributes, then add the getters, `close()` and `__enter__`/`__exit__`."""
        config = self.module.config_for_parsing
        if plan.pydantic:
            self.add_import("typing", "Any")
            self.add_import("pydantic", "PrivateAttr")
        declaration = "{}: Any = PrivateAttr(default=None)\n" if plan.pydantic else "{} = None\n"
        attributes = [
            cst.parse_statement(declaration.format(a), config) for a, _, _ in plan.executors
        ]
        new_methods = [
            f"def {getter}(self):\n"
            f"    if self.{attribute} is None:\n"
            f"        self.{attribute} = {code}\n"
            f"    return self.{attribute}\n"
            for attribute, getter, code in plan.executors
        ]
        close = _free_name(plan.taken, "close", "close_executor")
        new_methods.append(
            f"def {close}(self):\n"
            + "".join(
                f"    if self.{a} is not None:\n"
                f"        self.{a}.shutdown(wait=True)\n"
                f"        self.{a} = None\n"
                for a, _, _ in plan.executors
            )
        )
        if not plan.context_manager:
            new_methods.append("def __enter__(self):\n    return self\n")
            new_methods.append(f"def __exit__(self, *exc_info):\n    self.{close}()\n")
        assert isinstance(cls.body, cst.IndentedBlock)
        body = list(cls.body.body)
        at = next(
            (i for i, s in enumerate(body) if not isinstance(s, cst.SimpleStatementLine)), len(body)
        )
        if at and is_docstring(body[at - 1]):
            attributes[0] = attributes[0].with_changes(leading_lines=[cst.EmptyLine(indent=False)])
        if at < len(body) and not statement_leading_lines(body[at]):
            body[at] = body[at].with_changes(leading_lines=[cst.EmptyLine(indent=False)])
        added = [
            cst.parse_statement(method, config).with_changes(
                leading_lines=[cst.EmptyLine(indent=False)]
            )
            for method in new_methods
        ]
        return cls.with_changes(
            body=cls.body.with_changes(body=[*body[:at], *attributes, *body[at:], *added])
        )
