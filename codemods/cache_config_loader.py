"""CAC002: load a constant-path config file once, through a module-level cached loader."""

from __future__ import annotations

from collections import defaultdict

import libcst as cst
from libcst.metadata import PositionProvider

from flowfix.codemod import RuleCodemod
from flowfix.edits import (
    Parents,
    from_import_alias,
    module_alias,
    parent,
    split_before_comment,
)
from flowfix.rules import Span


class CacheConfigLoader(RuleCodemod):
    CODE = "CAC002"
    DESCRIPTION = "Load a constant-path config file once, through a `functools.cache` loader"
    METADATA_DEPENDENCIES = (PositionProvider, Parents)

    def visit_Module(self, node: cst.Module) -> None:
        self.bound = self.module_bindings(node)
        cache = from_import_alias(node, "functools", "cache")
        self.decorator = cache or f"{module_alias(node, 'functools') or 'functools'}.cache"
        self.loaders: dict[str, str] = {}
        self.names: set[str] = set()
        self.pending: dict[tuple[int, int], list[cst.FunctionDef]] = defaultdict(list)
        self.replacements: dict[cst.CSTNode, cst.CSTNode] = {}
        # The `with` statements findings name, by span (each is visited before its load).
        self.openers = {
            Span(*data["with"]) for data in self.data.values() if data.get("with") is not None
        }
        self.withs: dict[Span, cst.With] = {}

    def visit_With(self, node: cst.With) -> None:
        if self.openers:
            rng = self.get_metadata(PositionProvider, node)
            span = Span(rng.start.line, rng.start.column + 1, rng.end.line, rng.end.column + 1)
            if span in self.openers:
                self.withs[span] = node

    def visit_Call(self, node: cst.Call) -> None:
        span = self.target(node)
        if span is None:
            return
        plan = self.data[span]
        opener = self.withs.get(Span(*plan["with"])) if plan.get("with") is not None else None
        if "anchor" not in plan or (plan.get("with") is not None and opener is None):
            self.warn(f"{span.line}:{span.column}: the finding carries no loader plan")
            return
        local_paths = {
            name: _expression(text, self.module) for name, text in plan["locals"].items()
        }
        body = self._loader_body(node, opener, local_paths)
        name = self.loaders.get(plan["key"])
        if name is None:
            name = self.loaders[plan["key"]] = self._fresh(f"_load_{plan['stem']}")
            line, column = plan["anchor"][:2]
            self.pending[(line, column)].append(self._loader(name, body))
            if self.decorator == "functools.cache":
                self.add_import("functools")
        loaded = cst.Call(func=cst.Name(name))
        self.drop(node)  # the path's locals go with it (`data["assignments"]`)
        if opener is None:
            self.replacements[node] = loaded
        else:
            self.replacements[opener] = _replace_with(opener, loaded)
            self.drop(opener.items[0])
        self.fixed.add(span)

    # --- rewriting ----------------------------------------------------------------------------

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        loaded = self.replacements.get(original_node)
        if isinstance(loaded, cst.Call):
            return loaded.with_changes(lpar=updated_node.lpar, rpar=updated_node.rpar)
        return updated_node

    def leave_With(self, original_node: cst.With, updated_node: cst.With) -> cst.BaseStatement:
        statement = self.replacements.get(original_node)
        return statement if isinstance(statement, cst.SimpleStatementLine) else updated_node

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        return self._place_loaders(original_node, updated_node)

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        return self._place_loaders(original_node, updated_node)

    def _place_loaders(
        self,
        original: cst.FunctionDef | cst.ClassDef,
        updated: cst.FunctionDef | cst.ClassDef,
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        loaders = self.pending.pop(self._start(original), None) if self.pending else None
        if not loaders:
            return updated
        blank, comments = split_before_comment(tuple(updated.leading_lines))
        lines = 2 if isinstance(parent(self, original), cst.Module) else 1
        gap = blank or [cst.EmptyLine(indent=False)] * lines
        placed = [loaders[0].with_changes(leading_lines=blank)]
        placed += [loader.with_changes(leading_lines=gap) for loader in loaders[1:]]
        return cst.FlattenSentinel([*placed, updated.with_changes(leading_lines=[*gap, *comments])])

    def _start(self, statement: cst.CSTNode) -> tuple[int, int]:
        """Where a statement starts, as the detector's spans count (1-based column); not
        `span_of`, which reads a class's `lpar` (the parenthesis of its bases) as one around
        the statement."""
        start = self.get_metadata(PositionProvider, statement).start
        return (start.line, start.column + 1)

    # --- building blocks ----------------------------------------------------------------------

    def _fresh(self, wanted: str) -> str:
        name, counter = wanted, 2
        while name in self.names or name in self.bound:
            name, counter = f"{wanted}_{counter}", counter + 1
        self.names.add(name)
        return name

    def _loader_body(
        self, call: cst.Call, opener: cst.With | None, local_paths: dict[str, cst.BaseExpression]
    ) -> cst.BaseStatement:
        """`return <load>`, or the `with` block with its statement turned into that return."""
        call = substitute(call.with_changes(lpar=(), rpar=()), local_paths)
        returned = cst.SimpleStatementLine(body=[cst.Return(value=call)])
        if opener is None:
            return returned
        header: cst.With = substitute(opener, local_paths)
        assert isinstance(header.body, cst.IndentedBlock)
        body = header.body.with_changes(body=[returned])
        return header.with_changes(leading_lines=(), body=body)

    def _loader(self, name: str, body: cst.BaseStatement) -> cst.FunctionDef:
        indent, newline = self.module.default_indent, self.module.default_newline
        code = f"@{self.decorator}{newline}def {name}():{newline}{indent}pass{newline}"
        loader = cst.parse_statement(code, config=self.module.config_for_parsing)
        assert isinstance(loader, cst.FunctionDef) and isinstance(loader.body, cst.IndentedBlock)
        return loader.with_changes(body=loader.body.with_changes(body=[body]))


def _replace_with(opener: cst.With, loaded: cst.Call) -> cst.SimpleStatementLine:
    """The `with` block's only statement (`name = load(f)` / `return load(f)`), loading
    through the cached loader, in the block's place."""
    assert isinstance(opener.body, cst.IndentedBlock)
    statement = opener.body.body[0]
    assert isinstance(statement, cst.SimpleStatementLine)
    small = statement.body[0]
    assert isinstance(small, (cst.Assign, cst.Return))
    return statement.with_changes(
        body=[small.with_changes(value=loaded)], leading_lines=opener.leading_lines
    )


def _expression(text: str, module: cst.Module) -> cst.BaseExpression:
    """The expression `text` (a local's value as the detector quoted it)."""
    config = module.config_for_parsing
    try:
        return cst.parse_expression(text, config=config)
    except cst.ParserSyntaxError:  # a multi-line value written without its own brackets
        parsed = cst.parse_expression(f"({text})", config=config)
        return parsed


def substitute(node: cst.CSTNodeT, values: dict[str, cst.BaseExpression]) -> cst.CSTNodeT:
    """`node` with every read of a name in `values` replaced by that expression (itself
    substituted, and parenthesized when it is an operation)."""
    if not values:
        return node
    labels: set[int] = set()

    class _Labels(cst.CSTVisitor):
        def visit_Attribute(self, attribute: cst.Attribute) -> None:
            labels.add(id(attribute.attr))

        def visit_Arg(self, arg: cst.Arg) -> None:
            if arg.keyword is not None:
                labels.add(id(arg.keyword))

    node.visit(_Labels())

    class _Substitute(cst.CSTTransformer):
        def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
            value = values.get(original_node.value)
            if value is None or id(original_node) in labels:
                return updated_node
            rest = {name: expr for name, expr in values.items() if name != original_node.value}
            inlined = substitute(value, rest)
            if isinstance(inlined, (cst.BinaryOperation, cst.BooleanOperation)):
                return inlined.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
            return inlined

    return node.visit(_Substitute())  # type: ignore[return-value]
