"""Positions of nodes, generated one statement at a time, for the statements asked about.

libcst's PositionProvider generates the code of the whole module to record where every node
starts and ends, yet a detector asks for the positions of a few nodes only: those it reports.
`StatementPositions` generates, with the same codegen state, only the statement that holds a
node asked about: a member of a top-level class (a method, usually), else the top-level
statement. The line where that statement's code starts comes from CPython's AST of the same
text, and the generated code is checked against the text at that line before any position
is used; when it does not match (or a node lies outside every statement) the whole module is
generated as libcst does. Either way the positions are libcst's (tested node by node).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping, Sequence

import libcst as cst
from libcst.metadata import CodeRange, PositionProvider
from libcst.metadata.position_provider import PositionProvidingCodegenState

from flowfix.prefilter import first_line

_NEWLINE = re.compile(r"\r\n?|\n")  # as libcst counts lines


class StatementPositions(Mapping[cst.CSTNode, CodeRange]):
    """PositionProvider's mapping for `module` (parsed from `text`), filled in on demand."""

    def __init__(
        self, module: cst.Module, text: str, parents: Mapping[cst.CSTNode, cst.CSTNode]
    ) -> None:
        self.module = module
        self.text = text
        self.parents = parents
        self._computed: dict[cst.CSTNode, CodeRange] = {}
        self._generated: set[int] = set()  # ids of the statements generated so far
        self._starts: dict[int, int] | None = None  # statement id → first line of its code
        self._whole = False
        self._line_starts: list[int] | None = None

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        found = self._computed.get(node)
        if found is None and not self._whole:
            self._generate(node)
            found = self._computed.get(node)
        if found is None:
            raise KeyError(node)
        return found

    def __iter__(self) -> Iterator[cst.CSTNode]:
        self._generate_module()
        return iter(self._computed)

    def __len__(self) -> int:
        self._generate_module()
        return len(self._computed)

    def _generate(self, node: cst.CSTNode) -> None:
        unit = self._unit(node)
        if unit is None or id(unit[0]) in self._generated:
            self._generate_module()
            return
        statement, indent = unit
        start = self._statement_starts().get(id(statement))
        if start is None or not self._generate_statement(statement, indent, start):
            self._generate_module()
            return
        self._generated.add(id(statement))

    def _unit(self, node: cst.CSTNode) -> tuple[cst.BaseStatement, list[str]] | None:
        """The statement to generate for `node`, and the indentation it is generated in."""
        chain = [node]
        while (above := self.parents.get(chain[-1])) is not None:
            chain.append(above)
        if len(chain) < 2 or chain[-1] is not self.module:
            return None
        top = chain[-2]
        if not isinstance(top, cst.BaseStatement) or top not in self.module.body:
            return None  # the module's header or footer
        if isinstance(top, cst.ClassDef) and isinstance(top.body, cst.IndentedBlock):
            block = top.body
            if len(chain) >= 4 and chain[-3] is block and chain[-4] in block.body:
                indent = block.indent if block.indent is not None else self.module.default_indent
                return chain[-4], [indent]  # type: ignore[return-value]
        return top, []

    def _statement_starts(self) -> dict[int, int]:
        if self._starts is None:
            try:
                tree = ast.parse(self.text)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                tree = None
            self._starts = statement_starts(self.module, tree) if tree is not None else {}
        return self._starts

    def _generate_statement(
        self, statement: cst.BaseStatement, indent: list[str], line: int
    ) -> bool:
        """Generate `statement`'s code from `line`, keeping its positions only if that code is
        the text there."""
        line -= len(getattr(statement, "leading_lines", ()))
        offset = self._line_offset(line)
        provider = PositionProvider()
        state = PositionProvidingCodegenState(
            default_indent=self.module.default_indent,
            default_newline=self.module.default_newline,
            provider=provider,
            indent_tokens=list(indent),
            line=line,
        )
        statement._codegen(state)
        code = "".join(state.tokens)
        same = offset is not None and self.text[offset : offset + len(code)] == code
        if not same and offset is not None and not self.module.has_trailing_newline:
            # the file's last statement: libcst drops its final newline from the module's code
            same = self.text[offset:] == code[: -len(state.tokens[-1])]
        if same:
            self._computed.update(provider._computed)  # type: ignore[arg-type]
        return same

    def _line_offset(self, line: int) -> int | None:
        """The offset where (1-based) `line` starts, counting lines as libcst does."""
        if self._line_starts is None:
            self._line_starts = [0, *(match.end() for match in _NEWLINE.finditer(self.text))]
        return self._line_starts[line - 1] if 1 <= line <= len(self._line_starts) else None

    def _generate_module(self) -> None:
        if not self._whole:
            provider = PositionProvider()
            provider._gen_impl(self.module)
            self._computed = provider._computed  # type: ignore[assignment]
            self._whole = True


def statement_starts(module: cst.Module, tree: ast.Module) -> dict[int, int]:
    """The first line (decorators included) of each top-level statement and of each member of
    a top-level class, by the id of its libcst node; empty if the two trees do not line up."""
    starts: dict[int, int] = {}
    pairs = _line_up(module.body, tree.body, starts)
    if pairs is None:
        return {}
    for statement, node in pairs:
        if isinstance(statement, cst.ClassDef) and isinstance(statement.body, cst.IndentedBlock):
            if (
                not isinstance(node, ast.ClassDef)
                or _line_up(statement.body.body, node.body, starts) is None
            ):
                return {}
    return starts


def _line_up(
    statements: Sequence[cst.BaseStatement], nodes: Sequence[ast.stmt], starts: dict[int, int]
) -> list[tuple[cst.BaseStatement, ast.stmt]] | None:
    """Pair libcst's statements with CPython's (a line of `;`-joined statements is one libcst
    statement), recording each first line; None if the counts differ."""
    pairs = []
    index = 0
    for statement in statements:
        if index >= len(nodes):
            return None
        starts[id(statement)] = first_line(nodes[index])
        pairs.append((statement, nodes[index]))
        index += len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
    return pairs if index == len(nodes) else None
