"""AGT002: the same prompt's tokens counted again on every loop iteration."""

from __future__ import annotations

import ast

from flowfix.analysis.excerpts import code_excerpt
from flowfix.analysis.values import loop_item_names, read_names
from flowfix.detector import Detector
from flowfix.rules import OptIn, Severity


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
    OPT_IN = OptIn.MINOR
    WHY_NOT_DEFAULT = (
        "counting a prompt's tokens takes milliseconds next to the LLM call it comes before"
    )
    CATEGORY = "agents"
    FRAMEWORKS = ("dynamiq",)
    MESSAGE = "`{call}` tokenizes the same prompt again on every iteration of the loop"
    TRIGGERS = ("count_tokens",)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if not isinstance(func, ast.Attribute) or func.attr != "count_tokens":
            return
        loop = self.model.iteration_loop(node)
        if loop is None or read_names(node) & loop_item_names(loop):
            return
        receiver = code_excerpt(self.model, func, cut_attribute=True)
        self.report(node, call=f"{receiver}.count_tokens()")
