"""Agent rules: loop limits and per-iteration work of agent loops."""

from __future__ import annotations

import ast

import libcst as cst
from libcst.metadata import PositionProvider

from flowfix.detectors.legacy.executors import iteration_loops, statement_chain
from flowfix.edits import code_excerpt
from flowfix.libcst_detector import LibcstDetector as Detector
from flowfix.parents import ParentProvider
from flowfix.prefilter import FUNCTION_DEFS, FileView, call_name, innermost
from flowfix.reduction import Sites
from flowfix.rules import Severity
from flowfix.scope import ScopeProvider
from flowfix.semantics import iteration_loop, loop_item_names, read_names, scope_owner

FRAMEWORKS = ("dynamiq",)
FIELD_FACTORIES = frozenset({"Field", "field"})
MIN_LIMIT = 1  # the config accepts only positive `max-loops` limits


def _int_value(node: cst.BaseExpression | None) -> int | None:
    if isinstance(node, cst.Integer):
        value = node.evaluated_value
        return value if isinstance(value, int) else None
    return None


def _field_default(node: cst.BaseExpression | None) -> int | None:
    """The integer a class attribute defaults to: `50`, `Field(default=50)`, `Field(50)`."""
    if not isinstance(node, cst.Call):
        return _int_value(node)
    name = cst.helpers.get_full_name_for_node(node.func) or ""
    if name.rsplit(".", 1)[-1] not in FIELD_FACTORIES:
        return None
    for index, arg in enumerate(node.args):
        if arg.keyword is not None and arg.keyword.value == "default":
            return _int_value(arg.value)
        if index == 0 and arg.keyword is None and not arg.star:
            return _int_value(arg.value)
    return None


def _ast_may_exceed(node: ast.AST | None) -> bool:
    """An int literal above any limit (`_int_value`: a bool or a signed number is none)."""
    return isinstance(node, ast.Constant) and type(node.value) is int and node.value > MIN_LIMIT


def _ast_default_may_exceed(args: ast.arguments) -> bool:
    """A `max_loops` parameter whose default may exceed the limit."""
    positional = [*args.posonlyargs, *args.args]
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    pairs = [
        *zip(positional, defaults, strict=True),
        *zip(args.kwonlyargs, args.kw_defaults, strict=True),
    ]
    return any(arg.arg == "max_loops" and _ast_may_exceed(default) for arg, default in pairs)


def _ast_class_attribute(view: FileView, node: ast.AST) -> bool:
    """`max_loops = <int>` / `Field(<int>)` / `Field(default=<int>)` in a class body (when its
    scope cannot be told, yes)."""
    value: ast.expr | None
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target, value = node.targets[0], node.value
    elif isinstance(node, ast.AnnAssign):
        target, value = node.target, node.value
    else:
        return False
    if not (isinstance(target, ast.Name) and target.id == "max_loops"):
        return False
    if isinstance(value, ast.Call):
        if call_name(value) not in FIELD_FACTORIES:
            return False
        values = [k.value for k in value.keywords if k.arg == "default"] + value.args[:1]
        if not any(_ast_may_exceed(v) for v in values):
            return False
    elif not _ast_may_exceed(value):
        return False
    chain = statement_chain(view, node)
    index = innermost(chain)
    return not chain or (index is not None and isinstance(chain[index], ast.ClassDef))


