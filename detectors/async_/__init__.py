"""Async rules: blocking work and event-loop misuse in coroutines (`async` is a keyword)."""
