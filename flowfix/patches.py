"""Unified diffs made by libgit2 (through pygit2), and applying reviewed patch files (unidiff).

Patches are bytes in the file's own encoding; they are parsed as latin-1 text, which maps every
byte to one character and back, so CRLF, BOMs and non-UTF-8 files survive untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

import pygit2
from unidiff.constants import LINE_TYPE_NO_NEWLINE
from unidiff.errors import UnidiffParseError
from unidiff.patch import Hunk, PatchedFile, PatchSet

from flowfix.sources import Source, SourceError, digest, write_if_unchanged

CONTEXT_LINES = 3


def make_patch(old: bytes, new: bytes, display: str) -> bytes:
    """A git-style unified diff from `old` to `new` with `a/`/`b/` paths; empty when equal."""
    if old == new:
        return b""
    patch = pygit2.Patch.create_from(
        old, new, old_as_path=display, new_as_path=display, context_lines=CONTEXT_LINES
    )
    data: bytes = patch.data
    return data


class PatchError(Exception):
    """The patch file as a whole cannot be used (not a unified diff)."""


@dataclass(frozen=True)
class AppliedFile:
    """Outcome of applying one file's part of a patch: `error` is empty on success."""

    path: str
    hunks: int
    error: str = ""


def parse_patch(data: bytes) -> PatchSet:
    """Parse a whole patch; PatchError (one line) when any part of it is not a usable diff.

    A patch whose last line has no newline is refused as truncated: unidiff would read the cut
    line as complete and the file would be written with it cut short.
    """
    if data and not data.endswith(b"\n"):
        raise PatchError("truncated patch (the last line has no newline)")
    try:
        patch = PatchSet(data.decode("latin-1"))
    except UnidiffParseError as exc:
        raise PatchError(f"not a valid unified diff: {_one_line(str(exc))}") from exc
    if not list(patch):
        raise PatchError("no file changes found")
    for patched_file in patch:
        for number, hunk in enumerate(patched_file, start=1):
            if not hunk.is_valid():
                raise PatchError(
                    f"not a valid unified diff: {patched_file.path}: hunk {number} "
                    "has fewer lines than its header says"
                )
    return patch


def _one_line(message: str) -> str:
    return " ".join(message.split())


def _unsafe_path(display: str) -> str:
    """Why a path from a patch must not be written ('' if it may): it must stay under the root."""
    posix, windows = PurePosixPath(display), PureWindowsPath(display)
    if posix.is_absolute() or windows.drive or windows.root:
        return "absolute paths are not applied"
    if ".." in posix.parts or ".." in windows.parts:
        return "paths that leave the root folder are not applied"
    return ""


def _hunk_sides(hunk: Hunk) -> tuple[list[str], list[str]]:
    """(lines the hunk expects, lines it writes), honouring `\\ No newline at end of file`."""
    source: list[str] = []
    target: list[str] = []
    last_type = ""
    for line in hunk:
        if line.line_type == LINE_TYPE_NO_NEWLINE:
            if last_type in (" ", "-"):
                source[-1] = source[-1].removesuffix("\n")
            if last_type in (" ", "+"):
                target[-1] = target[-1].removesuffix("\n")
            continue
        if line.line_type in (" ", "-"):
            source.append(line.value)
        if line.line_type in (" ", "+"):
            target.append(line.value)
        last_type = line.line_type
    return source, target


def _locate(lines: list[str], block: list[str], expected: int, floor: int) -> int | None:
    """Where `block` occurs in `lines` at or after `floor`, nearest to `expected`."""
    candidates = range(floor, len(lines) - len(block) + 1)
    for start in sorted(candidates, key=lambda s: abs(s - expected)):
        if lines[start : start + len(block)] == block:
            return start
    return None


def patched_text(original: str, patched_file: PatchedFile) -> tuple[str | None, str]:
    """Apply one file's hunks to `original`; (new text, "") or (None, reason)."""
    # Diff lines end at \n only (a \r stays part of the line), so split on that alone.
    parts = original.split("\n")
    lines = [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    output: list[str] = []
    cursor = 0
    for number, hunk in enumerate(patched_file, start=1):
        source, target = _hunk_sides(hunk)
        start = _locate(lines, source, max(hunk.source_start - 1, 0), cursor)
        if start is None:
            return (
                None,
                f"hunk {number} (@@ -{hunk.source_start},{hunk.source_length} @@) does not match",
            )
        output.extend(lines[cursor:start])
        output.extend(target)
        cursor = start + len(source)
    output.extend(lines[cursor:])
    return "".join(output), ""


def apply_patch(data: bytes, root: Path) -> Iterator[AppliedFile]:
    """Apply each file of the patch under `root`; a file whose hunks do not match is refused."""
    for patched_file in parse_patch(data):
        display = patched_file.path
        if patched_file.is_added_file or patched_file.is_removed_file:
            yield AppliedFile(display, 0, "only modifications of existing files are supported")
            continue
        unsafe = _unsafe_path(display)
        if unsafe:
            yield AppliedFile(display, 0, unsafe)
            continue
        path = root / display
        if path.is_dir():
            yield AppliedFile(display, 0, "is a directory")
            continue
        try:
            raw = path.read_bytes()
        except OSError as exc:
            yield AppliedFile(display, 0, f"cannot read: {exc.strerror or exc}")
            continue
        new_text, reason = patched_text(raw.decode("latin-1"), patched_file)
        if new_text is None:
            yield AppliedFile(display, len(patched_file), reason)
            continue
        source = Source(path=path, raw=raw, text="", encoding="latin-1", digest=digest(raw))
        try:
            write_if_unchanged(source, new_text.encode("latin-1"))
        except (SourceError, OSError) as exc:
            yield AppliedFile(display, len(patched_file), str(exc))
            continue
        yield AppliedFile(display, len(patched_file))
