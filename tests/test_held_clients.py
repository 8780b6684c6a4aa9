"""Sync clients a coroutine reaches through a factory or a helper (ASY002, ASY006): a factory
of the coroutine's own module (`def get_client(): return OpenAI()`), a factory that returns a
client cached in a module global (`global _client; ...; return _client`), and a sync helper
calling a module-level client imported from another module of the run. Async clients and
factories, awaited calls, rebound names and helpers only sync code calls stay silent."""

from __future__ import annotations

from pathlib import Path

from helpers import check_tree

FACTORIES = (
    "from openai import AsyncOpenAI, OpenAI\n\n"
    "_client = None\n"
    "_aclient = None\n"
    "_mixed = None\n\n\n"
    "def get_client():\n"
    "    return OpenAI()\n\n\n"
    "def get_cached():\n"
    "    global _client\n"
    "    if _client is None:\n"
    "        _client = OpenAI()\n"
    "    return _client\n\n\n"
    "def get_async():\n"
    "    return AsyncOpenAI()\n\n\n"
    "def get_cached_async():\n"
    "    global _aclient\n"
    "    if _aclient is None:\n"
    "        _aclient = AsyncOpenAI()\n"
    "    return _aclient\n\n\n"
    "def get_local():\n"
    "    _client = AsyncOpenAI()\n"
    "    return _client\n\n\n"
    "def get_mixed(fast):\n"
    "    global _mixed\n"
    "    _mixed = AsyncOpenAI() if fast else OpenAI()\n"
    "    return _mixed\n\n\n"
    "def get_recursive():\n"
    "    global _looped\n"
    "    _looped = get_recursive()\n"
    "    return _looped\n"
)
ADVICE = "use `openai.AsyncOpenAI` or `asyncio.to_thread()`"


def test_a_factory_of_the_same_module_and_a_cached_global(root: Path) -> None:
    """`get_client()` built in the `return`, `get_cached()` returning the global it sets to
    `OpenAI()`: called in place or kept in a local, in the factories' own module and in a
    module that imports them. Async factories, a local that shadows the global, a global
    bound to an async client on one path and a factory that calls itself stay silent."""
    files = {
        "app/__init__.py": "",
        "app/llm.py": FACTORIES
        + (
            "\n\nasync def answer(prompt):\n"
            "    a = get_client().chat.completions.create(model='m', messages=[])\n"
            "    c = get_cached()\n"
            "    b = c.chat.completions.create(model='m', messages=[])\n"
            "    d = await get_async().chat.completions.create(model='m', messages=[])\n"
            "    e = await get_cached_async().chat.completions.create(model='m', messages=[])\n"
            "    f = get_local().chat.completions.create(model='m', messages=[])\n"
            "    g = get_mixed(True).chat.completions.create(model='m', messages=[])\n"
            "    h = get_recursive().chat.completions.create(model='m', messages=[])\n"
            "    return a, b, d, e, f, g, h\n"
        ),
        "app/routes.py": (
            "from app.llm import get_cached, get_cached_async\n\n\n"
            "async def route(prompt):\n"
            "    await get_cached_async().embeddings.create(model='m', input=prompt)\n"
            "    return get_cached().embeddings.create(model='m', input=prompt)\n\n\n"
            "def sync_route(prompt):\n"
            "    return get_cached().embeddings.create(model='m', input=prompt)\n"
        ),
    }
    assert check_tree(root, files, "ASY002") == [
        f"app/llm.py:48:9: ASY002 `get_client.chat.completions.create()` blocks the event "
        f"loop in async `answer()`; {ADVICE}",
        f"app/llm.py:50:9: ASY002 `c.chat.completions.create()` blocks the event loop in "
        f"async `answer()`; {ADVICE}",
        f"app/routes.py:6:12: ASY002 `get_cached.embeddings.create()` blocks the event loop "
        f"in async `route()`; {ADVICE}",
    ]


def test_a_factory_of_the_module_rebound_or_shadowed_stays_silent(root: Path) -> None:
    """`get_client` rebound at module level, or a parameter of that name: not the factory."""
    files = {
        "app/__init__.py": "",
        "app/llm.py": (
            "from openai import OpenAI\n\n\n"
            "def get_client():\n"
            "    return OpenAI()\n\n\n"
            "get_client = lambda: None\n\n\n"
            "def make():\n"
            "    return OpenAI()\n\n\n"
            "async def answer(make):\n"
            "    make().chat.completions.create(model='m', messages=[])\n"
            "    return get_client().chat.completions.create(model='m', messages=[])\n"
        ),
    }
    assert check_tree(root, files, "ASY002") == []


CLIENTS = "from openai import AsyncOpenAI, OpenAI\n\nclient = OpenAI()\naclient = AsyncOpenAI()\n"


