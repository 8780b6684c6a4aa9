"""Hypothesis profiles and a strategy for orchestration programs full of the catalog's problems.

Profiles (registered on import; `HYPOTHESIS_PROFILE=fuzz` selects the deep one):
- "ci" (default): derandomized, so CI cannot flake; example counts sized for a 2-core runner.
- "fuzz": random seeds and many more examples, for local bug hunting.

`programs()` builds module text from fragments: PocketFlow and Dynamiq node classes, async
functions and per-call helpers, with the anti-patterns (and near misses) in random positions,
under random import styles, indentation, blank lines, comments and newline style. Each program
carries marker statements and comments that no fix may touch, plus the top-level blocks meant
as near misses, so tests can check that a fix leaves unrelated code alone.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

HEALTH = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]

# max_examples here is the budget of the cheapest property; tests scale it with `examples()`.
settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=40, suppress_health_check=HEALTH
)
settings.register_profile(
    "fuzz", derandomize=False, deadline=None, max_examples=2000, suppress_health_check=HEALTH
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)


def examples(ci: int) -> int:
    """`ci` examples under the ci profile; the profile's (much larger) count otherwise."""
    if PROFILE == "ci":
        return ci
    return settings.default.max_examples


# --- names: how the program spells the modules and classes it uses ----------------------------


@dataclass(frozen=True)
class Names:
    """One program's import style: the header lines and how each API is spelled."""

    imports: tuple[str, ...]
    sleep: str
    clock: str
    get: str
    executor: str
    node: str
    async_node: str
    dynamiq_node: str
    openai: str
    json_load: str
    asyncio: str | None


TIME_STYLES = [
    (("import time",), "time.sleep", "time.time"),
    (("import time as tm",), "tm.sleep", "tm.time"),
    (("from time import sleep, time",), "sleep", "time"),
    (("from time import sleep as nap", "from time import time as now"), "nap", "now"),
    (("import time", "from time import sleep"), "sleep", "time.time"),
]
REQUESTS_STYLES = [
    (("import requests",), "requests.get"),
    (("import requests as rq",), "rq.get"),
    (("from requests import get as http_get",), "http_get"),
]
EXECUTOR_STYLES = [
    (("from concurrent.futures import ThreadPoolExecutor",), "ThreadPoolExecutor"),
    (("import concurrent.futures as cf",), "cf.ThreadPoolExecutor"),
    (("from concurrent.futures import ThreadPoolExecutor as TPE",), "TPE"),
]
POCKETFLOW_STYLES = [
    (("from pocketflow import AsyncNode, Node",), "Node", "AsyncNode"),
    (("import pocketflow",), "pocketflow.Node", "pocketflow.AsyncNode"),
    (("from pocketflow import AsyncNode as AsyncStep, Node as Step",), "Step", "AsyncStep"),
]
OPENAI_STYLES = [
    (("from openai import OpenAI",), "OpenAI"),
    (("import openai",), "openai.OpenAI"),
]
JSON_STYLES = [(("import json",), "json.load"), (("import json as js",), "js.load")]
ASYNCIO_STYLES: list[tuple[tuple[str, ...], str | None]] = [
    ((), None),
    (("import asyncio",), "asyncio"),
    (("import asyncio as aio",), "aio"),
]


@st.composite
def names(draw: st.DrawFn) -> Names:
    time_imports, sleep, clock = draw(st.sampled_from(TIME_STYLES))
    req_imports, get = draw(st.sampled_from(REQUESTS_STYLES))
    exe_imports, executor = draw(st.sampled_from(EXECUTOR_STYLES))
    pf_imports, node, async_node = draw(st.sampled_from(POCKETFLOW_STYLES))
    oa_imports, openai = draw(st.sampled_from(OPENAI_STYLES))
    js_imports, json_load = draw(st.sampled_from(JSON_STYLES))
    aio_imports, asyncio = draw(st.sampled_from(ASYNCIO_STYLES))
    imports = (
        *aio_imports,
        *time_imports,
        "import os",
        *js_imports,
        *req_imports,
        *exe_imports,
        "from pathlib import Path",
        *pf_imports,
        "from dynamiq.nodes.node import Node as DynamiqNode",
        *oa_imports,
    )
    return Names(
        imports=draw(st.permutations(imports)) if draw(st.booleans()) else imports,
        sleep=sleep,
        clock=clock,
        get=get,
        executor=executor,
        node=node,
        async_node=async_node,
        dynamiq_node="DynamiqNode",
        openai=openai,
        json_load=json_load,
        asyncio=asyncio,
    )


