"""ASY006 across files: the call graph follows imports, re-exports and `self.` calls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flowfix.cli import app
from flowfix.project import ProjectIndex, module_name
from helpers import module_names, write_tree

FILES = {
    "app/__init__.py": "from .utils import call_llm\n",
    "app/utils.py": (
        "import requests\n\n\n"
        "def call_llm(prompt):\n"
        "    return requests.post('http://llm.local', json={'p': prompt}, timeout=9).json()\n"
    ),
    "app/nodes.py": (
        "from pocketflow import AsyncNode\n\n"
        "from app import call_llm\n"
        "from . import utils\n\n\n"
        "class Answer(AsyncNode):\n"
        "    async def exec_async(self, prompt):\n"
        "        first = call_llm(prompt)\n"
        "        return utils.call_llm(first)\n"
    ),
    "app/sync_nodes.py": (
        "from pocketflow import Node\n\n"
        "from .utils import call_llm\n\n\n"
        "class Fetch(Node):\n"
        "    def exec(self, prompt):\n"
        "        return call_llm(prompt)\n"
    ),
    "app/flow.py": (
        "from pocketflow import AsyncFlow\n\n"
        "from .nodes import Answer\n"
        "from .sync_nodes import Fetch\n\n\n"
        "def build():\n"
        "    fetch = Fetch()\n"
        "    answer = Answer()\n"
        "    fetch >> answer\n"
        "    return AsyncFlow(start=fetch)\n"
    ),
}


def asy006_lines(root: Path, files: dict[str, str]) -> list[str]:
    """The lines `flowfix check --select ASY006 -q .` prints for `files` written under `root`
    (the current folder)."""
    write_tree(root, files)
    result = CliRunner().invoke(app, ["check", "--select", "ASY006", "--no-cache", "-q", "."])
    return result.stdout.splitlines()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return write_tree(tmp_path, FILES)


def test_module_names_follow_packages(project: Path) -> None:
    assert module_name(project / "app" / "utils.py") == ("app.utils", False)
    assert module_name(project / "app" / "__init__.py") == ("app", True)


def test_chain_through_reexport(project: Path) -> None:
    sources = [(p, p.relative_to(project).as_posix(), p.read_text()) for p in project.rglob("*.py")]
    index = ProjectIndex.build(sources)
    assert index.blocking_chain("app.call_llm") == ("call_llm", "requests.post")
    assert index.blocking_hook("app.sync_nodes.Fetch") == (
        "exec",
        ("Fetch.exec", "call_llm", "requests.post"),
    )


def test_check_reports_chains_across_files(project: Path) -> None:
    result = CliRunner().invoke(app, ["check", "--select", "ASY006", "--format", "json", "."])
    found = [
        (f["path"], f["line"], f["message"], f["fix"])
        for f in json.loads(result.stdout)["findings"]
    ]
    assert found == [
        (
            "app/flow.py",
            8,
            "`Fetch.exec()` blocks the event loop of `AsyncFlow` (sync nodes run inline on the "
            "loop): Fetch.exec() → call_llm() → requests.post()",
            "none",
        ),
        (
            "app/nodes.py",
            9,
            "`call_llm()` blocks the event loop in async `exec_async()`: "
            "call_llm() → requests.post()",
            "unsafe",
        ),
        (
            "app/nodes.py",
            10,
            "`utils.call_llm()` blocks the event loop in async `exec_async()`: "
            "call_llm() → requests.post()",
            "unsafe",
        ),
    ]


def test_unsafe_fix_offloads_calls(project: Path) -> None:
    result = CliRunner().invoke(app, ["fix", "--unsafe-fixes", "--select", "ASY006", "."])
    assert result.exit_code == 1  # the AsyncFlow finding is report-only
    assert (
        (project / "app" / "nodes.py")
        .read_text()
        .endswith(
            "        first = await asyncio.to_thread(call_llm, prompt)\n"
            "        return await asyncio.to_thread(utils.call_llm, first)\n"
        )
    )


def test_files_claiming_one_module_name_are_told_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two `main.py` scripts (no package): each resolves its own `wait()`, whichever the run
    reads first; neither can be imported as `main` by a third file."""
    monkeypatch.chdir(tmp_path)
    coroutine = "\n\nasync def go():\n    wait()\n"
    scripts = {
        "a/main.py": "import time\n\n\ndef wait():\n    time.sleep(1)\n" + coroutine,
        "b/main.py": "def wait():\n    return None\n" + coroutine,
        "c/other.py": "from main import wait\n" + coroutine,
    }
    write_tree(tmp_path, scripts)
    for order in (["a", "b", "c"], ["c", "b", "a"]):
        result = CliRunner().invoke(app, ["check", "--select", "ASY006", "--no-cache", *order])
        assert [line.split(":")[0] for line in result.stdout.splitlines() if "ASY006" in line] == [
            "a/main.py"
        ]


