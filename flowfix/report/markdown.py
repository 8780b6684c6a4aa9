"""The Markdown "Performance Analysis Report" (seed 000's format, RULES.md)."""

from __future__ import annotations

from collections.abc import Sequence

from flowfix.engine import FileResult
from flowfix.report import all_errors, all_findings
from flowfix.rules import Finding, Severity, registry

METRICS = {
    "async": (
        "event-loop lag",
        "delay of a periodic `asyncio.sleep` probe, p95 latency under load",
    ),
    "connections": ("open connections", "client constructions and TLS handshakes per request"),
    "executors": (
        "live thread count",
        "`threading.active_count()` and threads created per request",
    ),
    "caching": ("cache hit rate", "time spent loading or serialising per request"),
    "agents": ("loops per agent run", "tokens and LLM calls per run"),
    "memory": ("peak memory", "RSS over long runs and shared-store size"),
    "timing": ("per-node latency p50/p95", "measured with a monotonic clock"),
    "dag": ("per-node latency p50/p95", "critical-path length of the flow"),
    "vector": ("embedding calls per document", "vector-store round trips and retrieval latency"),
}


def _line(finding: Finding) -> str:
    box = "x" if finding.fixed else " "
    where = f"{finding.path}:{finding.span.line}:{finding.span.column}"
    note = f"; {finding.note}" if finding.note and not finding.fixed else ""
    return f"- [{box}] {finding.code} {finding.message} — {where} (fix: {finding.fix.value}{note})"


def render(results: Sequence[FileResult]) -> str:
    rules = registry()
    findings = list(all_findings(results))
    out = ["## Performance Analysis Report", ""]
    for title, severity in (
        ("Critical Issues", Severity.CRITICAL),
        ("Optimization Opportunities", Severity.OPTIMIZATION),
    ):
        section = [_line(f) for f in findings if rules[f.code].severity is severity]
        out += [f"### {title}", *(section or ["- None found."]), ""]
    categories: dict[str, list[str]] = {}
    for finding in findings:
        codes = categories.setdefault(rules[finding.code].category, [])
        if finding.code not in codes:
            codes.append(finding.code)
    out.append("### Metrics to Monitor")
    if categories:
        for category in sorted(categories):
            name, detail = METRICS.get(category, (category, "see `flowfix explain`"))
            out.append(f"- {name} ({', '.join(sorted(categories[category]))}): {detail}")
    else:
        out.append("- None: no findings.")
    errors = list(all_errors(results))
    if errors:
        out += ["", "### Files Not Analysed", *(f"- {path}: {error}" for path, error in errors)]
    return "\n".join(out) + "\n"
