"""Rust support: tree-sitter parsing, a semantic model (`use` resolution, async contexts), the
detector base of the Rust rules and their byte-edit fixes. Imported only for `*.rs` files, so a
run over Python files never loads tree-sitter."""