def test_the_index_reads_the_one_blocking_table(tmp_path: Path) -> None:
    """flowfix.project follows helpers down to every entry of flowfix.analysis.blocking: the
    functions ASY002 knows and the blocking methods of each sync client, and only those."""
    text = (
        "import subprocess\n"
        "import requests\n"
        "from openai import Client\n\n"
        "session = requests.Session()\n"
        "llm = Client()\n\n\n"
        "def status():\n"
        "    return subprocess.getoutput('git status')\n\n\n"
        "def page(url):\n"
        "    return session.get(url)\n\n\n"
        "def parsed(q):\n"
        "    return llm.beta.chat.completions.parse(messages=[q])\n\n\n"
        "def header(name):\n"
        "    return session.headers.get(name)\n"
    )
    path = tmp_path / "helpers.py"
    index = ProjectIndex.build([(path, "helpers.py", text)])
    assert index.blocking_chain("helpers.status") == ("status", "subprocess.getoutput")
    assert index.blocking_chain("helpers.page") == ("page", "session.get() (sync HTTP client)")
    assert index.blocking_chain("helpers.parsed") is not None
    assert index.blocking_chain("helpers.header") is None


def test_scripts_import_the_files_beside_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cookbook apps are folders of scripts: `from utils import call_llm` means the app's own
    `utils.py` (or `utils/` folder), since Python puts a script's folder first on `sys.path`,
    even when the run starts at the repository root and every app has a `utils`."""
    monkeypatch.chdir(tmp_path)
    node = (
        "from pocketflow import AsyncNode\n\n{imports}\n\n\n"
        "class Answer(AsyncNode):\n"
        "    async def exec_async(self, prompt):\n"
        "        return {call}(prompt)\n"
    )
    blocking = "import requests\n\n\ndef call_llm(prompt):\n    return requests.post(prompt).text\n"
    harmless = "def call_llm(prompt):\n    return prompt.upper()\n"
    apps = {
        "cookbook/chat/utils.py": blocking,
        "cookbook/chat/nodes.py": node.format(
            imports="from utils import call_llm", call="call_llm"
        ),
        "cookbook/echo/utils.py": harmless,
        "cookbook/echo/nodes.py": node.format(
            imports="from utils import call_llm", call="call_llm"
        ),
        "cookbook/rag/utils/__init__.py": "",
        "cookbook/rag/utils/llm.py": blocking,
        "cookbook/rag/nodes.py": node.format(
            imports="from utils.llm import call_llm", call="call_llm"
        ),
        "cookbook/agent/utils/llm.py": harmless,
        "cookbook/agent/nodes.py": node.format(
            imports="import utils.llm", call="utils.llm.call_llm"
        ),
        "cookbook/tool/helpers.py": blocking,
        "cookbook/tool/nodes.py": node.format(imports="import helpers as h", call="h.call_llm"),
    }
    for rel, text in apps.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    result = CliRunner().invoke(app, ["check", "--select", "ASY006", "--no-cache", "-q", "."])
    assert [line.split(": ASY006")[0] for line in result.stdout.splitlines()] == [
        "cookbook/chat/nodes.py:8:16",
        "cookbook/rag/nodes.py:8:16",
        "cookbook/tool/nodes.py:8:16",
    ]


def test_methods_of_a_node_built_in_the_coroutine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An async web endpoint that builds a sync node and runs its hooks by hand runs the
    node's blocking `exec` on the event loop; a local bound twice, or to something that is
    not a project class, is not followed."""
    monkeypatch.chdir(tmp_path)
    files = {
        "app/__init__.py": "",
        "app/nodes.py": (
            "import requests\nfrom pocketflow import Node\n\n\n"
            "class Base(Node):\n"
            "    def exec(self, query):\n"
            "        return requests.post('http://llm.local', json=query, timeout=9).json()\n\n\n"
            "class Answer(Base):\n"
            "    def prep(self, shared):\n"
            "        return shared['q']\n"
        ),
        "app/api.py": (
            "from app.nodes import Answer\n\n\n"
            "async def chat(shared, flag):\n"
            "    node = Answer()\n"
            "    query = node.prep(shared)\n"
            "    answer = node.exec(query)\n"
            "    other = Answer() if flag else None\n"
            "    other = dict()\n"
            "    other.exec(query)\n"
            "    text = str(query)\n"
            "    return text.upper(), answer\n"
        ),
    }
    assert asy006_lines(tmp_path, files) == [
        "app/api.py:7:14: ASY006 `node.exec()` blocks the event loop in async `chat()`: "
        "Base.exec() → requests.post()"
    ]


