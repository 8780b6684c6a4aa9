"""Output formats: each module turns a list of FileResult into text, and nothing else."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from flowfix.engine import FileResult
from flowfix.rules import Finding


def all_findings(results: Iterable[FileResult]) -> Iterator[Finding]:
    """Findings of all files, in path, position, code order."""
    for result in sorted(results, key=lambda r: r.display):
        yield from sorted(result.findings, key=lambda f: (f.span, f.code))


def open_findings(results: Iterable[FileResult]) -> Iterator[Finding]:
    """`all_findings` without those a fix run has fixed."""
    return (f for f in all_findings(results) if not f.fixed)


def table(rows: Sequence[Sequence[str]], right_aligned: int = 0) -> list[str]:
    """`rows` as aligned lines, two spaces apart: every column but the last padded to its
    widest cell, the first `right_aligned` columns to the right."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(width) if i < right_aligned else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=False))
        ]
        lines.append("  ".join([*cells, row[-1]]))
    return lines


def all_errors(results: Iterable[FileResult]) -> Iterator[tuple[str, str]]:
    for result in sorted(results, key=lambda r: r.display):
        for error in result.errors:
            yield result.display, error
