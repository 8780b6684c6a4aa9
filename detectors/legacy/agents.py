"""Agent rules: loop limits and per-iteration work of agent loops."""

from __future__ import annotations

import ast

import libcst as cst
from libcst.metadata import PositionProvider

from flowfix.detectors.legacy.executors import iteration_loops, statement_chain
from flowfix.edits import code_excerpt
from flowfix.libcst_detector import LibcstDetector as Detector
from flowfix.parents import ParentProvider
from flowfix.prefilter import FileView
from flowfix.reduction import Sites
from flowfix.rules import Severity
from flowfix.scope import ScopeProvider
from flowfix.semantics import iteration_loop, loop_item_names, read_names

FRAMEWORKS = ("dynamiq",)


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
