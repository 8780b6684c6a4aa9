"""Absolute imports through PEP 420 namespace packages (folders without `__init__.py`, an app
run as `uvicorn app.main:app` from its project root): `from app.core.openai import client` in
`app/routers/chat.py` is the run's `app/core/openai.py`, for ASY002's imported clients and
sessions and ASY006's call graph; a file named like a library (`openai.py`) stays out of
every import of the library, in other files and in itself."""

from __future__ import annotations

from pathlib import Path

from flowfix.project import ProjectIndex
from helpers import check_tree, module_names

OPENAI = "use `openai.AsyncOpenAI` or `asyncio.to_thread()`"
# A namespace module named like the library it wraps: it imports the real `openai`, and
# defines a name the library has too (a capture would make `AsyncOpenAI()` a sync client).
CORE_OPENAI = (
    "from openai import OpenAI\n\n"
    "client = OpenAI()\n\n\n"
    "def AsyncOpenAI():\n"
    "    return OpenAI()\n\n\n"
    "async def ask(prompt):\n"
    "    return client.chat.completions.create(model='m', messages=[])\n"
)


def test_a_client_imported_from_a_namespace_module(root: Path) -> None:
    """`from app.core.openai import client`, `import app.core.openai as core` and `import
    app.core.openai` in a namespace package; also when `app` itself is a regular package and
    only `app/core` lacks `__init__.py` (`service/`), and when the run is given the app's
    folder from outside (`check project`)."""
    routes = (
        "import app.core.openai\n"
        "import app.core.openai as core\n"
        "from app.core.openai import client\n\n\n"
        "async def main(prompt):\n"
        "    first = client.responses.create(model='m', input=prompt)\n"
        "    second = core.client.chat.completions.create(model='m', messages=[])\n"
        "    return app.core.openai.client.embeddings.create(model='m', input=second)\n"
    )
    files = {
        "project/app/core/openai.py": "from openai import OpenAI\n\nclient = OpenAI()\n",
        "project/app/routers/response_api/response.py": routes,
        "service/app/__init__.py": "",
        "service/app/core/openai.py": "from openai import OpenAI\n\nclient = OpenAI()\n",
        "service/app/api/routes/file.py": routes,
    }
    expected = [
        f"{{}}:7:13: ASY002 `client.responses.create()` blocks the event loop in async "
        f"`main()`; {OPENAI}",
        f"{{}}:8:14: ASY002 `core.client.chat.completions.create()` blocks the event loop in "
        f"async `main()`; {OPENAI}",
        f"{{}}:9:12: ASY002 `app.core.openai.client.embeddings.create()` blocks the event loop "
        f"in async `main()`; {OPENAI}",
    ]
    found = check_tree(root, files, "ASY002", "project")
    assert found == [
        line.format("project/app/routers/response_api/response.py") for line in expected
    ]
    found = check_tree(root, files, "ASY002", "service")
    assert found == [line.format("service/app/api/routes/file.py") for line in expected]


def test_a_blocking_helper_and_a_session_factory_from_namespace_modules(root: Path) -> None:
    """ASY006 follows `from app.services.users import get_user` into the helper's blocking
    call; ASY002 knows the `SessionLocal` of a namespace `app/db.py`."""
    files = {
        "app/db.py": (
            "from sqlalchemy import create_engine\n"
            "from sqlalchemy.orm import sessionmaker\n\n"
            "SessionLocal = sessionmaker(bind=create_engine('sqlite://'))\n"
        ),
        "app/services/users.py": (
            "import requests\n\n\n"
            "def get_user(user_id):\n"
            "    return requests.get(f'https://users/{user_id}').json()\n"
        ),
        "app/routers/users.py": (
            "from app.db import SessionLocal\n"
            "from app.services.users import get_user\n\n\n"
            "async def read(user_id):\n"
            "    with SessionLocal() as session:\n"
            "        session.commit()\n"
            "    return get_user(user_id)\n"
        ),
    }
    assert check_tree(root, files, "ASY002,ASY006") == [
        "app/routers/users.py:7:9: ASY002 `session.commit()` blocks the event loop in async "
        "`read()`; use `AsyncSession` (`sqlalchemy.ext.asyncio`) or `asyncio.to_thread()`",
        "app/routers/users.py:8:12: ASY006 `get_user()` blocks the event loop in async "
        "`read()`: get_user() → requests.get()",
    ]


