"""flowfix: find and fix performance anti-patterns in LLM/agent orchestration code."""

__version__ = "0.1.0"
