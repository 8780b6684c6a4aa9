"""VEC001: an embedder or vector-store call made once per item inside a loop."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from flowfix.analysis import Model
from flowfix.analysis.excerpts import excerpt_in_parentheses
from flowfix.analysis.frameworks import ALL_FRAMEWORKS, base_names
from flowfix.analysis.model import COMPREHENSIONS
from flowfix.analysis.owners import enclosing_definition
from flowfix.analysis.values import (
    Bindings,
    bound_names,
    derived_names,
    local_bindings,
    single_binding_value,
)
from flowfix.detector import Detector
from flowfix.detectors.vector.names import name_tokens, terminal
from flowfix.detectors.vector.receivers import (
    class_attributes,
    receiver_kind,
    self_attribute,
)
from flowfix.rules import Severity

FRAMEWORKS = ALL_FRAMEWORKS
EMBEDDER_METHODS = frozenset({"run", "execute", "encode", "create"})
STORE_METHODS = frozenset(
    {"upsert", "add", "add_documents", "add_texts", "write_documents", "insert", "upsert_documents"}
)
METHODS = EMBEDDER_METHODS | STORE_METHODS
BATCH_WORDS = frozenset({"batch", "batches", "batched", "chunked"})
# Node classes whose `exec()` the framework calls once per item of `prep()`'s result, one
# item after the other (the parallel ones overlap the requests, but still send one each).
# Keywords naming where a call reads or writes, not what it embeds or stores.
DESTINATIONS = frozenset(
    {"collection", "collection_name", "index", "index_name", "namespace", "table", "table_name"}
)
ITEM_NODES = frozenset({"BatchNode", "AsyncBatchNode"})
ITEM_HOOKS = frozenset({"exec", "exec_async"})
# Where a per-item loop ends: the body of a def, lambda or class runs elsewhere.
OWNERS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Module)


@dataclass
class Loop:
    """A loop that runs a node once per item: its target and iterable, and the code that
    runs per item: `roots` hold it (the `for` body's statements, the comprehension's clauses
    from this one inward, or the whole comprehension), `inner` holds it without the loop's
    own clause or comprehension node (where the body may iterate over the item)."""

    target: ast.expr
    iterable: ast.expr
    roots: list[ast.AST]
    inner: list[ast.AST]

    def bindings(self) -> Bindings:
        return local_bindings(ast.Module(body=self.roots, type_ignores=[]))  # type: ignore[arg-type]

    def nodes(self) -> Iterator[ast.AST]:
        for root in self.inner:
            yield from ast.walk(root)


def names_in(node: ast.AST) -> set[str]:
    """Every name below `node`, read or bound (a comprehension's targets and a lambda's
    parameters included, as the libcst analysis counted them): the loop item reaches a call
    when one of them is the item."""
    found: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            found.add(child.id)
        elif isinstance(child, ast.arg):
            found.add(child.arg)
    return found


def per_item_loops(model: Model, node: ast.AST) -> Iterator[Loop]:
    """Each loop in the same function that runs `node` per item, innermost first: `for`
    bodies and comprehension clauses after the one whose iterable holds `node` (a first
    iterable runs once)."""
    grandchild: ast.AST | None = None
    child, current = node, model.parent(node)
    while current is not None and not isinstance(current, OWNERS):
        if isinstance(current, (ast.For, ast.AsyncFor)) and child in current.body:
            yield Loop(current.target, current.iter, list(current.body), list(current.body))
        elif isinstance(current, COMPREHENSIONS):
            generators = current.generators
            if isinstance(child, ast.comprehension):
                index = generators.index(child)
                if grandchild is not child.iter:
                    yield clause_loop(generators, index)
                for position in range(index - 1, -1, -1):
                    yield clause_loop(generators, position)
            else:  # the element (or a dict comprehension's key or value)
                for clause in reversed(generators):
                    yield Loop(clause.target, clause.iter, [current], inner_of(current))
        grandchild, child, current = child, current, model.parent(current)


def clause_loop(generators: list[ast.comprehension], index: int) -> Loop:
    """The loop of clause `index`: its per-item code is its own clause and the inner ones."""
    clause = generators[index]
    inner: list[ast.AST] = [clause.target, clause.iter, *clause.ifs, *generators[index + 1 :]]
    return Loop(clause.target, clause.iter, list(generators[index:]), inner)


def inner_of(node: ast.AST) -> list[ast.AST]:
    return list(ast.iter_child_nodes(node))


def is_batch_loop(loop: Loop) -> bool:
    """Loops over batches: `for batch in batches`, `chunked(...)`, `range(0, n, size)`, or a
    loop variable that the body iterates over itself."""
    names = bound_names(loop.target)
    words = {w for n in names for w in name_tokens(n)}
    for node in ast.walk(loop.iterable):
        if isinstance(node, ast.Name):
            words.update(name_tokens(node.id))
        elif isinstance(node, ast.Attribute):
            words.update(name_tokens(node.attr))
        elif isinstance(node, ast.keyword) and node.arg is not None:
            words.update(name_tokens(node.arg))
        elif isinstance(node, ast.arg):
            words.update(name_tokens(node.arg))
    iterable = loop.iterable
    if isinstance(iterable, ast.Call) and terminal(iterable.func) == "range":
        if len(iterable.args) + len(iterable.keywords) == 3:
            return True
    if words & BATCH_WORDS:
        return True
    return any(
        isinstance(n, (ast.For, ast.AsyncFor, ast.comprehension))
        and isinstance(n.iter, ast.Name)
        and n.iter.id in names
        for n in loop.nodes()
    )


def has_slice(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Slice) for n in ast.walk(node))


def is_embedding_function(name: str) -> bool:
    return not name[:1].isupper() and any(t.startswith("embed") for t in name_tokens(name))


class PerItemEmbedding(Detector):
    """An embedder or vector-store call made once per item inside a loop.

    ## Why is this bad?
    Embedding APIs and vector stores accept lists: one request embeds or upserts hundreds of
    items. Calling them once per document pays the network round trip, the request overhead
    and the rate-limit budget for every item, so indexing 1,000 chunks takes 1,000 requests
    instead of a handful (seed 000 §10, "embedder called per-document instead of batch
    embedding"; seed 001, "Batch Similar Operations", replaces `get_embedding(item)` in a loop
    with one `get_embeddings_batch(texts)` call).

    ## Example
    ```python
    def index_documents(embedder, vector_store, documents):
        for doc in documents:
            vector = embedder.embed_query(doc.content)
            vector_store.upsert_vector(doc.id, vector)
    ```

    ## Use instead
    ```python
    def index_documents(embedder, vector_store, documents):
        vectors = embedder.embed_documents([doc.content for doc in documents])
        vector_store.upsert_vectors([doc.id for doc in documents], vectors)
    ```

    ## Metric to monitor
    Embedding and vector-store requests per indexed document, and indexing throughput
    (documents per second).

    ## Limitations
    The receiver is recognised by how it is built or annotated (`*Embedder`, `*Embeddings`,
    `SentenceTransformer`, Qdrant, Pinecone, Chroma, Milvus, Weaviate, pgvector stores) or by
    its name (`embedder`, `*_embeddings`, `vector_store`, `index`, `collection`), and a call
    counts only when what it sends comes from the loop variable: a loop whose item only picks
    the destination (`collection_name=`, `index=`, `namespace=`, `table=` keywords), searching
    one query in each collection, is not per-item work. The `exec()` of a PocketFlow
    or KayGraph `BatchNode`/`AsyncBatchNode` counts as a loop over `prep()`'s items (its
    parameter is the item; one named `batch` receives batches). Loops over batches
    (`for batch in ...`, `chunked(...)`, `range(0, n, size)`, slices) are the batch form and are
    not reported. LLM completion calls per item are not reported: most APIs have no batch form.
    """

    CODE = "VEC001"
    NAME = "per-item-embedding"
    SEVERITY = Severity.OPTIMIZATION
    CATEGORY = "vector"
    FRAMEWORKS = FRAMEWORKS
    MESSAGE = "`{call}()` runs once per item of `{items}`; send the items in one batch call"
    TRIGGERS = ("embed", "Embed", "upsert", "add", "write_documents", "insert")

    def run(self) -> None:
        self.classes: dict[int, dict[str, list[ast.expr]]] = {}
        super().run()

    def visit_Call(self, node: ast.Call) -> None:
        if not (node.args or node.keywords) or not self.is_batchable_call(node):
            return
        receiver = node.func.value if isinstance(node.func, ast.Attribute) else None
        values: list[ast.expr] = [*node.args, *(keyword.value for keyword in node.keywords)]
        # What the call sends: a collection or index named by keyword is where it goes, and a
        # loop over those alone runs one request per destination, which no batch call merges.
        sent = [
            *node.args,
            *(keyword.value for keyword in node.keywords if keyword.arg not in DESTINATIONS),
        ]
        arguments = set().union(*(names_in(value) for value in sent))
        for loop in per_item_loops(self.model, node):
            items = derived_names(bound_names(loop.target), loop.bindings(), names_in)
            if not arguments & items:
                continue
            if (receiver is not None and names_in(receiver) & items) or (
                is_batch_loop(loop) or any(has_slice(value) for value in values)
            ):
                return
            self.report(
                node,
                call=excerpt_in_parentheses(self.model, node.func),
                items=excerpt_in_parentheses(self.model, loop.iterable, 40),
            )
            return
        if not any(has_slice(value) for value in values) and arguments & self.batch_item(node):
            self.report(node, call=excerpt_in_parentheses(self.model, node.func), items="prep()")

    def batch_item(self, node: ast.AST) -> set[str]:
        """In the `exec()` of a PocketFlow/KayGraph BatchNode, which the framework calls once
        per item of `prep()`'s result: the item parameter and the names derived from it
        (none when the items are batches themselves: `def exec(self, batch)`)."""
        owner = enclosing_definition(self.model, node)
        if not isinstance(owner, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return set()
        cls = self.model.class_of(owner)
        parameters = owner.args.posonlyargs + owner.args.args
        if (
            owner.name not in ITEM_HOOKS
            or cls is None
            or len(parameters) != 2
            or not {name.rpartition(".")[2] for name in base_names(self.model, cls)} & ITEM_NODES
        ):
            return set()
        item = parameters[1].arg
        if set(name_tokens(item)) & BATCH_WORDS:
            return set()
        return derived_names({item}, local_bindings(owner), names_in)

    def is_batchable_call(self, call: ast.Call) -> bool:
        """An embedding function, an `embed*` method, or a batchable method of an embedder or
        vector store."""
        func = call.func
        if isinstance(func, ast.Name):
            return is_embedding_function(func.id)
        if not isinstance(func, ast.Attribute):
            return False
        method, receiver = func.attr, func.value
        if method.startswith("embed"):
            return True
        if method not in METHODS:
            return False
        kind = receiver_kind(self.model, receiver, self.bindings(receiver))
        if kind == "embedder" and method in EMBEDDER_METHODS:
            return method != "create" or terminal(receiver) == "embeddings"
        return kind == "store" and method in STORE_METHODS

    def bindings(self, receiver: ast.expr) -> list[ast.expr]:
        """What `receiver` (a name, or `self.<attr>`) is bound to, where that is known."""
        if isinstance(receiver, ast.Name):
            value = single_binding_value(self.model, receiver)
            return [value] if isinstance(value, ast.expr) else []
        name = self_attribute(receiver)
        owner = enclosing_definition(self.model, receiver)
        cls = (
            self.model.class_of(owner)
            if isinstance(owner, (ast.FunctionDef, ast.AsyncFunctionDef))
            else None
        )
        if name is None or cls is None:
            return []
        if id(cls) not in self.classes:
            self.classes[id(cls)] = class_attributes(cls)
        return self.classes[id(cls)].get(name, [])
