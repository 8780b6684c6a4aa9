"""flowfix.elision: codemods see only the statements a fix touches (top-level ones, and the
members of the classes those are), and their change lands on the original text line for
line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from flowfix.config import Config
from flowfix.elision import Elision, changed_lines
from flowfix.engine import Options, detect, process_path
from flowfix.fixes import apply_codemod
from flowfix.rules import Finding, FixSafety, Span, registry
from flowfix.suggest import fix_finding

MODULE = (
    "from time import sleep\n"  # 1
    "\n"
    "\n"
    "@decorated\n"  # 4
    "def first(x: 'Pending') -> int:\n"
    "    return sleep(x)\n"
    "\n"
    "\n"
    "class Second:\n"  # 9
    "    field = 1\n"
    "\n"
    "\n"
    "async def target():\n"  # 13
    "    sleep(1)\n"
    "\n"
    "\n"
    "def last():\n"  # 17
    "    global CACHE\n"
    "    CACHE = {}\n"
)


def findings(text: str, code: str = "ASY001") -> list[Finding]:
    return detect(text, "m.py", [registry()[code]], Config(), None).findings


def reduced(text: str, code: str) -> str:
    """What `code`'s codemod sees of `text` to fix its findings."""
    keep = registry()[code].codemod.KEEPS_METHODS  # type: ignore[union-attr]
    return Elision.around(text, findings(text, code), keep).reduced


def fixed(text: str, code: str) -> str:
    """The fix of `code`'s findings in `text`, which must be the fix the codemod makes when
    it sees the whole text."""
    found, rule = findings(text, code), registry()[code]
    new, _ = apply_codemod(rule, text, "m.py", found, Config())
    assert new == apply_codemod(rule, text, "m.py", found, Config(), None, Elision(text, text))[0]
    return new


def test_runs_of_untouched_defs_and_classes_become_one_placeholder_line_each() -> None:
    found = findings(MODULE)
    assert [(f.code, f.span.line) for f in found] == [("ASY001", 14)]
    elision = Elision.around(MODULE, found)
    assert elision.reduced == (
        "from time import sleep\n\n\n...\n\n\nasync def target():\n    sleep(1)\n\n\n...\n"
    )
    assert elision.runs == ((3, 10), (16, 19))
    assert elision.bound == {"first", "Second", "last", "CACHE"}
    assert elision.read == {"sleep"}  # `first` reads the import
    moved = elision.findings(found)
    assert [f.span for f in moved] == [Span(8, 5, 8, 13)]


def test_data_spans_move_with_the_lines() -> None:
    elision = Elision.keeping(MODULE, [(13, 14)])
    finding = Finding(
        code="X",
        path="m.py",
        span=Span(14, 5, 14, 13),
        message="",
        fix=FixSafety.SAFE,
        data={"loop": [13, 1, 14, 13], "names": ["a", "b"], "many": [[14, 5, 14, 6]], "n": 3},
    )
    (moved,) = elision.findings([finding])
    assert moved.data == {
        "loop": [7, 1, 8, 13],
        "names": ["a", "b"],
        "many": [[8, 5, 8, 6]],
        "n": 3,
    }


def test_the_fix_lands_on_the_original_and_an_import_used_elsewhere_stays() -> None:
    # `sleep` is still read by the elided `first`: the fix must not remove its import.
    expected = MODULE.replace("    sleep(1)\n", "    await asyncio.sleep(1)\n")
    expected = expected.replace("from time", "import asyncio\nfrom time")
    assert fixed(MODULE, "ASY001") == expected


def test_a_change_to_a_placeholder_is_refused() -> None:
    elision = Elision.around(MODULE, findings(MODULE))
    assert elision.expand(elision.reduced.replace("...", "OTHER", 1)) is None
    inserted = elision.reduced.replace("async def", "x = 1\n\n\nasync def")
    assert elision.expand(inserted) == MODULE.replace("async def", "x = 1\n\n\nasync def")


def test_lines_ending_in_a_lone_carriage_return_are_not_elided() -> None:
    text = MODULE.replace("\n", "\r")
    assert Elision.around(text, findings(MODULE)).reduced == text


