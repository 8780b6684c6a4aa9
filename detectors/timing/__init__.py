"""Timing rules."""
