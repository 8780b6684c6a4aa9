"""Whether a call's receiver is an embedder or a vector store: by how it is built or annotated,
else by its name."""

from __future__ import annotations

import ast
import re

from flowfix.analysis import Model
from flowfix.analysis.values import nested_statements
from flowfix.detectors.vector.names import name_tokens, resolved_names, terminal

EMBEDDER_HEADS = frozenset({"embedder", "embedders", "embedding", "embeddings"})
STORE_HEADS = frozenset({"index", "collection", "vectorstore", "vectordb", "docstore"})
STORE_QUALIFIERS = frozenset({"vector", "vectors", "document", "documents", "doc", "docs"})
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
CONTAINER_DISPLAYS = (ast.Set, ast.List, ast.Dict, ast.SetComp, ast.ListComp, ast.DictComp)


def self_attribute(target: ast.AST) -> str | None:
    """`attr` for `self.<attr>`."""
    if (
        isinstance(target, ast.Attribute)
        and isinstance(target.value, ast.Name)
        and target.value.id == "self"
    ):
        return target.attr
    return None


def class_attributes(cls: ast.ClassDef) -> dict[str, list[ast.expr]]:
    """Values and annotations each `self.<attr>` / class field gets in `cls` (assignments in
    its methods, class-level fields, annotated names anywhere in its body)."""
    found: dict[str, list[ast.expr]] = {}
    for node in nested_statements(cls.body):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                name = self_attribute(target)
                if name:
                    found.setdefault(name, []).append(node.value)
        elif isinstance(node, ast.AnnAssign):
            target = node.target
            name = target.id if isinstance(target, ast.Name) else self_attribute(target)
            if name:
                values = found.setdefault(name, [])
                values.append(node.annotation)
                if node.value is not None:
                    values.append(node.value)
    return found


def is_container(model: Model, value: ast.expr) -> bool:
    if isinstance(value, CONTAINER_DISPLAYS):
        return True
    return isinstance(value, ast.Call) and bool(resolved_names(model, value.func) & CONTAINERS)


def type_names(model: Model, value: ast.expr) -> set[str]:
    """Names (qualified where they resolve) of the class a binding constructs (`X(...)`) or
    of the classes its annotation mentions; attribute and keyword names in an annotation
    count by their spelling."""
    if isinstance(value, ast.Call):
        return resolved_names(model, value.func) or {terminal(value.func)}
    if not isinstance(value, (ast.Name, ast.Attribute, ast.BinOp, ast.Subscript)):
        return set()
    names: set[str] = set()
    for node in ast.walk(value):
        if isinstance(node, ast.Name):
            names |= model.qualified_names(node) or {node.id}
        elif isinstance(node, ast.Attribute):
            names |= resolved_names(model, node) or {node.attr}
            names.add(node.attr)
        elif isinstance(node, ast.keyword) and node.arg is not None:
            names.add(node.arg)
    return names


def type_kind(name: str) -> str | None:
    """ "embedder" / "store" for a class name (qualified or short), else None."""
    short = name.rsplit(".", 1)[-1]
    if name.startswith(("pandas.", "numpy.", "typing.", "collections.")):
        return None
    if name.startswith(EMBEDDER_PACKAGES) or EMBEDDER_TYPES.search(short):
        return "embedder"
    if name.startswith(VECTOR_PACKAGES) or STORE_TYPES.search(short):
        return "store"
    return None


def is_foreign_class(name: str) -> bool:
    """An imported class that is neither an embedder nor a store (`pandas.Index`)."""
    package, _, short = name.rpartition(".")
    return bool(package) and short[:1].isupper() and package not in {"typing", "builtins"}


def receiver_kind(model: Model, receiver: ast.expr, values: list[ast.expr]) -> str | None:
    """ "embedder" or "store" when `receiver` is one by its construction or annotation
    (`values`: what it is bound to) or by its name."""
    if any(is_container(model, value) for value in values):
        return None
    names = {name for value in values for name in type_names(model, value)}
    kinds = {type_kind(name) for name in names}
    for kind in ("embedder", "store"):
        if kind in kinds:
            return kind
    if any(is_foreign_class(name) for name in names):
        return None
    tokens = name_tokens(terminal(receiver))
    if not tokens:
        return None
    if tokens[-1] in EMBEDDER_HEADS:
        return "embedder"
    if tokens[-1] in STORE_HEADS or (
        tokens[-1] in {"store", "db"} and len(tokens) > 1 and tokens[-2] in STORE_QUALIFIERS
    ):
        return "store"
    return None
