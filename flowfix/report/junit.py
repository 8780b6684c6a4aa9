"""JUnit XML, for CI systems that show test reports: one test suite per file checked.

Each open finding is a failed test case named after its rule; a file without findings is one
passing case, and a file that could not be checked one case with an error.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from flowfix.engine import FileResult
from flowfix.rules import registry


def render(results: Sequence[FileResult]) -> str:
    rules = registry()
    root = ET.Element("testsuites", name="flowfix")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for result in sorted(results, key=lambda r: r.display):
        suite = ET.SubElement(root, "testsuite", name=result.display)
        counts = {"tests": 0, "failures": 0, "errors": 0}
        for error in result.errors:
            case = ET.SubElement(suite, "testcase", name="flowfix", classname=result.display)
            ET.SubElement(case, "error", message=error).text = error
            counts["errors"] += 1
        open_findings = sorted(
            (f for f in result.findings if not f.fixed), key=lambda f: (f.span, f.code)
        )
        for f in open_findings:
            case = ET.SubElement(
                suite,
                "testcase",
                name=f"{f.code} {rules[f.code].name}",
                classname=result.display,
                file=result.display,
                line=str(f.span.line),
            )
            where = f"{result.display}:{f.span.line}:{f.span.column}"
            failure = ET.SubElement(case, "failure", message=f.message, type=f.code)
            failure.text = f"{where}: {f.code} {f.message}"
            counts["failures"] += 1
        if not result.errors and not open_findings:
            ET.SubElement(suite, "testcase", name="flowfix", classname=result.display)
        counts["tests"] = len(suite)
        suite.attrib.update({key: str(value) for key, value in counts.items()})
        for key, value in counts.items():
            totals[key] += value
    root.attrib.update({key: str(value) for key, value in totals.items()})
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"
