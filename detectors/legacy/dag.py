"""DAG rules: graph shapes and node settings that serialize or delay a flow."""

from __future__ import annotations

import ast

import libcst as cst
from libcst.metadata import PositionProvider

from flowfix.libcst_detector import LibcstDetector as Detector
from flowfix.parents import ParentProvider
from flowfix.prefilter import FileView, innermost
from flowfix.reduction import Sites
from flowfix.rules import Severity
from flowfix.semantics import scope_owner

POSTPONED = "is_postponed_component_init"


def _is_true(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == "True"


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
    CATEGORY = "dag"
    FRAMEWORKS = ("dynamiq",)
    MESSAGE = "`is_postponed_component_init=True` delays client creation to flow construction"
    TRIGGERS = (POSTPONED,)
    METADATA_DEPENDENCIES = (PositionProvider, ParentProvider)

    REACH = "function"

    @classmethod
    def ast_candidate(cls, view: FileView) -> Sites:
        """Each `is_postponed_component_init=True` keyword argument, and each assignment of
        `True` to an attribute or a class-level name of that name."""

        def true(node: ast.expr | None) -> bool:
            return isinstance(node, ast.Constant) and node.value is True

        def postponed(target: ast.expr, statement: ast.AST) -> bool:
            if isinstance(target, ast.Attribute):
                return target.attr == POSTPONED
            if not (isinstance(target, ast.Name) and target.id == POSTPONED):
                return False
            chain = view.enclosing(statement.lineno)  # type: ignore[attr-defined]
            index = innermost(chain)
            return index is not None and isinstance(chain[index], ast.ClassDef)

        sites: list[ast.AST] = []
        for node in view.nodes_near([POSTPONED], ast.keyword, ast.Assign, ast.AnnAssign):
            if isinstance(node, ast.keyword):
                if node.arg == POSTPONED and true(node.value):
                    sites.append(node)
            elif isinstance(node, ast.Assign):
                if true(node.value) and any(postponed(t, node) for t in node.targets):
                    sites.append(node)
            elif (
                isinstance(node, ast.AnnAssign)
                and true(node.value)
                and postponed(node.target, node)
            ):
                sites.append(node)
        return sites

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None and node.keyword.value == POSTPONED and _is_true(node.value):
            self.report(node)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if self._is_postponed_target(node.target) and _is_true(node.value):
            self.report(node)

    def visit_Assign(self, node: cst.Assign) -> None:
        if _is_true(node.value) and any(self._is_postponed_target(t.target) for t in node.targets):
            self.report(node)

    def _is_postponed_target(self, target: cst.BaseExpression) -> bool:
        """A class field `is_postponed_component_init` or `<node>.is_postponed_component_init`."""
        if isinstance(target, cst.Attribute):
            return target.attr.value == POSTPONED
        return (
            isinstance(target, cst.Name)
            and target.value == POSTPONED
            and isinstance(scope_owner(self, target), cst.ClassDef)
        )
