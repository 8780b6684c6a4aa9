"""Connections rules."""
