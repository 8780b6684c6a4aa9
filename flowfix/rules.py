"""Rule metadata, findings, fix safety, and the registry that pairs detectors with codemods."""

from __future__ import annotations

import enum
import importlib
import inspect
import json
import pkgutil
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowfix.codemod import RuleCodemod
    from flowfix.detector import Detector
    from flowfix.rust.fixes import RustFix


class Severity(str, enum.Enum):
    """Which report section a finding goes to."""

    CRITICAL = "critical"
    OPTIMIZATION = "optimization"


class FixSafety(str, enum.Enum):
    """How safe a fix is; ordered NONE < UNSAFE < SAFE."""

    NONE = "none"
    UNSAFE = "unsafe"
    SAFE = "safe"

    @property
    def rank(self) -> int:
        return _SAFETY_RANK[self]

    def applies(self, threshold: FixSafety) -> bool:
        """True when a fix of this safety may be applied at `threshold` (SAFE or UNSAFE)."""
        return self is not FixSafety.NONE and self.rank >= threshold.rank


_SAFETY_RANK = {FixSafety.NONE: 0, FixSafety.UNSAFE: 1, FixSafety.SAFE: 2}


class OptIn(str, enum.Enum):
    """Why a rule is not in the default set; each value is also a group name for `select`,
    `extend-select` and `ignore` (`extend-select = ["tuning"]`)."""

    TUNING = "tuning"  # flags a setting whose right value depends on the workload
    CONTEXT = "context"  # whether it costs anything depends on what the code does not show
    MINOR = "minor"  # a real cost, small next to the work around it
    PREVIEW = "preview"  # new: its precision or cost is still being worked on

    @property
    def meaning(self) -> str:
        return _OPT_IN_MEANING[self]


_OPT_IN_MEANING = {
    OptIn.TUNING: "flags a setting whose right value depends on the workload",
    OptIn.CONTEXT: "whether it costs anything depends on what the code does not show",
    OptIn.MINOR: "a real cost, but small next to the work around it",
    OptIn.PREVIEW: "new: its precision or its cost is still being worked on; `ALL` leaves it out",
}
# Group names a selection may use besides codes and prefixes: every rule, the default set,
# and each opt-in reason.
ALL = "ALL"
DEFAULT = "DEFAULT"
GROUPS = (ALL, DEFAULT, *(reason.value.upper() for reason in OptIn))


@dataclass(frozen=True, order=True)
class Span:
    """A 1-based line, 1-based column range in a file's text."""

    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True)
class Finding:
    """One reported problem. `fix` is this finding's own fix safety (never above its rule's);
    `data` is what its codemod needs beyond the span (names and positions, JSON values)."""

    code: str
    path: str
    span: Span
    message: str
    fix: FixSafety
    fixed: bool = False
    note: str = ""
    data: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def sort_key(self) -> tuple[str, Span, str]:
        return (self.path, self.span, self.code)


@dataclass(frozen=True)
class Rule:
    """A rule as users see it. The detector and codemod classes are imported on first use,
    so listing, selecting and reporting rules never imports libcst."""

    code: str
    name: str
    severity: Severity
    category: str
    fix: FixSafety
    frameworks: tuple[str, ...]
    needs_project: bool
    detector_class: str  # "module:Class"
    codemod_class: str | None
    language: str = "python"  # of the files it applies to (flowfix.languages)
    opt_in: OptIn | None = None  # None: in the default set
    why_not_default: str = ""  # one line, for opt-in rules
    production_only: bool = True  # skipped on test paths (config `test-paths`)

    @property
    def default(self) -> bool:
        """In the rule set a run selects when nothing is selected."""
        return self.opt_in is None

    @property
    def detector(self) -> type[Detector]:
        return _import_class(self.detector_class)

    @property
    def codemod(self) -> type[RuleCodemod] | type[RustFix] | None:
        """The rule's rewrite: a libcst codemod (Python) or byte edits (Rust)."""
        return _import_class(self.codemod_class) if self.codemod_class else None

    @property
    def fixable(self) -> bool:
        return self.codemod_class is not None

    @property
    def docs(self) -> str:
        return self.detector.__doc__ or ""

    @property
    def summary(self) -> str:
        return self.docs.strip().splitlines()[0] if self.docs.strip() else self.name

    def section(self, heading: str) -> str:
        """The text under the docs' `## heading` ('' when the docs have no such section)."""
        lines = inspect.cleandoc(self.docs).splitlines()
        if f"## {heading}" not in lines:
            return ""
        body = lines[lines.index(f"## {heading}") + 1 :]
        ends = [index for index, line in enumerate(body) if line.startswith("## ")]
        return "\n".join(body[: ends[0] if ends else len(body)]).strip()


