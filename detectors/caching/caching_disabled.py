"""CAC001: a Dynamiq node's output cache turned off."""

from __future__ import annotations

import ast

from flowfix.analysis.excerpts import code_excerpt
from flowfix.detector import Detector
from flowfix.rules import OptIn, Severity

DYNAMIQ = ("dynamiq",)


class CachingDisabled(Detector):
    """A Dynamiq node turns its output cache off with `CachingConfig(enabled=False)`.

    ## Why is this bad?
    Dynamiq can cache a node's output keyed by its input, so a repeated input skips the
    node entirely: no LLM call, no retrieval, no tool run. A node configured with
    `CachingConfig(enabled=False)` recomputes every time, even when its output depends only on
    its input. The Dynamiq review checklist lists "nodes with `caching.enabled = False` that
    have deterministic outputs" as a caching problem; for an LLM node a cache hit saves the
    whole round trip (typically seconds) and its tokens.

    ## Example
    ```python
    from dynamiq.nodes import CachingConfig
    from dynamiq.nodes.embedders import OpenAITextEmbedder

    embedder = OpenAITextEmbedder(caching=CachingConfig(enabled=False))
    ```

    ## Use instead
    ```python
    from dynamiq.nodes import CachingConfig
    from dynamiq.nodes.embedders import OpenAITextEmbedder

    embedder = OpenAITextEmbedder(caching=CachingConfig(enabled=True))
    ```

    ## Metric to monitor
    Cache hit rate of the node and its per-node latency p50/p95; LLM calls and tokens per
    workflow run.

    ## Limitations
    Whether a node is deterministic is not checked: nodes with side effects (writers, tools
    that change external state) or time-dependent output should stay uncached, and a
    `# noqa: CAC001` documents that choice. `CachingConfig` is recognised when imported from
    Dynamiq (or used by name without an import); `node.caching.enabled = False` is reported
    too, dict configs are not.
    """

    CODE = "CAC001"
    NAME = "caching-disabled"
    SEVERITY = Severity.OPTIMIZATION
    OPT_IN = OptIn.CONTEXT
    WHY_NOT_DEFAULT = (
        "only a deterministic node without side effects may be cached, and its code does not "
        "show which"
    )
    CATEGORY = "caching"
    FRAMEWORKS = DYNAMIQ
    MESSAGE = "`{code}` disables the node's output cache; enable it if the output is deterministic"
    TRIGGERS = ("CachingConfig", ".caching")

    def visit_Call(self, node: ast.Call) -> None:
        if any(
            keyword.arg == "enabled" and _is_false(keyword.value) for keyword in node.keywords
        ) and self._is_caching_config(node.func):
            self.report(node, code=code_excerpt(self.model, node))

    def visit_Assign(self, node: ast.Assign) -> None:
        if not _is_false(node.value):
            return
        for target in node.targets:
            if (
                isinstance(target, ast.Attribute)
                and target.attr == "enabled"
                and isinstance(target.value, ast.Attribute)
                and target.value.attr == "caching"
            ):
                self.report(node, code=f"{code_excerpt(self.model, target)} = False")

    def _is_caching_config(self, func: ast.expr) -> bool:
        """`CachingConfig` imported from Dynamiq (or a relative module), or used by a name
        that nothing in the module binds."""
        names = self.model.qualified_names(func)
        if not names:
            last = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            return last == "CachingConfig"
        return all(
            name.rsplit(".", 1)[-1] == "CachingConfig"
            and (name.startswith(("dynamiq.", ".")) or name == "CachingConfig")
            for name in names
        )


def _is_false(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is False
