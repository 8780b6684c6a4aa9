"""Adding an import where isort (and ruff's `I` rules) would put it.

Codemods ask for imports with `ImportRequest`s; `add_imports` then edits only the module's
top-level statement list (no walk of the tree): it finds the first block of import statements
(after the docstring and any `from __future__` imports), sorts each of its statements into an
isort section (future, standard library, third party, first party, local folder), and puts the
new import into its section at its sorted place, or merges a name into an existing
`from module import ...` of the same module. Sorting follows ruff's isort keys (`order-by-type`,
`case-sensitive`, `force-sort-within-sections`, `force-single-line`, natural order of numbers);
`ImportSettings` carries the project's settings, read by `flowfix.style`.

When the block was sorted before, the new statement keeps it sorted; when it was not, the new
statement still lands in its own section, beside the statements it sorts between. A comment
stays right above the statement it heads: a new import goes above a commented import of the
block, and above the comment that heads the first statement of a module without imports
(comments above a first import are the file's header, which stays on top).
"""

from __future__ import annotations

import fnmatch
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import libcst as cst

from flowfix.edits import is_docstring, remove_statements
from flowfix.style import (
    FIRST_PARTY,
    FUTURE,
    LOCAL_FOLDER,
    STANDARD_LIBRARY,
    THIRD_PARTY,
    ImportSettings,
)

_DIGITS = re.compile(r"\d+")
# Header lines nothing is put above: a shebang or PEP 263 encoding declaration (valid on the
# first two lines only) and file-wide directives to tools (`# type: ignore` must come before
# any code).
_FIRST_LINES = re.compile(r"#!|#.*?coding[:=]")
_FILE_DIRECTIVE = re.compile(
    r"#\s*(?:type:\s*ignore\b|(?:mypy|pyright|pyre|ruff|flake8|pylint|isort|flowfix)\s*:)"
)


@dataclass(frozen=True, order=True)
class ImportRequest:
    """`import module` (name None) or `from module import name`."""

    module: str
    name: str | None = None


def section(module: str, level: int, settings: ImportSettings) -> int:
    """The isort section of an import of `module` (`level` dots of a relative import)."""
    if level:
        return LOCAL_FOLDER
    if module == "__future__":
        return FUTURE
    for known, kind in (
        (settings.known_local_folder, LOCAL_FOLDER),
        (settings.known_first_party, FIRST_PARTY),
        (settings.known_third_party, THIRD_PARTY),
        (settings.extra_standard_library, STANDARD_LIBRARY),
    ):
        if any(_matches(module, pattern) for pattern in known):
            return kind
    top = module.partition(".")[0]
    if top in sys.stdlib_module_names:
        return STANDARD_LIBRARY
    if top in settings.first_party:
        return FIRST_PARTY
    return THIRD_PARTY


def _matches(module: str, pattern: str) -> bool:
    """isort's `known-*` match: the module or a parent package equals the (glob) pattern."""
    parts = module.split(".")
    return any(fnmatch.fnmatchcase(".".join(parts[:n]), pattern) for n in range(1, len(parts) + 1))


def _natural(text: str) -> str:
    """`text` with each run of digits padded so that strings compare as natural order."""
    return _DIGITS.sub(lambda m: m.group().rjust(20, "0"), text)


def _member_key(name: str, asname: str | None, settings: ImportSettings) -> tuple[object, ...]:
    """ruff's order of the names of a `from` import (constants, classes, then the rest)."""
    kind = 2
    if settings.order_by_type:
        if len(name) > 1 and name.isupper():
            kind = 0
        elif name[:1].isupper():
            kind = 1
    lower = "" if settings.case_sensitive else name.lower()
    return (kind, lower, _natural(name), asname or "")


@dataclass(frozen=True)
class _Entry:
    """One top-level import statement of the block."""

    index: int  # in module.body
    section: int
    is_from: bool
    key: tuple[object, ...]


