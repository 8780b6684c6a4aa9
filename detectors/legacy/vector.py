"""Vector rules: embedding and vector-store calls made per item, oversized retrieval."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

import libcst as cst
from libcst.metadata import PositionProvider

from flowfix.edits import code_excerpt
from flowfix.libcst_detector import LibcstDetector as Detector
from flowfix.parents import ParentProvider
from flowfix.prefilter import (
    COMPREHENSIONS,
    FUNCTION_DEFS,
    SCOPE_DEFS,
    FileView,
    first_line,
    innermost,
    matches,
)
from flowfix.reduction import Sites
from flowfix.rules import Severity
from flowfix.scope import ScopeProvider
from flowfix.semantics import (
    MetadataReader,
    bound_names,
    derived_names,
    descendants,
    local_bindings,
    method_class,
    parent,
    qualified_names,
    read_names,
    scope_owner,
    single_binding_value,
)

DEPENDENCIES = (PositionProvider, ParentProvider, ScopeProvider)
FRAMEWORKS = ("dynamiq", "pocketflow", "kaygraph", "pflow")
EMBEDDER_HEADS = frozenset({"embedder", "embedders", "embedding", "embeddings"})
STORE_HEADS = frozenset({"index", "collection", "vectorstore", "vectordb", "docstore"})
STORE_QUALIFIERS = frozenset({"vector", "vectors", "document", "documents", "doc", "docs"})
EMBEDDER_METHODS = frozenset({"run", "execute", "encode", "create"})
STORE_METHODS = frozenset(
    {"upsert", "add", "add_documents", "add_texts", "write_documents", "insert", "upsert_documents"}
)
EMBEDDER_TYPES = re.compile(r"Embedder|Embedding|SentenceTransformer")
# `Index` alone is Pinecone's `pc.Index(name)`, which does not resolve to a qualified name.
STORE_TYPES = re.compile(
    r"VectorStore|DocumentStore|Qdrant|Pinecone|Chroma|Milvus|Weaviate|PGVector|Pgvector"
    r"|Turbopuffer|^Index$"
)
EMBEDDER_PACKAGES = (
    "sentence_transformers.",
    "dynamiq.nodes.embedders.",
    "dynamiq.components.embedders.",
)
VECTOR_PACKAGES = (
    "chromadb.",
    "pymilvus.",
    "faiss.",
    "pinecone.",
    "qdrant_client.",
    "weaviate.",
    "lancedb.",
    "dynamiq.storages.vector.",
)
CONTAINERS = frozenset(
    {
        "builtins.set",
        "builtins.list",
        "builtins.dict",
        "builtins.frozenset",
        "collections.defaultdict",
        "collections.Counter",
        "collections.OrderedDict",
        "collections.deque",
    }
)
# Every identifier that can make `receiver_kind` answer matches this (AST prefilter).
RECEIVER_HINTS = re.compile(
    r"embed|store|index|collection|vector|qdrant|pinecone|chroma|milvus|weaviate|sentence"
    r"|turbopuffer",
    re.IGNORECASE,
)
BATCH_WORDS = frozenset({"batch", "batches", "batched", "chunked"})
Loop = tuple[cst.BaseAssignTargetExpression, cst.BaseExpression, cst.CSTNode]


def name_tokens(name: str) -> list[str]:
    """`document_embedder` → [document, embedder]; `QdrantClient` → [qdrant, client]."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return [token.lower() for token in spaced.split("_") if token]


def _terminal(expression: cst.BaseExpression) -> str:
    """The last name of `a.b.c`, `f()` → `f`, `x.get_collection()` → `get_collection`."""
    if isinstance(expression, cst.Call):
        return _terminal(expression.func)
    if isinstance(expression, cst.Attribute):
        return expression.attr.value
    if isinstance(expression, cst.Name):
        return expression.value
    return ""