# --- building blocks ---------------------------------------------------------------------------

# A statement is a list of lines relative to its own indentation; "\t" at the start of a line
# stands for one indentation unit, replaced when the program is rendered.
Lines = list[str]


@dataclass
class Builder:
    """State shared while drawing one program: unique numbers and the markers emitted."""

    draw: st.DrawFn
    names: Names
    counter: int = 0
    markers: list[str] = field(default_factory=list)
    comment_markers: list[str] = field(default_factory=list)

    def fresh(self) -> int:
        self.counter += 1
        return self.counter

    def marker(self) -> str:
        k = self.fresh()
        line = f'marker_{k} = "keep {k}"  # marker {k}'
        self.markers.append(line)
        return line

    def comment(self) -> str:
        k = self.fresh()
        line = f"# marker comment {k}: leave me alone"
        self.comment_markers.append(line)
        return line


def indent(lines: Lines, depth: int = 1) -> Lines:
    return ["\t" * depth + line if line.strip() else line for line in lines]


def sprinkle(b: Builder, body: list[Lines]) -> Lines:
    """Join statements, adding markers, comments and blank lines between them at random."""
    out: Lines = []
    for statement in body:
        extra = b.draw(st.sampled_from(["", "", "marker", "comment", "blank", "blanks"]))
        if extra == "marker":
            out.append(b.marker())
        elif extra == "comment":
            out.append(b.comment())
        elif extra == "blank":
            out.append("")
        elif extra == "blanks":
            out.extend(["", ""])
        out.extend(statement)
    if b.draw(st.booleans()):
        out.append(b.marker())
    return out


# Statements for the body of an `async def` (x: a parameter; positive=True: a catalog problem).
def async_statements(b: Builder, positive: bool) -> list[Callable[[], Lines]]:
    n = b.names
    k = b.fresh()
    if positive:
        return [
            lambda: [f"{n.sleep}(0.{k % 9 + 1})"],
            lambda: [f"{n.sleep}(  # back off", "\t1,", ")"],
            lambda: [f"page_{k} = {n.get}(x, timeout=5)"],
            lambda: [f"text_{k} = open(x).read()"],
            lambda: [f'data_{k} = Path(x).read_text(encoding="utf-8")'],
            lambda: ["with open(x) as fh:", f"\tlines_{k} = fh.readlines()"],
            lambda: [f"t0_{k} = {n.clock}()", f"elapsed_{k} = {n.clock}() - t0_{k}"],
            lambda: ["if x:", f"\t{n.sleep}(1)"],
            lambda: ["for item in [x]:", f"\t{n.sleep}(0.5)  # throttle"],
            lambda: ["try:", f"\t{n.sleep}(2)", "except Exception:", "\tpass"],
        ]
    return [
        lambda: [f"def inner_{k}():", f"\t{n.sleep}(1)", f"inner_{k}"],
        lambda: [f"later_{k} = lambda: {n.sleep}(1)"],
        lambda: [f"class Local_{k}:", "\tdef run(self):", f"\t\t{n.sleep}(1)"],
        lambda: [f"reading_{k} = {n.clock}()"],
        lambda: [f"await_{k} = [x for x in range(3)]"],
        lambda: ["sleep_ = 1", f"size_{k} = len(str(sleep_))"],
    ]


