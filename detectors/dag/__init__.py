"""Dag rules."""
