"""A call graph over the files of one run, built from CPython's AST, for cross-file rules.

The index answers one question for ASY006: does calling this project function block (sleep,
sync HTTP, subprocess, a call on a sync LLM SDK or HTTP client: the table of
flowfix.analysis.blocking), directly or through the sync functions it calls, and through which
chain? It also keeps what CAC005 follows (flowfix.analysis.file_loads: the files a function
parses from a path its object holds, and its calls with their receivers). It holds only
strings, so it crosses process boundaries cheaply.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from flowfix.analysis.blocking import (
    BLOCKING_FUNCTIONS,
    CLIENT_METHOD_ENDS,
    LLM_METHODS,
    SESSION_CLASSES,
    SESSION_FACTORIES,
    SYNC_CLIENT_NAMES,
    SYNC_CLIENTS,
)
from flowfix.analysis.file_loads import FileLoads, FunctionLoads
from flowfix.analysis.flow_wiring import SYNC_FLOWS, flow_nodes, transition
from flowfix.analysis.frameworks import VENDORED_FRAMEWORKS, vendored_name
from flowfix.analysis.methods import is_instance_attribute
from flowfix.analysis.model import FUNCTIONS, FunctionNode, children
from flowfix.analysis.queries import WRAPPING_TYPES, declared_class, query_source
from flowfix.analysis.values import (
    assigned_targets,
    bound_names,
    dotted_name,
    nested_statements,
)
from flowfix.sources import SourceError, read_bytes, read_source
from flowfix.sources import digest as digest_of

SYNC_NODE_BASES = frozenset(
    {"pocketflow.Node", "pocketflow.BatchNode", "kaygraph.Node", "kaygraph.BatchNode"}
)
NODE_HOOKS = ("prep", "exec", "post")
MAX_DEPTH = 8


@dataclass
class FunctionInfo:
    """One function or method: its blocking calls and the project calls it makes."""

    name: str
    is_async: bool
    blocking: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    returns_client: str | None = None  # a sync client it returns built inline (a factory)
    # The module-level name (qualified) it returns, in every `return` of a name: a client it
    # keeps in a global (`global _client; ...; return _client`), read by `returned_client`.
    returns_global: str | None = None
    # The node classes (qualified) of a sync flow it builds and returns, from the start node
    # on: `a = A(); b = B(); a >> b; return Flow(start=a)`.
    runs_nodes: tuple[str, ...] = ()
    # The tree, kept for CAC005 until `ProjectIndex.file_loads` reads it.
    source: tuple[_Indexer, ast.FunctionDef | ast.AsyncFunctionDef, str | None] | None = field(
        default=None, repr=False, compare=False
    )


@dataclass
class ModuleInfo:
    """What a module binds at top level: imported names and local defs, as dotted targets."""

    name: str
    bindings: dict[str, str] = field(default_factory=dict)
    # Type aliases: `DbSession = Annotated[Session, Depends(get_db)]` → the class, qualified.
    aliases: dict[str, str] = field(default_factory=dict)


@dataclass
class ProjectIndex:
    """Functions, classes and modules of the run, keyed by dotted name.

    A run's index knows every file's module name up front (`lazy`) and indexes a module's
    functions and classes the first time a query needs them, so a run pays for the few modules
    that async code actually calls into, not for a second pass over all of them.
    """

    modules: dict[str, ModuleInfo] = field(default_factory=dict)
    module_of_path: dict[str, str] = field(default_factory=dict)
    functions: dict[str, FunctionInfo] = field(default_factory=dict)
    # Functions found but not analysed yet (a module's functions are analysed when asked).
    pending: dict[str, tuple[_Indexer, ast.FunctionDef | ast.AsyncFunctionDef, str | None]] = field(
        default_factory=dict
    )
    class_bases: dict[str, list[str]] = field(default_factory=dict)
    loads: dict[str, FileLoads] = field(default_factory=dict)  # CAC005's, see `file_loads`
    unread: dict[str, tuple[Path, bool]] = field(default_factory=dict)  # module: (path, package)
    texts: dict[str, str] = field(default_factory=dict)  # module: its text, when given (build)
    digests: dict[str, str] = field(default_factory=dict)  # module: its file's content digest
    files: dict[str, str] = field(default_factory=dict)  # absolute path: module, for scripts
    # A top-level name several import roots of the run claim: {root's absolute path: the
    # prefix its modules of that name carry} (see `_module_names`).
    claims: dict[str, dict[str, str]] = field(default_factory=dict)
    consulted: set[str] | None = None  # while recording: every module name looked up
    # Trees the index parsed, kept for the run's own analysis of the file (parsed once).
    parsed: dict[str, tuple[str, ast.Module]] = field(default_factory=dict, repr=False)
    # The indexer of each module indexed from a tree (it holds that tree's nodes), see `release`.
    indexers: dict[str, _Indexer] = field(default_factory=dict, repr=False)
    finished: set[str] = field(default_factory=set, repr=False)  # modules analysed and released
    _heads: frozenset[str] | None = field(default=None, repr=False)  # see `may_name_module`
    _folders: frozenset[str] | None = field(default=None, repr=False)  # see `namespace_import`
    named: set[str] = field(default_factory=set, repr=False)  # modules an import names as is
    # Trees the run's analysis of a file offered, indexed from if a query needs the module.
    offered: dict[str, tuple[str, ast.Module]] = field(default_factory=dict, repr=False)
    _chains: dict[str, tuple[str, ...] | None] = field(default_factory=dict, repr=False)
    _returning: set[str] = field(default_factory=set, repr=False)  # see `returned_client`
    # Every file of the run by display path: its path, or its text when given (build). Rules
    # that look for a function's callers read them through `source`; they keep what they
    # work out in `memo` (and consult again, when they reuse it, the files it read).
    run_files: dict[str, Path | str] = field(default_factory=dict, repr=False)
    memo: dict[object, object] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, sources: Iterable[tuple[Path, str, str]]) -> ProjectIndex:
        """An index of `(path, display path, text)` triples (an editor's unsaved text, say),
        each text parsed when a query first needs it; files that do not parse are skipped."""
        sources = list(sources)
        index = cls()
        names = _module_names([(path, display) for path, display, _ in sources])
        for (path, display, text), named in zip(sources, names, strict=True):
            index._add(path, display, named)
            index.texts[named[0]] = text
            index.run_files[display] = text
        return index

    @classmethod
    def lazy(cls, files: Iterable[tuple[Path, str]]) -> ProjectIndex:
        """An index of `(path, display path)` files, each read when a query first needs it."""
        files = list(files)
        index = cls()
        for (path, display), named in zip(files, _module_names(files), strict=True):
            index._add(path, display, named)
            index.run_files[display] = path
        return index

    def _add(self, path: Path, display: str, named: tuple[str, bool, Path | None]) -> None:
        module, is_package, root = named
        self.module_of_path[display] = module
        self.unread[module] = (path, is_package)
        self.files[os.path.abspath(path)] = module
        if ROOTED not in module:
            self.named.add(module)
        if root is not None:
            prefix, _, dotted = module.rpartition(ROOTED)
            self.claims.setdefault(dotted.partition(".")[0], {})[str(root)] = prefix

    def may_name_module(self, dotted: str) -> bool:
        """Whether an import of `dotted` can reach a module of the run, by any of the ways the
        index resolves one (a relative import, or an absolute one whose first part is the first
        part of a module's dotted name, or the name of a folder, which `namespace_import` may
        follow): when not, no query about it needs any module read."""
        if dotted.startswith("."):
            return True
        if self._heads is None:
            self._heads = frozenset(
                dotted_tail(module).partition(".")[0] for module in self.module_of_path.values()
            )
        head = dotted.partition(".")[0]
        return head in self._heads or head in self.folder_names

    @property
    def folder_names(self) -> frozenset[str]:
        """The names of the folders that hold the run's files (and of the folders above them):
        the first part of an import that `namespace_import` can follow is one of them."""
        if self._folders is None:
            self._folders = frozenset(
                part for path in self.files for part in PurePosixPath(path).parent.parts
            )
        return self._folders

    def script_import(self, folder: Path, dotted: str) -> str | None:
        """`dotted` as a script in `folder` (not a package) imports it, as a project-wide name,
        when a file of the run beside the script provides it: Python puts a script's own
        folder first on `sys.path`, so `from utils import call_llm` in a cookbook app means
        its own `utils.py` (or `utils/`), whatever other apps of the run call theirs."""
        found = self._file_under(str(folder), dotted)
        return found[1] if found is not None else None

    def namespace_import(self, path: Path, dotted: str) -> str | None:
        """`dotted` as an absolute import in the file `path` names it, as a project-wide name,
        through a namespace package (PEP 420: folders without `__init__.py`, an app run as
        `uvicorn app.main:app` from its project root): the file of the run that `dotted` (or
        its longest start, the rest being attributes) names under the nearest folder at or
        above the file's import root, reached through at least one folder, as Python finds it
        with that folder on `sys.path`. A one-part name is never followed upwards (`openai`
        is the library, not the run's `app/core/openai.py`), nor a name a regular package or
        a packaged module of the run answers by name: only imports nothing else resolves
        cost these path look-ups."""
        parts = dotted.split(".")
        if len(parts) < 2 or parts[0] not in self.folder_names:
            return None
        # How many parts a module of the run answers by name (`app` for `app/__init__.py`).
        named = next(
            (end for end in range(len(parts), 1, -1) if ".".join(parts[:end]) in self.named), 1
        )
        if named == len(parts):
            return None
        folder = str(_import_root(path))
        while True:
            found = self._file_under(folder, dotted)
            if found is not None and found[0] > named:
                return found[1]
            folder, below = os.path.dirname(folder), folder
            if folder == below:
                return None

    def _file_under(self, folder: str, dotted: str) -> tuple[int, str] | None:
        """(how many of its parts, the project-wide name) of the longest start of `dotted`
        that names a file of the run under `folder`, with the rest of `dotted` after it."""
        parts = dotted.split(".")
        base = os.path.abspath(folder)
        for end in range(len(parts), 0, -1):
            stem = os.path.join(base, *parts[:end])
            for candidate in (stem + ".py", os.path.join(stem, "__init__.py")):
                module = self.files.get(candidate)
                if module is not None:
                    return end, ".".join([module, *parts[end:]])
        return None

    def rooted_import(self, path: Path, dotted: str) -> str | None:
        """`dotted` as an absolute import in the file `path` names it, as a project-wide name,
        when several import roots of the run claim its top-level name (two apps, each with a
        `nodes` package): the one of the nearest folder above `path` that claims it, as
        Python finds it with that app's root on `sys.path` (else `claimed_import`)."""
        claims = self.claims.get(dotted.partition(".")[0])
        if claims is None:
            return None
        folder = os.path.abspath(path.parent)
        while True:
            prefix = claims.get(folder)
            if prefix is not None:
                return f"{prefix}{ROOTED}{dotted}"
            folder, below = os.path.dirname(folder), folder
            if folder == below:
                return None

    def claimed_import(self, dotted: str) -> str | None:
        """`dotted` as an absolute import names it, as a project-wide name, when several
        import roots of the run claim its top-level name and none is above the importing
        file: the one root whose files name the most of `dotted` (None when several do:
        `sys.path` decides)."""
        claims = self.claims.get(dotted.partition(".")[0])
        if claims is None or len(claims) < 2:
            return None  # (a file in no package, which only a path reaches)
        found = sorted(filter(None, (self._file_under(root, dotted) for root in claims)))
        if not found or (len(found) > 1 and found[-2][0] == found[-1][0]):
            return None
        return found[-1][1]

    def offer_tree(self, module: str, tree: ast.Module, text: str) -> None:
        """Offer the tree a reader of a module of the run already has: a query that needs the
        module indexes it from that tree, rather than read and parse it again, when `text` is
        exactly what the index would read for it (most files' own module is never asked
        about: offering costs nothing)."""
        if module in self.unread:
            self.offered[module] = (text, tree)

    def _offered_tree(self, module: str) -> ast.Module | None:
        offered = self.offered.pop(module, None)
        if offered is None:
            return None
        text, tree = offered
        given = self.texts.get(module)
        if given is not None:
            return tree if given == text else None
        return tree if self.digests.get(module) == digest_of(text.encode("utf-8")) else None

    def release(self, display: str) -> None:
        """Let go of the syntax tree of a file the run has finished analysing: the module's
        functions that no query has analysed yet are indexed again, from the file, if a later
        query needs them. Without this a run kept the tree of every file ASY006 looked at
        alive to its end, and the garbage collector walked it again and again (0.7 s of a
        4 s check of a 5 MB module)."""
        module = self.module_of_path.get(display)
        if module is None:
            return
        self.offered.pop(module, None)
        indexer = self.indexers.pop(module, None)
        if indexer is None:
            return
        for key in indexer.keys:
            self.pending.pop(key, None)
            info = self.functions.get(key)
            if info is not None:
                info.source = None
        self.parsed.pop(module, None)
        self.unread[module] = (indexer.path, indexer.is_package)
        self.finished.add(module)

    def know(self, display: str, digest: str) -> None:
        """Note the digest of a file of the run that its reader computed (not read twice)."""
        module = self.module_of_path.get(display)
        if module is not None:
            self.digests.setdefault(module, digest)

    def digest(self, module: str) -> str | None:
        """The content digest of a file of the run (None: not one; "?": indexed from a text)."""
        if module in self.texts:
            return "?"
        if module not in self.digests and module in self.unread:
            try:
                self.digests[module] = digest_of(read_bytes(self.unread[module][0]))
            except SourceError:
                return None
        return self.digests.get(module, "?" if module in self.modules else None)

    def _index(
        self, module: str, is_package: bool, text: str, path: Path, raw: bytes | None = None
    ) -> None:
        """Index `module` from `text` (parsed from `raw`, its file's bytes, when given)."""
        try:
            tree = ast.parse(text if raw is None else raw)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return
        _Indexer(self, module, is_package, path).run(tree)
        if module not in self.finished:  # (kept for the run's own analysis of the file)
            self.parsed[module] = (text, tree)

    def tree_for(self, display: str, text: str) -> ast.Module | None:
        """The tree of a file of the run that a query made the index parse, if its text is
        `text`, handed over once: the run's analysis of that file need not parse it again."""
        module = self.module_of_path.get(display)
        found = self.parsed.pop(module, None) if module is not None else None
        return found[1] if found is not None and found[0] == text else None

    def _load(self, dotted: str) -> None:
        """Index the unread modules that `dotted` or its prefixes name."""
        prefixes = _prefixes(dotted)
        if self.consulted is not None:
            self.consulted.update(prefixes)
        for module in prefixes:
            found = self.unread.pop(module, None)
            if found is None:
                continue
            path, is_package = found
            tree = self._offered_tree(module)
            if tree is not None:
                _Indexer(self, module, is_package, path).run(tree)
                self._chains.clear()
                continue
            text, raw = self.texts.get(module), None
            if text is None:
                try:
                    source = read_source(path)
                except SourceError:
                    continue
                self.digests.setdefault(module, source.digest)
                text, raw = source.text, source.raw
            self._index(module, is_package, text, path, raw)
            self._chains.clear()

    def record(self) -> None:
        """Start recording the modules that queries read (for one file's detection)."""
        self._chains.clear()  # memoized chains would hide the modules they read
        self.consulted = set()

    def recorded(self) -> dict[str, str | None]:
        """Stop recording: each module consulted, with its file's digest (None: not a file of
        the run; "?" for an index built from texts, which never matches).

        The answers depend only on those modules' contents (and on which of those names are
        files of the run), so a cached result stays valid exactly while `unchanged` holds."""
        consulted, self.consulted = self.consulted or set(), None
        return {name: self.digest(name) for name in sorted(consulted)}

    def module_for(self, display: str) -> str | None:
        """The dotted module name of a file of the run, by display path."""
        module = self.module_of_path.get(display)
        if module is not None and self.consulted is not None:
            self.consulted.add(module)
        return module

    def source(self, display: str) -> str | None:
        """The text of a file of the run, by display path (recorded as consulted)."""
        module = self.module_for(display)
        entry = self.run_files.get(display)
        if entry is None or isinstance(entry, str):
            return entry
        try:
            source = read_source(entry)
        except SourceError:
            return None
        if module is not None:
            self.digests.setdefault(module, source.digest)
        return source.text

    def qualify(self, module: str, dotted: str, cls: str | None) -> str:
        """`dotted` as written in `module` (inside class `cls`), as a project-wide name."""
        head, _, rest = dotted.partition(".")
        if cls is not None and head == "self" and rest:
            return f"{cls}.{rest}"
        self._load(module)
        info = self.modules.get(module)
        if info is None:
            return dotted
        parts = dotted.split(".")
        for end in range(len(parts), 0, -1):
            target = info.bindings.get(".".join(parts[:end]))
            if target is not None:
                return ".".join([target, *parts[end:]])
        return dotted

    def resolve(self, dotted: str, depth: int = 0) -> str:
        """Follow re-exports (`pkg/__init__.py: from .utils import f`) to a defining name."""
        self._load(dotted)
        if (
            dotted in self.functions
            or dotted in self.pending
            or dotted in self.class_bases
            or depth > MAX_DEPTH
        ):
            return dotted
        head, _, tail = dotted.rpartition(".")
        module = self.modules.get(head)
        if module is not None and tail in module.bindings and module.bindings[tail] != dotted:
            return self.resolve(module.bindings[tail], depth + 1)
        return dotted

    def declared_type(self, dotted: str, depth: int = 0) -> str:
        """The class a type alias of the run stands for (`app.db.DbSession`, defined as
        `Annotated[Session, Depends(get_db)]` → `sqlalchemy.orm.Session`), through re-exports
        and aliases of aliases; `dotted` itself (resolved) when it is no alias."""
        key = self.resolve(dotted)
        head, _, tail = key.rpartition(".")
        module = self.modules.get(head)
        target = module.aliases.get(tail) if module is not None else None
        if target is None or depth > MAX_DEPTH:
            return key
        return self.declared_type(target, depth + 1)

    def bound_handle(self, dotted: str) -> str | None:
        """The sync client (`client = OpenAI()`, `redis_client = redis.Redis(...)`, `engine =
        create_engine(...)`, `client = get_client()` for a project factory returning one) or
        SQLAlchemy session factory (`SessionLocal = sessionmaker(...)`) a module-level name of
        the run is bound to by every binding of it, through re-exports."""
        key = self.resolve(dotted)
        head, _, tail = key.rpartition(".")
        self._load(head)
        indexer = self.indexers.get(head)
        return indexer.bound_handle(tail) if indexer is not None else None

    def returned_client(self, dotted: str) -> str | None:
        """The sync client a sync function of the run returns, through re-exports: built in
        its `return` (`def get_openai(): return OpenAI()`), or a module-level name of its
        module that every binding sets to that client (`None` aside), the cached global of
        `global _client; if _client is None: _client = OpenAI(); return _client`."""
        key = self.resolve(dotted)
        info = self.function(key)
        if info is None or info.is_async:
            return None
        found = info.returns_client
        if found is None and info.returns_global is not None and key not in self._returning:
            self._returning.add(key)  # (`_client = get_client()` in `get_client` itself)
            try:
                found = self.bound_handle(info.returns_global)
            finally:
                self._returning.discard(key)
        return found if found in SYNC_CLIENT_NAMES else None

    def has_function(self, key: str) -> bool:
        """Whether `key` (a resolved name) is a function or method of the run."""
        return key in self.functions or key in self.pending

    def file_loads(self, key: str) -> FileLoads | None:
        """What CAC005 follows in the project function `key` (flowfix.analysis.file_loads),
        read from its tree on first use, without the analysis `function` makes."""
        found = self.loads.get(key)
        if found is not None:
            return found
        self._load(key)  # (a released module is indexed again)
        info = self.functions.get(key)
        source = (info.source if info is not None else None) or self.pending.get(key)
        if source is None:
            return None
        indexer, node, cls = source
        facts = FunctionLoads(node, lambda dotted: indexer.qualify(dotted, cls), cls is not None)
        sites = [dataclasses.replace(site, node=None) for site in facts.sites]
        found = self.loads[key] = FileLoads(facts.loads, sites, facts.writes)
        if info is not None:
            info.source = None
        return found

    def function(self, key: str) -> FunctionInfo | None:
        """What the index knows of the project function `key` (analysed on first use)."""
        info = self.functions.get(key)
        if info is None and key in self.pending:
            indexer, node, cls = self.pending.pop(key)
            info = self.functions[key] = indexer.function(node, key, cls)
        return info

    def blocking_chain(self, dotted: str) -> tuple[str, ...] | None:
        """(`f`, `g`, `requests.get`) when calling sync project function `f` blocks, else None."""
        return self._chain(self.resolve(dotted), frozenset())

    def _chain(self, key: str, visiting: frozenset[str]) -> tuple[str, ...] | None:
        if key in self._chains:
            return self._chains[key]
        self._load(key)
        info = self.function(key)
        if info is None or info.is_async or key in visiting or len(visiting) > MAX_DEPTH:
            return None
        chain: tuple[str, ...] | None = None
        if info.blocking:
            chain = (info.name, info.blocking[0])
        else:
            for callee in info.calls:
                below = self._chain(self.resolve(callee), visiting | {key})
                if below is not None:
                    chain = (info.name, *below)
                    break
        self._chains[key] = chain
        return chain

    def method_of(self, cls: str, method: str, depth: int = 0) -> str | None:
        """The key of `method` as project class `cls` (or its nearest project base defining it)
        has it; None when `cls` is not a project class or none of them defines it."""
        key = self.resolve(cls)
        if key not in self.class_bases or depth > MAX_DEPTH:
            return None
        own = f"{key}.{method}"
        if own in self.functions or own in self.pending:
            return own
        for base in self.class_bases[key]:
            found = self.method_of(base, method, depth + 1)
            if found is not None:
                return found
        return None

    def is_sync_node_class(self, dotted: str, depth: int = 0) -> bool:
        """Does the class derive from PocketFlow's / KayGraph's sync `Node`/`BatchNode`?"""
        key = self.resolve(dotted)
        framework = vendored_name(dotted_tail(key))
        if framework.partition(".")[0] in VENDORED_FRAMEWORKS:
            # A class of the framework, or of a copy of its module among the project's files:
            # its own hierarchy (`AsyncNode` derives from `Node`) is not followed.
            return framework in SYNC_NODE_BASES
        return depth < MAX_DEPTH and any(
            self.is_sync_node_class(base, depth + 1) for base in self.class_bases.get(key, [])
        )

    def blocking_node(self, constructors: Iterable[str]) -> tuple[str, tuple[str, ...]] | None:
        """The first of these node classes that is sync and has a hook that blocks: that hook
        and its chain (see `blocking_hook`)."""
        for constructor in constructors:
            if self.is_sync_node_class(constructor):
                found = self.blocking_hook(constructor)
                if found is not None:
                    return found
        return None

    def blocking_hook(self, dotted: str) -> tuple[str, tuple[str, ...]] | None:
        """The first `prep`/`exec`/`post` of a node class (or its project bases) that blocks."""
        key = self.resolve(dotted)
        for hook in NODE_HOOKS:
            chain = self.blocking_chain(f"{key}.{hook}")
            if chain is not None:
                return hook, chain
        for base in self.class_bases.get(key, []):
            found = self.blocking_hook(base) if base != key else None
            if found is not None:
                return found
        return None


@functools.lru_cache(maxsize=16384)
def _prefixes(dotted: str) -> tuple[str, ...]:
    """`a`, `a.b`, `a.b.c` for `a.b.c`."""
    parts = dotted.split(".")
    return tuple(".".join(parts[:end]) for end in range(1, len(parts) + 1))


def _module_names(files: Sequence[tuple[Path, str]]) -> list[tuple[str, bool, Path | None]]:
    """(`module_name`, the import root when the name carries it) of each `(path, display
    path)`. Where import roots (the folder a dotted name starts from: above the file's top
    package, or a script's own folder) claim one top-level name (two apps of a repository,
    each with a `nodes` package or a `flow.py`), every module under that name is named
    `<root>/<dotted name>`, its root's display path (`_root_prefix`) before a `/`, which no
    dotted name holds: the names stay unique whichever file is read first, and keep the
    dotted tail that relative imports count on. Files that still claim one name (`nodes.py`
    beside `nodes/`) are named by their display paths, which no import reaches.

    A file in no package below the working folder (a script, a module beside one, or one of a
    namespace package: `app/core/openai.py` without `__init__.py`) is named under its folder
    too, whether or not another root claims its name: an import reaches it by its path
    (`script_import`, `rooted_import`, `namespace_import`), never by its bare name from
    elsewhere in the run, where `openai` is the library, not the run's `app/core/openai.py`.
    A file of the working folder itself keeps its bare name, as the `sys.path` of an app run
    from there (`python -m`, `uvicorn main:app`) holds that folder."""
    names = [module_name(path) for path, _ in files]
    roots = [_import_root(path) for path, _ in files]
    claims: dict[str, set[Path]] = {}
    for (name, _), root in zip(names, roots, strict=True):
        claims.setdefault(name.partition(".")[0], set()).add(root)
    named: list[tuple[str, bool, Path | None]] = [
        (name, package, None)
        if len(claims[name.partition(".")[0]]) == 1
        else (f"{_root_prefix(display, path, root)}{ROOTED}{name}", package, root)
        for (name, package), root, (path, display) in zip(names, roots, files, strict=True)
    ]
    taken = Counter(name for name, _, _ in named)
    return [
        (display, False, None)
        if taken[found[0]] > 1
        else (f"{_root_prefix(display, path, root)}{ROOTED}{found[0]}", False, root)
        if found[2] is None and not found[1] and "." not in found[0] and _nested(display)
        else found
        for found, root, (path, display) in zip(named, roots, files, strict=True)
    ]


def _nested(display: str) -> bool:
    """Whether the display path of a file names a folder (other than the working folder)."""
    return PurePosixPath(display).parent != PurePosixPath(".")


# What separates an import root from the dotted name of a module named under it.
ROOTED = "/"


def dotted_tail(module: str) -> str:
    """The dotted name as Python spells it of a project-wide name (`nodes.base.Node` for
    `app/nodes.base.Node`, a module two apps of the run have)."""
    return module.rpartition(ROOTED)[2]


def _import_root(path: Path) -> Path:
    """The folder the dotted name of the file `path` starts from: the one above its top
    package, or its own folder when it is in no package."""
    folder = Path(os.path.abspath(path.parent))
    levels = len(_package(folder))
    return folder.parents[levels - 1] if levels else folder


def _root_prefix(display: str, path: Path, root: Path) -> str:
    """The display path of the import root `root` of a file (its own display path less the
    folders of its dotted name; `root` itself when the display path is shorter), with `%` and
    `.` written `%25` and `%2E` (no dot may split it): `%2E` for the working folder."""
    levels = len(Path(os.path.abspath(path)).relative_to(root).parts)
    above = PurePosixPath(display).parents
    folder = above[levels - 1] if levels <= len(above) else PurePosixPath(root.as_posix())
    return str(folder).replace("%", "%25").replace(".", "%2E")


def module_name(path: Path) -> tuple[str, bool]:
    """(dotted module name, is a package) of a file: parent folders count while they hold an
    `__init__.py`, as the import system sees them."""
    parts = [*_package_of(path), *([] if path.stem == "__init__" else [path.stem])]
    return ".".join(parts) or path.stem, path.stem == "__init__"


def _package_of(path: Path) -> tuple[str, ...]:
    """The dotted package path of the folder holding `path` (looked up by absolute path: a
    relative one names another folder once the working folder changes)."""
    return _package(Path(os.path.abspath(path.parent)))


@functools.lru_cache(maxsize=4096)
def _package(folder: Path) -> tuple[str, ...]:
    """The dotted package path of `folder` (empty when it is not a package)."""
    if folder.name and (folder / "__init__.py").is_file():
        return (*_package(folder.parent), folder.name)
    return ()


def _own_nodes(function: ast.AST) -> Iterator[ast.AST]:
    """Nodes of a function's own body: nested defs, lambdas and classes run elsewhere."""
    stack = children(function)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        yield node
        stack.extend(children(node))


def _parameter(function: FunctionNode, name: str) -> ast.arg | None:
    """The parameter of `function` named `name` (not `*args` / `**kwargs`), if one."""
    params = function.args
    return next(
        (arg for arg in (*params.posonlyargs, *params.args, *params.kwonlyargs) if arg.arg == name),
        None,
    )


class _Locals:
    """The names a function binds in its own scope (parameters, assignments, imports; not
    those it declares `global`) and the names its `return` statements return."""

    def __init__(self, function: FunctionNode) -> None:
        params = function.args
        every = (*params.posonlyargs, *params.args, *params.kwonlyargs, params.vararg, params.kwarg)
        self.bound = {arg.arg for arg in every if arg is not None}
        self.declared: set[str] = set()
        self.returned: set[str | None] = set()

    def add(self, node: ast.AST) -> None:
        if isinstance(node, ast.Return):
            self.returned.add(node.value.id if isinstance(node.value, ast.Name) else None)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            self.bound.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            self.bound.update((a.asname or a.name).partition(".")[0] for a in node.names)
        elif isinstance(node, ast.Global):
            self.declared.update(node.names)

    def returned_global(self) -> str | None:
        """The module-level name every `return` returns (`return _client`), if one."""
        if len(self.returned) != 1:
            return None
        name = next(iter(self.returned))
        if name is None or name in self.bound and name not in self.declared:
            return None
        return name


class _Wiring:
    """The names a function binds to calls, its `a >> b` transitions and what it returns: the
    nodes of a sync flow it builds and returns."""

    def __init__(self) -> None:
        self.made: dict[str, ast.Call] = {}
        self.successors: dict[str, set[str]] = {}
        self.returned: list[ast.expr] = []

    def add(self, node: ast.AST) -> None:
        if isinstance(node, ast.Return) and node.value is not None:
            self.returned.append(node.value)
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Call)
        ):
            self.made[node.targets[0].id] = node.value
        elif isinstance(node, ast.BinOp):
            edge = transition(node)
            if edge is not None:
                self.successors.setdefault(edge[0], set()).add(edge[1])

    def returned_flow(self, indexer: _Indexer, cls: str | None) -> list[str]:
        """The node constructors (as spelled) of the first sync flow it returns, start first."""
        for value in self.returned:
            flow = self.made.get(value.id) if isinstance(value, ast.Name) else value
            if not isinstance(flow, ast.Call):
                continue
            if vendored_name(indexer.qualify(dotted_name(flow.func) or "", cls)) not in SYNC_FLOWS:
                continue
            nodes = flow_nodes(flow, self.made, self.successors)
            return [name for name in (dotted_name(n.func) for n in nodes) if name]
        return []


