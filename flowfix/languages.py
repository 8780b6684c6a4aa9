"""Which language a file is written in, read from its name: the one question on which the
engine's steps (read, parse, detect, fix, verify) dispatch. Python is the default (stdin without
a name, scripts without a suffix); `*.rs` files are Rust, parsed with tree-sitter.
"""

from __future__ import annotations

PYTHON = "python"
RUST = "rust"
# The suffixes discovery collects when it walks a folder.
SUFFIXES = (".py", ".rs")


def language_of(name: str) -> str:
    """The language of the file called `name` (a path or a display path)."""
    return RUST if name.endswith(".rs") else PYTHON


def is_rust(name: str) -> bool:
    return name.endswith(".rs")