def test_a_sync_client_built_by_a_project_factory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`redis_client = get_redis_client()` at module level, the factory returning
    `redis.from_url(...)`: helpers that call the client block an async endpoint."""
    monkeypatch.chdir(tmp_path)
    files = {
        "app/__init__.py": "",
        "app/session.py": (
            "import redis\n\n\n"
            "def get_redis_client():\n"
            "    return redis.from_url('redis://localhost')\n\n\n"
            "def get_async_client():\n"
            "    return redis.asyncio.from_url('redis://localhost')\n\n\n"
            "redis_client = get_redis_client()\n"
            "async_client = get_async_client()\n\n\n"
            "def get_session(key):\n"
            "    return redis_client.get(key)\n\n\n"
            "def session_later(key):\n"
            "    return async_client.get(key)\n"
        ),
        "app/api.py": (
            "from app.session import get_session, session_later\n\n\n"
            "async def read(key):\n"
            "    later = session_later(key)\n"
            "    return get_session(key), await later\n"
        ),
    }
    assert asy006_lines(tmp_path, files) == [
        "app/api.py:6:12: ASY006 `get_session()` blocks the event loop in async `read()`: "
        "get_session() → redis_client.get() (sync Redis client)"
    ]


def test_a_sync_flow_a_project_function_builds_run_in_a_coroutine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PocketFlow's A2A cookbook shape: an async task handler runs `create_agent_flow()`'s sync
    flow, whose first node calls a sync LLM helper, on the event loop. A flow whose nodes do
    not block, one the handler runs on a worker thread, and an async flow are not reported."""
    monkeypatch.chdir(tmp_path)
    files = {
        "utils.py": (
            "from openai import OpenAI\n\n\n"
            "def call_llm(prompt):\n"
            "    client = OpenAI()\n"
            "    r = client.chat.completions.create(model='m', messages=[])\n"
            "    return r.choices[0].message.content\n"
        ),
        "nodes.py": (
            "from pocketflow import AsyncNode, Node\n\n"
            "from utils import call_llm\n\n\n"
            "class Decide(Node):\n"
            "    def exec(self, question):\n"
            "        return call_llm(question)\n\n\n"
            "class Answer(Node):\n"
            "    def exec(self, question):\n"
            "        return question.strip()\n\n\n"
            "class Remember(AsyncNode):\n"
            "    async def exec_async(self, question):\n"
            "        return [question]\n"
        ),
        "flow.py": (
            "from pocketflow import AsyncFlow, Flow\n\n"
            "from nodes import Answer, Decide, Remember\n\n\n"
            "def create_agent_flow():\n"
            "    answer = Answer()\n"
            "    decide = Decide()\n"
            "    answer - 'search' >> decide\n"
            "    return Flow(start=answer)\n\n\n"
            "def create_answer_flow():\n"
            "    answer = Answer()\n"
            "    flow = Flow(start=answer)\n"
            "    return flow\n\n\n"
            "def create_async_flow():\n"
            "    return AsyncFlow(start=Remember())\n"
        ),
        "task_manager.py": (
            "import asyncio\n\n"
            "from flow import create_agent_flow, create_answer_flow, create_async_flow\n\n\n"
            "async def on_send_task(shared):\n"
            "    agent_flow = create_agent_flow()\n"
            "    agent_flow.run(shared)\n"
            "    create_answer_flow().run(shared)\n"
            "    await asyncio.to_thread(create_agent_flow().run, shared)\n"
            "    await create_async_flow().run_async(shared)\n"
        ),
    }
    assert asy006_lines(tmp_path, files) == [
        "task_manager.py:8:5: ASY006 `agent_flow.run()` blocks the event loop in async "
        "`on_send_task()` (a sync flow runs its nodes inline): Decide.exec() → call_llm() → "
        "client.chat.completions.create() (sync LLM SDK client)"
    ]


