"""EXE004: a hard-coded thread pool size → the environment, with the stdlib's default."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import TypeVar

import libcst as cst

from flowfix.codemod import RuleCodemod
from flowfix.edits import module_alias
from flowfix.project import module_name

_Sized = TypeVar("_Sized", cst.Arg, cst.Assign, cst.AnnAssign)


def env_prefix(path: str | None) -> str:
    """The environment variable's prefix: the file's top-level package, upper-cased (folders
    count while they hold `__init__.py`); a file outside any package uses its own module name."""
    dotted = module_name(Path(path))[0] if path else ""
    top = re.sub(r"\W+", "_", dotted.split(".", 1)[0]).strip("_").upper()
    return top or "APP"


class SizePoolFromEnvironment(RuleCodemod):
    """The variable's name is written in the quotes most of the file's strings before the
    size use (double quotes when there are none)."""

    CODE = "EXE004"
    DESCRIPTION = "Read a hard-coded thread pool size from `<PREFIX>_MAX_WORKERS`"
    READS_MODULE = True  # the quotes of every string before the size

    def visit_Module(self, node: cst.Module) -> None:
        self.os = module_alias(node, "os") or "os"
        self.quotes: Counter[str] = Counter()

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        if node.quote in ("'", '"'):
            self.quotes[node.quote] += 1

    def _size(self) -> cst.BaseExpression:
        variable = f"{env_prefix(self.context.filename)}_MAX_WORKERS"
        quote = "'" if self.quotes["'"] > self.quotes['"'] else '"'
        default = f"min(32, ({self.os}.cpu_count() or 1) + 4)"
        return cst.parse_expression(
            f"int({self.os}.environ.get({quote}{variable}{quote}, {default}))",
            self.module.config_for_parsing,
        )

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        return self._sized(original_node, updated_node)

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        return self._sized(original_node, updated_node)

    def leave_AnnAssign(
        self, original_node: cst.AnnAssign, updated_node: cst.AnnAssign
    ) -> cst.AnnAssign:
        return self._sized(original_node, updated_node)

    def _sized(self, original: _Sized, updated: _Sized) -> _Sized:
        span = self.target(original)
        if span is None and isinstance(original, cst.Arg) and original.keyword is None:
            span = self.target(original.value)  # a positional size: the finding is its value
        if span is None:
            return updated
        if self.os == "os":
            self.add_import("os")
        self.fixed.add(span)
        return updated.with_changes(value=self._size())