@cache
def _import_class(path: str) -> type:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


class RegistryError(Exception):
    """The rule packages contradict each other (a bug in flowfix, not user input)."""


def _load_subclasses(package: str, *bases: type) -> list[Any]:
    """Rule classes (subclasses of `bases` with a CODE) defined in `package`'s modules and
    subpackages, in module order."""
    pkg = importlib.import_module(package)
    found: list[Any] = []
    infos = pkgutil.walk_packages(pkg.__path__, prefix=f"{package}.")
    for info in sorted(infos, key=lambda i: i.name):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, bases)
                and value not in bases
                and value.__module__ == module.__name__
                and getattr(value, "CODE", None)
            ):
                found.append(value)
    return found


def scan_rules() -> dict[str, Rule]:
    """All rules read from the rule classes themselves (imports every detector and codemod)."""
    from flowfix.codemod import RuleCodemod
    from flowfix.detector import Detector
    from flowfix.rust.fixes import RustFix

    codemods: dict[str, type[RuleCodemod] | type[RustFix]] = {}
    for codemod in _load_subclasses("flowfix.codemods", RuleCodemod, RustFix):
        if codemod.CODE in codemods:
            raise RegistryError(f"two codemods fix {codemod.CODE}")
        codemods[codemod.CODE] = codemod
    rules: dict[str, Rule] = {}
    detectors: list[type[Detector]] = _load_subclasses("flowfix.detectors", Detector)
    for detector in detectors:
        if detector.CODE in rules:
            raise RegistryError(f"two detectors report {detector.CODE}")
        codemod_cls = codemods.pop(detector.CODE, None)
        if (codemod_cls is None) != (detector.FIX is FixSafety.NONE):
            raise RegistryError(
                f"{detector.CODE}: fix {detector.FIX.value} but codemod {codemod_cls}"
            )
        if codemod_cls is not None and issubclass(codemod_cls, RustFix) != (
            detector.LANGUAGE == "rust"
        ):
            raise RegistryError(f"{detector.CODE}: its fix is not written for its language")
        rules[detector.CODE] = Rule(
            code=detector.CODE,
            name=detector.NAME,
            severity=detector.SEVERITY,
            category=detector.CATEGORY,
            fix=detector.FIX,
            frameworks=tuple(detector.FRAMEWORKS),
            needs_project=detector.NEEDS_PROJECT,
            detector_class=f"{detector.__module__}:{detector.__qualname__}",
            codemod_class=f"{codemod_cls.__module__}:{codemod_cls.__qualname__}"
            if codemod_cls
            else None,
            language=detector.LANGUAGE,
            opt_in=detector.OPT_IN,
            why_not_default=detector.WHY_NOT_DEFAULT,
            production_only=detector.PRODUCTION_ONLY,
        )
    if codemods:
        raise RegistryError(f"codemods without a detector: {sorted(codemods)}")
    return dict(sorted(rules.items()))


LINE_LENGTH = 100  # ruff's line length for flowfix's own code


