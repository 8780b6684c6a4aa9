"""Behaviour tests of the demo: what it answers, what it asks the API, how it treats the loop.

Most tests pin down behaviour that a fix must keep. Four state what the app is meant to do
and does not yet; they fail on the code as written and pass once `flowfix fix --unsafe-fixes`
has rewritten it (the repository's tests/test_demo_app.py checks exactly that):
`test_event_loop_stays_responsive`, `test_research_nodes_build_their_clients_once`,
`test_answers_share_one_client` and `test_scores_stay_bounded`.
"""

from __future__ import annotations

import asyncio
import time

from demo_app.clients import APIClient
from demo_app.framework import Tracer
from demo_app.main import answer_questions, format_results, run_pipeline
from demo_app.nodes import DATA, ScoreAnswers
from demo_app.tools import Reranker, Summarizer, WebSearch

QUESTIONS = [
    "How do PocketFlow nodes share data?",
    "Why should a thread pool be created once?",
    "What happens to the event loop when a coroutine blocks?",
]
ANSWERS = [
    "[demo-small] Context: PocketFlow nodes run prep, exec and post in order and share a plain"
    " dict store.",
    "[demo-small] Context: A thread pool should be created once and shut down when the"
    " application stops.",
    "[demo-small] Context: Blocking calls inside a coroutine stall every other task on the"
    " event loop.",
]
SUMMARIES = [
    "[demo-large] PocketFlow nodes run prep, exec and post in order and share a plain dict store.",
    "[demo-large] An AsyncFlow awaits async nodes but runs sync nodes inline on the event loop.",
]
TOPICS = ["thread pool shut down", "event loop blocking", "embedding batches"]
PAUSE = 0.3  # the rate-limit pause of the retrieval node, per question


def test_pipeline_answers_every_question(api):
    shared = run_pipeline()
    assert [item["question"] for item in shared["answers"]] == QUESTIONS
    assert [item["answer"] for item in shared["answers"]] == ANSWERS
    assert shared["scores"] == [0.875, 0.875, 0.867]
    assert shared["summaries"] == SUMMARIES
    assert [len(vector) for vector in shared["vectors"]] == [8, 8, 8]
    assert len(shared["question_vectors"]) == 3


def test_report_format(api):
    lines = format_results(run_pipeline()).splitlines()
    assert lines[:2] == [f"Q: {QUESTIONS[0]}", f"A: {ANSWERS[0]} (overlap 0.875)"]
    assert lines[6:] == ["Research summaries:", *(f"- {s}" for s in SUMMARIES)]


def test_requests_per_endpoint(api):
    run_pipeline()
    assert api.snapshot() == {"/v1/complete": 5, "/v1/embed": 10, "/v1/search": 4}


def test_tracing_callbacks_see_every_node(api):
    tracer = Tracer()
    run_pipeline(tracer=tracer)
    names = ["WebSearch", "Reranker", "Summarizer"]
    assert tracer.events == [(kind, name) for name in names for kind in ("start", "end")]
    assert len(tracer.durations) == 3 and min(tracer.durations) >= 0


def test_research_nodes_build_their_clients_once(api):
    """Nodes built once serve many requests; each should build its API client once."""
    search, rerank, summarize = WebSearch(), Reranker(), Summarizer()
    for topic in TOPICS:
        found = search.run({"query": topic})
        ranked = rerank.run({"query": topic, "passages": found["passages"]})
        assert len(summarize.run({"passages": ranked["passages"][:2]})["summaries"]) == 2
    assert api.snapshot()["/v1/search"] == len(TOPICS)
    assert APIClient.created <= 3


def test_answers_share_one_client(api):
    run_pipeline()
    assert len(api.snapshot()) == 3
    # One client per node (search, rerank, summarize, embed answers), one for the corpus
    # embedding, and a single completion client shared by every answer.
    assert APIClient.created <= 4 + 1 + 1


def test_event_loop_stays_responsive(api):
    """A heartbeat task keeps ticking while the answer flow runs on the same loop."""

    async def answer_with_heartbeat():
        gaps: list[float] = []
        done = asyncio.Event()

        async def heartbeat():
            last = time.perf_counter()
            while not done.is_set():
                await asyncio.sleep(0.005)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        beat = asyncio.create_task(heartbeat())
        await asyncio.sleep(0)
        shared = {"questions_file": str(DATA / "questions.txt"), "answers": [], "timings": {}}
        await answer_questions(shared, pause=PAUSE)
        done.set()
        await beat
        return shared, max(gaps)

    shared, worst_gap = asyncio.run(answer_with_heartbeat())
    assert len(shared["answers"]) == len(QUESTIONS)
    assert shared["timings"]["answer"] >= PAUSE * len(QUESTIONS)  # the pauses still happen
    assert worst_gap < PAUSE / 2, f"the event loop was blocked for {worst_gap:.3f} s"


def test_scores_stay_bounded(api):
    """A long-running session keeps a bounded score history in the shared store."""
    node, shared = ScoreAnswers(), {}
    for _ in range(300):
        node.post(shared, None, [0.5] * 10)
    assert 0 < len(shared["scores"]) <= 1000
