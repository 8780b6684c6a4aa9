"""DAG001: a long linear chain of framework nodes wired in one module."""

from __future__ import annotations

import ast

from flowfix.analysis.frameworks import ALL_FRAMEWORKS
from flowfix.detector import Detector
from flowfix.detectors.dag.graph import GraphReader, linear_chains
from flowfix.rules import OptIn, Severity

FRAMEWORKS = ALL_FRAMEWORKS
# The statements whose value may wire nodes, read in source order.
Statement = ast.Expr | ast.Assign | ast.AnnAssign | ast.Return


class SequentialChain(Detector):
    """A long linear chain of nodes: each node waits for the previous one.

    ## Why is this bad?
    A flow's latency is the sum of the latencies along its longest path. In a chain
    `a >> b >> c >> d` (PocketFlow, KayGraph, pflow) or a Dynamiq `depends_on` chain, every
    node starts only after the previous one finished, even when it does not use that node's
    output; Dynamiq runs every node whose dependencies are met in parallel, so a dependency that
    is not really needed turns four one-second LLM calls into four seconds instead of one.
    Seed 001 (pitfall 3, "Inefficient Graph Structure") rewires such chains of independent
    tasks into a fan-out from a coordinator and a merge node; seed 000 §1 asks to review deep
    `depends_on()` chains.

    ## Example
    ```python
    from pocketflow import Flow, Node


    class Fetch(Node): ...
    class Summarize(Node): ...
    class Translate(Node): ...
    class Publish(Node): ...


    def build_flow():
        fetch, summarize, translate, publish = Fetch(), Summarize(), Translate(), Publish()
        fetch >> summarize >> translate >> publish
        return Flow(start=fetch)
    ```

    ## Use instead
    ```python
    from pocketflow import AsyncFlow, AsyncParallelBatchNode, Node


    class Fetch(Node): ...
    class SummarizeAndTranslate(AsyncParallelBatchNode): ...
    class Publish(Node): ...


    def build_flow():
        fetch, both, publish = Fetch(), SummarizeAndTranslate(), Publish()
        fetch >> both >> publish
        return AsyncFlow(start=fetch)
    ```

    ## Metric to monitor
    End-to-end flow latency against the sum of per-node latencies (p50/p95): a chain whose
    nodes are independent finishes in the time of its slowest node once parallelized.

    ## Limitations
    The rule sees the shape of the graph, not the data: a chain whose nodes really consume each
    other's output (load → chunk → embed → store) is reported too, as an opportunity to check,
    and `# noqa: DAG001` keeps it. Nodes are names bound once to a node constructor in this
    module (framework classes, local classes with framework bases or hooks, classes named
    `*Node`/`*Flow`); graphs built in loops, from parameters or across modules are not
    followed. A conditional edge (`a - "action" >> b`) or a node with several successors or
    predecessors ends a chain.
    """

    CODE = "DAG001"
    NAME = "sequential-chain"
    SEVERITY = Severity.OPTIMIZATION
    OPT_IN = OptIn.CONTEXT
    WHY_NOT_DEFAULT = (
        "the graph's shape does not show whether a node reads the previous node's output; on "
        "real flows every link does"
    )
    CATEGORY = "dag"
    FRAMEWORKS = FRAMEWORKS
    MESSAGE = (
        "sequential chain of {depth} nodes `{chain}`: each waits for the previous one; "
        "run independent nodes in parallel"
    )
    TRIGGERS = (">>", "depends", ".next(")

    def visit_Expr(self, node: ast.Expr) -> None:
        self.statements.append(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.statements.append(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.statements.append(node)

    def visit_Return(self, node: ast.Return) -> None:
        self.statements.append(node)

    def run(self) -> None:
        """One graph for the module, read from every statement-level value in source order
        (the order decides which statement a chain is reported at)."""
        self.statements: list[Statement] = []
        super().run()
        self.statements.sort(key=lambda node: (node.lineno, node.col_offset))
        reader = GraphReader(self.model)
        for statement in self.statements:
            if statement.value is not None:
                reader.read(statement, statement.value)
        threshold = self.config.threshold("chain-length")
        for chain in linear_chains(reader.graph):
            if len(chain) + 1 < threshold:
                continue
            arrow = " -> " if any(edge.depends for edge in chain) else " >> "
            labels = [chain[0].source[0], *(edge.target[0] for edge in chain)]
            self.report(chain[0].root, depth=len(labels), chain=arrow.join(labels))
