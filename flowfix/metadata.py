"""Metadata for the detectors of one module, each kind computed the first time it is asked for.

libcst's MetadataWrapper computes every declared provider before a visit starts, and resolving
providers that are not batchable costs it one more traversal of the module, with no visitor,
on top of their own. Here parents and scopes are computed by their providers directly, on
first use, and positions statement by statement (flowfix.positions): a candidate file whose
detectors report nothing never pays for positions, and one whose detectors never ask about a
name never pays for scopes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import libcst as cst
from libcst.metadata import BaseMetadataProvider, PositionProvider, ProviderT

from flowfix.parents import ParentProvider
from flowfix.positions import StatementPositions
from flowfix.scope import ScopeProvider

NodeMetadata = Mapping[cst.CSTNode, object]
PROVIDERS: tuple[Callable[[], BaseMetadataProvider[object]], ...] = (
    PositionProvider,
    ParentProvider,
    ScopeProvider,
)


class LazyMetadata(Mapping[ProviderT, NodeMetadata]):
    """What a detector's `metadata` holds: provider → its mapping for `module`, on demand."""

    def __init__(self, module: cst.Module, text: str) -> None:
        self.module = module
        self.text = text  # the module's code
        self._computed: dict[ProviderT, NodeMetadata] = {}

    def __getitem__(self, provider: ProviderT) -> NodeMetadata:
        found = self._computed.get(provider)
        if found is None:
            if provider not in PROVIDERS:
                raise KeyError(provider)
            if provider is PositionProvider:
                parents = self[ParentProvider]
                found = StatementPositions(self.module, self.text, parents)  # type: ignore[arg-type]
            else:
                instance = provider()
                instance._gen_impl(self.module)
                found = instance._computed
            self._computed[provider] = found
        return found

    def __contains__(self, provider: object) -> bool:
        return provider in PROVIDERS

    def __iter__(self) -> Iterator[ProviderT]:
        return iter(PROVIDERS)  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(PROVIDERS)
