"""RuleCodemod base: a libcst codemod that rewrites the nodes its detector reported, by position."""

from __future__ import annotations

import ast
import bisect
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import libcst as cst
from libcst.codemod import Codemod, CodemodContext
from libcst.metadata import MetadataWrapper, PositionProvider, ProviderT

from flowfix.analysis import Model
from flowfix.analysis.model import line_starts
from flowfix.config import Config
from flowfix.edits import Parents, awaited, comment_line, module_alias, parent, remove_statements
from flowfix.elision import Elision
from flowfix.imports import ImportRequest, add_imports, referenced_name, remove_unused_imports
from flowfix.rules import Finding, Span
from flowfix.style import CodeStyle


class RuleCodemod(Codemod, cst.CSTTransformer):
    """Base of every rule's codemod.

    A codemod receives its rule's findings in this file (detection's nodes are CPython's, not
    libcst's: a finding names its nodes by span) and rewrites only the nodes at their spans,
    with what each finding's `data` says. It records every span it fixed in
    `self.fixed`. Imports it needs are asked for with `add_import` and added once the rewrite
    is done, where the project's isort settings (`style`) put them.
    """

    CODE: ClassVar[str] = ""
    DESCRIPTION: str = ""
    METADATA_DEPENDENCIES: ClassVar[Sequence[ProviderT]] = (PositionProvider,)
    # What the codemod reads beyond the statements its findings touch (flowfix.elision leaves
    # the others out of the text it sees): the methods of a class it edits that it reads or
    # extends by name (kept whenever their class is), or, with READS_MODULE, everything.
    # Names a class binds are read from `original_class`, which elides nothing.
    KEEPS_METHODS: ClassVar[frozenset[str]] = frozenset()
    READS_MODULE: ClassVar[bool] = False

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
        # The text the codemod sees, and what was elided from it (flowfix.elision).
        self.elision: Elision | None = None
        # Spans of the original code the rewrite removed (`drop`), comments to put back at
        # statements (`keep_comments`), and the assignments the findings say may become
        # unused (`data["assignments"]`, see flowfix.analysis.assignments).
        self.dropped: list[Span] = []
        self.kept_comments: dict[cst.CSTNode, list[cst.Comment]] = {}
        self.assignments = [
            entry for data in self.data.values() for entry in data.get("assignments", ())
        ]
        self.assignment_lines: dict[Span, cst.SimpleStatementLine] = {}

    def module_bindings(self, module: cst.Module) -> frozenset[str]:
        """Every name the module's global scope binds (imports, assignments, defs, classes,
        names declared `global` elsewhere), from flowfix's semantic model of its code, elided
        statements included."""
        scope = Model(ast.parse(module.code), module.code).module_scope
        elided = self.elision.bound if self.elision is not None else frozenset()
        return frozenset(scope.bindings) | frozenset(scope.deleted) | elided

    def original_class(self, cls: cst.ClassDef) -> ast.ClassDef:
        """`cls` (a node of the tree the codemod visits) as CPython's tree of the original
        text has it, with every member: the ones elided from the text the codemod sees too."""
        line = self.get_metadata(PositionProvider, cls).start.line
        elision = self.elision or Elision(self.module.code, self.module.code)
        return elision.original_class(line)

    def add_import(self, module: str, name: str | None = None) -> None:
        """Ask for `import module` (or `from module import name`) unless the module has it."""
        self.imports.add(ImportRequest(module, name))

    def remove_import_if_unused(self, node: cst.BaseExpression) -> None:
        """After the rewrite, drop the top-level import of the name `node` (a reference the
        rewrite replaces) reads, if nothing reads that name any more."""
        name = referenced_name(node)
        if name is not None:
            self.maybe_unused.add(name)

    def drop(self, node: cst.CSTNode) -> None:
        """Record that the rewrite removes `node` (of the original tree) with every name it
        reads: an assignment whose reads all lie in dropped code goes too, and so does an
        import nothing reads any more."""
        self.dropped.append(self.span_of(node))
        self.maybe_unused.update(_names(node))

    def keep_comments(self, original: cst.CSTNode, replacement: cst.CSTNode) -> None:
        """Put the comments of `original` that `replacement` (which takes its place) lacks at
        the statement that holds it: the first at its end when the rewritten statement is one
        line without a comment, the others on lines of their own above it (a comment line
        above a statement is read as about it; two comments on one line read as one). The
        codemod declares `flowfix.edits.Parents`."""
        kept = [comment.value for comment in _comments(replacement)]
        missing = []
        for comment in _comments(original):
            if comment.value in kept:
                kept.remove(comment.value)
            else:
                missing.append(cst.Comment(comment.value))
        statement: cst.CSTNode | None = original
        while statement is not None and not isinstance(
            statement, (cst.SimpleStatementLine, cst.BaseCompoundStatement)
        ):
            statement = parent(self, statement)
        if missing and statement is not None:
            self.kept_comments.setdefault(statement, []).extend(missing)

    def on_leave(self, original_node: cst.CSTNodeT, updated_node: cst.CSTNodeT) -> Any:
        result = super().on_leave(original_node, updated_node)
        if self.kept_comments and original_node in self.kept_comments:
            result = self._with_comments(result, self.kept_comments.pop(original_node))
        if (
            self.assignments
            and isinstance(original_node, cst.SimpleStatementLine)
            and len(original_node.body) == 1
            and isinstance(original_node.body[0], cst.Assign)
            and isinstance(result, cst.SimpleStatementLine)
        ):
            self.assignment_lines[self.span_of(original_node.body[0])] = result
        return result

    def _with_comments(self, statement: Any, comments: list[cst.Comment]) -> Any:
        """`statement` (what a leave hook returned) with `comments` put back (`keep_comments`)."""
        if isinstance(statement, cst.FlattenSentinel) and statement.nodes:
            first = self._with_comments(statement.nodes[0], comments)
            return cst.FlattenSentinel([first, *statement.nodes[1:]])
        if not isinstance(statement, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            return statement
        if (
            isinstance(statement, cst.SimpleStatementLine)
            and statement.trailing_whitespace.comment is None
            and self.module.code_for_node(statement.with_changes(leading_lines=())).count("\n") <= 1
        ):
            trailing = statement.trailing_whitespace.with_changes(
                whitespace=cst.SimpleWhitespace("  "), comment=comments[0]
            )
            statement = statement.with_changes(trailing_whitespace=trailing)
            comments = comments[1:]
        lines = [*statement.leading_lines, *(comment_line(c) for c in comments)]
        return statement.with_changes(leading_lines=lines)

    def _unused_assignments(self) -> set[int]:
        """The ids of the (rewritten) lines of the finding-named assignments whose every read
        the rewrite dropped, or that only other such assignments read."""
        entries = [e for e in self.assignments if Span(*e["statement"]) in self.assignment_lines]
        removed: list[Span] = []
        changed = True
        while changed:
            changed = False
            for entry in entries:
                statement = Span(*entry["statement"])
                gone = [*self.dropped, *removed]
                if statement not in removed and all(
                    any(_within(Span(*read), span) for span in gone) for read in entry["reads"]
                ):
                    removed.append(statement)
                    changed = True
        return {id(self.assignment_lines[span]) for span in removed}

    def _remove_assignments(self, module: cst.Module) -> cst.Module:
        unused = self._unused_assignments()
        if not unused:
            return module
        codemod = self

        class _Remove(cst.CSTTransformer):
            def leave_IndentedBlock(
                self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
            ) -> cst.IndentedBlock:
                originals = [id(s) for s in original_node.body]
                if not set(originals) & unused or set(originals) <= unused:
                    return updated_node  # nothing to remove, or nothing would be left
                removed = iter(i in unused for i in originals)
                body, left = remove_statements(
                    updated_node.body, lambda s: None if next(removed) else s
                )
                for statement in original_node.body:
                    if id(statement) in unused:
                        codemod.maybe_unused.update(_names(statement))
                footer = [*left, *updated_node.footer]
                return updated_node.with_changes(body=body, footer=footer)

        return module.visit(_Remove())

    def transform_module(self, tree: cst.Module) -> cst.Module:
        """libcst's `Codemod.transform_module` (one pass, metadata resolved for the visit),
        without its copy of `tree`: the copy makes every node appear once in the tree, which
        a tree from libcst's parser (all flowfix's are) already does, as libcst documents."""
        wrapper = MetadataWrapper(tree, unsafe_skip_copy=True)
        before = self.context
        with self.resolve(wrapper):
            self.context = dataclasses.replace(before, wrapper=wrapper)
            try:
                return self.transform_module_impl(wrapper.module)
            finally:
                self.context = dataclasses.replace(self.context, wrapper=before.wrapper)

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        new = tree.visit(self)
        if self.assignment_lines:
            new = self._remove_assignments(new)
        # (an import the elided statements read stays: `Elision.read`)
        unused = self.maybe_unused - (self.elision.read if self.elision else frozenset())
        if unused:
            new = remove_unused_imports(new, unused)
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


def _within(inner: Span, outer: Span) -> bool:
    return (outer.line, outer.column) <= (inner.line, inner.column) and (
        inner.end_line,
        inner.end_column,
    ) <= (outer.end_line, outer.end_column)


class _Collect(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.comments: list[cst.Comment] = []
        self.names: list[str] = []

    def visit_Comment(self, node: cst.Comment) -> None:
        self.comments.append(node)

    def visit_Name(self, node: cst.Name) -> None:
        self.names.append(node.value)


def _comments(node: cst.CSTNode) -> list[cst.Comment]:
    """The comments in `node`, in source order."""
    visitor = _Collect()
    node.visit(visitor)
    return visitor.comments


def _names(node: cst.CSTNode) -> list[str]:
    """The names `node` mentions (imports it used may have become unused)."""
    visitor = _Collect()
    node.visit(visitor)
    return visitor.names


class AwaitAsyncioCall(RuleCodemod):
    """Base for rewrites of a reported call into `await asyncio.<function>(...)`.

    It reuses the module's `import asyncio [as alias]`, or schedules `import asyncio`.
    """

    METADATA_DEPENDENCIES: ClassVar[Sequence[ProviderT]] = (PositionProvider, Parents)

    def visit_Module(self, node: cst.Module) -> None:
        self.asyncio = module_alias(node, "asyncio") or "asyncio"

    def asyncio_function(self, name: str) -> cst.Attribute:
        """`asyncio.<name>` under the module's own alias; the import is added when missing."""
        if self.asyncio == "asyncio":
            self.add_import("asyncio")
        return cst.Attribute(value=cst.Name(self.asyncio), attr=cst.Name(name))

    def awaited(self, call: cst.Call, original: cst.Call) -> cst.Await:
        """`await call` in place of `original`, parenthesised where its context needs it."""
        return awaited(call, original, self.get_metadata(Parents, original))
