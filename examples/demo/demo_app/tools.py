"""Dynamiq-style tool nodes: web search, summarizer, reranker."""

from __future__ import annotations

import json
import math
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .clients import CompletionClient, EmbeddingClient, SearchClient
from .framework import Node

CONFIG_PATH = Path(__file__).with_name("config.json")


class WebSearch(Node):
    """Searches the knowledge base and returns the best passages."""

    top_k: int = 3

    def init_components(self, connection_manager=None):
        self._queries = 0

    def execute(self, input_data, config=None, **kwargs):
        client = SearchClient(os.environ["DEMO_API_URL"])
        self._queries += 1
        return {"passages": [hit["text"] for hit in client.search(input_data["query"], self.top_k)]}


class Summarizer(Node):
    """Summarizes every passage in parallel, with the model named in config.json."""

    workers: int = 2

    def execute(self, input_data, config=None, **kwargs):
        settings = json.loads(CONFIG_PATH.read_text(encoding="utf-8"))
        client = CompletionClient(os.environ["DEMO_API_URL"])
        prompts = [settings["summary_prompt"].format(text=text) for text in input_data["passages"]]
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            summaries = list(pool.map(lambda p: client.complete(p, settings["model"]), prompts))
        return {"summaries": summaries}


class Reranker(Node):
    """Orders passages by cosine similarity between their embeddings and the query's."""

    def execute(self, input_data, config=None, **kwargs):
        client = EmbeddingClient(os.environ["DEMO_API_URL"])
        texts = [input_data["query"], *input_data["passages"]]
        pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="rerank")
        futures = [pool.submit(client.embed, [text]) for text in texts]
        query, *vectors = [future.result()[0] for future in futures]
        pairs = zip(vectors, input_data["passages"], strict=True)
        ranked = sorted(pairs, key=lambda pair: -_cosine(query, pair[0]))
        return {"passages": [text for _, text in ranked]}


def _cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def embed_corpus(batches, client):
    """Embeds the corpus batch by batch, texts of a batch in parallel."""
    vectors = []
    for batch in batches:
        with ThreadPoolExecutor(max_workers=2) as pool:
            vectors.extend(pool.map(lambda text: client.embed([text])[0], batch))
    return vectors
