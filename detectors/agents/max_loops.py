"""AGT001: an agent's `max_loops` set above the configured limit."""

from __future__ import annotations

import ast

from flowfix.analysis.arguments import ordered_arguments
from flowfix.analysis.names import last_name
from flowfix.detector import Detector
from flowfix.rules import OptIn, Severity

FIELD_FACTORIES = frozenset({"Field", "field"})


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
    The limit is the `max-loops` setting (default 15, Dynamiq's own default: a cap at or
    below it asks for no more loops than any agent gets).

    Opt-in (group `tuning`): `max_loops` is a cap, not a cost. An agent that converges stops
    long before it, so the cap only bounds the runs that fail, and on real code the caps
    above the default (20-50 for browsing, desktop-control and research agents) were chosen
    for tasks that need that many steps.
    """

    CODE = "AGT001"
    NAME = "excessive-max-loops"
    SEVERITY = Severity.OPTIMIZATION
    OPT_IN = OptIn.TUNING
    WHY_NOT_DEFAULT = (
        "`max_loops` is a cap, not a cost: an agent stops when it has its answer, and the cap"
        " a task needs is its author's call"
    )
    CATEGORY = "agents"
    FRAMEWORKS = ("dynamiq",)
    MESSAGE = "`max_loops={value}` is above the limit of {limit} agent iterations"
    TRIGGERS = ("max_loops",)

    def visit_keyword(self, node: ast.keyword) -> None:
        if node.arg == "max_loops":
            self._check(node, int_value(node.value))

    def visit_arg(self, node: ast.arg) -> None:
        if node.arg != "max_loops":
            return
        arguments = self.model.parent(node)
        default = parameter_default(arguments, node) if arguments is not None else None
        if default is not None:
            self._check(_spanning(node, default), int_value(default))

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if self._is_class_attribute(node, node.target):
            self._check(node, field_default(node.value))

    def visit_Assign(self, node: ast.Assign) -> None:
        if len(node.targets) == 1 and self._is_class_attribute(node, node.targets[0]):
            self._check(node, field_default(node.value))

    def _is_class_attribute(self, node: ast.stmt, target: ast.expr) -> bool:
        return (
            isinstance(target, ast.Name)
            and target.id == "max_loops"
            and self.model.scope_of(node).kind == "class"
        )

    def _check(self, node: ast.AST, value: int | None) -> None:
        limit = self.config.threshold("max-loops")
        if value is not None and value > limit:
            self.report(node, value=value, limit=limit)


def int_value(node: ast.AST | None) -> int | None:
    """The value of an integer literal (not a bool, not a signed number)."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    return None


def parameter_default(arguments: ast.AST, parameter: ast.arg) -> ast.expr | None:
    """The default of `parameter`, one of the parameters `arguments` declares."""
    if not isinstance(arguments, ast.arguments):
        return None
    positional = [*arguments.posonlyargs, *arguments.args]
    if parameter in positional:
        index = positional.index(parameter) - (len(positional) - len(arguments.defaults))
        return arguments.defaults[index] if index >= 0 else None
    if parameter in arguments.kwonlyargs:
        return arguments.kw_defaults[arguments.kwonlyargs.index(parameter)]
    return None


def _spanning(parameter: ast.arg, default: ast.expr) -> ast.AST:
    """A positioned node from the parameter's name to the end of its default."""
    node = ast.Name(id=parameter.arg, ctx=ast.Load())
    node.lineno, node.col_offset = parameter.lineno, parameter.col_offset
    node.end_lineno, node.end_col_offset = default.end_lineno, default.end_col_offset
    return node


def field_default(node: ast.AST | None) -> int | None:
    """The integer a class attribute defaults to: `50`, `Field(default=50)`, `Field(50)`."""
    if not isinstance(node, ast.Call):
        return int_value(node)
    if last_name(node.func) not in FIELD_FACTORIES:
        return None
    arguments = ordered_arguments(node)
    for index, arg in enumerate(arguments):
        if isinstance(arg, ast.keyword):
            if arg.arg == "default":
                return int_value(arg.value)
        elif index == 0 and not isinstance(arg, ast.Starred):
            return int_value(arg)
    return None
