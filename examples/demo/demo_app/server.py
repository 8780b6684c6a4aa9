"""A fake LLM / search / embedding API on loopback, with deterministic answers.

`FakeAPI` runs a `ThreadingHTTPServer` on 127.0.0.1 (a free port) in a daemon thread and
counts the requests it serves per path, so tests can check how many calls a pipeline made.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DOCUMENTS = [
    "PocketFlow nodes run prep, exec and post in order and share a plain dict store.",
    "An AsyncFlow awaits async nodes but runs sync nodes inline on the event loop.",
    "Dynamiq nodes create their clients in init_components and reuse them in execute.",
    "A thread pool should be created once and shut down when the application stops.",
    "Blocking calls inside a coroutine stall every other task on the event loop.",
    "Embedding requests are cheaper in batches than one text at a time.",
]
WORD = re.compile(r"[a-z]+")


def _words(text: str) -> set[str]:
    return set(WORD.findall(text.lower()))


def search(query: str, top_k: int) -> list[dict]:
    """Rank the documents by the number of words they share with the query."""
    wanted = _words(query)
    scored = [(len(wanted & _words(doc)), -i, doc) for i, doc in enumerate(DOCUMENTS)]
    scored.sort(reverse=True)
    return [{"id": -i, "text": doc, "score": score} for score, i, doc in scored[:top_k]]


def embed(text: str) -> list[float]:
    """An 8-dimensional unit vector derived from the text's SHA-256."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    vector = [byte - 127.5 for byte in digest[:8]]
    norm = math.sqrt(sum(x * x for x in vector))
    return [round(x / norm, 6) for x in vector]


def complete(prompt: str, model: str) -> str:
    """Answer with the first sentence of the prompt's last non-empty line (before `Answer:`)."""
    lines = [line.strip() for line in prompt.splitlines() if line.strip()]
    lines = [line for line in lines if line != "Answer:"] or [""]
    first = lines[-1].split(". ")[0].rstrip(".")
    return f"[{model}] {first}."


class FakeAPI:
    """The server plus its bookkeeping: request counts, per-path latency, open connections."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.latency: dict[str, float] = {}
        self.open_connections = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeAPI:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeAPI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()
            self.latency.clear()

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)

    def _record(self, path: str) -> float:
        with self._lock:
            self.counts[path] += 1
            return self.latency.get(path, 0.0)

    def _connection(self, delta: int) -> None:
        with self._lock:
            self.open_connections += delta

    def answer(self, path: str, body: dict) -> tuple[int, dict]:
        if path == "/v1/complete":
            return 200, {"text": complete(body["prompt"], body.get("model", "demo-small"))}
        if path == "/v1/embed":
            return 200, {"vectors": [embed(text) for text in body["texts"]]}
        if path == "/v1/search":
            return 200, {"results": search(body["query"], int(body.get("top_k", 3)))}
        return 404, {"error": f"unknown endpoint {path}"}


def _handler_for(api: FakeAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def setup(self) -> None:
            api._connection(+1)
            super().setup()

        def finish(self) -> None:
            try:
                super().finish()
            finally:
                api._connection(-1)

        def do_POST(self) -> None:  # noqa: N802 (http.server naming)
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            delay = api._record(self.path)
            if delay:
                time.sleep(delay)
            status, payload = api.answer(self.path, body)
            data = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler
