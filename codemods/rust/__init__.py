"""Fixes of the Rust rules: byte-range edits (`flowfix.rust.fixes.RustFix`)."""
