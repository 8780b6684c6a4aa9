"""Agents rules."""
