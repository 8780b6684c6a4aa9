"""The detector base of the Rust rules: the same Detector contract over tree-sitter's tree.

A Rust detector defines `visit_<node type>(node)` methods (tree-sitter's node type names, such
as `visit_call_expression`), called for every node of that type in source order, or overrides
`run()`. It reports nodes through the base class's `report()`, which handles suppressions
(`// noqa: CODE`, `// flowfix: ignore[CODE]`) as for Python.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from tree_sitter import Node

from flowfix.config import Config
from flowfix.detector import Detector
from flowfix.rules import Finding
from flowfix.rust.model import AsyncContext, RustModel

if TYPE_CHECKING:
    from flowfix.project import ProjectIndex


class RustDetector(Detector):
    """Base of every Rust rule's detector."""

    LANGUAGE: ClassVar[str] = "rust"
    COMMENT: ClassVar[str] = "//"
    FRAMEWORKS: ClassVar[Sequence[str]] = ("dashflow",)
    # The tree-sitter node types this rule visits, read from its visit_<type> methods.
    NODE_TYPES: ClassVar[tuple[str, ...]] = ()
    model: RustModel  # type: ignore[assignment]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.NODE_TYPES = tuple(
            name.removeprefix("visit_")
            for name in sorted(dir(cls))
            if name.startswith("visit_") and name[6:7].islower()
        )

    def __init__(
        self,
        model: RustModel,
        path: str,
        config: Config,
        project: ProjectIndex | None = None,
    ) -> None:
        super().__init__(model, path, config, project)  # type: ignore[arg-type]

    def in_test_code(self, node: Node) -> bool:
        return self.model.in_test_code(node)

    def run(self) -> None:
        for kind in self.NODE_TYPES:
            visit = getattr(self, f"visit_{kind}")
            for node in self.model.nodes(kind):
                visit(node)

    def async_calls(
        self, targets: Collection[str]
    ) -> Iterator[tuple[Node, Node, str, AsyncContext]]:
        """(call, callee, qualified name, async context) of each call to one of `targets`
        that runs in an async context."""
        for call, callee, qualified in self.model.calls_to(targets):
            context = self.model.async_context(call)
            if context is not None:
                yield call, callee, qualified, context


def run_rust_detectors(
    text: str, path: str, detectors: Sequence[type[Detector]], config: Config
) -> tuple[list[Finding], list[Finding]]:
    """(findings, suppressed findings) of `detectors` on one Rust file, over one model."""
    if not detectors:
        return [], []
    model = RustModel(text)
    running = [detector(model, path, config) for detector in detectors]  # type: ignore[arg-type]
    for detector in running:
        detector.run()
    findings = [finding for detector in running for finding in detector.findings]
    suppressed = [finding for detector in running for finding in detector.suppressed]
    return findings, suppressed