def test_changed_lines_are_lines_of_the_new_text() -> None:
    old = "a\nb\nc\nd\n"
    assert sorted(set(changed_lines(old, "a\nB\nc\nd\n"))) == [1, 2, 3]
    assert sorted(set(changed_lines(old, "a\nb\nx\ny\nc\nd\n"))) == [2, 3, 4, 5]
    assert sorted(set(changed_lines(old, "a\nd\n"))) == [1, 2]


def test_code_libcst_cannot_reproduce_in_an_untouched_def_does_not_block_a_fix(
    tmp_path: Path,
) -> None:
    # libcst prints `except (A, B) :` back as `except (A, B):`; the bytes of `other` are the
    # original's (libcst never prints them), so the file is fixed and they stay as they were.
    other = (
        "def other():\n    try:\n        pass\n    except (ValueError, KeyError) :\n        pass\n"
    )
    text = "import time\n\n\nasync def f():\n    time.sleep(1)\n\n\n" + other
    path = tmp_path / "m.py"
    path.write_text(text)
    result = process_path(
        path, Options(codes=tuple(registry()), fix=True, threshold=FixSafety.SAFE)
    )
    assert result.new_text == (
        "import asyncio\n\n\nasync def f():\n    await asyncio.sleep(1)\n\n\n" + other
    )


CLASS = (
    "import os\n"  # 1
    "import time\n"
    "\n"
    "\n"
    "class Node:\n"  # 5
    "    name = 'node'\n"
    "\n"
    "    def __init__(self):\n"  # 8
    "        self.path = os.getcwd()\n"
    "\n"
    "    @property\n"  # 11
    "    def first(self):\n"
    "        return self.name\n"
    "        # the end of first: libcst gives this line to first's body\n"  # 14
    "\n"
    "    class Config:\n"  # 16
    "        frozen = True\n"
    "    # about target\n"  # 18
    "    async def target(self):\n"  # 19
    "        time.sleep(1)\n"
    "\n"
    "    def last(self):\n"  # 22
    "        global CACHE\n"
    "        CACHE = os.sep\n"  # 24
)


def test_in_a_class_a_finding_touches_runs_of_methods_and_of_classes_become_placeholders() -> None:
    (found,) = findings(CLASS)
    assert found.span.line == 20
    # The class's span (finding data such as EXE001's `owner`) encloses the runs: it does
    # not keep them, and ends on the last placeholder's line.
    owner = dataclasses.replace(found, data={"owner": [5, 1, 24, 23]})
    elision = Elision.around(CLASS, [owner])
    assert elision.reduced == (
        "import os\n"
        "import time\n"
        "\n"
        "\n"
        "class Node:\n"
        "    name = 'node'\n"
        "\n"
        "    def _elided(): ...\n"
        "\n"
        "    class _elided: ...\n"
        "    # about target\n"
        "    async def target(self):\n"
        "        time.sleep(1)\n"
        "\n"
        "    def _elided(): ...\n"
    )
    assert elision.runs == ((7, 14), (15, 17), (21, 24))
    assert elision.bound == {"CACHE"}
    assert elision.read == {"os"}
    (moved,) = elision.findings([owner])
    assert moved.span == Span(13, 9, 13, 22)
    assert moved.data == {"owner": [5, 1, 15, 23]}
    assert elision.original_class(5).body[1].name == "__init__"  # type: ignore[attr-defined]
    # A changed line among the comments libcst gives to a method keeps the method.
    assert "    def first(self):\n" in Elision.keeping(CLASS, [(14, 14)]).reduced
    # A member a codemod reads by name stays.
    kept = Elision.around(CLASS, [found], keep={"__init__"}).reduced
    assert kept.startswith(CLASS[: CLASS.index("    @property")] + "    def _elided(): ...\n\n")


def test_a_fix_in_a_class_lands_on_the_original() -> None:
    expected = CLASS.replace("        time.sleep(1)\n", "        await asyncio.sleep(1)\n")
    expected = expected.replace("import os\nimport time\n", "import asyncio\nimport os\n")
    assert fixed(CLASS, "ASY001") == expected