def per_item_loops(reader: MetadataReader, node: cst.CSTNode) -> Iterator[Loop]:
    """(target, iterable, body) of each loop in the same function that runs `node` per item,
    innermost first: `for` bodies and comprehension elements (not a first iterable)."""
    child, current = node, parent(reader, node)
    while current is not None and not isinstance(
        current, (cst.FunctionDef, cst.Lambda, cst.ClassDef, cst.Module)
    ):
        if isinstance(current, cst.For) and child is current.body:
            yield current.target, current.iter, current.body
        elif isinstance(current, cst.CompFor) and child is not current.iter:
            yield current.target, current.iter, current
        elif isinstance(current, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
            if child is not current.for_in:
                chain: list[cst.CompFor] = [current.for_in]
                while (inner := chain[-1].inner_for_in) is not None:
                    chain.append(inner)
                for comp in reversed(chain):
                    yield comp.target, comp.iter, current
        child, current = current, parent(reader, current)


def _is_batch_loop(target: cst.CSTNode, iterable: cst.BaseExpression, body: cst.CSTNode) -> bool:
    """Loops over batches: `for batch in batches`, `chunked(...)`, `range(0, n, size)`, or a
    loop variable that the body iterates over itself."""
    names = bound_names(target)
    words = {w for n in names for w in name_tokens(n)}
    words |= {
        w
        for n in (iterable, *descendants(iterable))
        if isinstance(n, cst.Name)
        for w in name_tokens(n.value)
    }
    if isinstance(iterable, cst.Call) and _terminal(iterable.func) == "range":
        if len(iterable.args) == 3:
            return True
    if words & BATCH_WORDS:
        return True
    return any(
        isinstance(n, (cst.For, cst.CompFor))
        and isinstance(n.iter, cst.Name)
        and n.iter.value in names
        for n in descendants(body)
    )


def _has_slice(node: cst.CSTNode) -> bool:
    return any(isinstance(n, cst.Slice) for n in descendants(node))


def class_attributes(cls: cst.ClassDef) -> dict[str, list[cst.BaseExpression]]:
    """Values and annotations each `self.<attr>` / class field gets in `cls` (assignments in
    its methods, class-level fields)."""
    found: dict[str, list[cst.BaseExpression]] = {}
    for node in descendants(cls.body):
        if isinstance(node, cst.Assign):
            for assign_target in node.targets:
                name = _self_attribute(assign_target.target)
                if name:
                    found.setdefault(name, []).append(node.value)
        elif isinstance(node, cst.AnnAssign):
            target = node.target
            name = target.value if isinstance(target, cst.Name) else _self_attribute(target)
            if name:
                values = found.setdefault(name, [])
                values.append(node.annotation.annotation)
                if node.value is not None:
                    values.append(node.value)
    return found


def _self_attribute(target: cst.BaseExpression) -> str | None:
    if (
        isinstance(target, cst.Attribute)
        and isinstance(target.value, cst.Name)
        and target.value.value == "self"
    ):
        return target.attr.value
    return None


def _is_container(reader: MetadataReader, value: cst.BaseExpression) -> bool:
    if isinstance(value, (cst.Set, cst.List, cst.Dict, cst.SetComp, cst.ListComp, cst.DictComp)):
        return True
    return isinstance(value, cst.Call) and bool(qualified_names(reader, value.func) & CONTAINERS)


def _type_names(reader: MetadataReader, value: cst.BaseExpression) -> set[str]:
    """Names (qualified where they resolve) of the class a binding constructs (`X(...)`) or
    of the classes its annotation mentions."""
    if isinstance(value, cst.Call):
        return qualified_names(reader, value.func) or {_terminal(value.func)}
    if isinstance(value, (cst.Name, cst.Attribute, cst.BinaryOperation, cst.Subscript)):
        return {
            name
            for node in (value, *descendants(value))
            if isinstance(node, (cst.Name, cst.Attribute))
            for name in qualified_names(reader, node) or {_terminal(node)}
        }
    return set()


def _type_kind(name: str) -> str | None:
    """ "embedder" / "store" for a class name (qualified or short), else None."""
    short = name.rsplit(".", 1)[-1]
    if name.startswith(("pandas.", "numpy.", "typing.", "collections.")):
        return None
    if name.startswith(EMBEDDER_PACKAGES) or EMBEDDER_TYPES.search(short):
        return "embedder"
    if name.startswith(VECTOR_PACKAGES) or STORE_TYPES.search(short):
        return "store"
    return None


def _is_foreign_class(name: str) -> bool:
    """An imported class that is neither an embedder nor a store (`pandas.Index`)."""
    package, _, short = name.rpartition(".")
    return bool(package) and short[:1].isupper() and package not in {"typing", "builtins"}


def receiver_kind(
    reader: MetadataReader, receiver: cst.BaseExpression, values: list[cst.BaseExpression]
) -> str | None:
    """ "embedder" or "store" when `receiver` is one by its construction or annotation
    (`values`: what it is bound to) or by its name."""
    if any(_is_container(reader, value) for value in values):
        return None
    names = {name for value in values for name in _type_names(reader, value)}
    kinds = {_type_kind(name) for name in names}
    for kind in ("embedder", "store"):
        if kind in kinds:
            return kind
    if any(_is_foreign_class(name) for name in names):
        return None
    tokens = name_tokens(_terminal(receiver))
    if not tokens:
        return None
    if tokens[-1] in EMBEDDER_HEADS:
        return "embedder"
    if tokens[-1] in STORE_HEADS or (
        tokens[-1] in {"store", "db"} and len(tokens) > 1 and tokens[-2] in STORE_QUALIFIERS
    ):
        return "store"
    return None


def _is_embedding_function(name: str) -> bool:
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
    counts only when its arguments come from the loop variable. Loops over batches
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
    METADATA_DEPENDENCIES = DEPENDENCIES

    REACH = "function"

    @classmethod
    def ast_candidate(cls, view: FileView) -> Sites:
        """Each batchable call (see `_is_batchable_call`) with a name among its arguments and
        no slice in them, run per item by a loop of its scope that may not be a batch loop,
        whose receiver may be an embedder or a store; for a `self.<attr>` receiver, also the
        bindings of `<attr>` in its class (`class_attributes` reads them), or one that binds
        a container, which rules the call out (kept along with the other sites)."""
        if not view.mentions("for"):  # a for loop or a comprehension
            return False
        words = ["*embed*", *sorted(_METHODS)]
        comprehensions: list[ast.expr] = []
        calls: list[ast.Call] = []
        for node in view.nodes_near(words, ast.Call, *COMPREHENSIONS, ignore_case=True):
            if isinstance(node, ast.Call):
                if _ast_batchable_name(node) and _ast_reads_a_name(node):
                    calls.append(node)
            else:
                comprehensions.append(node)  # type: ignore[arg-type]
        typing = _AstTyping(view)
        sites: list[ast.AST] = []
        kept: list[ast.AST] = []
        for call in calls:
            if not _ast_per_item(view, call, comprehensions) or _ast_batched(
                view, call, comprehensions
            ):
                continue
            func = call.func
            if not isinstance(func, ast.Attribute) or func.attr.startswith("embed"):
                sites.append(call)
                continue
            method, receiver = func.attr, func.value
            if method == "create":
                if _ast_terminal(receiver) == "embeddings":
                    sites.append(call)
                continue
            attribute = _ast_self_attribute(receiver)
            bindings = _ast_attribute_bindings(view, call, attribute) if attribute else []
            containers = [
                b
                for b in bindings
                if any(typing.container(v) for v in (b.value, getattr(b, "annotation", None)) if v)
            ]
            if containers:  # a method kept for another site must still see one
                kept.append(containers[0])
                continue
            if _name_kind_allows(_ast_terminal(receiver), method) or (
                bindings and typing.typed(bindings)
            ):
                sites.extend([call, *bindings])
            elif (
                isinstance(receiver, ast.Name)
                and receiver.id not in _innermost_parameters(view.enclosing(call.lineno))
                and not _bound_to_container(view, receiver.id, call)
                and typing.typed(_ast_name_bindings(view, receiver.id))
            ):
                sites.append(call)
        return sites + kept if sites else []

    def visit_Module(self, node: cst.Module) -> None:
        self._classes: dict[int, dict[str, list[cst.BaseExpression]]] = {}

    def visit_Call(self, node: cst.Call) -> None:
        if not node.args or not self._is_batchable_call(node):
            return
        receiver = node.func.value if isinstance(node.func, cst.Attribute) else None
        arguments = set().union(*(read_names(arg.value) for arg in node.args))
        for target, iterable, body in per_item_loops(self, node):
            items = derived_names(bound_names(target), local_bindings(body))
            if not arguments & items:
                continue
            if (receiver is not None and read_names(receiver) & items) or (
                _is_batch_loop(target, iterable, body)
                or any(_has_slice(arg.value) for arg in node.args)
            ):
                return
            self.report(node, call=code_excerpt(node.func), items=code_excerpt(iterable, 40))
            return

    def _is_batchable_call(self, call: cst.Call) -> bool:
        """An embedding function, an `embed*` method, or a batchable method of an embedder or
        vector store."""
        func = call.func
        if isinstance(func, cst.Name):
            return _is_embedding_function(func.value)
        if not isinstance(func, cst.Attribute):
            return False
        method, receiver = func.attr.value, func.value
        if method.startswith("embed"):
            return True
        if method not in _METHODS:
            return False
        kind = receiver_kind(self, receiver, self._bindings(receiver))
        if kind == "embedder" and method in EMBEDDER_METHODS:
            return method != "create" or _terminal(receiver) == "embeddings"
        return kind == "store" and method in STORE_METHODS

    def _bindings(self, receiver: cst.BaseExpression) -> list[cst.BaseExpression]:
        """What `receiver` (a name, or `self.<attr>`) is bound to, where that is known."""
        if isinstance(receiver, cst.Name):
            value = single_binding_value(self, receiver)
            return [value] if value is not None else []
        name = _self_attribute(receiver)
        owner = scope_owner(self, receiver)
        cls = method_class(self, owner) if isinstance(owner, cst.FunctionDef) else None
        if name is None or cls is None:
            return []
        if id(cls) not in self._classes:
            self._classes[id(cls)] = class_attributes(cls)
        return self._classes[id(cls)].get(name, [])


_METHODS = EMBEDDER_METHODS | STORE_METHODS


# --- VEC001 AST prefilter ---------------------------------------------------------------------

# Every class name `_type_kind` recognises contains one of these (or is `Index`), and every
# qualified name it recognises by package contains one of the package words.
TYPE_WORDS = (
    *(f"*{word}*" for word in EMBEDDER_TYPES.pattern.split("|")),
    *(f"*{word}*" for word in STORE_TYPES.pattern.split("|") if word != "^Index$"),
    "Index",
    *(
        package.split(".")[0]
        for package in (*EMBEDDER_PACKAGES, *VECTOR_PACKAGES)
        if not package.startswith("dynamiq.")
    ),
    "storages",
    "embedders",
)


def _ast_terminal(expression: ast.expr) -> str:
    if isinstance(expression, ast.Call):
        return _ast_terminal(expression.func)
    if isinstance(expression, ast.Attribute):
        return expression.attr
    if isinstance(expression, ast.Name):
        return expression.id
    return ""


def _ast_batchable_name(call: ast.Call) -> bool:
    """The call's name allows `_is_batchable_call`, and it has arguments."""
    if not (call.args or call.keywords):
        return False
    func = call.func
    if isinstance(func, ast.Name):
        return _is_embedding_function(func.id)
    return isinstance(func, ast.Attribute) and (
        func.attr.startswith("embed") or func.attr in _METHODS
    )


def _ast_reads_a_name(call: ast.Call) -> bool:
    """An argument reads a plain name (the loop item must reach the call)."""
    stack: list[ast.AST] = [*call.args, *(keyword.value for keyword in call.keywords)]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name):
            return True
        stack.extend(ast.iter_child_nodes(node))
    return False


