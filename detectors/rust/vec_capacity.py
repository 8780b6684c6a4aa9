"""RSP001: a `Vec` filled by one push per iteration of a loop whose length is known."""

from __future__ import annotations

import re

from tree_sitter import Node

from flowfix.rules import FixSafety, OptIn, Severity
from flowfix.rust.detector import RustDetector

# A type whose value has `.len()` equal to the number of items a `for` loop over it (or over
# its `iter()`) yields: a Vec, a slice or an array, owned or borrowed.
_SIZED = re.compile(r"^(?:&\s*(?:'\w+\s+)?(?:mut\s+)?)*(?:(?:std::vec::)?Vec\s*<|\[|Box\s*<\s*\[)")
# Adapters that keep an iterator's length.
_SAME_LENGTH = frozenset(
    {"iter", "iter_mut", "into_iter", "enumerate", "rev", "copied", "cloned", "map"}
)
_GROWERS = frozenset({"push", "extend", "insert", "append", "extend_from_slice", "resize"})
_STATEMENTS = ("let_declaration", "expression_statement")
_LOOPS = ("for_expression", "while_expression", "loop_expression", "closure_expression")
_EMPTY_VECS = frozenset({"Vec::new", "std::vec::Vec::new", "alloc::vec::Vec::new"})


class VecPushWithoutCapacity(RustDetector):
    """A `Vec` created empty, then filled by one `push` per iteration of a loop over a
    collection (or range) whose length is known up front.

    ## Why is this bad?
    An empty `Vec` grows by reallocating and copying its items each time it runs out of room:
    about log₂(n) allocations and copies for n pushes. When the loop's length is known, one
    allocation of the right size does it. DashFlow's guide (seed 002, "Vector
    Pre-allocation") applies this in its hot paths; it compounds where a node runs per item.

    ## Example
    ```rust
    pub fn summaries(items: &[String]) -> Vec<usize> {
        let mut results = Vec::new();
        for item in items {
            results.push(item.len());
        }
        results
    }
    ```

    ## Use instead
    ```rust
    pub fn summaries(items: &[String]) -> Vec<usize> {
        let mut results = Vec::with_capacity(items.len());
        for item in items {
            results.push(item.len());
        }
        results
    }
    ```

    ## Fix safety
    Safe: `Vec::with_capacity(n)` makes the same empty vector with room for n items, and
    the loop pushes exactly n (one push on every iteration: no `continue` or `break`, no push
    under a condition). Reported only when the length is known to be valid where the vector
    is created: a Vec, slice or array (or a reference to one, or its `iter()`, `iter_mut()`,
    `into_iter()`, possibly `enumerate`d, `map`ped, `rev`ersed) declared with its type as a
    parameter, a `let` or a field of the impl's struct, or a range `0..n` whose `n` is a
    `usize` (a literal, a `.len()`, or a `usize` parameter or `let`).

    ## Metric to monitor
    Allocations per node execution (a counting allocator, or heaptrack) and the node's
    latency p50.
    """

    CODE = "RSP001"
    NAME = "vec-push-without-capacity"
    SEVERITY = Severity.OPTIMIZATION
    OPT_IN = OptIn.MINOR
    WHY_NOT_DEFAULT = "a vector's growth is amortized: reserving saves a few reallocations"
    CATEGORY = "memory"
    FIX = FixSafety.SAFE
    MESSAGE = (
        "`{name}` grows by one push per iteration over `{iterable}`: "
        "create it with `Vec::with_capacity({capacity})`"
    )
    TRIGGERS = ("push",)

    def visit_let_declaration(self, node: Node) -> None:
        pattern, value = node.child_by_field_name("pattern"), node.child_by_field_name("value")
        if pattern is None or value is None or pattern.type != "identifier":
            return
        if not self._is_empty_vec(value):
            return
        name = self.model.source(pattern)
        between: list[Node] = []
        loop = self._next_loop(node, name, between)
        if loop is None:
            return
        iterable = loop.child_by_field_name("value")
        body = loop.child_by_field_name("body")
        if iterable is None or body is None or not self._pushes_once(body, name):
            return
        capacity = self._capacity(iterable, node)
        # What the length reads must not change between the `let` and the loop.
        if capacity and not any(
            self._mentions(s, root) for s in between for root in _roots(capacity)
        ):
            self.report(
                node,
                data={"capacity": capacity},
                name=name,
                iterable=self.model.source(iterable),
                capacity=capacity,
            )

    def _is_empty_vec(self, value: Node) -> bool:
        if value.end_byte - value.start_byte > 60:
            return False  # longer than any spelling of `Vec::<T>::new()` worth resolving
        text = self.model.source(value)
        if not (text.endswith("new()") and "Vec" in text) and not text.startswith("vec!"):
            return False
        if value.type == "call_expression":
            arguments = value.child_by_field_name("arguments")
            callee = value.child_by_field_name("function")
            return (
                arguments is not None
                and arguments.named_child_count == 0
                and callee is not None
                and self.model.resolve(callee) in _EMPTY_VECS
            )
        if value.type == "macro_invocation":
            macro = value.child_by_field_name("macro")
            tokens = value.named_children[-1] if value.named_children else None
            return (
                macro is not None
                and self.model.source(macro) == "vec"
                and tokens is not None
                and tokens.type == "token_tree"
                and tokens.named_child_count == 0
            )
        return False

    def _next_loop(self, let: Node, name: str, between: list[Node]) -> Node | None:
        """The `for` loop that follows the `let` in its block, with nothing in between that
        mentions the vector (the statements in between are added to `between`)."""
        sibling = let.next_named_sibling
        while sibling is not None:
            inner = sibling.named_children[0] if sibling.type == "expression_statement" else sibling
            if inner.type == "for_expression":
                return inner
            if sibling.type in ("line_comment", "block_comment"):
                sibling = sibling.next_named_sibling
                continue
            if sibling.type not in _STATEMENTS or self._mentions(sibling, name):
                return None
            between.append(sibling)
            sibling = sibling.next_named_sibling
        return None

    def _mentions(self, node: Node, name: str) -> bool:
        return any(self.model.source(n) == name for n in self.model.identifiers(node))

    def _pushes_once(self, body: Node, name: str) -> bool:
        """One `name.push(…)` as a statement of the loop body, no other growth of `name`, and
        no `continue`/`break` of this loop."""
        growth = [
            call
            for call in self.model.method_calls(body, _GROWERS)
            if self.model.source(call[1]) == name
        ]
        if len(growth) != 1:
            return False
        call, _, method = growth[0]
        statement = call.parent
        if method != "push" or statement is None or statement.parent != body:
            return False
        for jump in self.model.nodes_in(body, "continue_expression", "break_expression"):
            if self.model.enclosing(jump, *_LOOPS) == body.parent:
                return False
        return True

    def _capacity(self, iterable: Node, let: Node) -> str:
        """The length of what the loop iterates, as an expression valid at the `let`
        ('' when it is not known)."""
        if iterable.type == "range_expression":
            return self._range_length(iterable, let)
        root = iterable
        while True:
            if root.type == "reference_expression":
                inner = root.child_by_field_name("value")
            elif root.type == "call_expression":
                callee = root.child_by_field_name("function")
                arguments = root.child_by_field_name("arguments")
                if callee is None or callee.type != "field_expression" or arguments is None:
                    return ""
                method = callee.child_by_field_name("field")
                if method is None or self.model.source(method) not in _SAME_LENGTH:
                    return ""
                if self.model.source(method) != "map" and arguments.named_child_count:
                    return ""
                inner = callee.child_by_field_name("value")
            else:
                break
            if inner is None:
                return ""
            root = inner
        declared = self.model.declared_type(root, let)
        if declared and _SIZED.match(declared):
            return f"{self.model.source(root)}.len()"
        return ""

    def _range_length(self, iterable: Node, let: Node) -> str:
        parts = iterable.named_children
        operator = next((c.type for c in iterable.children if not c.is_named), "")
        if len(parts) != 2 or operator != ".." or self.model.source(parts[0]) != "0":
            return ""
        end = parts[1]
        text = self.model.source(end)
        if end.type == "integer_literal" and text.isdigit():
            return text
        if end.type == "call_expression" and text.endswith(".len()"):
            root = _roots(text)[0]
            visible = root == "self" or self.model.binding_before(root, let) is not None
            return text if visible and "(" not in text[: -len(".len()")] else ""
        if end.type == "identifier" and self.model.declared_type(end, let) == "usize":
            return text
        return ""


def _roots(expression: str) -> list[str]:
    """The variable an expression such as `items.len()` or `self.rows.len()` starts from."""
    return [re.split(r"[.\[(]", expression.lstrip("&"), maxsplit=1)[0]]
