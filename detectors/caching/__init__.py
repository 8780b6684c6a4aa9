"""Caching rules."""
