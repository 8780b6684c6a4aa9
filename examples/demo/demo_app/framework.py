"""A tiny stand-in for Dynamiq's node base class (the real package is too heavy for a demo).

As in Dynamiq, a node builds its components once in `init_components()` (called on
construction), does its work in `execute(input_data)`, and `run()` wraps `execute` with the
tracing callbacks.
"""

from __future__ import annotations

import time
from typing import Any


class ConnectionManager:
    """Hands out one client per (client class, base URL), shared by every node."""

    def __init__(self) -> None:
        self._clients: dict[tuple[type, str], Any] = {}

    def get_client(self, client_cls: type, base_url: str) -> Any:
        key = (client_cls, base_url)
        if key not in self._clients:
            self._clients[key] = client_cls(base_url)
        return self._clients[key]


class Node:
    """Base node: `init_components()` once, `execute()` per input, `run()` with callbacks."""

    def __init__(self, name: str | None = None, callbacks: list | None = None, **kwargs: Any):
        self.name = name or type(self).__name__
        self.callbacks = list(callbacks or [])
        self._connection_manager: ConnectionManager | None = None
        for key, value in kwargs.items():
            setattr(self, key, value)
        self.init_components()

    def init_components(self, connection_manager: ConnectionManager | None = None) -> None:
        self._connection_manager = connection_manager or ConnectionManager()

    def to_dict(self, for_tracing: bool = False) -> dict[str, Any]:
        data = {"name": self.name, "type": type(self).__name__}
        if for_tracing:
            data["callbacks"] = len(self.callbacks)
        return data

    def execute(self, input_data: dict, config: Any = None, **kwargs: Any) -> dict:
        raise NotImplementedError

    def run(self, input_data: dict, config: Any = None, **kwargs: Any) -> dict:
        for callback in self.callbacks:
            callback.on_node_start(self.to_dict(for_tracing=True), input_data)
        start = time.time()
        output = self.execute(input_data, config, **kwargs)
        elapsed = time.time() - start
        for callback in self.callbacks:
            callback.on_node_end(self.to_dict(for_tracing=True), output, elapsed)
        return output


class Tracer:
    """A callback that records node starts and ends (and how long each run took)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.durations: list[float] = []

    def on_node_start(self, node: dict, input_data: dict) -> None:
        self.events.append(("start", node["name"]))

    def on_node_end(self, node: dict, output: dict, elapsed: float) -> None:
        self.events.append(("end", node["name"]))
        self.durations.append(elapsed)