# Statements for the body of a sync per-call function or method.
def sync_statements(b: Builder, positive: bool) -> list[Callable[[], Lines]]:
    n = b.names
    k = b.fresh()
    w = b.draw(st.integers(2, 64))
    if positive:
        return [
            lambda: [
                f"with {n.executor}(max_workers={w}) as pool_{k}:",
                f"\tresults_{k} = list(pool_{k}.map(str, x))",
            ],
            lambda: [
                f"pool_{k} = {n.executor}()",
                f"futures_{k} = [pool_{k}.submit(str, item) for item in x]",
                f"pool_{k}.shutdown()",
            ],
            lambda: [
                "for batch in x:",
                f"\twith {n.executor}() as pool_{k}:",
                f"\t\tlist(pool_{k}.map(str, batch))",
            ],
            lambda: [f"start_{k} = {n.clock}()", f"took_{k} = {n.clock}() - start_{k}"],
            lambda: [f'config_{k} = {n.json_load}(open("config.json"))'],
            lambda: [
                f"first_{k} = x.to_dict()",
                f"second_{k} = x.to_dict()",
            ],
            lambda: [f"{n.sleep}(0.1)"],
        ]
    return [
        lambda: [f"stamp_{k} = {n.clock}()", f"return_{k} = stamp_{k}"],
        lambda: [f"with {n.executor}(max_workers=1) as one_{k}:", f"\tone_{k}.submit(str, x)"],
        lambda: [f"config_{k} = {n.json_load}(open(x))"],
        lambda: [f"a_{k} = x.to_dict()", f"b_{k} = other.to_dict()"],
    ]


def body(b: Builder, pool: Callable[[Builder, bool], list[Callable[[], Lines]]]) -> Lines:
    """1-4 statements, each a positive or a near miss, with sprinkles between them."""
    count = b.draw(st.integers(1, 4))
    statements: list[Lines] = []
    for _ in range(count):
        positive = b.draw(st.booleans())
        make = b.draw(st.sampled_from(pool(b, positive)))
        statements.append(make())
    return sprinkle(b, statements)


def async_function(b: Builder, method: bool) -> Lines:
    k = b.fresh()
    params = "self, x" if method else "x, other=None"
    lines = [f"async def fetch_{k}({params}):"]
    lines += indent(body(b, async_statements) + ["return x"])
    return lines


def sync_function(b: Builder, method: bool) -> Lines:
    k = b.fresh()
    params = "self, x, other=None" if method else "x, other=None"
    lines = [f"def work_{k}({params}):"]
    lines += indent(body(b, sync_statements) + ["return x"])
    return lines


def place_function(b: Builder, make: Callable[[Builder, bool], Lines]) -> Lines:
    """A function at module level, decorated, nested in a function, or as a method."""
    where = b.draw(st.sampled_from(["module", "decorated", "nested", "class", "if"]))
    if where == "module":
        return make(b, False)
    if where == "decorated":
        return ["@passthrough", *make(b, False)]
    if where == "nested":
        k = b.fresh()
        inner = make(b, False)
        name = inner[0].split("(")[0].split()[-1]
        return [f"def outer_{k}():", *indent(inner), f"\treturn {name}"]
    if where == "if":
        return ["if os.environ.get('FEATURE'):", *indent(make(b, False))]
    k = b.fresh()
    return [f"class Holder_{k}:", *indent([b.marker(), "", *make(b, True)])]


def pocketflow_node(b: Builder) -> Lines:
    n = b.names
    k = b.fresh()
    per_call = b.draw(st.booleans())
    client = (
        [f"client = {n.openai}()", 'return client.chat.completions.create(model="m", messages=[])']
        if per_call
        else ["return prep_res"]
    )
    append = b.draw(st.sampled_from(["append", "setdefault", "bounded", "assign"]))
    post = {
        "append": [f'shared["history_{k}"].append(exec_res)'],
        "setdefault": [f'shared.setdefault("log_{k}", []).append(exec_res)'],
        "bounded": [
            f'shared["recent_{k}"].append(exec_res)',
            f'shared["recent_{k}"] = shared["recent_{k}"][-100:]',
        ],
        "assign": [f'shared["last_{k}"] = exec_res'],
    }[append]
    exec_body = body(b, sync_statements) if b.draw(st.booleans()) else []
    return [
        f"class Step_{k}({n.node}):",
        *indent(
            [
                "def prep(self, shared):",
                '\treturn shared.get("data")',
                "",
                "def exec(self, prep_res):",
                *indent(sprinkle(b, [exec_body, client])),
                "",
                "def post(self, shared, prep_res, exec_res):",
                *indent(sprinkle(b, [post, ['return "default"']])),
            ]
        ),
    ]


