"""CPython's trees of the last texts flowfix parsed to check a rewrite or to serve an editor,
so that the step after (the detection after a rewrite's check; an editor's quick fix after its
analysis) does not parse the same text again. Two are kept: an editor's document and a
rewrite. A `check` keeps none (its trees go as soon as their file is analysed), a `fix` the
last two rewrites'."""

from __future__ import annotations

import ast
import threading

_KNOWN = 2
_known: dict[str, ast.Module] = {}
_lock = threading.Lock()  # (the language server analyses and fixes on two threads)


def remember_tree(text: str, tree: ast.Module) -> None:
    """Keep `tree` as the tree of `text` (see `known_tree`)."""
    with _lock:
        _known.pop(text, None)
        _known[text] = tree
        while len(_known) > _KNOWN:
            del _known[next(iter(_known))]


def known_tree(text: str) -> ast.Module | None:
    """CPython's tree of `text`, when it is one of the last texts remembered."""
    with _lock:
        return _known.get(text)