def test_a_sync_flow_kept_on_an_attribute_or_started_with_an_imported_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A service keeps `create_flow()`'s flow on `self.flow` and runs it from an async
    handler; another builds `Flow(start=Search())` with a node class imported from the run.
    The flow run on a worker thread, an async flow on an attribute and a sync method calling
    `self.flow.run` are not reported."""
    monkeypatch.chdir(tmp_path)
    files = {
        "nodes.py": (
            "import requests\n"
            "from pocketflow import AsyncNode, Node\n\n\n"
            "class Search(Node):\n"
            "    def exec(self, query):\n"
            "        return requests.get('http://search.local', timeout=5).json()\n\n\n"
            "class Rank(AsyncNode):\n"
            "    async def exec_async(self, hits):\n"
            "        return sorted(hits)\n"
        ),
        "flow.py": (
            "from pocketflow import AsyncFlow, Flow\n\n"
            "from nodes import Rank, Search\n\n\n"
            "def create_flow():\n"
            "    return Flow(start=Search())\n\n\n"
            "def create_async_flow():\n"
            "    return AsyncFlow(start=Rank())\n"
        ),
        "service.py": (
            "import asyncio\n\n"
            "from pocketflow import Flow\n\n"
            "from flow import create_async_flow, create_flow\n"
            "from nodes import Search\n\n\n"
            "class Agent:\n"
            "    def __init__(self):\n"
            "        self.flow = create_flow()\n"
            "        self.ranking = create_async_flow()\n"
            "        self.inline = Flow(start=Search())\n\n"
            "    async def handle(self, shared):\n"
            "        self.flow.run(shared)\n"
            "        self.inline.run(shared)\n"
            "        await asyncio.to_thread(self.flow.run, shared)\n"
            "        await self.ranking.run_async(shared)\n\n"
            "    def handle_sync(self, shared):\n"
            "        self.flow.run(shared)\n"
        ),
    }
    assert asy006_lines(tmp_path, files) == [
        "service.py:16:9: ASY006 `self.flow.run()` blocks the event loop in async `handle()` "
        "(a sync flow runs its nodes inline): Search.exec() → requests.get()",
        "service.py:17:9: ASY006 `self.inline.run()` blocks the event loop in async `handle()` "
        "(a sync flow runs its nodes inline): Search.exec() → requests.get()",
    ]


def test_the_index_lets_go_of_a_finished_file_and_reads_it_again_when_asked(
    project: Path,
) -> None:
    """Once a file is analysed the index keeps no node of its tree (the run's memory stays
    flat and the garbage collector does not walk it); a later query on a function of it that
    no query analysed yet indexes the file again and gets the same answer."""
    from flowfix.config import Config
    from flowfix.engine import detect
    from flowfix.rules import registry

    files = sorted(project.rglob("*.py"))
    index = ProjectIndex.lazy((path, path.relative_to(project).as_posix()) for path in files)
    rules = [registry()["ASY006"]]
    utils = (project / "app" / "utils.py").read_text()
    detect(utils, "app/utils.py", rules, Config(), index)  # no `async def`: nothing indexed
    text = (project / "app" / "nodes.py").read_text()
    found = detect(text, "app/nodes.py", rules, Config(), index).findings
    assert [f.span.line for f in found] == [9, 10]
    assert "app.nodes" not in index.indexers
    assert not [key for key in index.pending if key.startswith("app.nodes.")]
    assert "app.nodes" in index.unread  # indexed again on demand
    assert index.blocking_chain("app.nodes.Answer.exec_async") is None  # a coroutine
    assert "app.nodes" not in index.unread
    assert index.blocking_chain("app.utils.call_llm") == ("call_llm", "requests.post")


def test_a_copy_of_pocketflow_and_helpers_imported_inside_hooks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A project that keeps PocketFlow's module as its own `core/pocketflow.py`: its
    `AsyncFlow` runs sync nodes inline like the package's. A hook that imports its helper in
    its own body (`from utils.llm import call_llm` inside `exec`) reaches the helper; a node of
    the copy's `AsyncNode` is async (the copy's `AsyncNode` derives from its `Node`)."""
    monkeypatch.chdir(tmp_path)
    files = {
        "core/__init__.py": "",
        "core/pocketflow.py": (
            "class BaseNode:\n    pass\n\n\n"
            "class Node(BaseNode):\n    pass\n\n\n"
            "class Flow(BaseNode):\n    def __init__(self, start=None):\n"
            "        self.start_node = start\n\n\n"
            "class AsyncNode(Node):\n    pass\n\n\n"
            "class AsyncFlow(Flow, AsyncNode):\n    pass\n"
        ),
        "utils/__init__.py": "",
        "utils/llm/__init__.py": "from .call_llm import call_llm\n",
        "utils/llm/call_llm.py": (
            "from google import genai\n\n\n"
            "def call_llm(prompt):\n"
            "    client = genai.Client()\n"
            "    return client.models.generate_content(model='m', contents=prompt).text\n"
        ),
        "core/nodes.py": (
            "from core.pocketflow import AsyncNode, Node\n\n\n"
            "class Answer(Node):\n"
            "    def exec(self, question):\n"
            "        from utils.llm import call_llm\n\n"
            "        return call_llm(question)\n\n\n"
            "class Remember(AsyncNode):\n"
            "    async def exec_async(self, question):\n"
            "        return question\n\n\n"
            "class Tidy(Node):\n"
            "    def exec(self, text):\n"
            "        import utils.llm\n\n"
            "        return text.strip()\n"
        ),
        "core/flows.py": (
            "from core.nodes import Answer, Remember, Tidy\n"
            "from core.pocketflow import AsyncFlow\n\n\n"
            "class ChatFlow(AsyncFlow):\n"
            "    def __init__(self):\n"
            "        remember = Remember()\n"
            "        answer = Answer()\n"
            "        tidy = Tidy()\n"
            "        remember >> answer >> tidy\n"
            "        super().__init__(start=remember)\n"
        ),
    }
    assert asy006_lines(tmp_path, files) == [
        "core/flows.py:8:18: ASY006 `Answer.exec()` blocks the event loop of `ChatFlow` (sync "
        "nodes run inline on the loop): Answer.exec() → call_llm() → "
        "client.models.generate_content() (sync LLM SDK client)"
    ]