EXECUTOR = (
    "# flowfix: unsafe-fixes\n"
    "from concurrent.futures import ThreadPoolExecutor\n"
    "\n"
    "from pocketflow import Node\n"
    "\n"
    "\n"
    "class Indexer:\n"
    '    """Indexes the documents of every request."""\n'
    "\n"
    "    def __init__(self, store, workers):\n"
    "        self.store = store\n"
    "        self.workers = workers\n"
    "\n"
    "    def reuse(self, pool):\n"
    "        self._executor = pool  # the only mention of `_executor`\n"
    "\n"
    "    def index(self, documents):\n"
    "        with ThreadPoolExecutor(max_workers=self.workers) as pool:\n"
    "            return list(pool.map(self.store.add, documents))\n"
    "\n"
    "    def close(self):\n"
    "        self.store.close()\n"
    "\n"
    "    def __enter__(self):\n"
    "        return self\n"
    "\n"
    "    def __exit__(self, *exc_info):\n"
    "        self.close()\n"
    "\n"
    "\n"
    "INDEXER = Indexer(None, 4)\n"
    "\n"
    "\n"
    "class IndexUpload(Node):\n"
    "    def exec(self, documents):\n"
    "        return INDEXER.index(documents)\n"
)


def test_a_cached_executor_avoids_the_names_of_elided_methods_and_sees_their_context_manager() -> (
    None
):
    seen = reduced(EXECUTOR, "EXE001")
    assert "_executor" not in seen and "__enter__" not in seen and "close" not in seen
    assert fixed(EXECUTOR, "EXE001") == EXECUTOR.replace(
        '    """Indexes the documents of every request."""\n\n',
        '    """Indexes the documents of every request."""\n\n    _executor_2 = None\n\n',
    ).replace(
        "        with ThreadPoolExecutor(max_workers=self.workers) as pool:\n"
        "            return list(pool.map(self.store.add, documents))\n",
        "        pool = self._get_executor_2()\n"
        "        return list(pool.map(self.store.add, documents))\n",
    ).replace(
        "        self.close()\n",
        "        self.close()\n"
        "\n"
        "    def _get_executor_2(self):\n"
        "        if self._executor_2 is None:\n"
        "            self._executor_2 = ThreadPoolExecutor(max_workers=self.workers)\n"
        "        return self._executor_2\n"
        "\n"
        "    def close_executor(self):\n"
        "        if self._executor_2 is not None:\n"
        "            self._executor_2.shutdown(wait=True)\n"
        "            self._executor_2 = None\n",
    )


CLIENT = (
    "import anthropic\n"
    "from kaygraph import Node\n"
    "\n"
    "\n"
    "class Classify(Node):\n"
    "    def prep(self, shared):\n"
    "        self._llm = shared.get('llm')  # the only mention of `_llm`\n"
    "        return shared['ticket']\n"
    "\n"
    "    def __init__(self, labels, **kwargs):\n"
    "        super().__init__(**kwargs)\n"
    "        self.labels = labels\n"
    "\n"
    "    def exec(self, prep_res):\n"
    "        llm = anthropic.Anthropic(max_retries=3)\n"
    "        return llm.messages.create(model='m', max_tokens=20, messages=[prep_res])\n"
    "\n"
    "    def post(self, shared, prep_res, exec_res):\n"
    "        shared['label'] = exec_res\n"
)


def test_a_client_moves_into_the_kept_init_under_a_name_no_elided_method_uses() -> None:
    seen = reduced(CLIENT, "CON001")
    assert "def __init__" in seen and "_llm" not in seen and "def post" not in seen
    assert fixed(CLIENT, "CON001") == CLIENT.replace(
        "        self.labels = labels\n",
        "        self.labels = labels\n        self._llm_2 = anthropic.Anthropic(max_retries=3)\n",
    ).replace("        llm = anthropic.Anthropic(max_retries=3)\n", "        llm = self._llm_2\n")


