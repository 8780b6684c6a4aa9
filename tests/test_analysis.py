"""The semantic model: scopes, bindings, qualified names, enclosing code, spans."""

from __future__ import annotations

import ast
import textwrap

import pytest

from flowfix.analysis import Model
from flowfix.analysis.arguments import (
    argument_values,
    first_argument_value,
    ordered_arguments,
)
from flowfix.analysis.assignments import local_assignment
from flowfix.analysis.excerpts import code_excerpt, excerpt_in_parentheses, source_text
from flowfix.analysis.methods import instance_name, is_instance_attribute, is_static
from flowfix.analysis.names import full_name, last_name, shown_callee, spelled_name
from flowfix.analysis.owners import enclosing_definition, outermost_function, owner_of
from flowfix.analysis.spans import span_data
from flowfix.analysis.statement_lines import (
    containing_body,
    in_one_line_body,
    is_below,
    is_line_statement,
    line_end,
    shares_line,
    statement_index,
)
from flowfix.analysis.values import block_nodes, declares_slots, kind_between, own_nodes
from flowfix.rules import Span


def model_of(source: str) -> Model:
    text = textwrap.dedent(source)
    return Model(ast.parse(text), text, (ast.Call, ast.Name))


def call(model: Model, code: str) -> ast.Call:
    """The first call whose source is `code`."""
    for node in model.nodes(ast.Call):
        if ast.unparse(node) == code:
            return node  # type: ignore[return-value]
    raise AssertionError(f"no call {code}")


@pytest.mark.parametrize(
    ("source", "code", "expected"),
    [
        ("import time\ntime.sleep(1)\n", "time.sleep(1)", {"time.sleep"}),
        ("import time as t\nt.sleep(1)\n", "t.sleep(1)", {"time.sleep"}),
        ("from time import sleep as nap\nnap(1)\n", "nap(1)", {"time.sleep"}),
        ("import os.path\nos.path.join('a')\n", "os.path.join('a')", {"os.path.join"}),
        ("import os.path as p\np.join('a')\n", "p.join('a')", {"os.path.join"}),
        ("from . import utils\nutils.call_llm()\n", "utils.call_llm()", {".utils.call_llm"}),
        ("from .utils import call_llm\ncall_llm()\n", "call_llm()", {".utils.call_llm"}),
        ("open('f')\n", "open('f')", {"builtins.open"}),
        ("undefined_name()\n", "undefined_name()", set()),
        ("def helper(): pass\nhelper()\n", "helper()", {"helper"}),
        ("x = 1\nfrom time import sleep as x\nx()\n", "x()", {"x", "time.sleep"}),
        ("def f(time):\n    time.sleep(1)\n", "time.sleep(1)", {"f.<locals>.time.sleep"}),
        (
            "class C:\n    def m(self):\n        self.run()\n",
            "self.run()",
            {"C.m.<locals>.self.run"},
        ),
        ("from time import *\nsleep(1)\n", "sleep(1)", set()),
    ],
)
def test_qualified_names_follow_imports_and_bindings(
    source: str, code: str, expected: set[str]
) -> None:
    model = model_of(source)
    assert model.qualified_names(call(model, code).func) == expected


def test_a_name_bound_in_the_module_is_not_a_library_target() -> None:
    model = model_of(
        """
        import time
        time = Clock()
        time.sleep(1)
        """
    )
    assert model.resolves_to(call(model, "time.sleep(1)").func, {"time.sleep"}) is None


def test_resolves_to_needs_every_binding_to_be_a_target() -> None:
    model = model_of(
        """
        try:
            from time import sleep
        except ImportError:
            from asyncio import sleep
        sleep(1)
        """
    )
    func = call(model, "sleep(1)").func
    assert model.resolves_to(func, {"time.sleep"}) is None
    assert model.resolves_to(func, {"time.sleep", "asyncio.sleep"}) == "asyncio.sleep"


