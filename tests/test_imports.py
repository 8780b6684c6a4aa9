"""Where fixes put new imports (flowfix.imports), and the project settings read for it
(flowfix.style): input -> exact output, each checked against ruff's isort rules too."""

from __future__ import annotations

import subprocess
from pathlib import Path

import libcst as cst
import pytest
from ruff.__main__ import find_ruff_bin

from flowfix.imports import ImportRequest, ImportSettings, add_imports, remove_unused_imports
from flowfix.style import format_like, style_for

DEFAULT = ImportSettings()


def added(text: str, *requests: ImportRequest, settings: ImportSettings = DEFAULT) -> str:
    return add_imports(cst.parse_module(text), requests, settings).code


def ruff_isort_accepts(text: str, tmp_path: Path, *options: str) -> bool:
    path = tmp_path / "case.py"
    path.write_text(text, encoding="utf-8")
    done = subprocess.run(
        [
            find_ruff_bin(),
            "check",
            "--isolated",
            "--no-cache",
            "--select",
            "I",
            *options,
            str(path),
        ],
        capture_output=True,
        text=True,
    )
    return done.returncode == 0


CASES = {
    "stdlib_at_its_sorted_place": (
        "import json\nimport os\n\nimport requests\n\nX = 1\n",
        [ImportRequest("functools")],
        "import functools\nimport json\nimport os\n\nimport requests\n\nX = 1\n",
    ),
    "stdlib_after_future_and_docstring": (
        '"""Doc."""\n\nfrom __future__ import annotations\n\nimport os\n\nX = 1\n',
        [ImportRequest("asyncio")],
        '"""Doc."""\n\nfrom __future__ import annotations\n\nimport asyncio\nimport os\n\nX = 1\n',
    ),
    "straight_imports_before_from_imports": (
        "import os\nfrom pathlib import Path\n\nX = 1\n",
        [ImportRequest("time")],
        "import os\nimport time\nfrom pathlib import Path\n\nX = 1\n",
    ),
    "new_stdlib_section_before_third_party": (
        "import requests\nfrom openai import OpenAI\n\nX = 1\n",
        [ImportRequest("asyncio")],
        "import asyncio\n\nimport requests\nfrom openai import OpenAI\n\nX = 1\n",
    ),
    "new_section_before_local_imports": (
        "import os\n\nfrom .clients import call_llm\n\nX = 1\n",
        [ImportRequest("pydantic", "PrivateAttr")],
        "import os\n\nfrom pydantic import PrivateAttr\n\nfrom .clients import call_llm\n\nX = 1\n",
    ),
    "merged_into_the_from_import_at_its_sorted_place": (
        "from typing import ClassVar, Optional\n\nX = 1\n",
        [ImportRequest("typing", "Any")],
        "from typing import Any, ClassVar, Optional\n\nX = 1\n",
    ),
    "merged_into_a_wrapped_from_import": (
        "from pydantic import (\n    BaseModel,\n    Field,\n)\n\nX = 1\n",
        [ImportRequest("pydantic", "PrivateAttr")],
        "from pydantic import (\n    BaseModel,\n    Field,\n    PrivateAttr,\n)\n\nX = 1\n",
    ),
    "merge_that_grows_too_long_is_wrapped": (
        "from m import aaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbbbbbbb, "
        "ccccccccccccccccccccccccccccc\n",
        [ImportRequest("m", "ddddd")],
        "from m import (\n    aaaaaaaaaaaaaaaaaaaa,\n    bbbbbbbbbbbbbbbbbbbbbbbbb,\n"
        "    ccccccccccccccccccccccccccccc,\n    ddddd,\n)\n",
    ),
    "header_comment_stays_on_top": (
        "# a header comment\nimport requests\n\nX = 1\n",
        [ImportRequest("os")],
        "# a header comment\nimport os\n\nimport requests\n\nX = 1\n",
    ),
    "comment_heading_the_first_statement_stays_with_it": (
        "# --- settings ---\nX = 1\n",
        [ImportRequest("os")],
        "import os\n\n# --- settings ---\nX = 1\n",
    ),
    "comment_heading_the_first_def_stays_with_it": (
        "# Copyright header\n\n# --- helpers ---\n@decorate\ndef helper():\n    pass\n",
        [ImportRequest("functools")],
        "# Copyright header\n\nimport functools\n\n\n# --- helpers ---\n@decorate\n"
        "def helper():\n    pass\n",
    ),
    "shebang_encoding_and_directives_stay_first": (
        "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n# type: ignore\n# --- settings ---\n"
        "X = 1\n",
        [ImportRequest("os")],
        "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n# type: ignore\nimport os\n\n"
        "# --- settings ---\nX = 1\n",
    ),
    "comment_stays_with_its_import": (
        "import json\n\n# the HTTP client\nimport requests\n\nX = 1\n",
        [ImportRequest("os")],
        "import json\nimport os\n\n# the HTTP client\nimport requests\n\nX = 1\n",
    ),
    "no_imports_yet": (
        '"""Doc."""\n\n\nclass A:\n    pass\n',
        [ImportRequest("functools")],
        '"""Doc."""\n\nimport functools\n\n\nclass A:\n    pass\n',
    ),
    "code_right_after_the_docstring": (
        '"""Doc."""\nX = 1\n',
        [ImportRequest("os")],
        '"""Doc."""\n\nimport os\n\nX = 1\n',
    ),
    "existing_import_is_not_added_again": (
        "import os\nfrom typing import Any\n",
        [ImportRequest("os"), ImportRequest("typing", "Any")],
        "import os\nfrom typing import Any\n",
    ),
    "two_requests_one_pass": (
        "import os\n\nfrom dynamiq.nodes import Node\n",
        [ImportRequest("typing", "Any"), ImportRequest("pydantic", "PrivateAttr")],
        "import os\nfrom typing import Any\n\nfrom dynamiq.nodes import Node\n"
        "from pydantic import PrivateAttr\n",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_import_placement(name: str, tmp_path: Path) -> None:
    before, requests, expected = CASES[name]
    assert added(before, *requests) == expected
    assert ruff_isort_accepts(expected, tmp_path)


# (settings, ruff's option for them, file, request, expected file)
WITH_SETTINGS = {
    "known_first_party_is_its_own_section": (
        ImportSettings(known_first_party=("dynamiq",)),
        "lint.isort.known-first-party=['dynamiq']",
        "import os\n\nfrom dynamiq.nodes import Node\n",
        ImportRequest("pydantic", "PrivateAttr"),
        "import os\n\nfrom pydantic import PrivateAttr\n\nfrom dynamiq.nodes import Node\n",
    ),
    "force_single_line_adds_a_statement": (
        ImportSettings(force_single_line=True),
        "lint.isort.force-single-line=true",
        "from typing import ClassVar\nfrom typing import Optional\n",
        ImportRequest("typing", "Any"),
        "from typing import Any\nfrom typing import ClassVar\nfrom typing import Optional\n",
    ),
    "force_sort_within_sections_after_a_straight_import": (
        ImportSettings(force_sort_within_sections=True),
        "lint.isort.force-sort-within-sections=true",
        "import json\nfrom pathlib import Path\n",
        ImportRequest("os"),
        "import json\nimport os\nfrom pathlib import Path\n",
    ),
    "force_sort_within_sections_before_a_from_import": (
        ImportSettings(force_sort_within_sections=True),
        "lint.isort.force-sort-within-sections=true",
        "from collections import deque\nimport json\n",
        ImportRequest("asyncio"),
        "import asyncio\nfrom collections import deque\nimport json\n",
    ),
}


@pytest.mark.parametrize("name", sorted(WITH_SETTINGS))
def test_import_placement_with_settings(name: str, tmp_path: Path) -> None:
    settings, option, before, request, expected = WITH_SETTINGS[name]
    assert added(before, request, settings=settings) == expected
    assert ruff_isort_accepts(expected, tmp_path, "--config", option)


def test_ruff_settings_are_read(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.ruff]\nline-length = 120\n[tool.ruff.lint.isort]\n"
        'known-first-party = ["app"]\nforce-single-line = true\n'
        'no-lines-before = ["local-folder"]\n',
        encoding="utf-8",
    )
    (tmp_path / "src" / "tools").mkdir(parents=True)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("", encoding="utf-8")
    style = style_for(tmp_path / "pkg" / "mod.py")
    settings = style.imports
    assert settings.known_first_party == ("app",)
    assert settings.force_single_line and settings.line_length == 120
    assert settings.no_lines_before == frozenset({4})
    assert {"tools", "pkg"} <= settings.first_party  # the `src` folders' modules, the package


def test_isort_settings_are_read(tmp_path: Path) -> None:
    (tmp_path / "setup.cfg").write_text(
        "[isort]\nprofile = black\nknown_first_party = app, lib\n"
        "force_sort_within_sections = true\n",
        encoding="utf-8",
    )
    settings = style_for(tmp_path / "mod.py").imports
    assert settings.known_first_party == ("app", "lib")
    assert settings.force_sort_within_sections and settings.line_length == 88


def test_black_settings_are_used_for_formatting(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.black]\nline-length = 60\n", encoding="utf-8")
    style = style_for(tmp_path / "mod.py")
    old = "def f(x):\n    return x\n"
    new = "def f(x):\n    return some_function_name(x, another_argument, keyword=value)\n"
    assert format_like(old, new, style) == (
        "def f(x):\n    return some_function_name(\n"
        "        x, another_argument, keyword=value\n    )\n"
    )


def test_new_code_is_formatted_only_in_a_formatted_file(tmp_path: Path) -> None:
    style = style_for(tmp_path / "mod.py")
    new = (
        "def f(x):\n"
        "    return call_something(first_argument, second_argument, "
        "the_third_argument_here, more)\n"
    )
    formatted = (
        "def f(x):\n    return call_something(\n"
        "        first_argument, second_argument, the_third_argument_here, more\n    )\n"
    )
    assert format_like("def f(x):\n    return x\n", new, style) == formatted
    # `x=1` shows the file is not formatted: the fix's code is left as the codemod wrote it.
    assert format_like("x=1\ndef f(x):\n    return x\n", "x=1\n" + new, style) == "x=1\n" + new


REMOVALS = {
    "unused_module_import_goes": (
        "import asyncio\nimport time\n\n\nasync def f():\n    await asyncio.sleep(1)\n",
        {"time"},
        "import asyncio\n\n\nasync def f():\n    await asyncio.sleep(1)\n",
    ),
    "still_read_stays": (
        "import time\n\nSTART = time.time()\n",
        {"time"},
        "import time\n\nSTART = time.time()\n",
    ),
    "one_name_of_a_from_import_goes": (
        "from time import sleep, time\n\nSTART = time()\n",
        {"sleep"},
        "from time import time\n\nSTART = time()\n",
    ),
    "a_string_mentioning_it_keeps_it": (
        'import time\n\n\ndef f(x: "time.struct_time"):\n    return x\n',
        {"time"},
        'import time\n\n\ndef f(x: "time.struct_time"):\n    return x\n',
    ),
    "an_attribute_of_the_same_name_is_not_a_read": (
        "import time\n\nX = clock.time\n",
        {"time"},
        "X = clock.time\n",
    ),
    "its_comment_goes_above_the_next_statement": (
        "import os\nimport time  # the clock\n\nX = os.sep\n",
        {"time"},
        "import os\n\n# the clock\nX = os.sep\n",
    ),
    "the_last_statement_leaves_its_comment_at_the_end": (
        "X = 1\n# the clock\nimport time  # unused\n",
        {"time"},
        "X = 1\n# the clock\n# unused\n",
    ),
    "under_a_header_comment_the_next_statement_keeps_its_blank_lines": (
        "# Copyright\nimport time\n\n\ndef f():\n    pass\n",
        {"time"},
        "# Copyright\n\n\ndef f():\n    pass\n",
    ),
}


@pytest.mark.parametrize("name", sorted(REMOVALS))
def test_unused_import_removal(name: str) -> None:
    before, names, expected = REMOVALS[name]
    assert remove_unused_imports(cst.parse_module(before), names).code == expected