def _statement_key(
    small: cst.Import | cst.ImportFrom, settings: ImportSettings
) -> tuple[int, bool, tuple[object, ...]]:
    """(section, is a `from` import, ruff's sort key within the section)."""
    if isinstance(small, cst.Import):
        alias = small.names[0]
        name = cst.helpers.get_full_name_for_node(alias.name) or ""
        asname = alias.evaluated_alias
        return section(name, 0, settings), False, _module_key(name, 0, None, asname, settings)
    module = cst.helpers.get_full_name_for_node(small.module) if small.module else ""
    level = len(small.relative)
    first: tuple[object, ...] = ()
    if not isinstance(small.names, cst.ImportStar) and small.names:
        alias = small.names[0]
        first = _member_key(alias.evaluated_name, alias.evaluated_alias, settings)
    key = _module_key(module or "", level, first, None, settings)
    return section(module or "", level, settings), True, key


def _module_key(
    module: str,
    level: int,
    first: tuple[object, ...] | None,
    asname: str | None,
    settings: ImportSettings,
) -> tuple[object, ...]:
    """ruff's module key: relative imports furthest first, the name (lowercased unless
    case-sensitive, then natural), the first imported name, the alias."""
    lower = "" if settings.case_sensitive else module.lower()
    return (-level, lower, _natural(module), first or (), asname or "")


def _order(
    entry_is_from: bool, key: tuple[object, ...], settings: ImportSettings
) -> tuple[object, ...]:
    """Where a statement goes within its section."""
    kind = int(entry_is_from != settings.from_first)
    if settings.force_sort_within_sections:
        return (key, kind)
    return (kind, key)


def _import_block(body: Sequence[cst.BaseStatement]) -> tuple[int, int]:
    """[start, end) of the first run of top-level import statements before the first class or
    function (a `sys.path` tweak may come before it). Without one, start == end is where an
    import goes: after the docstring."""
    first = 1 if body and is_docstring(body[0]) else 0
    for start in range(first, len(body)):
        if isinstance(body[start], (cst.FunctionDef, cst.ClassDef)):
            break
        if _is_import(body[start]):
            end = start
            while end < len(body) and _is_import(body[end]):
                end += 1
            return start, end
    return first, first


def _is_import(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], (cst.Import, cst.ImportFrom))
    )


def _small(statement: cst.BaseStatement) -> cst.Import | cst.ImportFrom:
    assert isinstance(statement, cst.SimpleStatementLine)
    small = statement.body[0]
    assert isinstance(small, (cst.Import, cst.ImportFrom))
    return small


def has_import(module: cst.Module, request: ImportRequest) -> bool:
    """Whether a top-level statement already binds what `request` asks for."""
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if _binds(small, request):
                return True
    return False


def _binds(small: cst.BaseSmallStatement, request: ImportRequest) -> bool:
    if request.name is None and isinstance(small, cst.Import):
        return any(
            cst.helpers.get_full_name_for_node(a.name) == request.module and a.asname is None
            for a in small.names
        )
    if (
        request.name is not None
        and isinstance(small, cst.ImportFrom)
        and not small.relative
        and small.module is not None
        and cst.helpers.get_full_name_for_node(small.module) == request.module
    ):
        if isinstance(small.names, cst.ImportStar):
            return False
        return any(a.evaluated_name == request.name and a.asname is None for a in small.names)
    return False


def add_imports(
    module: cst.Module, requests: Iterable[ImportRequest], settings: ImportSettings
) -> cst.Module:
    """`module` with each requested import that it lacks added at its isort place."""
    for request in sorted(set(requests)):
        if not has_import(module, request):
            module = _add(module, request, settings)
    return module


