"""Runs the whole research pipeline against the fake API and prints the results."""

from __future__ import annotations

import asyncio
import os
import time

from .clients import EmbeddingClient
from .nodes import DATA, build_answer_flow, build_review_flow
from .server import FakeAPI
from .tools import Reranker, Summarizer, WebSearch, embed_corpus


async def answer_questions(shared, pause=0.02):
    """The async part: load, retrieve and answer (PocketFlow AsyncFlow)."""
    start = time.time()
    await build_answer_flow(pause=pause).run_async(shared)
    shared["timings"]["answer"] = time.time() - start
    return shared


def research(topic, tracer=None):
    """The Dynamiq part: search >> rerank >> summarize, with tracing callbacks."""
    callbacks = [tracer] if tracer else []
    search = WebSearch(callbacks=callbacks)
    rerank = Reranker(callbacks=callbacks)
    summarize = Summarizer(callbacks=callbacks)
    found = search.run({"query": topic})
    ranked = rerank.run({"query": topic, "passages": found["passages"]})
    return summarize.run({"passages": ranked["passages"][:2]})["summaries"]


def run_pipeline(questions_file=None, topic="thread pool shut down", tracer=None):
    """Every stage in order; returns the shared store plus the research summaries."""
    shared = {"questions_file": str(questions_file or DATA / "questions.txt"), "answers": []}
    shared["timings"] = {}
    asyncio.run(answer_questions(shared))
    build_review_flow().run(shared)
    shared["question_vectors"] = embed_corpus([shared["questions"]], EmbeddingClient())
    shared["summaries"] = research(topic, tracer)
    return shared


def format_results(shared):
    lines = []
    for item, score in zip(shared["answers"], shared["scores"], strict=True):
        lines.append(f"Q: {item['question']}")
        lines.append(f"A: {item['answer']} (overlap {score})")
    lines.append("Research summaries:")
    lines.extend(f"- {summary}" for summary in shared["summaries"])
    return "\n".join(lines)


def main():
    with FakeAPI() as api:
        os.environ["DEMO_API_URL"] = api.url
        print(format_results(run_pipeline()))
        print("Requests:", ", ".join(f"{path}={n}" for path, n in sorted(api.snapshot().items())))
