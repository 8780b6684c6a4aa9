"""Output formats: each module turns a list of FileResult into text, and nothing else."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from flowfix.engine import FileResult
from flowfix.rules import Finding


def all_findings(results: Iterable[FileResult]) -> Iterator[Finding]:
    """Findings of all files, in path, position, code order."""
    for result in sorted(results, key=lambda r: r.display):
        yield from sorted(result.findings, key=lambda f: (f.span, f.code))


def all_errors(results: Iterable[FileResult]) -> Iterator[tuple[str, str]]:
    for result in sorted(results, key=lambda r: r.display):
        for error in result.errors:
            yield result.display, error
