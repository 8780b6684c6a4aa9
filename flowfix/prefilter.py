"""Cheap questions about a file that let a rule skip it before any libcst work.

Each answer may be a false "yes" but never a false "no": exactness comes from the detector.
Walking CPython's AST in Python costs several times what parsing it does, so a `FileView`
never walks the whole tree: words are found in the text with `str.find`, statement-level facts
come from one walk over statements only, and expression-level questions walk just the
statements on the lines where a word of interest occurs.

A word is an identifier matched whole; `*` at either end lets it continue on that side
(`*PoolExecutor` matches `ThreadPoolExecutor`, `*MAX_WORKERS*` any name containing it).
"""

from __future__ import annotations

import ast
import bisect
import functools
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowfix.project import ProjectIndex

# Statement fields that hold nested statements (bodies of compound statements).
# In source order when concatenated (a `try`'s handlers come before its `else` and `finally`).
BODIES = ("body", "handlers", "orelse", "finalbody", "cases")
FUNCTION_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)
SCOPE_DEFS = (*FUNCTION_DEFS, ast.ClassDef)
LOOP_STATEMENTS = (ast.For, ast.AsyncFor, ast.While)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


def _is_name_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def occurrences(text: str, word: str) -> Iterator[int]:
    """Offsets where `word` (see the module docstring) occurs in `text`."""
    core = word.strip("*")
    open_start, open_end = word.startswith("*"), word.endswith("*")
    index = text.find(core)
    while index != -1:
        end = index + len(core)
        if (open_start or index == 0 or not _is_name_char(text[index - 1])) and (
            open_end or end == len(text) or not _is_name_char(text[end])
        ):
            yield index
        index = text.find(core, index + 1)


def matches(name: str, word: str) -> bool:
    """Does the identifier `name` match `word`?"""
    core = word.strip("*")
    if word.startswith("*") and word.endswith("*"):
        return core in name
    if word.startswith("*"):
        return name.endswith(core)
    if word.endswith("*"):
        return name.startswith(core)
    return name == core


@dataclass
class Statements:
    """What one walk over a module's statements (not expressions) finds."""

    imported: set[str] = field(default_factory=set)  # modules named by `import` / `from`
    aliases: dict[str, str] = field(default_factory=dict)  # `from m import name as alias`
    functions: set[str] = field(default_factory=set)  # names of every def, at any depth
    async_def: bool = False
    loops: bool = False  # a for / async for / while statement
    whiles: bool = False