class _Indexer:
    """Fills the index with one module's bindings, functions and classes."""

    def __init__(self, index: ProjectIndex, module: str, is_package: bool, path: Path) -> None:
        self.index = index
        self.module = module
        self.is_package = is_package
        # A module outside any package is a script (or beside one): its absolute imports look
        # in its own folder first.
        self.script_folder = path.parent if not _package_of(path) else None
        self.path = path
        self.keys: list[str] = []  # the functions and methods it put in `pending`
        self.classes: dict[str, ast.ClassDef] = {}  # its top-level classes, by key
        self._stored: dict[tuple[str, str], str | None] = {}  # see `_stored_client`
        self._locals: dict[FunctionNode, _Locals] = {}  # see `_binds_locally`
        self.info = ModuleInfo(module)
        index.modules[module] = self.info
        index.indexers[module] = self

    def run(self, tree: ast.Module) -> None:
        """Bindings and class bases now; each function is analysed when the index is asked
        about it (`ProjectIndex.function`)."""
        assignments: list[ast.Assign] = []
        aliases: list[tuple[str, ast.Subscript]] = []
        for node in nested_statements(tree.body):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                self._bind_import(node)
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                assignments.append(node)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                alias = _type_alias(node)
                if alias is not None:
                    aliases.append(alias)
        for name, value in aliases:  # (once every import is bound)
            declared = self._unwrapped(value, None)
            if declared is not None:
                self.info.aliases[name] = declared
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.info.bindings.setdefault(node.name, f"{self.module}.{node.name}")
        self.assignments = assignments
        self._assigned_calls: dict[str, list[str]] | None = None
        self.tree = tree
        self._module_values: dict[str, list[ast.expr | None]] | None = None
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._pend(f"{self.module}.{node.name}", node, None)
            elif isinstance(node, ast.ClassDef):
                self._class(node)

    def _pend(self, key: str, node: FunctionNode, cls: str | None) -> None:
        """Keep a function for analysis on first use, unless a query already analysed it."""
        if key in self.index.functions and key not in self.index.loads:
            self.index.functions[key].source = (self, node, cls)
        elif key not in self.index.functions:
            self.index.pending[key] = (self, node, cls)
        self.keys.append(key)

    @property
    def assigned_calls(self) -> dict[str, list[str]]:
        """The callees (qualified, not resolved) whose results each name or `self.x`
        attribute is assigned, anywhere in the module."""
        if self._assigned_calls is None:
            self._assigned_calls = {}
            for assign in self.assignments:
                called = self.qualify(dotted_name(assign.value.func) or "", None)  # type: ignore[attr-defined]
                if not called:
                    continue
                for target in filter(None, (dotted_name(t) for t in assign.targets)):
                    self._assigned_calls.setdefault(target, []).append(called)
        return self._assigned_calls

    def clients_bound(self, name: str) -> set[str]:
        """The sync clients `name` (a name or `self.x`) is bound to: built by a sync
        constructor, or by a project factory (`redis_client = get_redis_client()`). Factories
        are resolved here, for the few names a client method is called on, so that indexing a
        module does not load the module of every call it assigns."""
        clients: set[str] = set()
        for called in self.assigned_calls.get(name, ()):
            if called in SYNC_CLIENT_NAMES:
                clients.add(called)
                continue
            returned = self.index.returned_client(called)
            if returned is not None:
                clients.add(returned)
        return clients

    def bound_handle(self, name: str) -> str | None:
        """See `ProjectIndex.bound_handle`: one module-level name of this module (`None`
        values aside, every binding of it builds the same one)."""
        found: set[str] = set()
        for value in self.module_values.get(name, ()):
            if isinstance(value, ast.Constant) and value.value is None:
                continue
            held = self._built(value) if isinstance(value, ast.Call) else None
            if held is None:
                return None
            found.add(held)
        return found.pop() if len(found) == 1 else None

    def _built(self, call: ast.Call) -> str | None:
        """The sync client or session factory `call` builds: a constructor of the table, a
        `sessionmaker` (not of an async `class_=`), or a project factory returning a client."""
        called = self.qualify(dotted_name(call.func) or "", None)
        if called in SESSION_FACTORIES:
            made = next((k.value for k in call.keywords if k.arg == "class_"), None)
            made_name = dotted_name(made) if made is not None else None
            if made is None or self.qualify(made_name or "", None) in SESSION_CLASSES:
                return called
            return None
        if called in SYNC_CLIENT_NAMES:
            return called
        return self.index.returned_client(called) if called else None

    @property
    def module_values(self) -> dict[str, list[ast.expr | None]]:
        """What each module-level name is bound to, by every binding of it: at module level
        (in `if`, `try`... blocks too) and in functions that declare it `global`; None for a
        binding whose value is not one expression (an import, a `def`, a loop, unpacking...)."""
        if self._module_values is None:
            self._module_values = {}
            for statement in _module_scope(self.tree):
                for name, value in _bound(statement):
                    self._module_values.setdefault(name, []).append(value)
        return self._module_values

    def _bind_import(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.info.bindings[alias.asname] = self._absolute(alias.name)
                else:
                    head = alias.name.split(".")[0]
                    self.info.bindings[head] = self._absolute(head)
                    if "." in alias.name and (
                        self._script_import(alias.name) or self._namespace_import(alias.name)
                    ):
                        # `import utils.llm` beside a script: `utils.llm.f` is its own file's.
                        self.info.bindings[alias.name] = self._absolute(alias.name)
            return
        base = node.module or ""
        if node.level:
            package = self.module.split(".")
            # A package's `from . import x` starts at the package itself, a module's at its parent.
            drop = node.level - 1 if self.is_package else node.level
            anchor = package[: max(len(package) - drop, 0)]
            base = ".".join([*anchor, *([base] if base else [])])
        for alias in node.names:
            if alias.name != "*":
                target = f"{base}.{alias.name}".lstrip(".")
                # `from utils import call_llm` in a script: its own `utils/call_llm.py`, or
                # `call_llm` of its own `utils.py` / `utils/__init__.py`.
                self.info.bindings[alias.asname or alias.name] = (
                    target if node.level else self._absolute(target)
                )

    def _script_import(self, dotted: str) -> str | None:
        if self.script_folder is None:
            return None
        return self.index.script_import(self.script_folder, dotted)

    def _namespace_import(self, dotted: str) -> str | None:
        return self.index.namespace_import(self.path, dotted)

    def _absolute(self, dotted: str) -> str:
        """What an absolute import of `dotted` names: a file beside a script, the module of
        this file's own app when other apps of the run have one of that name, a file of a
        namespace package above it, or `dotted`. A module's import of its own name is the
        library's (`app/core/openai.py` importing `openai`), never the module itself."""
        found = (
            self._script_import(dotted)
            or self.index.rooted_import(self.path, dotted)
            or self.index.namespace_import(self.path, dotted)
            or self.index.claimed_import(dotted)
        )
        if found is None or not self.is_package and f"{found}.".startswith(f"{self.module}."):
            return dotted
        return found

    def qualify(self, dotted: str, cls: str | None) -> str:
        return self.index.qualify(self.module, dotted, cls)

    def _class(self, node: ast.ClassDef) -> None:
        key = f"{self.module}.{node.name}"
        self.classes[key] = node
        bases = [dotted_name(base) for base in node.bases]
        self.index.class_bases[key] = [self.qualify(b, None) for b in bases if b]
        for item in node.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._pend(f"{key}.{item.name}", item, key)

    def function(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, key: str, cls: str | None
    ) -> FunctionInfo:
        short = key.rsplit(".", 2)[-2:] if cls else [node.name]
        info = FunctionInfo(".".join(short), isinstance(node, ast.AsyncFunctionDef))
        if key not in self.index.loads:
            info.source = (self, node, cls)
        wiring = _Wiring()
        scope = _Locals(node)
        for inner in _own_nodes(node):
            if isinstance(inner, ast.Return) and isinstance(inner.value, ast.Call):
                built = self.qualify(dotted_name(inner.value.func) or "", cls)
                if built in SYNC_CLIENT_NAMES:
                    info.returns_client = built
            if not isinstance(inner, ast.Call):
                scope.add(inner)
                wiring.add(inner)
                continue
            callee = dotted_name(inner.func)
            target = self.qualify(callee, cls) if callee is not None else ""
            if target in BLOCKING_FUNCTIONS:
                info.blocking.append(target)
                continue
            client = self._client_call(inner, cls, node)
            if client is not None:
                kind = SYNC_CLIENTS[client].kind
                shown = callee or _spelled(inner.func)
                info.blocking.append(f"{shown}() (sync {kind} client)")
            elif callee is not None:
                info.calls.append(target)
        info.runs_nodes = tuple(
            self.qualify(constructor, cls) for constructor in wiring.returned_flow(self, cls)
        )
        returned = scope.returned_global()
        info.returns_global = f"{self.module}.{returned}" if returned is not None else None
        return info

    def _client_call(self, call: ast.Call, cls: str | None, function: FunctionNode) -> str | None:
        """The sync client whose blocking method `call` calls (`client.chat.completions.create`,
        `session.get`, `db.query(User).first`), on a name bound to one, a parameter declared
        as one (`db: Session`, `db: DbSession`), one built inline (`OpenAI().x.create`) or
        returned by a project factory (`get_client().x.create`), or a module-level client of
        another module of the run (`from app.llm import client`, `llm.client`)."""
        func = call.func
        source = query_source(call)
        if source is not None and isinstance(func, ast.Attribute):
            root = dotted_name(source)
            held = self._clients_held(root, function, cls) if root is not None else set()
            runs = [name for name in sorted(held) if func.attr in SYNC_CLIENTS[name].query_runs]
            return runs[0] if runs else None
        parts: list[str] = []
        while isinstance(func, ast.Attribute):
            parts.append(func.attr)
            func = func.value
        parts.reverse()
        if isinstance(func, ast.Call):
            callee = dotted_name(func.func)
            client = self.qualify(callee, cls) if callee else ""
            if client not in SYNC_CLIENTS and client and parts and _may_block(parts):
                client = self.index.returned_client(client) or client
            return _blocking_method({client}, parts)
        root = dotted_name(func)
        if root is None:
            return None
        if root == "self" and parts:
            root, parts = f"self.{parts[0]}", parts[1:]
        if not parts or not _may_block(parts):
            return None
        found = _blocking_method(self._clients_held(root, function, cls), parts)
        if found is None and len(parts) > 1 and root in self.info.bindings:
            # `llm.client.chat.completions.create()` after `import app.llm as llm`
            found = _blocking_method(
                self._clients_held(f"{root}.{parts[0]}", function, cls), parts[1:]
            )
        return found

    def _clients_held(self, root: str, function: FunctionNode, cls: str | None) -> set[str]:
        """The sync clients `root` (a name, `module.name` or `self.x`) holds: a parameter's
        declared class, else the client a module-level name of another module of the run it
        imports is bound to (as ASY002 reads it), else what `clients_bound` finds, else for
        `self.x` the declared class of the parameters the class's methods store in it."""
        parameter = _parameter(function, root)
        if parameter is not None:
            declared = self._declared_client(parameter, None)
            return {declared} if declared is not None else set()
        imported = self._imported_client(root, function)
        if imported is not None:
            return {imported}
        if root in self.assigned_calls:
            return self.clients_bound(root)
        head, _, attribute = root.partition(".")
        stored = self._stored_client(cls, attribute) if head == "self" and cls else None
        return {stored} if stored is not None else set()

    def _stored_client(self, cls: str, attribute: str) -> str | None:
        """The sync client `self.<attribute>` holds when every assignment of it in the methods
        of class `cls` stores a parameter of the method declared as that client (`def
        __init__(self, db: Session): self.db = db`: a service object built on an endpoint's
        session)."""
        key = (cls, attribute)
        if key in self._stored:
            return self._stored[key]
        found: set[str | None] = set()
        node = self.classes.get(cls)
        methods = [item for item in node.body if isinstance(item, FUNCTIONS)] if node else []
        for method in methods:
            for inner in _own_nodes(method):
                targets = assigned_targets(inner)
                if any(is_instance_attribute(t, "self", attribute) for t in targets):
                    found.add(self._declared_parameter(inner, method, cls))
        client = found.pop() if len(found) == 1 else None
        self._stored[key] = client
        return client

    def _declared_parameter(self, node: ast.AST, method: FunctionNode, cls: str) -> str | None:
        """The sync client class of the parameter `node` (`self.x = param`) stores."""
        value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
        parameter = _parameter(method, value.id) if isinstance(value, ast.Name) else None
        return self._declared_client(parameter, cls) if parameter is not None else None

    def _declared_client(self, parameter: ast.arg, cls: str | None) -> str | None:
        """The sync client class a parameter's annotation declares (through type aliases)."""
        declared = self._unwrapped(parameter.annotation, cls) if parameter.annotation else None
        found = self.index.declared_type(declared) if declared else None
        return found if found in SYNC_CLIENT_NAMES else None

    def _imported_client(self, root: str, function: FunctionNode) -> str | None:
        """The sync client a name (or `module.name`) imported from another module of the run
        is bound to there, when neither this module nor `function` binds it otherwise."""
        head = root.partition(".")[0]
        if (
            head not in self.info.bindings
            or any(value is not None for value in self.module_values.get(head, ()))
            or self._binds_locally(function, head)
        ):
            return None
        found = self.index.bound_handle(self.qualify(root, None))
        return found if found in SYNC_CLIENT_NAMES else None

    def _binds_locally(self, function: FunctionNode, name: str) -> bool:
        """Whether `function` binds `name` in its own scope (not declared `global`)."""
        scope = self._locals.get(function)
        if scope is None:
            scope = self._locals[function] = _Locals(function)
            for node in _own_nodes(function):
                scope.add(node)
        return name in scope.bound and name not in scope.declared

    def _unwrapped(self, annotation: ast.expr, cls: str | None) -> str | None:
        """The qualified class an annotation names: `Session`, `Annotated[Session, ...]`,
        `Optional[Session]`, `Session | None`."""

        def wraps(head: ast.expr) -> bool:
            spelled = dotted_name(head)
            return spelled is not None and self.qualify(spelled, cls) in WRAPPING_TYPES

        declared = declared_class(annotation, wraps)
        dotted = dotted_name(declared) if declared is not None else None
        return self.qualify(dotted, cls) if dotted is not None else None


def _module_scope(tree: ast.Module) -> Iterator[ast.AST]:
    """The statements (and `except` clauses) that bind module-level names: those of the
    module's blocks, not of its functions and classes, and a function's bindings of a name it
    declares `global` (in its nested functions too: a superset)."""
    stack: list[ast.AST] = list(reversed(tree.body))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            declared = {
                name
                for inner in nested_statements(node.body)
                if isinstance(inner, ast.Global)
                for name in inner.names
            }
            if declared:
                yield from (
                    inner
                    for inner in nested_statements(node.body)
                    if any(name in declared for name, _ in _bound(inner))
                )
            continue
        if isinstance(node, ast.ClassDef):
            continue
        for field_name in ("finalbody", "orelse", "handlers", "cases", "body"):
            value = getattr(node, field_name, None)
            if type(value) is list:
                stack.extend(reversed(value))


def _bound(statement: ast.AST) -> Iterator[tuple[str, ast.expr | None]]:
    """(name, value) for each name `statement` binds: the value of `name = value` and
    `name: T = value`, None for any other binding (import, `def`, `for`, `with`, unpacking,
    augmented assignment, `except ... as name`)."""
    if isinstance(statement, ast.Assign):
        for target in statement.targets:
            if isinstance(target, ast.Name):
                yield target.id, statement.value
            else:
                yield from ((name, None) for name in bound_names(target))
    elif isinstance(statement, ast.AnnAssign):
        if statement.value is not None:
            yield from ((name, statement.value) for name in bound_names(statement.target))
    elif isinstance(statement, (ast.Import, ast.ImportFrom)):
        for alias in statement.names:
            yield (alias.asname or alias.name.partition(".")[0]), None
    elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        yield statement.name, None
    elif isinstance(statement, ast.AugAssign):
        yield from ((name, None) for name in bound_names(statement.target))
    elif isinstance(statement, (ast.For, ast.AsyncFor)):
        yield from ((name, None) for name in bound_names(statement.target))
    elif isinstance(statement, (ast.With, ast.AsyncWith)):
        for item in statement.items:
            if item.optional_vars is not None:
                yield from ((name, None) for name in bound_names(item.optional_vars))
    elif isinstance(statement, ast.ExceptHandler) and statement.name:
        yield statement.name, None


def _type_alias(node: ast.Assign | ast.AnnAssign) -> tuple[str, ast.Subscript] | None:
    """(name, value) of a module-level `Name = Annotated[...]` (or `Name: TypeAlias = ...`)."""
    target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
    if isinstance(node, ast.AnnAssign):
        target = node.target
    if isinstance(target, ast.Name) and isinstance(node.value, ast.Subscript):
        return target.id, node.value
    return None


def _spelled(func: ast.expr) -> str:
    """`OpenAI().chat.completions.create` for a call chain (arguments left out)."""
    if isinstance(func, ast.Attribute):
        return f"{_spelled(func.value)}.{func.attr}"
    if isinstance(func, ast.Call):
        return f"{_spelled(func.func)}()"
    return dotted_name(func) or "…"


def _may_block(path: list[str]) -> bool:
    """Whether `path` (the attributes after a client) can name a blocking client method."""
    return path[-1] in CLIENT_METHOD_ENDS


def _blocking_method(clients: set[str], path: list[str]) -> str | None:
    """The client of `clients` of which `path` (the attributes after the client) calls a
    blocking method: exactly one of its methods, or for an LLM client a path ending in one
    (`client.beta.chat.completions.create`)."""
    joined = ".".join(path)
    for name in sorted(clients):
        client = SYNC_CLIENTS.get(name)
        if client is None:
            continue
        if joined in client.methods:
            return name
        if client.is_llm and any(joined.endswith(f".{method}") for method in LLM_METHODS):
            return name
    return None


def unchanged(index: ProjectIndex, modules: dict[str, str | None]) -> bool:
    """Whether every recorded module still has the recorded digest (or is still absent)."""
    return all(index.digest(name) == digest for name, digest in modules.items())
