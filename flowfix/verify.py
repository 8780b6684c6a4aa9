"""The checks a rewritten file passes before flowfix may write it."""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

from flowfix.languages import is_rust
from flowfix.sources import ParseFailure

if TYPE_CHECKING:
    import libcst as cst

_NEWLINES = re.compile(r"\r\n|\r|\n")


def compiles(text: str, display: str) -> bool:
    """True if the running interpreter compiles `text` (what `python file.py` would do)."""
    try:
        compile(text, display, "exec", dont_inherit=True)
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


def _syntax_problem(original: str, new: str, display: str) -> str | None:
    if is_rust(display):
        from flowfix.rust.syntax import syntax_problem

        return syntax_problem(original, new)
    try:
        if parse(new).code != new:
            return "libcst does not reproduce the fixed code byte for byte"
    except ParseFailure:
        return "the fixed code does not parse"
    if not compiles(new, display):
        return "the fixed code does not compile"
    return None


def newline_styles(text: str) -> set[str]:
    return set(_NEWLINES.findall(text))


def rewrite_problem(original: str, new: str, display: str, encoding: str) -> str | None:
    """Why `new` must not replace `original`, or None when it may.

    `new` must parse with libcst and print back byte for byte, compile (Rust: parse with
    tree-sitter with no more errors than the original), be encodable in the file's encoding,
    and use no line ending the original does not use.
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
