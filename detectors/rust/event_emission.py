"""RSE001: events built and emitted with no check that anyone listens."""

from __future__ import annotations

import re

from tree_sitter import Node

from flowfix.rules import FixSafety, OptIn, Severity
from flowfix.rust.detector import RustDetector

EMITTERS = re.compile(r"emit|notify|callback|dispatch_event|broadcast|publish_event")
LISTENERS = re.compile(r"callbacks|subscribers|listeners|observers|handlers")
COLLECTION = re.compile(r"^(?:Vec|VecDeque|HashMap|BTreeMap|HashSet|BTreeSet|SmallVec)\s*<")
# Expressions that build something for the call: an allocation or a copy.
BUILDS = re.compile(r"\.clone\(\)|\.to_owned\(\)|\.to_string\(\)|\bvec!|\bformat!|\{")
# Where the statement's value flows out unchanged: `.await` and `?` around the call.
WRAPPERS = ("await_expression", "try_expression")


class EventBuiltWithoutSubscribers(RustDetector):
    """Events (or a clone of the state) built for an emit/notify call with no check that
    any callback is registered.

    ## Why is this bad?
    Building an event allocates, and an event that carries the graph state clones all of it.
    When no callback, subscriber or listener is registered, all of that work is thrown away,
    on every node of every run. Checking `is_empty()` first made DashFlow's graph execution
    61–63 % faster (seed 002, "Conditional Event Emission").

    ## Example
    ```rust
    pub struct Runner {
        callbacks: Vec<Box<dyn Fn(&[String])>>,
    }

    impl Runner {
        fn emit_events(&self, events: Vec<String>) {
            for callback in &self.callbacks {
                callback(&events);
            }
        }

        pub fn finish_node(&self, node: &str, state: &String) {
            let events = vec![node.to_string(), state.clone()];
            self.emit_events(events);
        }
    }
    ```

    ## Use instead
    ```rust
    pub struct Runner {
        callbacks: Vec<Box<dyn Fn(&[String])>>,
    }

    impl Runner {
        fn emit_events(&self, events: Vec<String>) {
            for callback in &self.callbacks {
                callback(&events);
            }
        }

        pub fn finish_node(&self, node: &str, state: &String) {
            if !self.callbacks.is_empty() {
                let events = vec![node.to_string(), state.clone()];
                self.emit_events(events);
            }
        }
    }
    ```

    ## Fix safety
    Unsafe: with no callback registered, the building (clones, `format!`, calls in the
    arguments) and the call are skipped, so their side effects are too, and an emit method
    that also records or counts events stops doing so. The fix wraps the call's statement and
    the `let` statements just before it that only feed it in `if !self.<field>.is_empty()
    { … }`. It is offered when the field is a plain collection (a `Vec`, map or set declared in
    this file's struct, or used with `is_empty()`/`iter()` here), the call is a statement of
    its own, and no multi-line string would be re-indented; otherwise the finding is reported
    only.

    ## Metric to monitor
    Per-node latency p50/p95 with no callbacks registered, and allocations per node.
    """

    CODE = "RSE001"
    NAME = "event-built-without-subscribers"
    SEVERITY = Severity.OPTIMIZATION
    OPT_IN = OptIn.CONTEXT
    WHY_NOT_DEFAULT = (
        "whether building the event costs anything next to the work around it depends on the "
        "event and on how often it is sent"
    )
    CATEGORY = "dag"
    FIX = FixSafety.UNSAFE
    MESSAGE = (
        "`{call}` builds an event that nobody may receive: check "
        "`!self.{field}.is_empty()` before building it"
    )
    TRIGGERS = ("callbacks", "subscribers", "listeners", "observers", "handlers")

    def run(self) -> None:
        fields = self._listener_fields()
        if not fields:
            return
        declared = {
            self.model.source(name)
            for item in self.model.nodes("struct_item")
            if (name := item.child_by_field_name("name")) is not None
        }
        for call, receiver, method in self.model.method_calls(self.model.root):
            if self.model.source(receiver) != "self" or not EMITTERS.search(method):
                continue
            owner = self.model.impl_type(call)
            # A struct of this file says itself which listeners it holds; for one declared
            # elsewhere, a listener field this file uses stands in.
            field = fields.get(owner) if owner in declared else fields.get("")
            if field is None or self._checked(call, field[0]):
                continue
            built = self._built_arguments(call)
            if built is None:
                continue
            name, plain = field
            self.report(
                call,
                fix=None if plain else FixSafety.NONE,
                data={"field": name, "lets": built},
                call=f"self.{method}",
                field=name,
            )

    def _listener_fields(self) -> dict[str, tuple[str, bool]]:
        """Listener collections by the type that holds them: (field, whether it is a plain
        collection that has `is_empty()`). Structs of this file give their fields; a field
        used as `self.<field>.is_empty()` or `.iter()` here counts for any type ('')."""
        fields: dict[str, tuple[str, bool]] = {}
        for item in self.model.nodes("struct_item"):
            struct = item.child_by_field_name("name")
            for declaration in self.model.nodes_in(item, "field_declaration"):
                name = declaration.child_by_field_name("name")
                written = declaration.child_by_field_name("type")
                if struct is None or name is None or written is None:
                    continue
                if LISTENERS.search(self.model.source(name)):
                    plain = bool(COLLECTION.match(self.model.source(written)))
                    fields[self.model.source(struct)] = (self.model.source(name), plain)
        for _, receiver, _method in self.model.method_calls(
            self.model.root, {"is_empty", "iter", "len"}
        ):
            text = self.model.source(receiver)
            if text.startswith("self.") and LISTENERS.search(text[5:]) and "." not in text[5:]:
                fields.setdefault("", (text[5:], True))
        return fields

    def _checked(self, call: Node, field: str) -> bool:
        """Whether the function checks the field (or asks whether anyone listens) before
        the call."""
        function = self.model.enclosing(call, "function_item")
        if function is None:
            return True
        before = self.model.data[function.start_byte : call.start_byte].decode("utf-8", "replace")
        return bool(
            re.search(rf"\b{re.escape(field)}\s*\.\s*(?:is_empty|len)\s*\(|has_{field}", before)
        )

    def _built_arguments(self, call: Node) -> int | None:
        """How many `let` statements just before the call's statement build what it is
        handed (None when nothing is built for it)."""
        arguments = call.child_by_field_name("arguments")
        if arguments is None or arguments.named_child_count == 0:
            return None
        lets = self._lets_before(call, arguments)
        return lets if lets or BUILDS.search(self.model.source(arguments)) else None

    def _lets_before(self, call: Node, arguments: Node) -> int:
        """The `let` statements right before the call's statement that bind a name the call
        reads, build something, and are read nowhere after the call."""
        statement = call_statement(call)
        if statement is None:
            return 0
        read = {self.model.source(n) for n in self.model.identifiers(arguments)}
        count = 0
        previous = statement.prev_named_sibling
        while previous is not None and previous.type == "let_declaration":
            pattern = previous.child_by_field_name("pattern")
            name = self.model.source(pattern) if pattern is not None else ""
            if name not in read or not BUILDS.search(self.model.source(previous)):
                break
            if self._read_after(statement, name):
                break
            count += 1
            previous = previous.prev_named_sibling
        return count

    def _read_after(self, statement: Node, name: str) -> bool:
        following = statement.next_named_sibling
        while following is not None:
            if any(self.model.source(n) == name for n in self.model.identifiers(following)):
                return True
            following = following.next_named_sibling
        return False


def call_statement(call: Node) -> Node | None:
    """The expression statement that is `call` (possibly awaited or `?`-ed), directly in a
    block; None when the call's value is used."""
    node = call
    parent = node.parent
    while parent is not None and parent.type in WRAPPERS:
        node, parent = parent, parent.parent
    if parent is None or parent.type != "expression_statement":
        return None
    block = parent.parent
    return parent if block is not None and block.type == "block" else None
