"""CAC002 across files: a file that another file of the run writes is the program's own data
(a pipeline stage's output read by the next stage), not a configuration to cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flowfix.cli import app
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


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


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
