"""The checks a rewritten file passes before flowfix may write it."""

from __future__ import annotations

import ast
import functools
import re
from typing import TYPE_CHECKING

from flowfix.elision import Elision, changed_lines
from flowfix.languages import is_rust
from flowfix.sources import ParseFailure
from flowfix.trees import remember_tree

if TYPE_CHECKING:
    import libcst as cst

_NEWLINES = re.compile(r"\r\n|\r|\n")


def compiles(source: str | ast.Module, display: str) -> bool:
    """True if the running interpreter compiles `source` (what `python file.py` would do);
    from its tree, the errors its compiler finds (`return` outside a function, say)."""
    try:
        compile(source, display, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


@functools.lru_cache(maxsize=2)
def parse(text: str) -> cst.Module:
    """libcst's tree of `text`. Only fixes need libcst. The last trees are kept: the check of a
    rewrite and the next fix pass parse the same text, and libcst trees are immutable."""
    import libcst as cst

    try:
        return cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        message = str(exc).strip().splitlines()[0]
        raise ParseFailure(
            f"syntax error at {exc.raw_line}:{exc.raw_column + 1}: {message}"
        ) from exc
    except RecursionError as exc:
        raise ParseFailure("too deeply nested to parse") from exc


@functools.lru_cache(maxsize=2)
def unreproducible(text: str, what: str = "this file") -> str | None:
    """Why libcst cannot be trusted with `text` (it does not parse it, or does not print it
    back byte for byte), or None."""
    try:
        if parse(text).code != text:
            return f"libcst does not reproduce {what} byte for byte"
    except ParseFailure as exc:
        return f"libcst cannot parse {what} ({exc})"
    return None


def _syntax_problem(original: str, new: str, display: str) -> str | None:
    if is_rust(display):
        from flowfix.rust.syntax import syntax_problem

        return syntax_problem(original, new)
    try:
        tree = ast.parse(new)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return "the fixed code does not parse"
    if not compiles(tree, display):
        return "the fixed code does not compile"
    remember_tree(new, tree)
    lines = ((line, line) for line in changed_lines(original, new))
    changed = Elision.keeping(new, lines, tree).reduced
    return unreproducible(changed, "the fixed code")


def newline_styles(text: str) -> set[str]:
    return set(_NEWLINES.findall(text))


def rewrite_problem(original: str, new: str, display: str, encoding: str) -> str | None:
    """Why `new` must not replace `original`, or None when it may.

    `new` must compile (Rust: parse with tree-sitter with no more errors than the original),
    be encodable in the file's encoding, and use no line ending the original does not use.
    In Python, the part of it a fix changed (every top-level statement with a changed line,
    and the rest but top-level defs and classes; in a class with a changed line, every member
    but the defs and classes with none: see flowfix.elision) must also parse with libcst and
    print back byte for byte; the defs and classes left out are the original's bytes.
    """
    problem = _syntax_problem(original, new, display)
    if problem:
        return problem
    try:
        new.encode(encoding)
    except UnicodeEncodeError as exc:
        return f"the fixed code cannot be encoded as {encoding} ({exc.object[exc.start]!r})"
    before, after = newline_styles(original), newline_styles(new)
    if before and not after <= before:
        return "the fixed code mixes line endings"
    return None
