"""Memory rules."""