def _name_kind_allows(name: str, method: str) -> bool:
    """`receiver_kind`'s answer by name allows `method`."""
    tokens = name_tokens(name)
    if not tokens:
        return False
    if tokens[-1] in EMBEDDER_HEADS:
        return method in EMBEDDER_METHODS
    if tokens[-1] in STORE_HEADS or (
        tokens[-1] in {"store", "db"} and len(tokens) > 1 and tokens[-2] in STORE_QUALIFIERS
    ):
        return method in STORE_METHODS
    return False


def _ast_self_attribute(receiver: ast.expr) -> str | None:
    """`attr` for a `self.<attr>` receiver (see `_self_attribute`)."""
    if (
        isinstance(receiver, ast.Attribute)
        and isinstance(receiver.value, ast.Name)
        and receiver.value.id == "self"
    ):
        return receiver.attr
    return None


def _ast_attribute_bindings(
    view: FileView, call: ast.Call, attribute: str
) -> list[ast.Assign | ast.AnnAssign]:
    """The assignments `_bindings` reads for `self.<attribute>` at `call` (when its scope is a
    method): those in the method's class of `self.<attribute>`, or annotating `<attribute>`."""
    chain = view.enclosing(call.lineno)
    index = innermost(chain)
    if (
        index is None
        or index == 0
        or not isinstance(chain[index - 1], ast.ClassDef)
        or any(isinstance(node, ast.Lambda) and _inside(call, node) for node in ast.walk(chain[-1]))
    ):
        return []
    cls = chain[index - 1]
    start, end = first_line(cls), cls.end_lineno or cls.lineno  # type: ignore[attr-defined]
    found: list[ast.Assign | ast.AnnAssign] = []
    for node in view.nodes_near([attribute], ast.Assign, ast.AnnAssign):
        if not start <= node.lineno <= end:  # type: ignore[attr-defined]
            continue
        if isinstance(node, ast.Assign):
            bound = any(_ast_self_attribute(target) == attribute for target in node.targets)
        else:
            assert isinstance(node, ast.AnnAssign)
            target = node.target
            bound = _ast_self_attribute(target) == attribute or (
                isinstance(target, ast.Name) and target.id == attribute
            )
        if bound:
            found.append(node)
    return found