def test_class_scope_is_invisible_to_methods_and_comprehension_bodies() -> None:
    model = model_of(
        """
        import time
        class C:
            time = None
            first = [t for t in time.values()]
            def m(self):
                time.sleep(1)
        """
    )
    assert model.qualified_names(call(model, "time.sleep(1)").func) == {"time.sleep"}
    # The first iterable of a comprehension runs in the class body: it sees the class's name.
    assert model.qualified_names(call(model, "time.values()").func) == {"C.time.values"}


def test_comprehension_targets_are_local_to_the_comprehension() -> None:
    model = model_of(
        """
        import time
        def f(items):
            [time(x) for time in items]
            time.sleep(1)
        """
    )
    assert model.qualified_names(call(model, "time.sleep(1)").func) == {"time.sleep"}
    comprehension_call = call(model, "time(x)")
    assert model.scope_of(comprehension_call).kind == "comprehension"
    assert model.resolves_to(comprehension_call.func, {"time"}) is None


def test_global_and_nonlocal_bind_in_the_declared_scope() -> None:
    model = model_of(
        """
        def setup():
            global client
            client = make()
        def outer():
            handle = None
            def inner():
                nonlocal handle
                handle = open_it()
            return inner
        client.get()
        """
    )
    [binding] = model.module_scope.bindings["client"]
    assert binding.scope is model.module_scope
    assert model.qualified_names(call(model, "client.get()").func) == {"client.get"}
    outer = model.scopes[model.tree.body[1]]
    assert len(outer.bindings["handle"]) == 2


def test_walrus_in_a_comprehension_binds_in_the_function() -> None:
    model = model_of(
        """
        def f(items):
            [y := g(x) for x in items]
            return y
        """
    )
    function = model.scopes[model.tree.body[0]]
    assert "y" in function.bindings and "x" not in function.bindings


def test_defaults_and_decorators_run_outside_the_function() -> None:
    model = model_of(
        """
        import time
        @decorate(time.time())
        def f(time=time.monotonic()):
            return time
        """
    )
    assert model.qualified_names(call(model, "time.time()").func) == {"time.time"}
    assert model.qualified_names(call(model, "time.monotonic()").func) == {"time.monotonic"}


def test_coroutine_of_is_the_async_def_whose_own_body_runs_the_node() -> None:
    model = model_of(
        """
        async def run():
            direct()
            [in_list() for _ in range(2)]
            (in_generator() for _ in range(2))
            lambda: in_lambda()
            def nested():
                in_nested()
            class Inner:
                in_class()
        def plain():
            in_plain()
        """
    )
    coroutine = model.tree.body[0]
    for code in ("direct()", "in_list()", "in_generator()"):
        assert model.coroutine_of(call(model, code)) is coroutine, code
    for code in ("in_lambda()", "in_nested()", "in_class()", "in_plain()"):
        assert model.coroutine_of(call(model, code)) is None, code
    assert model.in_generator_expression(call(model, "in_generator()"), coroutine)
    assert not model.in_generator_expression(call(model, "in_list()"), coroutine)


def test_iteration_loop_is_the_loop_that_runs_the_node_per_iteration() -> None:
    model = model_of(
        """
        def f(items):
            for item in source():
                per_item()
                [in_comprehension() for _ in item]
            else:
                after()
            while polling():
                pass
        """
    )
    loop = model.tree.body[0].body[0]  # type: ignore[attr-defined]
    assert model.iteration_loop(call(model, "per_item()")) is loop
    assert model.iteration_loop(call(model, "in_comprehension()")) is loop
    assert model.iteration_loop(call(model, "source()")) is None
    assert model.iteration_loop(call(model, "after()")) is None
    assert model.enclosing_loop(call(model, "after()")) is loop
    assert model.iteration_loop(call(model, "polling()")) is not None


def test_class_of_and_function_of() -> None:
    model = model_of(
        """
        class Node:
            def exec(self):
                work()
        """
    )
    cls = model.tree.body[0]
    method = cls.body[0]  # type: ignore[attr-defined]
    assert model.class_of(method) is cls
    assert model.function_of(call(model, "work()")) is method
    assert model.class_of(cls) is None


