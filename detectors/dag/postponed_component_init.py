"""DAG002: a Dynamiq node created with `is_postponed_component_init=True`."""

from __future__ import annotations

import ast

from flowfix.detector import Detector
from flowfix.rules import OptIn, Severity

POSTPONED = "is_postponed_component_init"


def is_true(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


class PostponedComponentInit(Detector):
    """A Dynamiq node created with `is_postponed_component_init=True`.

    ## Why is this bad?
    A Dynamiq node normally runs `init_components()`, which creates its LLM, embedder or
    vector-store clients, once in its constructor. With `is_postponed_component_init=True` that
    work is deferred until the node is added to a `Flow` (`Flow.__init__` and `add_nodes` call
    `init_components(connection_manager)` for every postponed node). Building the flow, often
    done per request or per agent run, then pays for client and connection setup on the
    request path instead of once at startup (seed 000 §1: nodes "that could be
    pre-initialized").

    ## Example
    ```python
    from dynamiq.connections import OpenAI as OpenAIConnection
    from dynamiq.nodes.llms import OpenAI

    llm = OpenAI(
        connection=OpenAIConnection(),
        model="gpt-4o-mini",
        is_postponed_component_init=True,
    )
    ```

    ## Use instead
    ```python
    from dynamiq.connections import OpenAI as OpenAIConnection
    from dynamiq.nodes.llms import OpenAI

    llm = OpenAI(connection=OpenAIConnection(), model="gpt-4o-mini")
    ```

    ## Metric to monitor
    Time to first node execution and the number of client connections opened per request.

    ## Limitations
    Postponing is right when the node is built before its connection manager exists (the YAML
    loader does this and initializes the nodes right after); such a flag set through a dict
    (`data["is_postponed_component_init"] = True`) or a variable is not reported.
    """

    CODE = "DAG002"
    NAME = "postponed-component-init"
    SEVERITY = Severity.OPTIMIZATION
    OPT_IN = OptIn.TUNING
    WHY_NOT_DEFAULT = (
        "postponing moves client creation to the flow that adopts the node, once, with the "
        "flow's connection manager; Dynamiq's YAML loader sets it itself"
    )
    CATEGORY = "dag"
    FRAMEWORKS = ("dynamiq",)
    MESSAGE = "`is_postponed_component_init=True` delays client creation to flow construction"
    TRIGGERS = (POSTPONED,)

    def visit_keyword(self, node: ast.keyword) -> None:
        if node.arg == POSTPONED and is_true(node.value):
            self.report(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if self.is_postponed_target(node.target) and is_true(node.value):
            self.report(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        if is_true(node.value) and any(self.is_postponed_target(t) for t in node.targets):
            self.report(node)

    def is_postponed_target(self, target: ast.expr) -> bool:
        """A class field `is_postponed_component_init` or `<node>.is_postponed_component_init`."""
        if isinstance(target, ast.Attribute):
            return target.attr == POSTPONED
        return (
            isinstance(target, ast.Name)
            and target.id == POSTPONED
            and self.model.scope_of(target).kind == "class"
        )
