"""Metadata for the detectors of one module, each kind computed the first time it is asked for.

libcst's MetadataWrapper computes every declared provider before a visit starts, and resolving
providers that are not batchable costs it one more traversal of the module, with no visitor,
on top of their own. Here positions, parents and scopes are computed by their providers
directly, on first use: a candidate file whose detectors report nothing never pays for
positions, and one whose detectors never ask about a name never pays for scopes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import libcst as cst
from libcst.metadata import BaseMetadataProvider, PositionProvider, ProviderT

from flowfix.parents import ParentProvider
from flowfix.scope import ScopeProvider

NodeMetadata = Mapping[cst.CSTNode, object]
PROVIDERS: tuple[Callable[[], BaseMetadataProvider[object]], ...] = (
    PositionProvider,
    ParentProvider,
    ScopeProvider,
)


class LazyMetadata(Mapping[ProviderT, NodeMetadata]):
    """What a detector's `metadata` holds: provider → its mapping for `module`, on demand."""

    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self._computed: dict[ProviderT, NodeMetadata] = {}

    def __getitem__(self, provider: ProviderT) -> NodeMetadata:
        found = self._computed.get(provider)
        if found is None:
            if provider not in PROVIDERS:
                raise KeyError(provider)
            instance = provider()
            instance._gen_impl(self.module)
            found = self._computed[provider] = instance._computed
        return found

    def __contains__(self, provider: object) -> bool:
        return provider in PROVIDERS

    def __iter__(self) -> Iterator[ProviderT]:
        return iter(PROVIDERS)  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(PROVIDERS)
