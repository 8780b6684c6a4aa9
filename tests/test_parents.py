"""flowfix's parent metadata maps every node exactly as libcst's ParentNodeProvider does."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, ParentNodeProvider

from flowfix.parents import ParentProvider

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted(
    path
    for pattern in ("fixtures/[A-Z]*/*.py", "flowfix/*.py", "examples/**/*.py")
    for path in ROOT.glob(pattern)
    if path.stat().st_size
)


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_same_parents_as_libcst(path: Path) -> None:
    wrapper = MetadataWrapper(cst.parse_module(path.read_bytes()), unsafe_skip_copy=True)
    expected = dict(wrapper.resolve(ParentNodeProvider))
    assert expected
    assert dict(wrapper.resolve(ParentProvider)) == expected
