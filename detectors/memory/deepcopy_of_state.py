"""MEM002: `copy.deepcopy()` of the whole shared store or run state."""

from __future__ import annotations

import ast

from flowfix.analysis import Model
from flowfix.analysis.arguments import argument_value, ordered_arguments
from flowfix.analysis.excerpts import code_excerpt
from flowfix.analysis.model import FUNCTIONS, FunctionNode
from flowfix.analysis.names import full_name
from flowfix.detector import Detector
from flowfix.detectors.memory.state_stores import state_name
from flowfix.rules import OptIn, Severity

# Functions whose job is a full, independent copy: a checkpoint, a snapshot, a clone.
COPY_PURPOSE_WORDS = ("snapshot", "checkpoint", "backup", "clone", "copy")


def first_argument(call: ast.Call) -> tuple[ast.expr, str | None] | None:
    """(value, keyword) of `call`'s first argument in source order; keyword None for a
    positional or star argument (star arguments unwrapped)."""
    arguments = ordered_arguments(call)
    if not arguments:
        return None
    first = arguments[0]
    return argument_value(first), first.arg if isinstance(first, ast.keyword) else None


def copy_is_the_purpose(model: Model, call: ast.Call, func: FunctionNode) -> bool:
    """Inside `clone()`, `__deepcopy__`, `snapshot_*()`..., or stored as a snapshot or
    checkpoint."""
    names = [func.name]
    owner = model.parent(call)
    if isinstance(owner, ast.Assign):
        names += [full_name(target) or "" for target in owner.targets]
    elif isinstance(owner, ast.AnnAssign):
        names.append(full_name(owner.target) or "")
    elif isinstance(owner, ast.keyword):
        names.append(owner.arg or "")
    return any(word in name.lower() for name in names for word in COPY_PURPOSE_WORDS)


class DeepcopyOfState(Detector):
    """The whole shared store or run state is deep-copied on every run.

    ## Why is this bad?
    `copy.deepcopy()` walks and duplicates every object the store references: documents,
    embeddings, message histories. Its cost grows with the store, and it runs on every call
    of the function that makes it. pflow's analysis of nested workflows measures about 1 ms
    per copy for small stores, growing with their size, and isolates child workflows with a
    shallow `copy.copy(shared)` instead, passing large values by reference.

    ## Example
    ```python
    import copy

    from pocketflow import Node


    class RunSubflow(Node):
        def exec(self, prep_res):
            sub_shared = copy.deepcopy(self.shared)
            return self.subflow.run(sub_shared)
    ```

    ## Use instead
    ```python
    import copy

    from pocketflow import Node


    class RunSubflow(Node):
        def exec(self, prep_res):
            sub_shared = copy.copy(self.shared)
            return self.subflow.run(sub_shared)
    ```

    ## Metric to monitor
    Per-node latency p50/p95 of the copying node and peak memory of a run, both as the
    shared store grows.

    ## Limitations
    The store is recognised by name (`shared`, `shared_store`, `shared_state`, `state`,
    `flow_state`, `graph_state`, ... including attributes such as `self.shared`). Copies made
    in `clone()`/`copy()`/`__deepcopy__` or for a snapshot, checkpoint or backup are the
    point of those functions and are not reported. Whether a shallow copy is enough depends
    on whether the copy's values are mutated in place.
    """

    CODE = "MEM002"
    NAME = "deepcopy-of-state"
    SEVERITY = Severity.OPTIMIZATION
    OPT_IN = OptIn.CONTEXT
    WHY_NOT_DEFAULT = (
        "a deep copy is needed when the copy's values are changed in place, which the copying"
        " code does not show"
    )
    CATEGORY = "memory"
    FRAMEWORKS = ("pocketflow", "kaygraph", "pflow", "dynamiq")
    MESSAGE = "`deepcopy({state})` copies the whole run state on every call of `{function}()`"
    TRIGGERS = ("deepcopy",)

    def visit_Call(self, node: ast.Call) -> None:
        first = first_argument(node)
        if first is None or self.model.resolves_to(node.func, {"copy.deepcopy"}) is None:
            return
        value, keyword = first
        if keyword is not None or state_name(value) is None:
            return
        func = self.model.function_of(node)
        if not isinstance(func, FUNCTIONS) or copy_is_the_purpose(self.model, node, func):
            return
        self.report(node, state=code_excerpt(self.model, value), function=func.name)
