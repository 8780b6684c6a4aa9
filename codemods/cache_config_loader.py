"""CAC002: load a constant-path config file once, through a module-level cached loader."""

from __future__ import annotations

from collections import defaultdict

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor

from flowfix.codemod import RuleCodemod
from flowfix.detectors.legacy.caching import (
    DEPENDENCIES,
    ConfigLoad,
    LoaderPlan,
    code_of,
    config_load,
    loader_plan,
    substitute,
)
from flowfix.edits import from_import_alias, module_alias, split_before_comment
from flowfix.semantics import is_bound_in_module, parent


class CacheConfigLoader(RuleCodemod):
    CODE = "CAC002"
    DESCRIPTION = "Load a constant-path config file once, through a `functools.cache` loader"
    METADATA_DEPENDENCIES = DEPENDENCIES

    def visit_Module(self, node: cst.Module) -> None:
        self.root = node
        cache = from_import_alias(node, "functools", "cache")
        self.decorator = cache or f"{module_alias(node, 'functools') or 'functools'}.cache"
        self.loaders: dict[str, str] = {}
        self.names: set[str] = set()
        self.pending: dict[cst.CSTNode, list[cst.FunctionDef]] = defaultdict(list)
        self.replacements: dict[cst.CSTNode, cst.CSTNode] = {}

    def visit_Call(self, node: cst.Call) -> None:
        span = self.target(node)
        found = config_load(self, node) if span is not None else None
        if span is None or found is None:
            return
        load = found[0]
        plan = loader_plan(self, load)
        if isinstance(plan, str):
            self.warn(f"{span.line}:{span.column}: {plan}")
            return
        body = self._loader_body(load, plan)
        key = code_of(body)
        name = self.loaders.get(key)
        if name is None:
            name = self.loaders[key] = self._fresh(f"_load_{plan.stem}")
            self.pending[plan.anchor].append(self._loader(name, body))
            if self.decorator == "functools.cache":
                AddImportsVisitor.add_needed_import(self.context, "functools")
        loaded = cst.Call(func=cst.Name(name))
        if plan.statement is None:
            self.replacements[node] = loaded
        else:
            self.replacements[load.replaced] = _replace_with(load, plan.statement, loaded)
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
        loaders = self.pending.pop(original, None)
        if not loaders:
            return updated
        blank, comments = split_before_comment(tuple(updated.leading_lines))
        lines = 2 if isinstance(parent(self, original), cst.Module) else 1
        gap = blank or [cst.EmptyLine(indent=False)] * lines
        placed = [loaders[0].with_changes(leading_lines=blank)]
        placed += [loader.with_changes(leading_lines=gap) for loader in loaders[1:]]
        return cst.FlattenSentinel([*placed, updated.with_changes(leading_lines=[*gap, *comments])])

    # --- building blocks ----------------------------------------------------------------------

    def _fresh(self, wanted: str) -> str:
        name, counter = wanted, 2
        while name in self.names or is_bound_in_module(self, self.root, name):
            name, counter = f"{wanted}_{counter}", counter + 1
        self.names.add(name)
        return name

    def _loader_body(self, load: ConfigLoad, plan: LoaderPlan) -> cst.BaseStatement:
        """`return <load>`, or the `with` block with its statement turned into that return."""
        call = substitute(load.call.with_changes(lpar=(), rpar=()), load.local_paths)
        returned = cst.SimpleStatementLine(body=[cst.Return(value=call)])
        if plan.statement is None or not isinstance(load.replaced, cst.With):
            return returned
        header: cst.With = substitute(load.replaced, load.local_paths)
        assert isinstance(header.body, cst.IndentedBlock)
        body = header.body.with_changes(body=[returned])
        return header.with_changes(leading_lines=(), body=body)

    def _loader(self, name: str, body: cst.BaseStatement) -> cst.FunctionDef:
        indent, newline = self.module.default_indent, self.module.default_newline
        code = f"@{self.decorator}{newline}def {name}():{newline}{indent}pass{newline}"
        loader = cst.parse_statement(code, config=self.module.config_for_parsing)
        assert isinstance(loader, cst.FunctionDef) and isinstance(loader.body, cst.IndentedBlock)
        return loader.with_changes(body=loader.body.with_changes(body=[body]))


def _replace_with(
    load: ConfigLoad, statement: cst.SimpleStatementLine, loaded: cst.Call
) -> cst.SimpleStatementLine:
    """The `with` block's statement, loading through the cached loader, in the block's place."""
    assert isinstance(load.replaced, cst.With)
    small = statement.body[0]
    assert isinstance(small, (cst.Assign, cst.Return))
    return statement.with_changes(
        body=[small.with_changes(value=loaded)], leading_lines=load.replaced.leading_lines
    )