def _add(module: cst.Module, request: ImportRequest, settings: ImportSettings) -> cst.Module:
    body: list[cst.BaseStatement] = list(module.body)
    start, end = _import_block(body)
    entries = []
    for index in range(start, end):
        kind, is_from, key = _statement_key(_small(body[index]), settings)
        entries.append(_Entry(index, kind, is_from, key))
    if request.name is not None and not settings.force_single_line:
        merged = _merge(body, entries, request, settings)
        if merged:
            return module.with_changes(body=body)
    new_section = section(request.module, 0, settings)
    if request.name is None:
        statement = cst.parse_statement(f"import {request.module}")
        key = _module_key(request.module, 0, None, None, settings)
    else:
        statement = cst.parse_statement(f"from {request.module} import {request.name}")
        first = _member_key(request.name, None, settings)
        key = _module_key(request.module, 0, first, None, settings)
    statement = statement.with_changes(leading_lines=())
    order = _order(request.name is not None, key, settings)
    same = [e for e in entries if e.section == new_section]
    if same:
        after = [e for e in same if _order(e.is_from, e.key, settings) > order]
        if after:
            _insert_before(body, after[0].index, statement, 0)
        else:
            gap = _type_gap(same[-1], request.name is not None, settings)
            body.insert(same[-1].index + 1, statement.with_changes(leading_lines=gap))
            _separate_next(body, same[-1].index + 2, end + 1)
    else:
        later = [e for e in entries if e.section > new_section]
        if later:
            blanks = 0 if later[0].section in settings.no_lines_before else 1
            _insert_before(body, later[0].index, statement, blanks)
        elif entries:
            blanks = 0 if new_section in settings.no_lines_before else 1
            gap = [cst.EmptyLine(indent=False)] * blanks
            body.insert(end, statement.with_changes(leading_lines=gap))
            _separate_next(body, end + 1, end + 1)
        else:
            gap = [cst.EmptyLine(indent=False)] if start > 0 else []
            if start == 0 and body:
                module = _comments_to_first_statement(module, body)
            body.insert(start, statement.with_changes(leading_lines=gap))
            _separate_next(body, start + 1, start + 1)
    return module.with_changes(body=body)


def _comments_to_first_statement(module: cst.Module, body: list[cst.BaseStatement]) -> cst.Module:
    """`module` without the comment lines at the end of its header that head its first
    statement, which `body[0]` (that statement, not an import) gets back: libcst keeps the
    lines above a module's first statement in its header, but a comment right above that
    statement (no blank line between: `# --- settings ---`) is about it, and an import put
    first must go above it. The lines that must stay first stay in the header."""
    header = list(module.header)
    split = len(header)
    while split > 0 and _heads_code(header[split - 1], split - 1):
        split -= 1
    first = body[0]
    if split == len(header) or not isinstance(
        first, (cst.SimpleStatementLine, cst.BaseCompoundStatement)
    ):
        return module
    body[0] = first.with_changes(leading_lines=[*header[split:], *first.leading_lines])
    return module.with_changes(header=header[:split])


def _heads_code(line: cst.EmptyLine, number: int) -> bool:
    """Whether header line `number` (from 0) is a comment free to move below an import."""
    if line.comment is None:
        return False
    text = line.comment.value
    return not (number < 2 and _FIRST_LINES.match(text)) and not _FILE_DIRECTIVE.match(text)


def _type_gap(last: _Entry, is_from: bool, settings: ImportSettings) -> Sequence[cst.EmptyLine]:
    """Blank lines between the last `import x` of a section and a first `from x import y`."""
    if settings.force_sort_within_sections or last.is_from == is_from:
        return ()
    return [cst.EmptyLine(indent=False)] * settings.lines_between_types