def _ast_name_bindings(view: FileView, name: str) -> list[ast.Assign | ast.AnnAssign]:
    """Every assignment to the plain name `name` (a superset of `single_binding_value`'s)."""
    found: list[ast.Assign | ast.AnnAssign] = []
    for node in view.nodes_near([name], ast.Assign, ast.AnnAssign):
        assert isinstance(node, (ast.Assign, ast.AnnAssign))
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if any(isinstance(n, ast.Name) and n.id == name for t in targets for n in ast.walk(t)):
            found.append(node)
    return found


class _AstTyping:
    """What `receiver_kind` may make of binding values, over CPython's AST."""

    def __init__(self, view: FileView) -> None:
        self.view = view
        self._imported: set[str] | None = None

    def typed(self, bindings: list[ast.Assign | ast.AnnAssign]) -> bool:
        """A binding's value or annotation may name an embedder or store class: a name in it
        matches `TYPE_WORDS`, or an import whose line mentions one binds it."""
        if self._imported is None:
            self._imported = set()
            for node in self.view.nodes_near(TYPE_WORDS, ast.Import, ast.ImportFrom):
                for alias in node.names:  # type: ignore[attr-defined]
                    self._imported.add(alias.asname or alias.name.split(".")[0])
        for binding in bindings:
            for root in (binding.value, getattr(binding, "annotation", None)):
                for node in ast.walk(root) if root is not None else ():
                    name = getattr(node, "id", None) or getattr(node, "attr", None)
                    if isinstance(name, str) and (
                        name in self._imported or any(matches(name, w) for w in TYPE_WORDS)
                    ):
                        return True
        return False

    def container(self, value: ast.expr) -> bool:
        """`_is_container` surely holds: a display, or a builtin container nothing rebinds."""
        return isinstance(value, CONTAINER_DISPLAYS) or (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name)
            and value.func.id in BUILTIN_CONTAINERS
            and _never_bound(self.view, value.func.id)
        )


