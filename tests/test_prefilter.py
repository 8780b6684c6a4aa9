"""FileView: the cheap questions the prefilters ask must never answer a false "no"."""

from __future__ import annotations

import ast

import pytest

from flowfix.prefilter import FileView, matches, occurrences

CASES = {
    "semicolons": "def f(q): es = Elasticsearch(URL); return es.search(q)\n",
    "one-line-compound": "class C:\n    def run(self): return Elasticsearch(URL)\n",
    "decorator": "@cache(Elasticsearch(URL))\ndef f():\n    pass\n",
    "multi-line-call": "x = wrap(\n    1,\n    Elasticsearch(\n        URL),\n)\n",
    "nested": "class C:\n    def f(self):\n        if a:\n            for b in c:\n"
    "                try:\n                    d = Elasticsearch(URL)\n"
    "                except E:\n                    pass\n",
    "match": "match x:\n    case 1:\n        y = Elasticsearch(URL)\n    case _:\n        pass\n",
    "header": "with Elasticsearch(URL) as es:\n    es.ping()\n",
    "alias": "from elasticsearch import Elasticsearch as ES\n\ndef f():\n    return ES(URL)\n",
}


@pytest.mark.parametrize("text", CASES.values(), ids=CASES.keys())
def test_a_call_is_found_wherever_it_sits(text: str) -> None:
    view = FileView(text, ast.parse(text))
    assert "Elasticsearch" in view.call_names("Elasticsearch")
    assert view.calls("Elasticsearch")


def test_near_misses_stay_silent() -> None:
    text = "import json\n\n# Elasticsearch is not used here\nvalue = json.dumps({})\n"
    view = FileView(text, ast.parse(text))
    assert not view.calls("Elasticsearch")
    assert view.calls("dumps") and not view.calls("loads")


def test_statement_facts() -> None:
    text = (
        "import os.path\nfrom time import sleep as nap\n\n"
        "class N:\n    async def exec_async(self):\n        while True:\n            nap(1)\n"
    )
    view = FileView(text, ast.parse(text))
    assert view.imports("os") and view.imports("time") and not view.imports("asyncio")
    assert view.has_async_def and view.statements.whiles
    assert view.statements.functions == {"exec_async"}
    assert view.calls("sleep")  # through the alias


@pytest.mark.parametrize(
    ("word", "name", "hit"),
    [
        ("*PoolExecutor", "ThreadPoolExecutor", True),
        ("*PoolExecutor", "PoolExecutorFactory", False),
        ("*MAX_WORKERS*", "DEFAULT_MAX_WORKERS_X", True),
        ("top_k", "max_top_k", False),
        ("*top_k", "max_top_k", True),
    ],
)
def test_words(word: str, name: str, hit: bool) -> None:
    assert matches(name, word) is hit
    assert bool(list(occurrences(f"x = {name}()", word))) is hit
