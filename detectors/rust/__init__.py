"""DashFlow's Rust rules (seed 002): blocking calls in async code, allocations, event emission,
checkpoints and graph state, over tree-sitter's tree of `*.rs` files."""