@dataclass
class FileView:
    """A file as the prefilters see it: its text and CPython's AST."""

    text: str
    tree: ast.Module
    project: ProjectIndex | None = None  # the run's call graph, for cross-file rules
    module: str | None = None  # this file's module in it
    digest: str = ""  # this file's content digest
    _blocks: dict[int, tuple[list[int], list[ast.AST]]] = field(default_factory=dict, repr=False)

    def mentions(self, *words: str) -> bool:
        """Does one of `words` occur (in code, a string or a comment)?"""
        return any(next(occurrences(self.text, word), None) is not None for word in words)

    @functools.cached_property
    def statements(self) -> Statements:
        found = Statements()
        stack: list[ast.AST] = list(self.tree.body)
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Import):
                found.imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.module is not None:
                    found.imported.add(node.module)
                found.aliases.update({a.asname: a.name for a in node.names if a.asname})
            elif isinstance(node, FUNCTION_DEFS):
                found.functions.add(node.name)
                found.async_def = found.async_def or isinstance(node, ast.AsyncFunctionDef)
            elif isinstance(node, LOOP_STATEMENTS):
                found.loops = True
                found.whiles = found.whiles or isinstance(node, ast.While)
            for name in BODIES:
                stack.extend(getattr(node, name, ()))
        return found

    def imports(self, module: str) -> bool:
        """Does any import statement (at any depth) import `module` or something from it?"""
        return any(
            name == module or name.startswith(module + ".") for name in self.statements.imported
        )

    @property
    def has_async_def(self) -> bool:
        return self.statements.async_def

    @functools.cached_property
    def _line_starts(self) -> list[int]:
        lines = self.text.split("\n")[:-1]  # each but the last ends with "\n"
        return [0, *itertools.accumulate(len(line) + 1 for line in lines)]

    def line_of(self, offset: int) -> int:
        """The (1-based) number of the line holding `offset`."""
        return bisect.bisect_right(self._line_starts, offset)

    def line(self, number: int) -> str:
        """The text of line `number` (1-based), without its line break."""
        starts = self._line_starts
        end = starts[number] - 1 if number < len(starts) else len(self.text)
        return self.text[starts[number - 1] : end].rstrip("\r")

    @functools.cached_property
    def lower(self) -> str:
        return self.text.lower()

    def near(self, words: Iterable[str], ignore_case: bool = False) -> list[ast.AST]:
        """The innermost statements with one of `words` on one of their lines."""
        text = self.lower if ignore_case else self.text
        starts = self._line_starts
        lines = {
            bisect.bisect_right(starts, offset)
            for word in words
            for offset in occurrences(text, word.lower() if ignore_case else word)
        }
        found: dict[int, ast.AST] = {}
        for line in sorted(lines):
            for statement in self._statements_at(self.tree, line):
                found.setdefault(id(statement), statement)
        return list(found.values())

    def _statements_at(self, parent: ast.AST, line: int) -> list[ast.AST]:
        """The innermost statements under `parent` whose code is on `line`: several when `;`
        joins statements, plus a compound statement whose header shares the line."""
        firsts, block = self._block(parent)
        index = bisect.bisect_right(firsts, line) - 1
        found: list[ast.AST] = []
        while index >= 0 and line <= _last_line(block[index]):
            node = block[index]
            inner = self._statements_at(node, line)
            nested = self._block(node)[0]
            if not inner or (nested and line <= nested[0]):
                found.append(node)  # the line holds (part of) the statement's own header
            found.extend(inner)
            index -= 1
        return found

    def enclosing(self, line: int) -> list[ast.AST]:
        """The statements that contain `line`, outermost first."""
        chain: list[ast.AST] = []
        parent: ast.AST = self.tree
        while True:
            firsts, block = self._block(parent)
            index = bisect.bisect_left(firsts, line + 1) - 1
            if index < 0 or line > _last_line(block[index]):
                return chain
            parent = block[index]
            chain.append(parent)

    def _block(self, parent: ast.AST) -> tuple[list[int], list[ast.AST]]:
        """The statements directly nested in `parent`, by first line, with those lines."""
        key = id(parent)
        if key not in self._blocks:
            block = [item for name in BODIES for item in getattr(parent, name, ())]
            self._blocks[key] = ([first_line(node) for node in block], block)
        return self._blocks[key]

    def nodes_near(
        self, words: Iterable[str], *types: type[ast.AST], ignore_case: bool = False
    ) -> Iterator[ast.AST]:
        """Nodes of `types` in the statements with one of `words` on their lines (for a
        compound statement, in its header: nested statements are visited where words are)."""
        for statement in self.near(words, ignore_case):
            for node in header_nodes(statement):
                if isinstance(node, types):
                    yield node

    def expand(self, words: Iterable[str]) -> list[str]:
        """`words`, plus the aliases under which a name they match is imported."""
        words = list(words)
        aliased = [
            alias
            for alias, name in self.statements.aliases.items()
            if any(matches(name, word) for word in words)
        ]
        return words + sorted(aliased)

    def call_names(self, *words: str) -> set[str]:
        """Names of the calls (`a.b.C()` → `C`) in the statements where one of `words` (or an
        import alias of a name it matches) occurs; an alias counts as its original name too.
        Every call to a name that `words` match is in the answer, wherever it is."""
        calls = self.nodes_near(self.expand(words), ast.Call)
        names = {call_name(call) for call in calls}  # type: ignore[arg-type]
        aliases = self.statements.aliases
        return names | {aliases[name] for name in names if name in aliases}

    def calls_to(self, *names: str) -> Iterator[ast.Call]:
        """The calls whose callee's last name (or the name it aliases) is one of `names`."""
        aliases = self.statements.aliases
        for call in self.nodes_near(self.expand(names), ast.Call):
            assert isinstance(call, ast.Call)
            name = call_name(call)
            if name in names or aliases.get(name) in names:
                yield call

    def calls(self, *names: str) -> bool:
        """Is a function or method with one of these (last-component) names called?"""
        return not self.call_names(*names).isdisjoint(names)


_BLOCK_ITEMS = (ast.stmt, ast.excepthandler, ast.match_case)


def header_nodes(statement: ast.AST) -> Iterator[ast.AST]:
    """`statement` and its nodes outside its nested blocks (lambdas included)."""
    stack = [statement]
    while stack:
        node = stack.pop()
        yield node
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, ast.AST):
                stack.append(value)
            elif isinstance(value, list) and value and not isinstance(value[0], _BLOCK_ITEMS):
                stack.extend(item for item in value if isinstance(item, ast.AST))


def first_line(node: Any) -> int:
    """The first line of a statement, its decorators included."""
    if isinstance(node, ast.match_case):
        return int(node.pattern.lineno)
    decorators = getattr(node, "decorator_list", None)
    return int(decorators[0].lineno if decorators else node.lineno)


def _last_line(node: Any) -> int:
    if isinstance(node, ast.match_case):
        return _last_line(node.body[-1])
    return int(node.end_lineno or node.lineno)


def innermost(chain: Sequence[ast.AST], types: tuple[type, ...] = SCOPE_DEFS) -> int | None:
    """Index in `chain` (from `FileView.enclosing`) of the last statement of `types` (by
    default the innermost def or class), or None."""
    for index in range(len(chain) - 1, -1, -1):
        if isinstance(chain[index], types):
            return index
    return None


def dotted_name(node: ast.AST) -> str | None:
    """`a.b.c` for a chain of names and attributes, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted_name(node.value)
        return f"{base}.{node.attr}" if base is not None else None
    return None


def call_name(call: ast.Call) -> str:
    """The last name component of what `call` calls (`a.b.C()` → `C`), or ''."""
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""
