"""VEC002: a retrieval `top_k` above the configured limit."""

from __future__ import annotations

import ast
import re

from flowfix.analysis.names import full_name
from flowfix.analysis.values import bound_names
from flowfix.detector import Detector
from flowfix.detectors.vector.names import resolved_names, terminal
from flowfix.rules import OptIn, Severity

TOP_K = re.compile(r"^(?!max_|min_)(?:\w+_)?top_k$")  # not the caps `max_top_k`, `min_top_k`
SAMPLING_KEYWORDS = frozenset(
    {
        "temperature",
        "top_p",
        "min_p",
        "max_tokens",
        "max_new_tokens",
        "do_sample",
        "repetition_penalty",
        "presence_penalty",
        "frequency_penalty",
    }
)
SAMPLING_CALLEES = frozenset({"generate", "GenerationConfig", "SamplingParams", "pipeline"})
LLM_PACKAGES = (
    "openai.",
    "anthropic.",
    "google.",
    "vertexai.",
    "transformers.",
    "vllm.",
    "ollama.",
    "litellm.",
    "dynamiq.nodes.llms.",
)


def int_value(node: ast.AST | None) -> int | None:
    """The value of an integer literal (not a bool, not a negative number)."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    return None


def class_fields(cls: ast.ClassDef) -> set[str]:
    """Names the class body's own assignments bind."""
    fields: set[str] = set()
    for statement in cls.body:
        if isinstance(statement, ast.AnnAssign):
            fields |= bound_names(statement.target)
        elif isinstance(statement, ast.Assign):
            for target in statement.targets:
                fields |= bound_names(target)
    return fields


def field_default(value: ast.Call) -> ast.expr | None:
    """The default of `Field(...)`: its first positional or `default=` argument, whichever
    comes first in the source."""
    candidates: list[ast.expr | ast.keyword] = [
        *value.args,
        *(k for k in value.keywords if k.arg in (None, "default")),
    ]
    if not candidates:
        return None
    first = min(candidates, key=lambda node: (node.lineno, node.col_offset))
    if isinstance(first, ast.keyword):
        return first.value
    return first.value if isinstance(first, ast.Starred) else first


class ExcessiveTopK(Detector):
    """A retrieval `top_k` above the configured limit (default 50).

    ## Why is this bad?
    Every retrieved document costs vector-search time, transfer, reranking and, when it reaches
    the prompt, tokens: an LLM context filled with 100 chunks is slower, more expensive and
    often less accurate than one with the 5–10 best. Seed 000 §10 lists "Retriever `top_k` too
    high returning unused results"; Dynamiq's retrievers default to `top_k=10`.

    ## Example
    ```python
    from dynamiq.nodes.retrievers import QdrantDocumentRetriever

    retriever = QdrantDocumentRetriever(index_name="docs", top_k=200)
    ```

    ## Use instead
    ```python
    from dynamiq.nodes.retrievers import QdrantDocumentRetriever

    retriever = QdrantDocumentRetriever(index_name="docs", top_k=10)
    ```

    ## Metric to monitor
    Retrieval latency, prompt tokens per request, and how many retrieved documents the answer
    actually cites.

    ## Limitations
    Only integer literals are checked, in keyword arguments and class field defaults named
    `top_k` or `*_top_k`; a function parameter's default (`def list_documents(top_k=100)`) is
    an API default, not a retrieval setting, and is not reported. Sampling `top_k` of LLM
    calls (`temperature`/`top_p` alongside it, `generate`, `GenerationConfig`, SDK clients) is
    a different setting and is not reported. The limit is the `top-k` setting of
    `[tool.flowfix]`.
    """

    CODE = "VEC002"
    NAME = "excessive-top-k"
    SEVERITY = Severity.OPTIMIZATION
    OPT_IN = OptIn.TUNING
    WHY_NOT_DEFAULT = "the right `top_k` depends on the corpus and on what reads the results"
    CATEGORY = "vector"
    FRAMEWORKS = ("dynamiq",)
    MESSAGE = "`{name}={value}` retrieves more than {limit} results; most will never be used"
    TRIGGERS = ("top_k",)

    def visit_keyword(self, node: ast.keyword) -> None:
        if node.arg is None or not TOP_K.match(node.arg):
            return
        call = self.model.parent(node)
        if isinstance(call, ast.Call) and not self.is_sampling_call(call):
            self.check(node, node.arg, node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.field(node, node.target, node.value)

    def visit_Assign(self, node: ast.Assign) -> None:
        if len(node.targets) == 1:
            self.field(node, node.targets[0], node.value)

    def field(self, node: ast.stmt, target: ast.expr, value: ast.expr | None) -> None:
        """A class field `top_k: int = 100` / `top_k: int = Field(default=100)`."""
        if not (isinstance(target, ast.Name) and TOP_K.match(target.id)):
            return
        scope = self.model.scope_of(target)
        cls = scope.node
        if not isinstance(cls, ast.ClassDef) or class_fields(cls) & SAMPLING_KEYWORDS:
            return
        if isinstance(value, ast.Call) and terminal(value.func) == "Field":
            value = field_default(value)
        self.check(node, target.id, value)

    def check(self, node: ast.AST, name: str, value: ast.expr | None) -> None:
        limit = self.config.threshold("top-k")
        number = int_value(value)
        if number is not None and number > limit:
            self.report(node, name=name, value=number, limit=limit)

    def is_sampling_call(self, call: ast.Call) -> bool:
        keywords = {k.arg for k in call.keywords if k.arg is not None}
        if keywords & SAMPLING_KEYWORDS or terminal(call.func) in SAMPLING_CALLEES:
            return True
        dotted = full_name(call.func) or ""
        return (
            any(name.startswith(LLM_PACKAGES) for name in resolved_names(self.model, call.func))
            or ".completions." in dotted
            or ".messages." in dotted
        )