def _innermost_parameters(chain: list[ast.AST]) -> set[str]:
    """Parameters of the innermost def of `chain`: a name bound there by a parameter has no
    binding value (`single_binding_value`), so only its name can make it a receiver."""
    index = innermost(chain, FUNCTION_DEFS)
    if index is None:
        return set()
    func = chain[index]
    args = func.args  # type: ignore[attr-defined]
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    return {arg.arg for arg in every if arg is not None}


BUILTIN_CONTAINERS = ("set", "list", "dict", "frozenset")
CONTAINER_DISPLAYS = (ast.Set, ast.List, ast.Dict, ast.SetComp, ast.ListComp, ast.DictComp)


def _innermost_scope(chain: list[ast.AST]) -> ast.AST | None:
    index = innermost(chain)
    return chain[index] if index is not None else None


BINDERS = (
    ast.arg,
    ast.alias,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.ExceptHandler,
    ast.MatchAs,
    ast.MatchStar,
    ast.MatchMapping,
    ast.Name,
)


def _never_bound(view: FileView, name: str) -> bool:
    """Nothing in the file binds the builtin `name` (so `name()` is the builtin)."""
    for node in view.nodes_near([name], *BINDERS):
        if isinstance(node, ast.Name):
            bound = node.id if isinstance(node.ctx, ast.Store) else None
        elif isinstance(node, ast.alias):
            bound = node.asname or node.name.split(".")[0]
        elif isinstance(node, ast.MatchMapping):
            bound = node.rest
        else:
            bound = getattr(node, "arg", None) or getattr(node, "name", None)
        if bound == name:
            return False
    return True


