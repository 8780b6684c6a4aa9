"""The semantic model of one Rust file: positions, `use` resolution and async contexts.

Built on tree-sitter's tree. Names are resolved through the file's `use` declarations (aliases,
grouped and nested lists, `self`), each applying in the module or block that holds it, as rustc
resolves them; an item or a `let` of the same name in a nearer scope shadows them. Rules ask the
model their questions; none reads names as text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from tree_sitter import Node

from flowfix.rules import Span
from flowfix.rust.syntax import captures, matches, nodes_of, parse

_GENERICS = re.compile(r"<[^<>]*>")
_SPACE = re.compile(r"\s+")
# Path roots that name no `use` binding.
_ROOTS = frozenset({"crate", "self", "super", "Self"})
# `#[test]`, `#[tokio::test(...)]`, `#[rstest]`, `#[cfg(test)]`: the attributes of test code.
TEST_ATTRIBUTE = re.compile(
    r"#\[\s*(?:(?:\w+::)*test(?:_case)?\b.*|rstest\b.*|cfg\s*\(\s*test\s*\))\s*\]", re.DOTALL
)
# `#[tokio::main]`, `#[tokio::main(flavor = "current_thread")]`, `#[actix_web::main]`.
ENTRY_ATTRIBUTE = re.compile(r"#\[\s*(?:\w+::)+main\b.*\]", re.DOTALL)
# What runs work beside an entry `main` (then a blocking call in it stalls that work).
CONCURRENCY = re.compile(
    r"\bspawn\w*\s*[(<]|\b(?:try_)?join!|\bselect!|\bJoinSet\b|\bjoin_all\b|"
    r"\bFuturesUnordered\b|\bbuffer_unordered\b|\bserve\b"
)
# Items that bind a name in the module or block around them (a local name shadows a `use`).
_ITEMS = (
    "function_item",
    "mod_item",
    "struct_item",
    "enum_item",
    "trait_item",
    "type_item",
    "const_item",
    "static_item",
    "macro_definition",
)
_IMPLS = ("impl_item", "trait_item")
# The node types found together in one query (`RustModel.nodes`).
_INDEXED = (*_ITEMS, "use_declaration", "let_declaration", "impl_item", "call_expression")
# Calls whose closure argument runs on another thread, or where blocking is allowed.
OFF_THREAD_CALLS = frozenset(
    {
        "std::thread::spawn",
        "tokio::task::spawn_blocking",
        "tokio::task::block_in_place",
        "tokio::runtime::Handle::spawn_blocking",
        "rayon::spawn",
        "rayon::spawn_fifo",
        "rayon::join",
    }
)
OFF_THREAD_METHODS = frozenset({"spawn", "spawn_blocking", "block_in_place", "spawn_scoped"})


@dataclass(frozen=True)
class Use:
    """One name a `use` declaration binds: `name` stands for `path` within `scope` (the byte
    range of the module or block holding the declaration). `item` is the part of the `use`
    tree that binds it (an identifier, a path, an `as` clause or `self`)."""

    name: str
    path: str
    declaration: Node
    item: Node
    scope: tuple[int, int]


@dataclass(frozen=True)
class AsyncContext:
    """Where a statement runs asynchronously: the `async fn`, `async` block or async closure,
    and whether it runs there directly (no synchronous closure in between, so `.await` may be
    written at the statement)."""

    node: Node
    direct: bool


def path_segments(text: str) -> list[str]:
    """`std::thread::sleep` → [std, thread, sleep]; generic arguments and spaces dropped."""
    text = _SPACE.sub("", text)
    while "<" in text:
        stripped = _GENERICS.sub("", text)
        if stripped == text:
            break
        text = stripped
    return [part for part in text.split("::") if part]


class RustModel:
    """A Rust file's tree and the answers rules share."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.data = text.encode("utf-8")
        self.tree = parse(self.data)
        self.root = self.tree.root_node
        self._nodes: dict[str, list[Node]] = {}

    # --- positions ----------------------------------------------------------------------

    @functools.cached_property
    def lines(self) -> list[str]:
        """The file's lines as tree-sitter numbers them (split at \\n; a \\r stays)."""
        return self.text.split("\n")

    @functools.cached_property
    def _byte_lines(self) -> list[bytes]:
        return self.data.split(b"\n")

    @functools.cached_property
    def _line_offsets(self) -> list[int]:
        offsets = [0]
        for line in self._byte_lines[:-1]:
            offsets.append(offsets[-1] + len(line) + 1)
        return offsets

    def _column(self, row: int, byte: int) -> int:
        """The 0-based code-point column of byte column `byte` on 0-based `row`."""
        line = self._byte_lines[row] if row < len(self._byte_lines) else b""
        if line.isascii():
            return byte
        return len(line[:byte].decode("utf-8", "replace"))

    def span(self, node: Node) -> Span:
        """`node`'s range as users see it: 1-based lines and code-point columns, end exclusive."""
        (row, col), (end_row, end_col) = node.start_point, node.end_point
        return Span(
            row + 1, self._column(row, col) + 1, end_row + 1, self._column(end_row, end_col) + 1
        )

    def offset(self, line: int, column: int) -> int:
        """The byte offset of a 1-based line and code-point column."""
        row = line - 1
        if row >= len(self._byte_lines):
            return len(self.data)
        text = self._byte_lines[row]
        if text.isascii():
            return self._line_offsets[row] + column - 1
        chars = text.decode("utf-8", "replace")[: column - 1]
        return self._line_offsets[row] + len(chars.encode("utf-8"))

    def source(self, node: Node) -> str:
        return self.data[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def line_start(self, byte: int) -> int:
        """The offset of the start of the line holding `byte`."""
        return self.data.rfind(b"\n", 0, byte) + 1

    def indentation(self, node: Node) -> str:
        """The whitespace before `node` on its line ('' when code precedes it there)."""
        start = self.line_start(node.start_byte)
        before = self.data[start : node.start_byte].decode("utf-8", "replace")
        return before if not before.strip() else ""

    def node_at(self, span: Span, kind: str) -> Node | None:
        """The node of type `kind` whose range is exactly `span` (a finding's node)."""
        start = self.offset(span.line, span.column)
        end = self.offset(span.end_line, span.end_column)
        node = self.root.descendant_for_byte_range(start, end)
        while node is not None and node.start_byte == start and node.end_byte >= end:
            if node.type == kind and node.end_byte == end:
                return node
            node = node.parent
        return None

    # --- nodes --------------------------------------------------------------------------

    def nodes(self, kind: str) -> list[Node]:
        """Every node of type `kind`, in source order. The kinds rules ask for are found
        together, in one query over the tree (each query walks all of it)."""
        if not self._nodes:
            pattern = "[" + " ".join(f"({k})" for k in _INDEXED) + "] @node"
            for node in captures(pattern, self.root).get("node", []):
                self._nodes.setdefault(node.type, []).append(node)
            for indexed in _INDEXED:
                self._nodes.setdefault(indexed, [])
        found = self._nodes.get(kind)
        if found is None:
            found = self._nodes[kind] = nodes_of(kind, self.root)
        return found

    def nodes_in(self, node: Node, *kinds: str) -> list[Node]:
        """The nodes of `kinds` under `node`, in source order."""
        pattern = "[" + " ".join(f"({kind})" for kind in kinds) + "] @node"
        return captures(pattern, node).get("node", [])

    def identifiers(self, node: Node) -> list[Node]:
        return nodes_of("identifier", node)

    def method_calls(
        self, node: Node, methods: Collection[str] | None = None
    ) -> list[tuple[Node, Node, str]]:
        """(call, receiver, method) of each `receiver.method(…)` under `node` whose method
        is one of `methods` (any method when None)."""
        pattern = (
            "(call_expression function: (field_expression value: (_) @receiver"
            " field: (field_identifier) @method)) @call"
        )
        found = []
        for _, match in matches(pattern, node):
            method = self.source(match["method"][0])
            if methods is None or method in methods:
                found.append((match["call"][0], match["receiver"][0], method))
        return found

    @staticmethod
    def ancestors(node: Node) -> Iterator[Node]:
        current = node.parent
        while current is not None:
            yield current
            current = current.parent

    def enclosing(self, node: Node, *kinds: str) -> Node | None:
        """The nearest ancestor of one of `kinds`."""
        return next((a for a in self.ancestors(node) if a.type in kinds), None)

    def in_test_code(self, node: Node) -> bool:
        """`node` is in a test: an `fn` marked `#[test]` (`#[tokio::test]`, `#[rstest]`, ...)
        or a `mod` (or `fn`) marked `#[cfg(test)]`."""
        for item in self.ancestors(node):
            if item.type in ("function_item", "mod_item") and any(
                TEST_ATTRIBUTE.fullmatch(self.source(a)) for a in self.attributes(item)
            ):
                return True
        return False

    @staticmethod
    def attributes(item: Node) -> Iterator[Node]:
        """The outer attributes (`#[...]`) written right before `item`, comments between."""
        sibling = item.prev_named_sibling
        while sibling is not None and sibling.type in (
            "attribute_item",
            "line_comment",
            "block_comment",
        ):
            if sibling.type == "attribute_item":
                yield sibling
            sibling = sibling.prev_named_sibling

    def function_name(self, node: Node) -> str:
        """The name of the `fn` `node` is in ('' at module level)."""
        function = self.enclosing(node, "function_item")
        name = function.child_by_field_name("name") if function is not None else None
        return self.source(name) if name is not None else ""

    def impl_type(self, node: Node) -> str:
        """The type name of the `impl` block `node` is in ('' outside one)."""
        impl = self.enclosing(node, "impl_item")
        kind = impl.child_by_field_name("type") if impl is not None else None
        return path_segments(self.source(kind))[-1] if kind is not None else ""

    # --- names --------------------------------------------------------------------------

    @functools.cached_property
    def _bindings(self) -> dict[str, list[Use | tuple[int, int]]]:
        """Each name bound by a `use` (a Use) or by a local item (its scope range)."""
        table: dict[str, list[Use | tuple[int, int]]] = {}
        for declaration in self.nodes("use_declaration"):
            argument = declaration.child_by_field_name("argument")
            if argument is None:
                continue
            scope = _scope_range(declaration)
            for name, path, item in self._flatten(argument, []):
                use = Use(name, "::".join(path), declaration, item, scope)
                table.setdefault(name, []).append(use)
        for kind in _ITEMS:
            for definition in self.nodes(kind):
                found = definition.child_by_field_name("name")
                owner = definition.parent.parent if definition.parent is not None else None
                # Methods and associated items are not names in scope.
                if found is not None and (owner is None or owner.type not in _IMPLS):
                    table.setdefault(self.source(found), []).append(_scope_range(definition))
        return table

    def _flatten(self, node: Node, prefix: list[str]) -> Iterator[tuple[str, list[str], Node]]:
        kind = node.type
        if kind in ("identifier", "scoped_identifier", "crate", "super"):
            path = prefix + path_segments(self.source(node))
            yield path[-1], path, node
        elif kind == "use_as_clause":
            path_node, alias = node.child_by_field_name("path"), node.child_by_field_name("alias")
            if path_node is not None and alias is not None and self.source(alias) != "_":
                # `{self as name}` names the list's own path
                own = [] if path_node.type == "self" else path_segments(self.source(path_node))
                yield self.source(alias), prefix + own, node
        elif kind == "scoped_use_list":
            path_node, items = node.child_by_field_name("path"), node.child_by_field_name("list")
            inner = prefix + (path_segments(self.source(path_node)) if path_node else [])
            if items is not None:
                for child in items.named_children:
                    yield from self._flatten(child, inner)
        elif kind == "use_list":
            for child in node.named_children:
                yield from self._flatten(child, prefix)
        elif kind == "self" and prefix:
            yield prefix[-1], prefix, node

    def use_for(self, name: str, at: Node) -> Use | None:
        """The `use` that binds `name` where `at` stands (None when none does, or a nearer
        local item of that name shadows it)."""
        position = at.start_byte
        visible = [
            binding
            for binding in self._bindings.get(name, ())
            if _start(binding) <= position < _end(binding)
        ]
        if not visible:
            return None
        # The innermost scope wins (scopes nest, so the latest start is the innermost); at
        # the same depth an item wins over a `use` (rustc rejects both in one scope unless
        # they live in different namespaces, where the item is what a path names).
        best = max(visible, key=lambda binding: (_start(binding), not isinstance(binding, Use)))
        return best if isinstance(best, Use) else None

    def resolve(self, node: Node) -> str:
        """The qualified name a path expression stands for (`thread::sleep` with `use
        std::thread` → `std::thread::sleep`); the path as written when no `use` binds its
        first segment, '' for a bare name that a local `let` or parameter shadows."""
        segments = path_segments(self.source(node))
        if not segments or segments[0] in _ROOTS or self.source(node).startswith("::"):
            return "::".join(segments)
        use = self.use_for(segments[0], node)
        if use is None:
            if len(segments) == 1 and self.locally_bound(segments[0], node):
                return ""
            return "::".join(segments)
        return "::".join([use.path, *segments[1:]])

    def locally_bound(self, name: str, at: Node) -> bool:
        """Whether a parameter or `let` of the function around `at` binds `name` (a closure
        or a value called like a function)."""
        function = self.enclosing(at, "function_item")
        if function is None:
            return False
        for pattern in captures(
            "(let_declaration pattern: (identifier) @name) (parameter pattern: (identifier) @name)",
            function,
        ).get("name", []):
            if self.source(pattern) == name:
                return True
        return False

    def uses_of(self, declaration: Node) -> list[Use]:
        """The bindings of one `use` declaration."""
        return [
            use
            for bindings in self._bindings.values()
            for use in bindings
            if isinstance(use, Use) and use.declaration == declaration
        ]

    def calls_to(self, targets: Collection[str]) -> list[tuple[Node, Node, str]]:
        """(call, callee path, qualified name) of each call whose callee resolves to one of
        the qualified names `targets`. Only calls whose last path segment could name a
        target (its own name, or the alias a `use` gave it) are resolved."""
        names = {target.rsplit("::", 1)[-1] for target in targets}
        names |= {
            use.name
            for bindings in self._bindings.values()
            for use in bindings
            if isinstance(use, Use) and use.path in targets
        }
        found: list[tuple[Node, Node, str]] = []
        for call in self.nodes("call_expression"):
            callee = call.child_by_field_name("function")
            if callee is None:
                continue
            if callee.type == "scoped_identifier":
                name = callee.child_by_field_name("name")
                if name is None or self.source(name) not in names:
                    continue
            elif callee.type != "identifier" or self.source(callee) not in names:
                continue
            qualified = self.resolve(callee)
            if qualified in targets:
                found.append((call, callee, qualified))
        return found

    def used_outside_uses(self, name: str) -> bool:
        """Whether `name` is used as a name (alone, or as the first segment of a path, macro
        bodies included) anywhere but in `use` declarations."""
        for found in captures("[(identifier) (type_identifier)] @id", self.root).get("id", []):
            if self.source(found) != name:
                continue
            parent = found.parent
            if parent is not None and parent.child_by_field_name("name") == found:
                continue  # `a::name` (another path's last segment), or an item's own name
            previous = found.prev_sibling
            if previous is not None and previous.type == "::":
                continue  # the same inside a macro's token tree
            if self.enclosing(found, "use_declaration") is None:
                return True
        return False

    # --- declared types ------------------------------------------------------------------

    def binding_before(self, name: str, before: Node) -> Node | None:
        """The parameter or `let` of the function around `before` that last binds `name`
        before it (None when none does)."""
        function = self.enclosing(before, "function_item")
        if function is None:
            return None
        found: Node | None = None
        for match in captures(
            "(parameter pattern: (identifier) @name) @binding"
            " (let_declaration pattern: (identifier) @name) @binding",
            function,
        ).get("binding", []):
            pattern = match.child_by_field_name("pattern")
            if (
                pattern is not None
                and self.source(pattern) == name
                and match.end_byte <= before.start_byte
            ):
                found = match
        return found

    def declared_type(self, expression: Node, before: Node) -> str:
        """The type written for a variable (its parameter or `let`, the last one before
        `before`) or for a `self.field` (the field of the impl's struct in this file); a `let`
        without a type gives `Vec<_>` or `[_]` for a `vec![…]`, an array or a `Vec::…`
        constructor; '' when unknown."""
        if expression.type == "identifier":
            binding = self.binding_before(self.source(expression), before)
            if binding is None:
                return ""
            written = binding.child_by_field_name("type")
            if written is not None:
                return self.source(written)
            value = binding.child_by_field_name("value")
            return _inferred(self.source(value), value.type) if value is not None else ""
        if expression.type == "field_expression":
            owner, field = (
                expression.child_by_field_name("value"),
                expression.child_by_field_name("field"),
            )
            if owner is None or field is None or self.source(owner) != "self":
                return ""
            return self.field_type(self.impl_type(before), self.source(field))
        return ""

    def field_type(self, struct: str, field: str) -> str:
        """The written type of `struct`'s `field`, when the struct is declared in this file."""
        for item in self.nodes("struct_item"):
            name = item.child_by_field_name("name")
            if name is None or self.source(name) != struct:
                continue
            for declaration in nodes_of("field_declaration", item):
                field_name = declaration.child_by_field_name("name")
                written = declaration.child_by_field_name("type")
                if (
                    field_name is not None
                    and written is not None
                    and self.source(field_name) == field
                ):
                    return self.source(written)
        return ""

    # --- where code runs ----------------------------------------------------------------

    def async_context(self, node: Node) -> AsyncContext | None:
        """The async body `node` runs in (None when it runs synchronously: in a plain `fn`,
        or in a closure handed to a thread, `spawn_blocking`, `block_in_place` or rayon)."""
        direct = True
        for ancestor in self.ancestors(node):
            kind = ancestor.type
            if kind == "function_item":
                if not self.is_async_fn(ancestor) or self.runs_alone(ancestor):
                    return None
                return AsyncContext(ancestor, direct)
            if kind == "async_block":
                return AsyncContext(ancestor, direct)
            if kind == "closure_expression":
                if any(child.type == "async" for child in ancestor.children):
                    return AsyncContext(ancestor, direct)
                if self.runs_elsewhere(ancestor):
                    return None
                direct = False
            elif kind in ("const_item", "static_item", "mod_item", "source_file"):
                return None
        return None

    def runs_alone(self, function: Node) -> bool:
        """An entry `main` the runtime's attribute starts (`#[tokio::main]`) that starts no
        concurrent work of its own: nothing else runs on the runtime while it blocks (the
        counterpart of ASY003's script entry coroutine)."""
        name = function.child_by_field_name("name")
        if name is None or self.source(name) != "main":
            return False
        if not any(ENTRY_ATTRIBUTE.fullmatch(self.source(a)) for a in self.attributes(function)):
            return False
        return CONCURRENCY.search(self.source(function)) is None

    def is_async_fn(self, function: Node) -> bool:
        for child in function.children:
            if child.type == "function_modifiers":
                return any(part.type == "async" for part in child.children)
            if child.type == "fn":
                return False
        return False

    def runs_elsewhere(self, closure: Node) -> bool:
        """Whether `closure` is handed to a call that runs it on another thread (or where
        blocking is allowed), or to an async helper whose call is awaited."""
        arguments = closure.parent
        call = arguments.parent if arguments is not None else None
        if arguments is None or arguments.type != "arguments" or call is None:
            return False
        if call.parent is not None and call.parent.type == "await_expression":
            # `asyncify(move || fs::read(p)).await`: an async helper taking a sync closure
            # runs it off the event loop (tokio's own `fs` functions do), not inline.
            return True
        function = call.child_by_field_name("function")
        if function is None:
            return False
        if function.type == "field_expression":
            method = function.child_by_field_name("field")
            receiver = function.child_by_field_name("value")
            if method is not None and self.source(method) in OFF_THREAD_METHODS:
                return True
            # rayon's parallel iterators: `items.par_iter().map(|x| …)`
            return receiver is not None and "par_" in self.source(receiver)
        resolved = self.resolve(function)
        return resolved in OFF_THREAD_CALLS or resolved.endswith(
            ("::spawn_blocking", "::block_in_place")
        )


def _inferred(value: str, kind: str) -> str:
    """The collection type a `let` without a type gets from its value, when evident."""
    if kind == "array_expression":
        return "[_]"
    if kind == "macro_invocation" and value.startswith("vec!"):
        return "Vec<_>"
    if value.startswith(("Vec::", "Vec::<")) or value.endswith("collect::<Vec<_>>()"):
        return "Vec<_>"
    return ""


def context_name(model: RustModel, context: AsyncContext) -> str:
    """How a message names an async context: async fn `name`, an async block or closure."""
    if context.node.type == "function_item":
        name = context.node.child_by_field_name("name")
        return f"async fn `{model.source(name)}`" if name is not None else "an async fn"
    return "an async closure" if context.node.type == "closure_expression" else "an async block"


def _start(binding: Use | tuple[int, int]) -> int:
    return binding.scope[0] if isinstance(binding, Use) else binding[0]


def _end(binding: Use | tuple[int, int]) -> int:
    return binding.scope[1] if isinstance(binding, Use) else binding[1]


def _scope_range(node: Node) -> tuple[int, int]:
    """The byte range where a name that `node` (an item or a `use`) binds is visible."""
    parent = node.parent
    return (parent.start_byte, parent.end_byte) if parent is not None else (0, 1 << 62)