def test_bound_otherwise_sees_non_import_bindings() -> None:
    model = model_of(
        """
        import asyncio
        async def f():
            g()
        async def h(asyncio):
            g2()
        """
    )
    assert not model.bound_otherwise(call(model, "g()"), "asyncio")
    assert model.bound_otherwise(call(model, "g2()"), "asyncio")


def test_spans_count_code_points_and_leave_parentheses_outside() -> None:
    text = 'é = "ünïcode"; (sleep(1))\nx = [\n    f(a,\n      b)]\n'
    model = Model(ast.parse(text), text, (ast.Call,))
    sleep, f = model.nodes(ast.Call)
    assert model.span(sleep) == Span(1, 17, 1, 25)
    assert text.splitlines()[0][16:24] == "sleep(1)"
    assert model.span(f) == Span(3, 5, 4, 9)


def test_spans_count_lines_as_cpython_does() -> None:
    text = "a = 1\r\nb = 2\rsleep(1)\n"
    model = Model(ast.parse(text), text, (ast.Call,))
    [sleep] = model.nodes(ast.Call)
    assert model.span(sleep) == Span(3, 1, 3, 9)


def test_deeply_nested_code_is_modelled_without_recursion() -> None:
    text = "x = " + " + ".join(["a"] * 900) + "\n"
    model = Model(ast.parse(text), text, (ast.Name,))
    assert len(model.nodes(ast.Name)) == 901
    name = model.nodes(ast.Name)[-1]
    assert model.scope_of(name) is model.module_scope


def test_del_gives_no_binding_but_makes_the_name_local() -> None:
    model = model_of(
        """
        POLL = 0.05
        def f():
            del POLL
            wait(POLL)
        node = make()
        del node
        use(node)
        """
    )
    function_read = call(model, "wait(POLL)").args[0]
    assert isinstance(function_read, ast.Name)
    assert model.bindings_of(function_read) == [] and not model.is_module_level_name(function_read)
    module_read = call(model, "use(node)").args[0]
    assert isinstance(module_read, ast.Name)
    assert [b.kind for b in model.bindings_of(module_read)] == ["assignment"]


def test_source_is_the_nodes_text_with_its_line_endings() -> None:
    text = 'x = 1\nfoo(a,\n    b)  # c\né = "ü"; bar( 1 )\r\ny=(\r\n 2)\n'
    model = Model(ast.parse(text), text, ())
    for node in ast.walk(model.tree):
        if isinstance(node, (ast.expr, ast.stmt)):
            assert model.source(node) == ast.get_source_segment(text, node)


def function(model: Model, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef:
    """The def named `name`."""
    for node in ast.walk(model.tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return node
    raise AssertionError(f"no def {name}")


def test_instance_name_is_the_first_positional_parameter_of_an_instance_method() -> None:
    model = model_of(
        """
        import builtins
        class C:
            def m(this, x): pass
            def p(me, /, x): pass
            @staticmethod
            def s(x): pass
            @builtins.classmethod
            def c(cls): pass
            def bare(*args): pass
        """
    )
    assert instance_name(model, function(model, "m")) == "this"
    assert instance_name(model, function(model, "p")) == "me"
    assert instance_name(model, function(model, "s")) is None
    assert instance_name(model, function(model, "c")) is None
    assert instance_name(model, function(model, "bare")) is None
    assert is_static(model, function(model, "c")) and not is_static(model, function(model, "m"))


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("a.b.c", "a.b.c"),
        ("OpenAI().chat.completions.create", "OpenAI.chat.completions.create"),
        ("x[0].y", "x.y"),
        ("'s'.join", "None.join"),
        ("(a + b)", None),
    ],
)
def test_full_name_reads_through_calls_and_subscripts(code: str, expected: str | None) -> None:
    assert full_name(ast.parse(code, mode="eval").body) == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("requests.get", "requests.get"),
        ("OpenAI().chat.create", "OpenAI.chat.create"),
        ("'s'.join", "join"),
        ("(lambda: 0)()", "call"),
    ],
)
def test_shown_callee_falls_back_to_the_last_attribute(code: str, expected: str) -> None:
    func = ast.parse(code, mode="eval").body
    assert shown_callee(func.func if isinstance(func, ast.Call) else func) == expected