def test_a_namespace_module_named_like_a_library_captures_no_import_of_it(root: Path) -> None:
    """`app/core/openai.py` is not the `openai` of `from openai import AsyncOpenAI` in another
    folder (its own `AsyncOpenAI()` returns a sync client: the library's is async), nor of its
    own `from openai import OpenAI` (its own coroutine is still found); a dotted import that
    names no file of the run (`app.core.missing`) stays a library's."""
    files = {
        "app/core/openai.py": CORE_OPENAI,
        "app/routers/chat.py": (
            "from openai import AsyncOpenAI\n"
            "from app.core.missing import client\n\n\n"
            "async def answer(prompt):\n"
            "    client.chat.completions.create(model='m', messages=[])\n"
            "    return AsyncOpenAI().chat.completions.create(model='m', messages=[])\n"
        ),
    }
    assert check_tree(root, files, "ASY002") == [
        f"app/core/openai.py:11:12: ASY002 `client.chat.completions.create()` blocks the "
        f"event loop in async `ask()`; {OPENAI}",
    ]


def test_two_namespace_apps_each_import_their_own_module(root: Path) -> None:
    """Two apps of one run, each with its own `app/services/llm.py` and `app/core/openai.py`:
    each route follows its own app's helper (the blocking one is `one`'s only) and client,
    which each `openai.py` builds from the library's `OpenAI`, not from itself."""
    route = (
        "from app.core.openai import client\n"
        "from app.services.llm import complete\n\n\n"
        "async def chat(prompt):\n"
        "    client.responses.create(model='m', input=prompt)\n"
        "    return complete(prompt)\n"
    )
    files = {
        "one/app/core/openai.py": CORE_OPENAI,
        "one/app/services/llm.py": "import time\n\n\ndef complete(prompt):\n    time.sleep(1)\n",
        "one/app/routers/chat.py": route,
        "two/app/core/openai.py": CORE_OPENAI,
        "two/app/services/llm.py": "def complete(prompt):\n    return prompt\n",
        "two/app/routers/chat.py": route,
    }
    assert check_tree(root, files, "ASY002,ASY006") == [
        f"one/app/core/openai.py:11:12: ASY002 `client.chat.completions.create()` blocks the "
        f"event loop in async `ask()`; {OPENAI}",
        f"one/app/routers/chat.py:6:5: ASY002 `client.responses.create()` blocks the event "
        f"loop in async `chat()`; {OPENAI}",
        "one/app/routers/chat.py:7:12: ASY006 `complete()` blocks the event loop in async "
        "`chat()`: complete() → time.sleep()",
        f"two/app/core/openai.py:11:12: ASY002 `client.chat.completions.create()` blocks the "
        f"event loop in async `ask()`; {OPENAI}",
        f"two/app/routers/chat.py:6:5: ASY002 `client.responses.create()` blocks the event "
        f"loop in async `chat()`; {OPENAI}",
    ]


def test_regular_packages_scripts_and_working_folder_files_keep_their_names(
    root: Path,
) -> None:
    """Names under the index: a regular package's modules by their packages; a file in no
    package below the working folder under its folder (`<folder>/<stem>`, which no bare
    import reaches); a file of the working folder by its bare name. The namespace look-up
    answers an import a regular package's name does not (`pkg.core.db`), never one a module
    of the run answers by name (`pkg.util`), nor a one-part name from above (`openai`)."""
    paths = [
        "pkg/__init__.py",
        "pkg/util.py",
        "pkg/core/db.py",
        "app/core/openai.py",
        "app/main.py",
        "run.py",
    ]
    assert module_names(root, paths) == [
        "pkg",
        "pkg.util",
        "pkg/core/db",
        "app/core/openai",
        "app/main",
        "run",
    ]
    index = ProjectIndex.lazy((root / path, path) for path in paths)
    importer = root / "app" / "main.py"
    assert index.namespace_import(importer, "app.core.openai.client") == "app/core/openai.client"
    assert index.namespace_import(importer, "pkg.core.db.engine") == "pkg/core/db.engine"
    assert index.namespace_import(importer, "pkg.util.f") is None
    assert index.namespace_import(root / "app" / "core" / "x.py", "openai.OpenAI") is None
    assert index.namespace_import(importer, "app.core.missing.client") is None
