"""Vector rules."""