def statement(model: Model, code: str) -> ast.stmt:
    """The first statement whose source is `code`."""
    for node in ast.walk(model.tree):
        if isinstance(node, ast.stmt) and ast.unparse(node) == code:
            return node
    raise AssertionError(f"no statement {code}")


def test_statement_lines_tell_one_line_bodies_and_shared_lines() -> None:
    model = model_of(
        """
        def f(xs):
            for x in xs: a = 1; b = 2
            c = 3; d = 4
            e = 5
            if x: g = 1; \\
              h = 2
            return e
        """
    )
    a, b, c, d, e = (statement(model, f"{n} = {i}") for i, n in enumerate("abcde", 1))
    assert in_one_line_body(model, a) and in_one_line_body(model, b)
    assert not in_one_line_body(model, c) and not in_one_line_body(model, e)
    assert shares_line(model, c) and shares_line(model, d) and not shares_line(model, e)
    assert line_end(model, c) is d and line_end(model, e) is e
    assert is_line_statement(model, e) and not is_line_statement(model, c)
    assert not is_line_statement(model, a)
    # `h` goes on past a `\\`: its own `;` group starts its line, its block does not.
    h = statement(model, "h = 2")
    assert not in_one_line_body(model, h) and in_one_line_body(model, h, by_block_start=True)
    body = containing_body(model, e)
    assert body is not None and body[statement_index(model, e.targets[0], body) or 0] is e
    assert is_below(model, a.targets[0], body) and not is_below(model, e, [a])


def test_excerpts_quote_source_on_one_line() -> None:
    text = "x = f(  # note\r\n    (a or b).count,\r\n    'é' * 100,\r\n)\r\n"
    model = Model(ast.parse(text), text, (ast.Call, ast.Name))
    outer = call(model, "f((a or b).count, 'é' * 100)")
    attribute, repeated = outer.args
    assert source_text(model, repeated) == "'é' * 100"
    assert source_text(model, outer).split("\n")[1] == "    (a or b).count,"
    assert "\r\n" in source_text(model, outer, line_ends_as_written=True)
    assert code_excerpt(model, attribute, cut_attribute=True) == "(a or b)"
    assert code_excerpt(model, outer, limit=20) == "f( # note (a or b).…"
    assert excerpt_in_parentheses(model, attribute.value) == "(a or b)"
    assert code_excerpt(model, attribute.value) == "a or b"


def test_span_data_is_the_span_as_a_list() -> None:
    model = model_of("x = 'é' + f(\n  1)\n")
    assert span_data(model, call(model, "f(1)")) == [1, 11, 2, 5]


def test_block_nodes_are_the_own_nodes_of_a_block() -> None:
    model = model_of(
        """
        def f(xs):
            a = g(xs)
            @deco
            def inner(y=h()):
                return k(y)
            return [m(x) for x in xs]
        """
    )
    body = function(model, "f").body
    calls = [ast.unparse(n) for n in block_nodes(body) if isinstance(n, ast.Call)]
    assert calls == ["g(xs)", "m(x)"]
    assert list(block_nodes(body)) == list(own_nodes(ast.Module(body=body, type_ignores=[])))


def test_owners_of_code_scopes_and_headers() -> None:
    model = model_of(
        """
        def outer():
            run = lambda: [helper() for _ in range(3)]
            def inner(x=default()):
                pass
        class C:
            size = compute()
        """
    )
    outer, inner = function(model, "outer"), function(model, "inner")
    assert isinstance(owner_of(model, call(model, "helper()")), ast.Lambda)
    assert owner_of(model, call(model, "default()")) is outer
    assert enclosing_definition(model, call(model, "default()")) is inner
    assert isinstance(owner_of(model, call(model, "compute()")), ast.ClassDef)
    assert outermost_function(model, inner) is outer and outermost_function(model, outer) is outer
    assert enclosing_definition(model, outer) is model.tree


@pytest.mark.parametrize(
    ("code", "this", "expected"),
    [
        ("self.client", "self", True),
        ("me.client", "self", False),
        ("self.other", "self", False),
        ("self.client.x", "self", False),
        ("self.client", None, False),
    ],
)
def test_is_instance_attribute(code: str, this: str | None, expected: bool) -> None:
    assert is_instance_attribute(ast.parse(code, mode="eval").body, this, "client") is expected