def _bound_to_container(view: FileView, name: str, call: ast.Call) -> bool:
    """An assignment of `name` in the call's scope binds a container: whether it is the only
    binding (`_is_container`) or one of several, `single_binding_value` gives no type."""
    scope = _innermost_scope(view.enclosing(call.lineno))
    for node in view.nodes_near([name], ast.Assign, ast.AnnAssign):
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        else:
            assert isinstance(node, ast.AnnAssign)
            targets, value = [node.target], node.value
        if not any(isinstance(t, ast.Name) and t.id == name for t in targets):
            continue
        if _innermost_scope([s for s in view.enclosing(node.lineno) if s is not node]) is not scope:
            continue
        if value is not None and _AstTyping(view).container(value):
            return True
    return False


def _inside(inner: ast.AST, outer: ast.AST) -> bool:
    start = (inner.lineno, inner.col_offset)  # type: ignore[attr-defined]
    end = (inner.end_lineno, inner.end_col_offset)  # type: ignore[attr-defined]
    return (outer.lineno, outer.col_offset) <= start and end <= (  # type: ignore[attr-defined]
        outer.end_lineno,  # type: ignore[attr-defined]
        outer.end_col_offset,  # type: ignore[attr-defined]
    )


def _ast_batched(view: FileView, call: ast.Call, comprehensions: list[ast.expr]) -> bool:
    """`visit_Call` surely stops at a batch: an argument holds a slice, or every loop of the
    call's scope around it (a superset of `per_item_loops`) is a batch loop by its target
    and iterable (`_is_batch_loop` without its look at the body)."""
    arguments = [*call.args, *(keyword.value for keyword in call.keywords)]
    if any(isinstance(node, ast.Slice) for arg in arguments for node in ast.walk(arg)):
        return True
    chain = view.enclosing(call.lineno)
    scope = innermost(chain)
    loops: list[tuple[ast.expr, ast.expr]] = [
        (s.target, s.iter)
        for s in chain[0 if scope is None else scope + 1 :]
        if isinstance(s, (ast.For, ast.AsyncFor))
    ]
    for comp in comprehensions:
        if _inside(call, comp):
            loops += [(g.target, g.iter) for g in comp.generators]  # type: ignore[attr-defined]
    return all(_ast_batch_loop(target, iterable) for target, iterable in loops)


def _ast_batch_loop(target: ast.expr, iterable: ast.expr) -> bool:
    if (
        isinstance(iterable, ast.Call)
        and _ast_terminal(iterable.func) == "range"
        and len(iterable.args) + len(iterable.keywords) == 3
    ):
        return True
    names = _ast_bound_names(target)
    for node in ast.walk(iterable):  # the names libcst sees: attributes, keywords, parameters
        name = (
            getattr(node, "id", None) or getattr(node, "attr", None) or getattr(node, "arg", None)
        )
        if isinstance(name, str):
            names.append(name)
    return any(set(name_tokens(name)) & BATCH_WORDS for name in names)


def _ast_bound_names(target: ast.expr) -> list[str]:
    """`bound_names` over CPython's AST."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [name for element in target.elts for name in _ast_bound_names(element)]
    return _ast_bound_names(target.value) if isinstance(target, ast.Starred) else []


def _ast_per_item(view: FileView, call: ast.Call, comprehensions: list[ast.expr]) -> bool:
    """`call` may run once per item (`per_item_loops`): in the body of a `for` of its scope, or
    in a comprehension outside its first iterable."""
    chain = view.enclosing(call.lineno)
    for index in reversed(range(len(chain))):
        statement = chain[index]
        if isinstance(statement, SCOPE_DEFS):
            break
        if isinstance(statement, (ast.For, ast.AsyncFor)) and index + 1 < len(chain):
            if any(chain[index + 1] is item for item in statement.body):
                return True
    return any(
        _inside(call, comp) and not _inside(call, comp.generators[0].iter)  # type: ignore[attr-defined]
        for comp in comprehensions
    )
