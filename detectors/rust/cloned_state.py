"""RSS001: graph state that clones large read-only collections at every node."""

from __future__ import annotations

import re

from tree_sitter import Node

from flowfix.rules import FixSafety, OptIn, Severity
from flowfix.rust.detector import RustDetector

COLLECTION = re.compile(
    r"^(?:std::collections::|std::vec::)?(?:Vec|HashMap|BTreeMap|HashSet|BTreeSet|VecDeque)\s*<"
)
STATE_TRAITS = re.compile(r"^(?:[\w:]*::)?(?:GraphState|MergeableState)$")
MUTATORS = (
    r"push\w*|insert\w*|extend\w*|append|clear|retain\w*|remove\w*|truncate|drain\w*|sort\w*"
    r"|dedup\w*|entry|get_mut|iter_mut|values_mut|pop\w*|swap\w*|resize\w*|splice|split_off"
)


class ClonedStateHoldsSharedData(RustDetector):
    """A `#[derive(Clone)]` graph state with a collection field that nodes only read: it is
    cloned with the state at every node.

    ## Why is this bad?
    DashFlow clones the state once per node execution (and once per parallel worker). A
    `Vec`, `HashMap` or `BTreeMap` of reference data inside it is deep-copied every time,
    although no node changes it: the cost grows with the data, not with the work (seed 002,
    "State Design"). An `Arc` shares it: a clone copies one pointer.

    ## Example
    ```rust
    #[derive(Clone)]
    pub struct AnalysisState {
        pub reference_data: Vec<String>,
        pub current_item: String,
    }

    pub fn build() -> StateGraph<AnalysisState> {
        StateGraph::new()
    }
    ```

    ## Use instead
    ```rust
    use std::sync::Arc;

    #[derive(Clone)]
    pub struct AnalysisState {
        pub reference_data: Arc<Vec<String>>,
        pub current_item: String,
    }

    pub fn build() -> StateGraph<AnalysisState> {
        StateGraph::new()
    }
    ```

    ## Metric to monitor
    Per-node latency p50 and bytes allocated per node execution, as the reference data grows.

    ## Limitations
    A type counts as graph state when the file uses it as `StateGraph<T>` or implements
    `GraphState`/`MergeableState` for it. A field is taken as read-only when no code in the
    file mutates it (`push`, `insert`, `extend`, assignment, `&mut`, ...); code elsewhere may.
    Checkpointed states need `#[serde(skip)]` (or a separate checkpoint type) for the `Arc`.
    """

    CODE = "RSS001"
    NAME = "cloned-state-holds-shared-data"
    SEVERITY = Severity.OPTIMIZATION
    OPT_IN = OptIn.CONTEXT
    WHY_NOT_DEFAULT = (
        "whether cloning the state is on a hot path depends on the graph and the size of the "
        "data, which the type does not show"
    )
    CATEGORY = "memory"
    FIX = FixSafety.NONE
    MESSAGE = (
        "`{state}.{field}` (`{kind}`) is cloned with the state at every node but never changed "
        "here: share it as `Arc<{kind}>`"
    )
    TRIGGERS = ("StateGraph", "GraphState", "MergeableState")

    def run(self) -> None:
        states = self._state_types()
        if not states:
            return
        for item in self.model.nodes("struct_item"):
            name = item.child_by_field_name("name")
            if (
                name is None
                or self.model.source(name) not in states
                or not self._derives_clone(item)
            ):
                continue
            for declaration in self.model.nodes_in(item, "field_declaration"):
                self._check_field(self.model.source(name), declaration)

    def _state_types(self) -> set[str]:
        states = set(re.findall(r"\bStateGraph\s*(?:::)?\s*<\s*(\w+)\s*>", self.model.text))
        for impl in self.model.nodes("impl_item"):
            trait, kind = impl.child_by_field_name("trait"), impl.child_by_field_name("type")
            if (
                trait is not None
                and kind is not None
                and STATE_TRAITS.match(self.model.source(trait))
            ):
                states.add(self.model.source(kind))
        return states

    def _derives_clone(self, item: Node) -> bool:
        previous = item.prev_named_sibling
        while previous is not None and previous.type in ("attribute_item", "line_comment"):
            text = self.model.source(previous)
            if text.startswith("#[derive") and re.search(r"\bClone\b", text):
                return True
            previous = previous.prev_named_sibling
        return False

    def _check_field(self, state: str, declaration: Node) -> None:
        name, written = (
            declaration.child_by_field_name("name"),
            declaration.child_by_field_name("type"),
        )
        if name is None or written is None:
            return
        kind = self.model.source(written)
        if not COLLECTION.match(kind) or self._mutated(self.model.source(name)):
            return
        self.report(declaration, state=state, field=self.model.source(name), kind=kind)

    def _mutated(self, field: str) -> bool:
        """Whether code in the file changes `field` (of any value: the file's own code is all
        there is to go by)."""
        name = re.escape(field)
        return bool(
            re.search(rf"\.{name}\s*\.\s*(?:{MUTATORS})\b", self.model.text)
            or re.search(rf"\.{name}\s*(?:\[[^\]]*\]\s*)?(?:[-+*/|&^]?=)(?!=)", self.model.text)
            or re.search(rf"&mut\s+[\w.]*\.{name}\b", self.model.text)
        )
