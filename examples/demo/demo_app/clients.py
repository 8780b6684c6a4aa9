"""Small stdlib HTTP clients for the fake API, shaped like the SDK clients they stand in for."""

from __future__ import annotations

import json
import logging
import os
import urllib.request

log = logging.getLogger(__name__)


class APIClient:
    """POSTs JSON to `base_url` (default: the `DEMO_API_URL` environment variable).

    `APIClient.created` counts the clients built so far, as SDK telemetry would: each one
    stands for a connection pool and an authentication handshake in a real SDK.
    """

    created = 0

    def __init__(self, base_url: str | None = None, timeout: float = 10.0) -> None:
        APIClient.created += 1
        self.base_url = (base_url or os.environ["DEMO_API_URL"]).rstrip("/")
        self.timeout = timeout

    def post(self, path: str, payload: dict) -> dict:
        request = urllib.request.Request(
            self.base_url + path,
            data=json.dumps(payload).encode("utf-8"),
            headers={"Content-Type": "application/json"},
        )
        log.debug("POST %s (%d bytes)", path, len(json.dumps(payload)))
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return json.loads(response.read())


class CompletionClient(APIClient):
    def complete(self, prompt: str, model: str = "demo-small") -> str:
        return self.post("/v1/complete", {"prompt": prompt, "model": model})["text"]


class EmbeddingClient(APIClient):
    def embed(self, texts: list[str]) -> list[list[float]]:
        return self.post("/v1/embed", {"texts": texts})["vectors"]


class SearchClient(APIClient):
    def search(self, query: str, top_k: int = 3) -> list[dict]:
        return self.post("/v1/search", {"query": query, "top_k": top_k})["results"]


def call_llm(prompt: str, model: str = "demo-small") -> str:
    """The cookbook helper every node calls: one completion for one prompt."""
    client = CompletionClient(os.environ["DEMO_API_URL"], timeout=30.0)
    return client.complete(prompt, model=model)