def render_catalog(rules: dict[str, Rule]) -> str:
    """The source of flowfix/catalog.py for `rules` (laid out as ruff format would)."""

    def literal(value: object) -> str:
        if isinstance(value, tuple):
            items = ", ".join(literal(item) for item in value)
            return f"({items},)" if len(value) == 1 else f"({items})"
        if isinstance(value, OptIn):
            return json.dumps(value.value)
        return json.dumps(value) if isinstance(value, str) else repr(value)

    lines = [
        '"""The rule catalog as data, generated from the rule classes: do not edit.',
        "",
        "Lets a run list, select and report rules without importing the detectors (and libcst).",
        "tests/test_catalog.py checks it against the classes;",
        "FLOWFIX_UPDATE_FIXTURES=1 python -m pytest tests/test_catalog.py rewrites it.",
        '"""',
        "",
        "# code: (name, severity, category, fix, frameworks, needs_project, detector, codemod,",
        "#        language, opt_in (None: a default rule), why_not_default, production_only)",
        "RULES = {",
    ]
    for rule in rules.values():
        fields = (
            rule.name,
            rule.severity.value,
            rule.category,
            rule.fix.value,
            rule.frameworks,
            rule.needs_project,
            rule.detector_class,
            rule.codemod_class,
            rule.language,
            rule.opt_in,
            rule.why_not_default,
            rule.production_only,
        )
        lines.append(f"    {literal(rule.code)}: (")
        for value in fields:
            text = literal(value)
            if len(text) + 9 <= LINE_LENGTH or not isinstance(value, str):
                lines.append(f"        {text},")
            else:  # a long string: implicitly concatenated parts, one a line
                parts = textwrap.wrap(value, LINE_LENGTH - 14, drop_whitespace=False)
                lines += ["        (", *(f"            {literal(part)}" for part in parts)]
                lines.append("        ),")
        lines.append("    ),")
    lines.append("}")
    return "\n".join(lines) + "\n"


@cache
def registry() -> dict[str, Rule]:
    """All rules by code, from the generated catalog (no detector is imported)."""
    from flowfix.catalog import RULES

    rules: dict[str, Rule] = {}
    for code, row in RULES.items():
        (
            name,
            severity,
            category,
            fix,
            frameworks,
            needs_project,
            detector,
            codemod,
            language,
            opt_in,
            why_not_default,
            production_only,
        ) = row
        rules[code] = Rule(
            code,
            name,
            Severity(severity),
            category,
            FixSafety(fix),
            tuple(frameworks),
            needs_project,
            detector,
            codemod,
            language,
            OptIn(opt_in) if opt_in is not None else None,
            why_not_default,
            production_only,
        )
    return rules


def expand_codes(patterns: list[str]) -> set[str]:
    """The codes named by `patterns`: codes, prefixes (`ASY`) and group names (`ALL`,
    `DEFAULT`, an opt-in reason such as `TUNING`), in any case; KeyError for the first that
    is none of those (a group may be empty)."""
    rules = registry()
    codes: set[str] = set()
    for raw in patterns:
        pattern = raw.strip().upper()
        if not pattern:
            continue
        if pattern in GROUPS:
            matched = {code for code, rule in rules.items() if in_group(rule, pattern)}
        else:
            matched = {code for code in rules if code.startswith(pattern)}
        if not matched and pattern not in GROUPS:
            raise KeyError(raw)
        codes |= matched
    return codes


def in_group(rule: Rule, group: str) -> bool:
    """Whether `rule` belongs to the group named `group` (one of GROUPS)."""
    if group == ALL:
        # As in ruff, `ALL` is every rule but those in preview, which are named to be run.
        return rule.opt_in is not OptIn.PREVIEW
    if group == DEFAULT:
        return rule.default
    return rule.opt_in is not None and rule.opt_in.value.upper() == group


def select_rules(select: list[str] | None, ignore: list[str] | None) -> list[Rule]:
    """Rules enabled by `select` (default: the default set) less `ignore`; both take codes,
    prefixes and group names (`expand_codes`); KeyError if one names no rule."""
    rules = registry()
    chosen = expand_codes(select or [DEFAULT])
    chosen -= expand_codes(ignore or [])
    return [rules[code] for code in sorted(chosen)]