HOOK = (
    "import os\n"
    "\n"
    "from openai import OpenAI\n"
    "\n"
    "from dynamiq.nodes.node import Node\n"
    "\n"
    "\n"
    "class Summarizer(Node):\n"
    "    name: str = 'Summarizer'\n"
    "\n"
    "    def helper(self, text):\n"
    "        return text.strip()\n"
    "        # the end of helper\n"
    "\n"
    "    def execute(self, input_data, config=None, **kwargs):\n"
    "        client = OpenAI(api_key=os.environ['OPENAI_API_KEY'])\n"
    "        return client.chat.completions.create(model='m', messages=[input_data])\n"
)


def test_a_new_init_components_goes_after_the_comments_of_the_elided_method_before_it() -> None:
    # The comment ending `helper` is libcst's footer of helper's body: the new hook goes
    # after it, as it does when the codemod sees the whole class.
    assert "def helper" not in reduced(HOOK, "CON001")
    assert fixed(HOOK, "CON001") == (
        "import os\n"
        "from typing import Any\n"
        "\n"
        "from openai import OpenAI\n"
        "\n"
        "from dynamiq.nodes.node import Node\n"
        "from pydantic import PrivateAttr\n"
        "\n"
        "\n"
        "class Summarizer(Node):\n"
        "    name: str = 'Summarizer'\n"
        "    _client: Any = PrivateAttr(default=None)\n"
        "\n"
        "    def helper(self, text):\n"
        "        return text.strip()\n"
        "        # the end of helper\n"
        "\n"
        "    def init_components(self, connection_manager=None):\n"
        "        super().init_components(connection_manager)\n"
        "        self._client = OpenAI(api_key=os.environ['OPENAI_API_KEY'])\n"
        "\n"
        "    def execute(self, input_data, config=None, **kwargs):\n"
        "        client = self._client\n"
        "        return client.chat.completions.create(model='m', messages=[input_data])\n"
    )


def test_a_codemod_that_reads_the_whole_module_sees_it() -> None:
    # EXE004 writes the variable's name in the quotes most strings before it use: those of
    # `labels`, which no finding touches, count.
    text = (
        "from concurrent.futures import ThreadPoolExecutor\n"
        "\n"
        "\n"
        "def labels():\n"
        "    return ['a', 'b', 'c']\n"
        "\n"
        "\n"
        "def run(items):\n"
        "    with ThreadPoolExecutor(max_workers=8) as pool:\n"
        "        return list(pool.map(str, items))\n"
    )
    assert "os.environ.get('M_MAX_WORKERS', " in fixed(text, "EXE004")


def test_no_fix_is_offered_where_libcst_would_rewrite_more_than_the_fix() -> None:
    # libcst prints `except (A, B) :` back as `except (A, B):`: a fix of the function that
    # holds it would slip that change in.
    text = (
        "import time\n\n\nasync def f():\n"
        "    try:\n        pass\n    except (ValueError, KeyError) :\n        pass\n"
        "    time.sleep(1)\n"
    )
    (found,) = findings(text)
    new, reason = apply_codemod(registry()["ASY001"], text, "m.py", [found], Config())
    assert new == text
    assert reason == "libcst does not reproduce this file byte for byte; not rewritten"
    assert fix_finding(text, "m.py", found, Config()) is None


def test_code_libcst_cannot_reproduce_in_an_untouched_method_does_not_block_a_fix(
    tmp_path: Path,
) -> None:
    other = (
        "    def other(self):\n"
        "        try:\n"
        "            pass\n"
        "        except (ValueError, KeyError) :\n"
        "            pass\n"
    )
    poller = "class Poller:\n    async def f(self):\n"
    text = "import time\n\n\n" + poller + "        time.sleep(1)\n\n" + other
    path = tmp_path / "m.py"
    path.write_text(text)
    result = process_path(
        path, Options(codes=tuple(registry()), fix=True, threshold=FixSafety.SAFE)
    )
    assert result.new_text == (
        "import asyncio\n\n\n" + poller + "        await asyncio.sleep(1)\n\n" + other
    )