def test_arguments_in_source_order() -> None:
    model = model_of("f(k=1, *rest, **more)\ng()\nh(a, b=2)\n")
    first = call(model, "f(*rest, k=1, **more)")
    kinds = [type(arg).__name__ for arg in ordered_arguments(first)]
    assert kinds == ["keyword", "Starred", "keyword"]
    assert [ast.unparse(value) for value in argument_values(first)] == ["1", "rest", "more"]
    assert first_argument_value(call(model, "g()")) is None
    assert ast.unparse(first_argument_value(call(model, "h(a, b=2)"))) == "a"


@pytest.mark.parametrize(
    ("code", "spelled", "last"),
    [
        ("pydantic.Field", "pydantic.Field", "Field"),
        ("make().Field", "make.Field", "Field"),
        ("Field[int]", "Field", "Field"),
        ("'s'.join", None, "join"),
        ("(a + b)", None, None),
    ],
)
def test_spelled_and_last_names(code: str, spelled: str | None, last: str | None) -> None:
    node = ast.parse(code, mode="eval").body
    assert spelled_name(node) == spelled and last_name(node) == last


LOCAL_ASSIGNMENTS = {
    "one_assignment_and_its_reads": (
        "loop = get()\nx = loop.a\ndef inner():\n    return loop.b\nreturn x",
        {"name": "loop", "statement": [2, 5, 2, 17], "reads": [[3, 9, 3, 13], [5, 16, 5, 20]]},
    ),
    "assigned_twice": ("loop = get()\nloop = get()\nreturn loop", None),
    "two_targets": ("loop = other = get()\nreturn loop", None),
    "tuple_target": ("loop, other = get()\nreturn loop", None),
    "augmented_later": ("loop = get()\nloop += 1\nreturn loop", None),
    "a_parameter": ("return loop", None),
    "global": ("global loop\nloop = get()\nreturn loop", None),
    "deleted": ("loop = get()\ndel loop\nreturn 1", None),
    "shares_its_line": ("loop = get(); x = 1\nreturn loop", None),
    "a_one_line_body": ("if x: loop = get()\nreturn loop", None),
    "fills_its_block": ("if x:\n    loop = get()\nreturn loop", None),
    "locals_read": ("loop = get()\nreturn loop, locals()", None),
}


@pytest.mark.parametrize("case", sorted(LOCAL_ASSIGNMENTS))
def test_local_assignment_names_a_lone_assignment_and_its_reads(case: str) -> None:
    body, expected = LOCAL_ASSIGNMENTS[case]
    source = "def f(x, loop=None):\n" if case == "a_parameter" else "def f(x):\n"
    model = model_of(source + textwrap.indent(body, "    ") + "\n")
    func = model.tree.body[0]
    assert local_assignment(model, func, "loop") == expected


def test_kind_between_stops_at_its_node() -> None:
    model = model_of("def f(xs):\n    return [g(x) for x in xs]\n")
    function = model.tree.body[0]
    call = next(n for n in ast.walk(model.tree) if isinstance(n, ast.Call))
    assert kind_between(model, call, function, ast.ListComp)
    assert not kind_between(model, call, function, ast.Lambda)
    comprehension = next(n for n in ast.walk(model.tree) if isinstance(n, ast.ListComp))
    assert not kind_between(model, call, comprehension, ast.ListComp)


@pytest.mark.parametrize(
    ("body", "slotted"),
    [
        ("__slots__ = ('a',)", True),
        ("__slots__: tuple[str, ...] = ('a',)", True),
        ("slots = ('a',)", False),
        ("__slots__ += ('a',)", False),
        ("def __slots__(self): ...", False),
    ],
)
def test_declares_slots(body: str, slotted: bool) -> None:
    (cls,) = ast.parse(f"class C:\n    {body}\n").body
    assert isinstance(cls, ast.ClassDef)
    assert declares_slots(cls) is slotted
