"""Whole-line edits: the smallest that turn one text into another (libgit2's diff), and
applying them. Fix passes merge them, patches and editors receive them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class LineEdit:
    """Replace the original's lines `start` up to (not including) `end`, 0-based, by `text`.

    `start == end` inserts `text` before line `start`; `text` is whole lines, each with its
    line ending (the last line of a file may have none).
    """

    start: int
    end: int
    text: str


def lines_of(text: str) -> list[str]:
    """`text` split after each `\\n`, as git splits it (a `\\r` stays in its line)."""
    parts = text.split("\n")
    return [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def line_edits(old: str, new: str) -> list[LineEdit]:
    """The smallest whole-line edits that turn `old` into `new`, in order, not overlapping."""
    import pygit2

    patch = pygit2.Patch.create_from(old.encode(), new.encode(), context_lines=0)
    new_lines = lines_of(new)
    edits: list[LineEdit] = []
    for hunk in patch.hunks:
        # A pure insertion's old_start is the line it goes after; otherwise its first line.
        start = hunk.old_start if hunk.old_lines == 0 else hunk.old_start - 1
        first_new = hunk.new_start - 1
        text = "".join(new_lines[first_new : first_new + hunk.new_lines])
        edits.append(LineEdit(start, start + hunk.old_lines, text))
    return edits


def apply_line_edits(old: str, edits: Sequence[LineEdit]) -> str:
    """`old` with `edits` (sorted, not overlapping) applied (the inverse of `line_edits`)."""
    lines = lines_of(old)
    out: list[str] = []
    cursor = 0
    for edit in edits:
        out.extend(lines[cursor : edit.start])
        out.append(edit.text)
        cursor = edit.end
    out.extend(lines[cursor:])
    return "".join(out)
