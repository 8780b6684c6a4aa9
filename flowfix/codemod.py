"""RuleCodemod base: a libcst codemod that rewrites the nodes its detector reported, by position."""

from __future__ import annotations

import ast
import bisect
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import libcst as cst
from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand
from libcst.metadata import ParentNodeProvider, PositionProvider, ProviderT

from flowfix.analysis import Model
from flowfix.analysis.model import line_starts
from flowfix.config import Config
from flowfix.edits import awaited, module_alias
from flowfix.imports import ImportRequest, add_imports, referenced_name, remove_unused_imports
from flowfix.rules import Finding, Span
from flowfix.style import CodeStyle


class RuleCodemod(VisitorBasedCodemodCommand):
    """Base of every rule's codemod.

    A codemod receives its rule's findings in this file (libcst copies the tree inside a
    codemod, so detection's nodes could not be reused anyway) and rewrites only the nodes at
    their spans, with what each finding's `data` says. It records every span it fixed in
    `self.fixed`. Imports it needs are asked for with `add_import` and added once the rewrite
    is done, where the project's isort settings (`style`) put them.
    """

    CODE: ClassVar[str] = ""
    DESCRIPTION: str = ""
    METADATA_DEPENDENCIES: ClassVar[Sequence[ProviderT]] = (PositionProvider,)

    def __init__(
        self,
        context: CodemodContext,
        findings: Iterable[Finding],
        config: Config | None = None,
        style: CodeStyle | None = None,
    ) -> None:
        super().__init__(context)
        found = list(findings)
        self.spans = frozenset(finding.span for finding in found)
        self.data: dict[Span, Mapping[str, Any]] = {f.span: f.data for f in found}
        self.config = config or Config()
        self.style = style or CodeStyle()
        self.imports: set[ImportRequest] = set()
        self.maybe_unused: set[str] = set()
        self.fixed: set[Span] = set()
        self._line_starts: list[int] | None = None
        # Names bound by the statements elided from the text the codemod sees (flowfix.elision).
        self.elided_names: frozenset[str] = frozenset()

    def module_bindings(self, module: cst.Module) -> frozenset[str]:
        """Every name the module's global scope binds (imports, assignments, defs, classes,
        names declared `global` elsewhere), from flowfix's semantic model of its code, elided
        statements included."""
        scope = Model(ast.parse(module.code), module.code).module_scope
        return frozenset(scope.bindings) | frozenset(scope.deleted) | self.elided_names

    def add_import(self, module: str, name: str | None = None) -> None:
        """Ask for `import module` (or `from module import name`) unless the module has it."""
        self.imports.add(ImportRequest(module, name))

    def remove_import_if_unused(self, node: cst.BaseExpression) -> None:
        """After the rewrite, drop the top-level import of the name `node` (a reference the
        rewrite replaces) reads, if nothing reads that name any more."""
        name = referenced_name(node)
        if name is not None:
            self.maybe_unused.add(name)

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        new = super().transform_module_impl(tree)
        if self.maybe_unused:
            new = remove_unused_imports(new, self.maybe_unused)
        if self.imports:
            new = add_imports(new, self.imports, self.style.imports)
        return new

    def span_of(self, node: cst.CSTNode) -> Span:
        """`node`'s range as `ast` gives it (and so a finding's span): libcst's syntactic
        position already leaves a node's own parentheses out, as `ast` does, except around a
        tuple, whose innermost pair `ast` counts in."""
        rng = self.get_metadata(PositionProvider, node)
        start, end = (rng.start.line, rng.start.column), (rng.end.line, rng.end.column)
        if isinstance(node, cst.Tuple) and node.lpar and node.rpar:
            start = self._moved(start, -len(self.module.code_for_node(node.lpar[-1])))
            end = self._moved(end, len(self.module.code_for_node(node.rpar[0])))
        return Span(start[0], start[1] + 1, end[0], end[1] + 1)

    def _moved(self, position: tuple[int, int], chars: int) -> tuple[int, int]:
        """The (line, column) `chars` code points after (or, negative, before) `position`."""
        if self._line_starts is None:
            self._line_starts = line_starts(self.module.code)
        starts = self._line_starts
        offset = starts[position[0] - 1] + position[1] + chars
        line = bisect.bisect_right(starts, offset) - 1
        return (line + 1, offset - starts[line])

    def target(self, node: cst.CSTNode) -> Span | None:
        """The finding span at `node`, if `node` is one this codemod was asked to fix."""
        span = self.span_of(node)
        return span if span in self.spans else None


class AwaitAsyncioCall(RuleCodemod):
    """Base for rewrites of a reported call into `await asyncio.<function>(...)`.

    It reuses the module's `import asyncio [as alias]`, or schedules `import asyncio`.
    """

    METADATA_DEPENDENCIES: ClassVar[Sequence[ProviderT]] = (PositionProvider, ParentNodeProvider)

    def visit_Module(self, node: cst.Module) -> None:
        self.asyncio = module_alias(node, "asyncio") or "asyncio"

    def asyncio_function(self, name: str) -> cst.Attribute:
        """`asyncio.<name>` under the module's own alias; the import is added when missing."""
        if self.asyncio == "asyncio":
            self.add_import("asyncio")
        return cst.Attribute(value=cst.Name(self.asyncio), attr=cst.Name(name))

    def awaited(self, call: cst.Call, original: cst.Call) -> cst.Await:
        """`await call` in place of `original`, parenthesised where its context needs it."""
        return awaited(call, original, self.get_metadata(ParentNodeProvider, original))
