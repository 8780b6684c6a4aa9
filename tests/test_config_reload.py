"""CAC002 across files: a file that another file of the run writes is the program's own data
(a pipeline stage's output read by the next stage), not a configuration to cache."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flowfix.cli import app
from flowfix.config import load_config, rule_codes
from flowfix.engine import Options, process_source, with_project
from flowfix.sources import read_source
from helpers import write_tree

READER = (
    "import json\n"
    "from pathlib import Path\n\n\n"
    "def load_charts():\n"
    "    with open('report/analysis_data.json', encoding='utf-8') as f:\n"
    "        return json.load(f)['charts']\n\n\n"
    "def load_settings():\n"
    "    return json.loads(Path('settings.json').read_text())\n"
)
WRITER = (
    "import json\n"
    "import os\n\n\n"
    "def save(charts):\n"
    "    output_dir = 'report'\n"
    "    target = os.path.join(output_dir, 'analysis_data.json')\n"
    "    with open(target, 'w', encoding='utf-8') as f:\n"
    "        json.dump({'charts': charts}, f)\n"
)
READ_ONLY = (
    "import json\n\n\ndef show():\n    return json.load(open('report/analysis_data.json'))\n"
)


def findings(*paths: str) -> list[tuple[str, int]]:
    result = CliRunner().invoke(
        app, ["check", "--select", "CAC002", "--no-cache", "--format", "json", *paths]
    )
    return [(f["path"], f["line"]) for f in json.loads(result.stdout)["findings"]]


def test_a_file_another_file_of_the_run_writes_is_not_reported(root: Path) -> None:
    write_tree(root, {"app/stages/read.py": READER, "app/stages/save.py": WRITER})
    assert findings(".") == [("app/stages/read.py", 11)]


def test_a_file_nothing_in_the_run_writes_is_reported(root: Path) -> None:
    write_tree(root, {"app/stages/read.py": READER, "app/stages/show.py": READ_ONLY})
    assert findings(".") == [
        ("app/stages/read.py", 7),
        ("app/stages/read.py", 11),
        ("app/stages/show.py", 5),
    ]


def test_a_test_writing_a_file_of_that_name_does_not_count(root: Path) -> None:
    """Tests write temporary files named like the real ones (`tmp_path / "servers.json"`):
    that is not the program producing the file."""
    write_tree(root, {"app/stages/read.py": READER, "tests/test_save.py": WRITER})
    assert findings(".") == [("app/stages/read.py", 7), ("app/stages/read.py", 11)]


def test_a_run_from_a_subfolder_agrees_with_itself_on_what_is_a_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Display paths relative to the project's root (`base`), flowfix started in a subfolder
    (as the editor server is): the rule selection and CAC002's look at the other files of the
    run give one answer on whether `tests/save.py` is a test, so its write does not count."""
    write_tree(
        tmp_path,
        {
            "pyproject.toml": '[tool.flowfix]\nselect = ["CAC002"]\ntest-paths = ["tests/*"]\n',
            "app/read.py": READER,
            "tests/save.py": WRITER,
        },
    )
    monkeypatch.chdir(tmp_path / "app")
    config = dataclasses.replace(load_config(tmp_path / "pyproject.toml"), base=str(tmp_path))
    files = ["app/read.py", "tests/save.py"]
    options = with_project(
        Options(codes=rule_codes(config), config=config),
        [(tmp_path / name, name, (tmp_path / name).read_text()) for name in files],
    )
    assert [name for name in files if not options.rules_for(name)] == ["tests/save.py"]
    found = process_source(read_source(tmp_path / "app/read.py"), "app/read.py", options)
    assert [(f.code, f.span.line) for f in found.findings] == [("CAC002", 7), ("CAC002", 11)]
