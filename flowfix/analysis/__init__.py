"""The semantic model rules analyse, built from CPython's `ast` (see model.py)."""

from flowfix.analysis.model import Binding, Model, Scope

__all__ = ["Binding", "Model", "Scope"]