def async_node(b: Builder) -> Lines:
    n = b.names
    k = b.fresh()
    return [
        f"class Fetch_{k}({n.async_node}):",
        *indent(
            [
                "async def prep_async(self, shared):",
                '\treturn shared["url"]',
                "",
                "async def exec_async(self, x):",
                *indent(body(b, async_statements) + ["return x"]),
                "",
                "async def post_async(self, shared, prep_res, exec_res):",
                f'\tshared["pages_{k}"].append(exec_res)',
            ]
        ),
    ]


def dynamiq_node(b: Builder) -> Lines:
    n = b.names
    k = b.fresh()
    init = b.draw(st.sampled_from(["none", "super", "missing"]))
    init_lines: Lines = {
        "none": [],
        "super": [
            "def init_components(self, connection_manager=None):",
            "\tsuper().init_components(connection_manager)",
            "\tself._ready = True",
            "",
        ],
        "missing": [
            "def init_components(self, connection_manager=None):",
            "\t# forgets the base class",
            "\tself._ready = True",
            "",
        ],
    }[init]
    arg = b.draw(st.sampled_from(['api_key=os.environ["KEY"]', "timeout=30.0", "", "api_key=x"]))
    client = [f"client = {n.openai}({arg})", "reply = client.chat.completions.create(messages=[])"]
    return [
        f"class Tool_{k}({n.dynamiq_node}):",
        *indent(
            [
                f'name: str = "Tool {k}"',
                "",
                *init_lines,
                "def execute(self, x, config=None, **kwargs):",
                *indent(sprinkle(b, [client, body(b, sync_statements)]) + ["return {}"]),
            ]
        ),
    ]


def module_constant(b: Builder) -> Lines:
    k = b.fresh()
    w = b.draw(st.integers(2, 64))
    return b.draw(
        st.sampled_from(
            [
                [f"MAX_WORKERS_{k} = {w}"],
                [f"SHARED_POOL_{k} = {b.names.executor}(max_workers={w})"],
                [f"LIMIT_{k} = {w}"],
            ]
        )
    )


@dataclass(frozen=True)
class Program:
    """A generated module and what a fix must leave alone."""

    text: str
    markers: tuple[str, ...]
    comment_markers: tuple[str, ...]
    # Top-level blocks as (first line, last line, text), 1-based; near misses if no finding.
    blocks: tuple[tuple[int, int, str], ...]


BLOCKS: list[Callable[[Builder], Lines]] = [
    lambda b: place_function(b, async_function),
    lambda b: place_function(b, sync_function),
    pocketflow_node,
    async_node,
    dynamiq_node,
    module_constant,
]


@st.composite
def programs(draw: st.DrawFn) -> Program:
    """A valid module mixing the catalog's anti-patterns and near misses."""
    b = Builder(draw=draw, names=draw(names()))
    unit = draw(st.sampled_from(["    ", "    ", "  ", "\t"]))
    newline = draw(st.sampled_from(["\n", "\n", "\n", "\r\n"]))
    header: Lines = []
    if draw(st.booleans()):
        header += ['"""A generated orchestration module."""', ""]
    header += list(b.names.imports)
    header += ["", "", "def passthrough(fn):", "\treturn fn"]
    blocks: list[Lines] = []
    for _ in range(draw(st.integers(1, 5))):
        blocks.append(draw(st.sampled_from(BLOCKS))(b))
    lines = list(header)
    spans: list[tuple[int, int, Lines]] = []
    for block in blocks:
        gap = draw(st.sampled_from(["two", "one", "marker", "comment"]))
        if gap == "marker":
            lines += ["", b.marker(), ""]
        elif gap == "comment":
            lines += ["", "", b.comment()]
        else:
            lines += [""] * (2 if gap == "two" else 1)
        spans.append((len(lines) + 1, len(lines) + len(block), block))
        lines += block
    if draw(st.booleans()):
        lines += ["", b.marker()]

    def render(block: Lines) -> Lines:
        out = []
        for line in block:
            depth = len(line) - len(line.lstrip("\t"))
            out.append(unit * depth + line[depth:])
        return out

    text = newline.join(render(lines)) + newline
    compile(text, "generated.py", "exec", dont_inherit=True)
    return Program(
        text=text,
        markers=tuple(b.markers),
        comment_markers=tuple(b.comment_markers),
        blocks=tuple((first, last, "\n".join(render(block))) for first, last, block in spans),
    )
