"""CON001 on module-level helpers: reported when the run shows them called per call (from a
node, in a loop, from a request handler, through another helper), not when nothing in the run
calls them repeatedly; unknown callers (the helper's project is not in the run) still report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flowfix.cli import app

HELPER = (
    "from openai import OpenAI\n\n\n"
    "def ask(prompt):\n"
    "    client = OpenAI()\n"
    "    return client.responses.create(model='m', input=prompt).output_text\n\n\n"
    "if __name__ == '__main__':\n"
    "    print(ask('hello'))\n"
)
THROUGH_GEMINI = (
    "from google import genai\n\n\n"
    "def _gemini(prompt):\n"
    "    client = genai.Client()\n"
    "    return client.models.generate_content(contents=prompt).text\n\n\n"
    "def ask(prompt):\n"
    "    return _gemini(prompt)\n"
)
NODE = (
    "from pocketflow import Node\n\n"
    "{imports}\n\n\n"
    "class Answer(Node):\n"
    "    def exec(self, question):\n"
    "        return {call}(question)\n"
)


def findings(root: Path, *paths: str) -> list[tuple[str, int]]:
    result = CliRunner().invoke(
        app, ["check", "--select", "CON001", "--no-cache", "--format", "json", *paths]
    )
    return [(f["path"], f["line"]) for f in json.loads(result.stdout)["findings"]]


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {
                "app-one/utils.py": HELPER,
                "app-one/nodes.py": NODE.format(imports="from utils import ask", call="ask"),
            },
            [("app-one/utils.py", 5)],
            id="sibling-script-import",
        ),
        pytest.param(
            {
                "app-one/utils/ask.py": HELPER,
                "app-one/flow.py": NODE.format(imports="from utils.ask import ask", call="ask"),
            },
            [("app-one/utils/ask.py", 5)],
            id="module-in-a-folder",
        ),
        pytest.param(
            {
                "app-one/utils/ask.py": HELPER,
                "app-one/nodes/answer.py": NODE.format(
                    imports="from utils import ask as llm", call="llm.ask"
                ),
            },
            [("app-one/utils/ask.py", 5)],
            id="node-in-a-subfolder-imports-from-the-app-root",
        ),
        pytest.param(
            {
                "app-one/utils.py": HELPER,
                "app-one/nodes.py": NODE.format(imports="import utils", call="utils.other"),
            },
            [],
            id="only-called-by-its-main-block",
        ),
        pytest.param(
            {
                "app-one/utils.py": HELPER,
                "app-two/nodes.py": NODE.format(imports="from utils import ask", call="ask"),
                "app-one/main.py": "from utils import ask\n\n\ndef main():\n    ask('hi')\n",
            },
            [],
            id="another-app-calls-its-own-utils",
        ),
        pytest.param(
            {
                "pkg/__init__.py": "",
                "pkg/llm.py": HELPER,
                "pkg/jobs/__init__.py": "",
                "pkg/jobs/batch.py": (
                    "from ..llm import ask\n\n\n"
                    "def run(questions):\n"
                    "    return [ask(q) for q in questions]\n"
                ),
            },
            [("pkg/llm.py", 5)],
            id="package-relative-import-in-a-loop",
        ),
        pytest.param(
            {
                "api/utils.py": HELPER,
                "api/routes.py": (
                    "from fastapi import APIRouter\n\n"
                    "from utils import ask\n\n"
                    "router = APIRouter()\n\n\n"
                    "@router.post('/ask')\n"
                    "async def answer(question: str):\n"
                    "    return {'answer': ask(question)}\n"
                ),
            },
            [("api/utils.py", 5)],
            id="request-handler",
        ),
        pytest.param(
            {
                "tool/utils/llm.py": THROUGH_GEMINI,
                "tool/nodes.py": NODE.format(imports="from utils.llm import ask", call="ask"),
            },
            [("tool/utils/llm.py", 5)],
            id="through-another-helper",
        ),
        pytest.param(
            {
                "tool/utils/llm.py": THROUGH_GEMINI,
                "tool/main.py": "from utils.llm import ask\n\nprint(ask('once'))\n",
            },
            [],
            id="through-another-helper-run-once",
        ),
    ],
)
def test_helpers_are_reported_when_the_run_calls_them_per_call(
    root: Path, files: dict[str, str], expected: list[tuple[str, int]]
) -> None:
    write(root, files)
    assert findings(root, ".") == expected


def test_a_helper_whose_callers_are_not_in_the_run_is_reported(root: Path) -> None:
    write(
        root,
        {
            "app-one/utils.py": HELPER,
            "app-one/nodes.py": NODE.format(imports="import utils", call="utils.other"),
        },
    )
    assert findings(root, "app-one/utils.py") == [("app-one/utils.py", 5)]


def test_a_client_factory_in_another_file_is_one_call_away(root: Path) -> None:
    write(
        root,
        {
            "chat/utils/__init__.py": "",
            "chat/utils/store.py": (
                "from qdrant_client import QdrantClient\n\n\n"
                "def get_store_client():\n"
                "    return QdrantClient(url='http://localhost:6333')\n"
            ),
            "chat/utils/query.py": (
                "from .store import get_store_client\n\n\n"
                "def query(vector):\n"
                "    client = get_store_client()\n"
                "    return client.query_points('docs', query=vector).points\n"
            ),
            "chat/nodes/answer.py": NODE.format(
                imports="from utils.query import query", call="query"
            ),
        },
    )
    assert findings(root, ".") == [("chat/utils/query.py", 5)]


def test_event_loop_helpers_in_another_file(root: Path) -> None:
    """ASY007 asks the same question: a `utils/` wrapper whose `asyncio.run()` a node's
    `exec` runs for every item is reported; one only a service method calls, and one that
    starts a whole async flow run, are not (a class that is no node, an entry point)."""
    write(
        root,
        {
            "bot/utils/__init__.py": "",
            "bot/utils/crawler.py": (
                "import asyncio\n\n\n"
                "async def _crawl(url):\n"
                "    return url\n\n\n"
                "def crawl_page(url):\n"
                "    return asyncio.run(_crawl(url))\n\n\n"
                "def crawl_site(url):\n"
                "    return asyncio.run(_crawl(url))\n\n\n"
                "def run_pipeline(flow, shared):\n"
                "    asyncio.run(flow.run_async(shared))\n"
            ),
            "bot/nodes.py": (
                "from pocketflow import BatchNode\n\n"
                "from utils.crawler import crawl_page, run_pipeline\n\n\n"
                "class Crawl(BatchNode):\n"
                "    def exec(self, url):\n"
                "        run_pipeline(None, {})\n"
                "        return crawl_page(url)\n"
            ),
            "bot/service.py": (
                "from utils.crawler import crawl_site\n\n\n"
                "class Service:\n"
                "    def refresh(self, url):\n"
                "        return crawl_site(url)\n"
            ),
        },
    )
    result = CliRunner().invoke(app, ["check", "--select", "ASY007", "--no-cache", "-q", "."])
    assert result.stdout.splitlines() == [
        "bot/utils/crawler.py:9:12: ASY007 `asyncio.run()` creates an event loop on every call "
        "of `crawl_page()` (a helper the run calls per call); make the caller async or reuse "
        "one loop"
    ]
