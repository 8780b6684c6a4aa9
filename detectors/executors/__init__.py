"""Executors rules."""
