"""PocketFlow nodes of the research assistant: load, retrieve, answer, embed, score."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pocketflow import AsyncFlow, AsyncNode, BatchNode, Flow, Node

from .clients import EmbeddingClient, call_llm

DATA = Path(__file__).parent / "data"
MAX_WORKERS = 4


class LoadQuestions(Node):
    """Reads one question per line from `shared["questions_file"]`."""

    def prep(self, shared):
        return shared["questions_file"]

    def exec(self, path):
        with open(path, encoding="utf-8") as handle:
            return [line.strip() for line in handle if line.strip()]

    def post(self, shared, prep_res, exec_res):
        shared["questions"] = exec_res


class Retrieve(AsyncNode):
    """Fetches supporting passages for each question; the search API is rate limited."""

    def __init__(self, pause=0.02, top_k=2):
        super().__init__()
        self.pause = pause
        self.top_k = top_k

    async def prep_async(self, shared):
        return shared["questions"]

    async def exec_async(self, questions):
        passages = {}
        for question in questions:
            time.sleep(self.pause)  # stay under the provider's rate limit
            body = json.dumps({"query": question, "top_k": self.top_k}).encode("utf-8")
            request = urllib.request.Request(
                os.environ["DEMO_API_URL"] + "/v1/search",
                data=body,
                headers={"Content-Type": "application/json"},
            )
            response = urllib.request.urlopen(request, timeout=10)
            passages[question] = [hit["text"] for hit in json.loads(response.read())["results"]]
            response.close()
        return passages

    async def post_async(self, shared, prep_res, exec_res):
        shared["passages"] = exec_res


class Answer(AsyncNode):
    """Drafts an answer for every question from its passages."""

    async def prep_async(self, shared):
        template = (DATA / "answer_prompt.txt").read_text(encoding="utf-8")
        return [
            (question, template.format(question=question, context=" ".join(passages)))
            for question, passages in shared["passages"].items()
        ]

    async def exec_async(self, prompts):
        answers = []
        for question, prompt in prompts:
            answers.append((question, call_llm(prompt)))
        return answers

    async def post_async(self, shared, prep_res, exec_res):
        for question, answer in exec_res:
            shared["answers"].append({"question": question, "answer": answer})
        return "default"


class EmbedAnswers(BatchNode):
    """Embeds each answer, one request per answer."""

    def prep(self, shared):
        return [item["answer"] for item in shared["answers"]]

    def exec(self, text):
        client = EmbeddingClient(os.environ["DEMO_API_URL"])
        return client.embed([text])[0]

    def post(self, shared, prep_res, exec_res):
        shared["vectors"] = exec_res


class ScoreAnswers(Node):
    """Scores every answer by the share of its words found in the passages."""

    def prep(self, shared):
        passages = shared["passages"]
        return [(item["answer"], passages[item["question"]]) for item in shared["answers"]]

    def exec(self, pairs):
        with ThreadPoolExecutor(max_workers=MAX_WORKERS) as pool:
            return list(pool.map(_overlap, pairs))

    def post(self, shared, prep_res, exec_res):
        shared.setdefault("scores", []).extend(exec_res)


def _overlap(pair):
    answer, passages = pair
    words = set(answer.lower().split())
    found = set(" ".join(passages).lower().split())
    return round(len(words & found) / max(len(words), 1), 3)


def build_answer_flow(pause=0.02):
    """load >> retrieve >> answer, run on the event loop."""
    load, retrieve, answer = LoadQuestions(), Retrieve(pause=pause), Answer()
    load >> retrieve >> answer
    return AsyncFlow(start=load)


def build_review_flow():
    """embed >> score, plain sync flow."""
    embed, score = EmbedAnswers(), ScoreAnswers()
    embed >> score
    return Flow(start=embed)
