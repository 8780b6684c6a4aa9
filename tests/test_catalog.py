"""flowfix/catalog.py is generated from the rule classes; it must match them exactly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from flowfix.rules import registry, render_catalog, scan_rules

CATALOG = Path(__file__).resolve().parent.parent / "flowfix" / "catalog.py"
UPDATE = os.environ.get("FLOWFIX_UPDATE_FIXTURES") == "1" and not os.environ.get("CI")


def test_catalog_matches_the_rule_classes() -> None:
    expected = render_catalog(scan_rules())
    if UPDATE and CATALOG.read_text(encoding="utf-8") != expected:
        CATALOG.write_text(expected, encoding="utf-8")
    assert CATALOG.read_text(encoding="utf-8") == expected
    assert registry() == scan_rules()


def test_listing_and_selecting_rules_imports_no_detector_nor_libcst() -> None:
    code = (
        "import sys\n"
        "from flowfix.rules import registry, select_rules\n"
        "assert len(select_rules(['ASY'], ['ASY002'])) == 6\n"
        "assert not any(m == 'libcst' or m.startswith('flowfix.detectors') for m in sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
