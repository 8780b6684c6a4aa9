"""Sync clients built once in one module of the run and used in another's coroutines (ASY002):
a module-level `client = OpenAI()` imported by name, read on its module, re-exported by a
package, or returned by an imported factory; async clients, awaited calls, rebound names,
modules outside the run and sync functions stay silent."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from flowfix.cli import app
from flowfix.config import Config
from flowfix.engine import detect
from flowfix.project import ProjectIndex
from flowfix.rules import registry
from helpers import check_tree, write_tree

CLIENTS = (
    "import redis\n"
    "from openai import AsyncOpenAI, OpenAI\n"
    "from qdrant_client import QdrantClient\n\n"
    "client = OpenAI()\n"
    "aclient = AsyncOpenAI()\n"
    "cache = redis.Redis(host='localhost')\n"
    "qdrant: QdrantClient = QdrantClient(url='http://localhost:6333')\n"
    "swapped = OpenAI()\n"
    "lazy = None\n\n\n"
    "def get_llm():\n"
    "    return OpenAI()\n\n\n"
    "async def get_async_openai():\n"
    "    return OpenAI()\n\n\n"
    "def use_async():\n"
    "    global swapped\n"
    "    swapped = AsyncOpenAI()\n\n\n"
    "def connect():\n"
    "    global lazy\n"
    "    lazy = redis.Redis()\n"
)
ADVICE = "use `openai.AsyncOpenAI` or `asyncio.to_thread()`"


def test_an_imported_client_by_name_module_reexport_and_factory(root: Path) -> None:
    """The file that calls the clients names none of their packages; a module-level
    `None` that a function sets to a sync client (`global lazy`) is that client."""
    files = {
        "app/__init__.py": "",
        "app/utils/__init__.py": "from .llm import client\n",
        "app/utils/llm.py": CLIENTS,
        "app/routes.py": (
            "from app import utils\n"
            "from app.utils import client\n"
            "from app.utils.llm import cache, get_llm, lazy, qdrant\n"
            "import app.utils.llm as llm\n\n\n"
            "async def answer(prompt):\n"
            "    reply = client.chat.completions.create(model='m', messages=[])\n"
            "    vector = llm.client.embeddings.create(model='m', input=prompt)\n"
            "    cached = cache.get(prompt) or lazy.get(prompt)\n"
            "    hits = qdrant.query_points('docs', query=vector)\n"
            "    made = get_llm().chat.completions.create(model='m', messages=[])\n"
            "    other = get_llm()\n"
            "    other.responses.create(model='m', input=prompt)\n"
            "    return utils.client.completions.create(model='m', prompt=prompt)\n"
        ),
    }
    assert check_tree(root, files, "ASY002") == [
        f"app/routes.py:8:13: ASY002 `client.chat.completions.create()` blocks the event loop "
        f"in async `answer()`; {ADVICE}",
        f"app/routes.py:9:14: ASY002 `llm.client.embeddings.create()` blocks the event loop in "
        f"async `answer()`; {ADVICE}",
        "app/routes.py:10:14: ASY002 `cache.get()` blocks the event loop in async "
        "`answer()`; use `redis.asyncio.Redis` or `asyncio.to_thread()`",
        "app/routes.py:10:35: ASY002 `lazy.get()` blocks the event loop in async `answer()`; "
        "use `redis.asyncio.Redis` or `asyncio.to_thread()`",
        "app/routes.py:11:12: ASY002 `qdrant.query_points()` blocks the event loop in async "
        "`answer()`; use `qdrant_client.AsyncQdrantClient` or `asyncio.to_thread()`",
        f"app/routes.py:12:12: ASY002 `get_llm.chat.completions.create()` blocks the event "
        f"loop in async `answer()`; {ADVICE}",
        f"app/routes.py:14:5: ASY002 `other.responses.create()` blocks the event loop in async "
        f"`answer()`; {ADVICE}",
        f"app/routes.py:15:12: ASY002 `utils.client.completions.create()` blocks the event "
        f"loop in async `answer()`; {ADVICE}",
    ]


def test_the_fix_offloads_a_call_on_an_imported_client(root: Path) -> None:
    """As for a client built in the module: `await asyncio.to_thread(...)`, an unsafe fix."""
    files = {
        "llm.py": "from openai import OpenAI\n\nclient = OpenAI()\n",
        "app.py": (
            "from llm import client\n\n\n"
            "async def answer(prompt):\n"
            "    return client.chat.completions.create(model='m', input=prompt)\n"
        ),
    }
    write_tree(root, files)
    args = ["diff", "--select", "ASY002", "--no-cache", "."]
    assert CliRunner().invoke(app, args).stdout == ""
    result = CliRunner().invoke(app, [*args, "--unsafe-fixes"])
    assert [line for line in result.stdout.splitlines() if line[:1] in "+-"] == [
        "--- a/app.py",
        "+++ b/app.py",
        "+import asyncio",
        "+",
        "-    return client.chat.completions.create(model='m', input=prompt)",
        "+    return await asyncio.to_thread(client.chat.completions.create, model='m', "
        "input=prompt)",
    ]


def test_near_misses_stay_silent(root: Path) -> None:
    """An async client, an awaited call, a name rebound in the importing module, a client the
    other module rebinds to an async one, an async factory, a call in a sync `def` or a
    nested `def`, and a client of a module the run does not include."""
    files = {
        "app/__init__.py": "",
        "app/llm.py": CLIENTS,
        "vendor/llm.py": "from openai import OpenAI\n\nclient = OpenAI()\n",
        "app/routes.py": (
            "from app.llm import aclient, client, get_async_openai, swapped\n"
            "from app.llm import cache\n"
            "from vendor.llm import client as outside\n\n\n"
            "async def answer(prompt):\n"
            "    await aclient.chat.completions.create(model='m', messages=[])\n"
            "    await aclient.embeddings.create(model='m', input=prompt)\n"
            "    swapped.chat.completions.create(model='m', messages=[])\n"
            "    get_async_openai().chat.completions.create(model='m', messages=[])\n"
            "    outside.chat.completions.create(model='m', messages=[])\n\n"
            "    def later():\n"
            "        return cache.get(prompt)\n\n"
            "    return later\n\n\n"
            "async def rebound(prompt, cache):\n"
            "    return cache.get(prompt)\n\n\n"
            "def sync_answer(prompt):\n"
            "    return client.chat.completions.create(model='m', messages=[])\n"
        ),
        "app/local.py": (
            "from openai import AsyncOpenAI\n\n"
            "from app.llm import client\n\n"
            "client = AsyncOpenAI()\n\n\n"
            "async def answer(prompt):\n"
            "    return client.chat.completions.create(model='m', messages=[])\n"
        ),
    }
    assert check_tree(root, files, "ASY002", "app") == []


def test_only_calls_of_a_client_method_read_the_imported_module(root: Path) -> None:
    """`helpers.render(...)` names no blocking client method: its module is not read;
    `settings.get(...)` might be a Redis command, so `app.settings` is read to find out."""
    files = {
        "app/__init__.py": "",
        "app/helpers.py": "from openai import OpenAI\n\nclient = OpenAI()\n",
        "app/settings.py": "settings = dict(model='m')\n",
        "app/routes.py": (
            "from app import helpers\n"
            "from app.settings import settings\n\n\n"
            "async def answer(prompt):\n"
            "    return helpers.render(prompt, settings.get('model'))\n"
        ),
    }
    write_tree(root, files)
    paths = sorted(root.rglob("*.py"))
    index = ProjectIndex.lazy((path, path.relative_to(root).as_posix()) for path in paths)
    text = (root / "app" / "routes.py").read_text()
    found = detect(text, "app/routes.py", [registry()["ASY002"]], Config(), index).findings
    assert found == []
    assert sorted(index.unread) == ["app.helpers", "app.routes"]


def test_what_an_imported_factory_returns_kept_in_the_module_or_on_self(root: Path) -> None:
    """`client = get_llm()` at module level and `self.llm = get_llm()` in `__init__` hold the
    factory's sync client, as `client = OpenAI()` would."""
    files = {
        "app/__init__.py": "",
        "app/llm.py": CLIENTS,
        "app/nodes.py": (
            "from app.llm import get_llm\n\n"
            "client = get_llm()\n\n\n"
            "class Answer:\n"
            "    def __init__(self):\n"
            "        self.llm = get_llm()\n\n"
            "    async def run(self, prompt):\n"
            "        first = client.responses.create(model='m', input=prompt)\n"
            "        return self.llm.responses.create(model='m', input=first)\n"
        ),
    }
    assert check_tree(root, files, "ASY002") == [
        f"app/nodes.py:11:17: ASY002 `client.responses.create()` blocks the event loop in "
        f"async `run()`; {ADVICE}",
        f"app/nodes.py:12:16: ASY002 `self.llm.responses.create()` blocks the event loop in "
        f"async `run()`; {ADVICE}",
    ]
