"""The frameworks the executor rules apply to."""

from __future__ import annotations

FRAMEWORKS = ("dynamiq", "pocketflow", "kaygraph", "pflow")
