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


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


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
