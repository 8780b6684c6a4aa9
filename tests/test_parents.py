"""flowfix's parent metadata maps every node exactly as libcst's ParentNodeProvider does."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, ParentNodeProvider

from flowfix.parents import ParentProvider
from helpers import PARITY_SOURCES, source_id


@pytest.mark.parametrize("path", PARITY_SOURCES, ids=source_id)
def test_same_parents_as_libcst(path: Path) -> None:
    wrapper = MetadataWrapper(cst.parse_module(path.read_bytes()), unsafe_skip_copy=True)
    expected = dict(wrapper.resolve(ParentNodeProvider))
    assert expected
    assert dict(wrapper.resolve(ParentProvider)) == expected