def test_a_helper_calling_a_client_imported_from_another_module(root: Path) -> None:
    """`from utils.clients import client` (or `clients.client`) in `tools/embeddings.py`, whose
    helper a coroutine calls; the helpers that use an async client, a local or a parameter of
    the client's name, or that only sync code calls, stay silent, as does a module that
    rebinds the imported name."""
    files = {
        "utils/__init__.py": "",
        "utils/clients.py": CLIENTS + FACTORIES.split("\n", 2)[2],
        "tools/__init__.py": "",
        "tools/embeddings.py": (
            "import utils.clients as clients\n"
            "from utils.clients import aclient, client, get_async, get_cached\n\n\n"
            "def embed(text):\n"
            "    return client.embeddings.create(model='m', input=text)\n\n\n"
            "def embed_module(text):\n"
            "    return clients.client.embeddings.create(model='m', input=text)\n\n\n"
            "def embed_cached(text):\n"
            "    return get_cached().embeddings.create(model='m', input=text)\n\n\n"
            "def embed_async_client(text):\n"
            "    return aclient.embeddings.create(model='m', input=text)\n\n\n"
            "def embed_async_factory(text):\n"
            "    return get_async().embeddings.create(model='m', input=text)\n\n\n"
            "def embed_local(text):\n"
            "    client = make()\n"
            "    return client.embeddings.create(model='m', input=text)\n\n\n"
            "def embed_param(client, text):\n"
            "    return client.embeddings.create(model='m', input=text)\n\n\n"
            "def embed_sync(text):\n"
            "    return client.embeddings.create(model='m', input=text)\n\n\n"
            "def sync_caller(text):\n"
            "    return embed_sync(text)\n\n\n"
            "async def run(text):\n"
            "    embed(text)\n"
            "    embed_module(text)\n"
            "    embed_cached(text)\n"
            "    embed_async_client(text)\n"
            "    embed_async_factory(text)\n"
            "    embed_local(text)\n"
            "    embed_param(None, text)\n"
        ),
        "tools/rebound.py": (
            "from openai import AsyncOpenAI\n\n"
            "from utils.clients import client\n\n"
            "client = AsyncOpenAI()\n\n\n"
            "def embed(text):\n"
            "    return client.embeddings.create(model='m', input=text)\n\n\n"
            "async def run(text):\n"
            "    return embed(text)\n"
        ),
    }
    chain = "(sync LLM SDK client)"
    assert check_tree(root, files, "ASY006") == [
        "tools/embeddings.py:43:5: ASY006 `embed()` blocks the event loop in async `run()`: "
        f"embed() → client.embeddings.create() {chain}",
        "tools/embeddings.py:44:5: ASY006 `embed_module()` blocks the event loop in async "
        f"`run()`: embed_module() → clients.client.embeddings.create() {chain}",
        "tools/embeddings.py:45:5: ASY006 `embed_cached()` blocks the event loop in async "
        f"`run()`: embed_cached() → get_cached().embeddings.create() {chain}",
    ]


SERVICE = (
    "from sqlalchemy.ext.asyncio import AsyncSession\n"
    "from sqlalchemy.orm import Session\n\n\n"
    "class ChatService:\n"
    "    def __init__(self, db: Session):\n"
    "        self.db = db\n\n"
    "    def get_thread(self, thread_id):\n"
    "        return self.db.query(Thread).filter(Thread.id == thread_id).first()\n\n"
    "    def rename(self, thread, name):\n"
    "        thread.name = name\n"
    "        self.db.commit()\n\n"
    "    async def count(self):\n"
    "        return 0\n\n\n"
    "class AsyncChatService:\n"
    "    def __init__(self, db: AsyncSession):\n"
    "        self.db = db\n\n"
    "    def get_thread(self, thread_id):\n"
    "        return self.db.get(Thread, thread_id)\n\n\n"
    "class SwappedService:\n"
    "    def __init__(self, db: Session):\n"
    "        self.db = db\n\n"
    "    def use(self, other):\n"
    "        self.db = other\n\n"
    "    def get_thread(self, thread_id):\n"
    "        return self.db.get(Thread, thread_id)\n"
)


def test_a_service_object_built_on_a_sync_session(root: Path) -> None:
    """An endpoint that takes `service: ChatService = Depends(...)` (or `Annotated[...]`) or
    builds `ChatService(db)` and calls its methods, which use the `Session` `__init__` stored
    on `self`. A service on an `AsyncSession`, one whose `self.db` is also set from an
    undeclared parameter, an awaited async method and a sync endpoint stay silent."""
    files = {
        "app/__init__.py": "",
        "app/services.py": SERVICE,
        "app/routes.py": (
            "from typing import Annotated\n\n"
            "from fastapi import Depends\n"
            "from sqlalchemy.orm import Session\n\n"
            "from app.services import AsyncChatService, ChatService, SwappedService\n\n\n"
            "async def get_thread(thread_id, service: ChatService = Depends(get_service)):\n"
            "    await service.count()\n"
            "    return service.get_thread(thread_id)\n\n\n"
            "async def rename(thread, service: Annotated[ChatService, Depends(get_service)]):\n"
            "    return service.rename(thread, 'x')\n\n\n"
            "async def built(thread_id, db: Session = Depends(get_db)):\n"
            "    service = ChatService(db)\n"
            "    return service.get_thread(thread_id)\n\n\n"
            "async def near_misses(thread_id, a: AsyncChatService, s: SwappedService):\n"
            "    a.get_thread(thread_id)\n"
            "    return s.get_thread(thread_id)\n\n\n"
            "def sync_route(thread_id, service: ChatService):\n"
            "    return service.get_thread(thread_id)\n"
        ),
    }
    chain = "self.db.query().filter().first() (sync SQLAlchemy client)"
    assert check_tree(root, files, "ASY006") == [
        "app/routes.py:11:12: ASY006 `service.get_thread()` blocks the event loop in async "
        f"`get_thread()`: ChatService.get_thread() → {chain}",
        "app/routes.py:15:12: ASY006 `service.rename()` blocks the event loop in async "
        "`rename()`: ChatService.rename() → self.db.commit() (sync SQLAlchemy client)",
        "app/routes.py:20:12: ASY006 `service.get_thread()` blocks the event loop in async "
        f"`built()`: ChatService.get_thread() → {chain}",
    ]
