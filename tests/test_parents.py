"""`flowfix.edits.Parents` gives every node the parent libcst's own provider gives it."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, ParentNodeProvider

from flowfix.edits import Parents

FIXTURES = sorted(Path(__file__).parent.parent.joinpath("fixtures").rglob("*.py"))


@pytest.mark.parametrize("path", FIXTURES[::7], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_parents_match_libcsts(path: Path) -> None:
    wrapper = MetadataWrapper(cst.parse_module(path.read_bytes()))  # in its own encoding
    ours = wrapper.resolve(Parents)
    theirs = wrapper.resolve(ParentNodeProvider)
    assert ours.keys() == theirs.keys()
    assert all(ours[node] is theirs[node] for node in theirs)