def _insert_before(
    body: list[cst.BaseStatement], index: int, statement: cst.BaseStatement, blanks: int
) -> None:
    """Put `statement` before `body[index]`: it takes that statement's blank lines, and the
    comment lines right above that statement stay with it, after `blanks` blank lines (one at
    least: isort sets a comment inside the block off by a blank line). Comments above the first
    statement of the module are its header, and stay at the top."""
    following = body[index]
    assert isinstance(following, cst.SimpleStatementLine)
    leading = list(following.leading_lines)
    split = len(leading)
    while split > 0 and leading[split - 1].comment is not None:
        split -= 1
    if split < len(leading):
        blanks = max(blanks, 1)
    own = [cst.EmptyLine(indent=False)] * blanks + leading[split:]
    body[index] = following.with_changes(leading_lines=own)
    body.insert(index, statement.with_changes(leading_lines=leading[:split]))


def _separate_next(body: list[cst.BaseStatement], index: int, block_end: int) -> None:
    """The statement after a new last import of the block gets the blank line(s) isort puts
    after imports, when it had none (two before a class or function)."""
    if index >= len(body) or index < block_end:
        return
    following = body[index]
    if not isinstance(following, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        return
    lines = list(following.leading_lines)
    if lines and lines[0].comment is None:
        return
    wanted = 2 if isinstance(following, (cst.FunctionDef, cst.ClassDef)) else 1
    gap = [cst.EmptyLine(indent=False)] * wanted
    body[index] = following.with_changes(leading_lines=gap + lines)


def _merge(
    body: list[cst.BaseStatement],
    entries: Sequence[_Entry],
    request: ImportRequest,
    settings: ImportSettings,
) -> bool:
    """Add `request.name` to an existing `from request.module import ...` of the block (one
    that imports some name without an alias); whether there was one."""
    for entry in entries:
        statement = body[entry.index]
        small = _small(statement)
        if not (
            isinstance(small, cst.ImportFrom)
            and not small.relative
            and small.module is not None
            and cst.helpers.get_full_name_for_node(small.module) == request.module
            and not isinstance(small.names, cst.ImportStar)
            and any(alias.asname is None for alias in small.names)
        ):
            continue
        assert request.name is not None and isinstance(statement, cst.SimpleStatementLine)
        body[entry.index] = statement.with_changes(
            body=[_with_name(small, request.name, settings, statement)]
        )
        return True
    return False


def _with_name(
    small: cst.ImportFrom,
    name: str,
    settings: ImportSettings,
    statement: cst.SimpleStatementLine,
) -> cst.ImportFrom:
    """`small` with `name` among its names, at its sorted place, wrapped as isort wraps a
    line that grew too long."""
    assert not isinstance(small.names, cst.ImportStar)
    names = list(small.names)
    key = _member_key(name, None, settings)
    at = next(
        (
            i
            for i, alias in enumerate(names)
            if _member_key(alias.evaluated_name, alias.evaluated_alias, settings) > key
        ),
        len(names),
    )
    if isinstance(small.lpar, cst.LeftParen) and _is_multiline(small):
        # One name per line: a new name gets the comma and line break that precede the first.
        separator = cst.Comma(whitespace_after=small.lpar.whitespace_after)
        if at < len(names):
            names.insert(at, cst.ImportAlias(name=cst.Name(name), comma=separator))
        else:
            last = names[-1]
            names[-1] = last.with_changes(comma=separator)
            names.append(cst.ImportAlias(name=cst.Name(name), comma=last.comma))
        return small.with_changes(names=names)
    plain = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    if at == len(names):
        names[-1] = names[-1].with_changes(comma=plain)
        names.append(cst.ImportAlias(name=cst.Name(name)))
    else:
        names.insert(at, cst.ImportAlias(name=cst.Name(name), comma=plain))
    grown = small.with_changes(names=names)
    line = cst.Module([]).code_for_node(statement.with_changes(body=[grown], leading_lines=()))
    if len(line.rstrip("\r\n")) <= settings.line_length:
        return grown
    return _vertical(grown)


def _is_multiline(small: cst.ImportFrom) -> bool:
    return "\n" in cst.Module([]).code_for_node(small)


def _vertical(small: cst.ImportFrom) -> cst.ImportFrom:
    """`from x import (` with one name per line and a trailing comma (isort's and ruff's
    wrapping of a from-import longer than the line length)."""
    assert not isinstance(small.names, cst.ImportStar)
    indent = "    "
    line_break = cst.ParenthesizedWhitespace(
        first_line=cst.TrailingWhitespace(),
        indent=True,
        last_line=cst.SimpleWhitespace(indent),
    )
    names = [
        alias.with_changes(
            comma=cst.Comma(whitespace_after=line_break)
            if i < len(small.names) - 1
            else cst.Comma(
                whitespace_after=cst.ParenthesizedWhitespace(
                    first_line=cst.TrailingWhitespace(), indent=True
                )
            )
        )
        for i, alias in enumerate(small.names)
    ]
    return small.with_changes(
        names=names,
        lpar=cst.LeftParen(whitespace_after=line_break),
        rpar=cst.RightParen(),
    )


class _Uses(cst.CSTVisitor):
    """Which of `names` the module still reads: one walk, no scope analysis. It errs towards
    "read": a local of the same name, a mention in a string (an annotation may be one) or in
    `__all__` count, so an import is only removed when no code can reach it."""

    def __init__(self, names: set[str]) -> None:
        super().__init__()
        self.names = names
        self.used: set[str] = set()
        self.definitions: set[int] = set()

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.definitions.add(id(node.attr))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.definitions.add(id(node.name))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.definitions.add(id(node.name))

    def visit_Param(self, node: cst.Param) -> None:
        self.definitions.add(id(node.name))

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self.definitions.add(id(node.keyword))

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self.names and id(node) not in self.definitions:
            self.used.add(node.value)

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self.used.update(name for name in self.names if name in node.value)


def referenced_name(node: cst.BaseExpression) -> str | None:
    """The name an expression reads first: `time` for `time.sleep`, `sleep` for `sleep`."""
    while isinstance(node, cst.Attribute):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


def remove_unused_imports(module: cst.Module, names: Iterable[str]) -> cst.Module:
    """`module` without the top-level imports that bind one of `names` which nothing reads
    any more (one walk of the tree, then edits of its top-level statements only)."""
    visitor = _Uses(set(names))
    module.visit(visitor)
    unused = visitor.names - visitor.used
    if not unused:
        return module

    def edit(statement: cst.BaseStatement) -> cst.BaseStatement | None:
        if not _is_import(statement):
            return statement
        kept = _without(_small(statement), unused)
        if kept is None:
            return None
        assert isinstance(statement, cst.SimpleStatementLine)
        return statement.with_changes(body=[kept])

    header = any(line.comment is not None for line in module.header)  # under a license, say
    body, left = remove_statements(module.body, edit, at_top=not header)
    return module.with_changes(body=body, footer=[*left, *module.footer])


def _without(
    small: cst.Import | cst.ImportFrom, unused: set[str]
) -> cst.Import | cst.ImportFrom | None:
    """`small` without the names it binds that are in `unused` (None: nothing is left)."""
    if isinstance(small, cst.ImportFrom) and isinstance(small.names, cst.ImportStar):
        return small
    if isinstance(small, cst.ImportFrom) and small.module is not None:
        if cst.helpers.get_full_name_for_node(small.module) == "__future__":
            return small
    names = list(small.names)  # type: ignore[arg-type]
    kept = [alias for alias in names if _bound(alias) not in unused]
    if len(kept) == len(names):
        return small
    if not kept:
        return None
    last = names[-1]
    kept[-1] = kept[-1].with_changes(comma=last.comma)
    return small.with_changes(names=kept)


def _bound(alias: cst.ImportAlias) -> str:
    """The name an alias binds: its `as` name, else the first part of the module it names."""
    if alias.asname is not None:
        return cst.helpers.get_full_name_for_node(alias.asname.name) or ""
    return (cst.helpers.get_full_name_for_node(alias.name) or "").partition(".")[0]