def test_a_helper_a_coroutine_imports_in_its_own_body(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`from utils.llm import call_llm` inside `exec_async` (a local import, to keep start-up
    light) binds the project helper there as a module-level import would; a local bound to
    something else under that name is not followed."""
    monkeypatch.chdir(tmp_path)
    files = {
        "utils/__init__.py": "",
        "utils/llm.py": (
            "import requests\n\n\n"
            "def call_llm(prompt):\n"
            "    return requests.post('http://llm.local', json={'p': prompt}, timeout=9).json()\n"
        ),
        "nodes.py": (
            "from pocketflow import AsyncNode\n\n\n"
            "class Manage(AsyncNode):\n"
            "    async def exec_async(self, prompt):\n"
            "        from utils.llm import call_llm\n\n"
            "        return call_llm(prompt)\n\n\n"
            "class Echo(AsyncNode):\n"
            "    async def exec_async(self, prompt):\n"
            "        call_llm = str\n"
            "        return call_llm(prompt)\n"
        ),
    }
    assert asy006_lines(tmp_path, files) == [
        "nodes.py:8:16: ASY006 `call_llm()` blocks the event loop in async `exec_async()`: "
        "call_llm() → requests.post()"
    ]


def asy006_runs(root: Path, files: dict[str, str], runs: list[list[str]]) -> list[list[str]]:
    """The ASY006 lines (`path:line:col`) of `flowfix check` for each list of paths of `runs`,
    `files` written under `root` (the current folder)."""
    write_tree(root, files)
    found = []
    for paths in runs:
        result = CliRunner().invoke(app, ["check", "--select", "ASY006", "--no-cache", *paths])
        found.append(
            [line.split(": ")[0] for line in result.stdout.splitlines() if "ASY006" in line]
        )
    return found


# Two apps of one repository, each a folder run as `python flow.py` holding its own `nodes`
# package: app `a`'s node blocks, app `b`'s does not.
NODE = (
    "from pocketflow import Node\n\n{imports}\n\n\n"
    "class Answer(Node):\n"
    "    def exec(self, prompt):\n"
    "        return {call}\n"
)
FLOW = (
    "from pocketflow import AsyncFlow\n\n"
    "from nodes import Answer\n\n\n"
    "def build():\n"
    "    answer = Answer()\n"
    "    return AsyncFlow(start=answer)\n"
)
BLOCKING_LLM = "import requests\n\n\ndef call_llm(prompt):\n    return requests.post(prompt).text\n"
HARMLESS_LLM = "def call_llm(prompt):\n    return prompt.upper()\n"


def test_two_apps_with_a_nodes_package_that_re_exports_relatively(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`a/nodes` and `b/nodes` both claim the module name `nodes`: each keeps its own name
    (not a path no import reaches), so `from .answer import Answer` in each `__init__` and
    `from nodes import Answer` in each app's `flow.py` reach that app's node, whatever the
    order of the files and whether the apps run together or one at a time."""
    monkeypatch.chdir(tmp_path)
    files: dict[str, str] = {}
    for name, call in (("a", "requests.post(prompt).text"), ("b", "prompt.upper()")):
        files[f"{name}/nodes/__init__.py"] = "from .answer import Answer\n"
        files[f"{name}/nodes/answer.py"] = NODE.format(imports="import requests", call=call)
        files[f"{name}/flow.py"] = FLOW
    runs = asy006_runs(tmp_path, files, [["a", "b"], ["b", "a"], ["a"], ["b"]])
    assert runs == [["a/flow.py:7:14"], ["a/flow.py:7:14"], ["a/flow.py:7:14"], []]


def test_a_package_module_imports_its_own_app_absolutely(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`from nodes.llm import call_llm` in `a/nodes/answer.py` (a module of a package, run
    with `a` on `sys.path`) means `a/nodes/llm.py`, though `b` has a `nodes.llm` too; a
    script in a subfolder of the app (`a/tools/ask.py`) reaches it as well (its app's root is
    the nearest folder above it that holds a `nodes`). A file of a third folder that has no
    `nodes` of its own cannot tell the two `nodes.llm` apart and is not followed; it reaches
    a module only one of them has (`nodes.search`)."""
    monkeypatch.chdir(tmp_path)
    ask = (
        "from nodes.llm import call_llm\n\n\nasync def ask(prompt):\n    return call_llm(prompt)\n"
    )
    files = {
        "c/ask.py": ask,
        "c/find.py": ask.replace("llm import", "search import"),
        "a/nodes/search.py": BLOCKING_LLM,
    }
    for name, llm in (("a", BLOCKING_LLM), ("b", HARMLESS_LLM)):
        files[f"{name}/nodes/__init__.py"] = ""
        files[f"{name}/nodes/llm.py"] = llm
        files[f"{name}/nodes/answer.py"] = NODE.format(
            imports="from nodes.llm import call_llm", call="call_llm(prompt)"
        )
        files[f"{name}/flow.py"] = FLOW.replace("from nodes import", "from nodes.answer import")
        files[f"{name}/tools/ask.py"] = ask
    runs = asy006_runs(tmp_path, files, [["a", "b", "c"], ["c", "b", "a"], ["a"]])
    reported = ["a/flow.py:7:14", "a/tools/ask.py:5:12"]
    assert runs == [[*reported, "c/find.py:5:12"], [*reported, "c/find.py:5:12"], reported]


def test_modules_of_colliding_apps_are_named_under_their_import_root(tmp_path: Path) -> None:
    """A module name two import roots claim gets its root's path as a prefix (with `/`, which
    no dotted name holds), for every module under that name; names no other root claims stay
    as they are (`lib`, a package), but for a file in no package below the working folder
    (`b/tools.py`), which only a path reaches, and one of the working folder (`main.py`)."""
    paths = ["a/nodes/__init__.py", "a/nodes/llm.py", "a/flow.py", "b/nodes/__init__.py"]
    paths += ["b/flow.py", "b/tools.py", "b/v1.2/nodes/__init__.py", "c/lib/__init__.py"]
    paths += ["main.py"]
    assert module_names(tmp_path, paths) == [
        "a/nodes",
        "a/nodes.llm",
        "a/flow",
        "b/nodes",
        "b/flow",
        "b/tools",
        "b/v1%2E2/nodes",
        "lib",
        "main",
    ]


def test_two_apps_that_each_keep_a_copy_of_pocketflow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each app keeps PocketFlow's module as its own `pocketflow.py`: named under its app
    (`a/pocketflow`), the copy's `Node` still counts as the package's."""
    monkeypatch.chdir(tmp_path)
    copy = "class Node:\n    pass\n\n\nclass AsyncFlow:\n    def __init__(self, start=None):\n"
    copy += "        self.start = start\n"
    node = NODE.format(imports="import requests", call="requests.post(prompt).text")
    files = {
        f"{name}/{rel}": text
        for name in "ab"
        for rel, text in (("pocketflow.py", copy), ("nodes.py", node), ("flow.py", FLOW))
    }
    assert asy006_runs(tmp_path, files, [["a", "b"], ["a"]]) == [
        ["a/flow.py:7:14", "b/flow.py:7:14"],
        ["a/flow.py:7:14"],
    ]


def test_only_imports_that_can_reach_a_module_of_the_run_are_followed(project: Path) -> None:
    """An import whose first part no module of the run shares (a library's) is answered
    without reading any module; relative imports and the run's own names may reach one."""
    files = sorted(project.rglob("*.py"))
    index = ProjectIndex.lazy((path, path.relative_to(project).as_posix()) for path in files)
    assert index.may_name_module("app.utils.call_llm")
    assert index.may_name_module(".utils")
    assert not index.may_name_module("httpx.AsyncClient")
    assert not index.may_name_module("requests")
    assert set(index.unread) == {"app", "app.utils", "app.nodes", "app.sync_nodes", "app.flow"}