class ExcessiveMaxLoops(Detector):
    """An agent's `max_loops` is set above the configured limit.

    ## Why is this bad?
    Every loop of a ReAct-style agent is one more LLM round trip (seconds of latency and a
    prompt that grows with each observation). A high `max_loops` lets an agent that cannot
    converge burn through many expensive iterations before it gives up; the Dynamiq review
    checklist names "agent `max_loops` too high causing unnecessary iterations". Most tasks
    finish in a handful of loops, so the limit should sit close to that.

    ## Example
    ```python
    from dynamiq.nodes.agents import Agent


    def build_agent(llm, tools):
        return Agent(name="researcher", llm=llm, tools=tools, max_loops=30)
    ```

    ## Use instead
    ```python
    from dynamiq.nodes.agents import Agent


    def build_agent(llm, tools):
        return Agent(name="researcher", llm=llm, tools=tools, max_loops=8)
    ```

    ## Metric to monitor
    Loops per agent run (p50/p95 and the share of runs that hit the limit), LLM calls and
    tokens per run, and per-node latency p95 of the agent.

    ## Limitations
    Only integer literals are checked: a `max_loops=` keyword in any call, a `max_loops`
    parameter default, and a `max_loops` class attribute (`= 30`, `Field(default=30)`).
    The limit is the `max-loops` setting (default 10).
    """

    CODE = "AGT001"
    NAME = "excessive-max-loops"
    SEVERITY = Severity.OPTIMIZATION
    CATEGORY = "agents"
    FRAMEWORKS = FRAMEWORKS
    MESSAGE = "`max_loops={value}` is above the limit of {limit} agent iterations"
    TRIGGERS = ("max_loops",)
    METADATA_DEPENDENCIES = (PositionProvider, ParentProvider)
    REACH = "function"

    @classmethod
    def ast_candidate(cls, view: FileView) -> Sites:
        """Each `max_loops=<int>` keyword, each def or lambda with a `max_loops` parameter
        defaulting to an int, and each class-level `max_loops = <int>` (or `Field(<int>)`,
        `Field(default=<int>)`), for an int above the lowest limit the config accepts."""
        sites: list[ast.AST] = []
        types = (ast.keyword, *FUNCTION_DEFS, ast.Lambda, ast.Assign, ast.AnnAssign)
        for node in view.nodes_near(["max_loops"], *types):
            if isinstance(node, ast.keyword):
                found = node.arg == "max_loops" and _ast_may_exceed(node.value)
            elif isinstance(node, (*FUNCTION_DEFS, ast.Lambda)):
                found = _ast_default_may_exceed(node.args)
            else:
                found = _ast_class_attribute(view, node)
            if found:
                sites.append(node)
        return sites

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None and node.keyword.value == "max_loops":
            self._check(node, _int_value(node.value))

    def visit_Param(self, node: cst.Param) -> None:
        if node.name.value == "max_loops":
            self._check(node, _int_value(node.default))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if self._is_class_attribute(node, node.target):
            self._check(node, _field_default(node.value))

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1 and self._is_class_attribute(node, node.targets[0].target):
            self._check(node, _field_default(node.value))

    def _is_class_attribute(self, node: cst.CSTNode, target: cst.BaseExpression) -> bool:
        return (
            isinstance(target, cst.Name)
            and target.value == "max_loops"
            and isinstance(scope_owner(self, node), cst.ClassDef)
        )

    def _check(self, node: cst.CSTNode, value: int | None) -> None:
        limit = self.config.threshold("max-loops")
        if value is not None and value > limit:
            self.report(node, value=value, limit=limit)


class TokenCountInLoop(Detector):
    """Tokens of the same prompt are counted again on every loop iteration.

    ## Why is this bad?
    `prompt.count_tokens()` tokenizes the whole message history. Called on every iteration
    of an agent loop it re-tokenizes a prompt that only grew by one observation, so the total
    work grows quadratically with the number of loops and long histories spend measurable
    CPU time (milliseconds per call) before each LLM request. The Dynamiq review checklist
    calls out "token counting overhead with `prompt.count_tokens()` on every loop".

    ## Example
    ```python
    def run_agent(agent, prompt, model, limit):
        for _ in range(agent.max_loops):
            if prompt.count_tokens(model) > limit:
                agent.summarize(prompt)
            agent.step(prompt)
    ```

    ## Use instead
    ```python
    def run_agent(agent, prompt, model, limit):
        tokens = prompt.count_tokens(model)
        for _ in range(agent.max_loops):
            if tokens > limit:
                break
            tokens += agent.step(prompt)
    ```

    ## Metric to monitor
    CPU time per agent loop iteration and per-node latency p95 of the agent, especially for
    long message histories.

    ## Limitations
    Calls that count the item the loop iterates over (`for message in messages:
    total += llm.count_tokens(message)`) are per-item work and are not reported. Token counts
    made in helper methods that the loop calls are not followed.
    """

    CODE = "AGT002"
    NAME = "token-count-in-loop"
    SEVERITY = Severity.OPTIMIZATION
    CATEGORY = "agents"
    FRAMEWORKS = FRAMEWORKS
    MESSAGE = "`{call}` tokenizes the same prompt again on every iteration of the loop"
    TRIGGERS = ("count_tokens",)
    METADATA_DEPENDENCIES = (PositionProvider, ParentProvider, ScopeProvider)
    REACH = "function"

    @classmethod
    def ast_candidate(cls, view: FileView) -> Sites:
        """Each `<expr>.count_tokens(...)` that a loop of its scope may run per iteration."""
        sites: list[ast.AST] = []
        for call in view.calls_to("count_tokens"):
            if isinstance(call.func, ast.Attribute) and call.func.attr == "count_tokens":
                chain = statement_chain(view, call)
                if not chain or iteration_loops(chain):
                    sites.append(call)
        return sites

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value != "count_tokens":
            return
        loop = iteration_loop(self, node)
        if loop is None or read_names(node) & loop_item_names(loop):
            return
        self.report(node, call=f"{code_excerpt(func.value)}.count_tokens()")
