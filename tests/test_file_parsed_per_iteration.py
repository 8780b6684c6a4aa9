"""CAC005 across files, in pflow's shape (seed 004): the loader classes live in their own
modules (one re-exported by its package), the compiler that calls them per node in another."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flowfix.cli import app
from helpers import write_tree

FILES = {
    "tool/__init__.py": "",
    "tool/catalog/__init__.py": "from .catalog import Catalog\n",
    "tool/catalog/catalog.py": (
        "import json\n"
        "from pathlib import Path\n\n\n"
        "class Catalog:\n"
        "    def __init__(self, path=None):\n"
        "        self.path = path or Path.home() / '.tool' / 'catalog.json'\n\n"
        "    def load(self):\n"
        "        if not self.path.exists():\n"
        "            self._discover()\n"
        "        return self._read()\n\n"
        "    def _read(self):\n"
        "        content = self.path.read_text()\n"
        "        return json.loads(content)\n\n"
        "    def _discover(self):\n"
        "        self.path.write_text('{}')\n\n"
        "    def add(self, name, entry):\n"
        "        entries = self.load()\n"
        "        entries[name] = entry\n"
        "        self.path.write_text(json.dumps(entries))\n"
    ),
    "tool/settings.py": (
        "import json\n"
        "import threading\n"
        "from pathlib import Path\n\n\n"
        "class Settings:\n"
        "    def __init__(self):\n"
        "        self.path = Path.home() / '.tool' / 'settings.json'\n"
        "        self._data = None\n"
        "        self._lock = threading.Lock()\n\n"
        "    def load(self):\n"
        "        with self._lock:\n"
        "            if self._data is None:\n"
        "                with open(self.path) as handle:\n"
        "                    self._data = json.load(handle)\n"
        "            return self._data\n\n\n"
        "def default_model():\n"
        "    return Settings().load().get('model')\n"
    ),
    "tool/compiler.py": (
        "from typing import Optional\n\n"
        "from tool.catalog import Catalog\n"
        "from tool.settings import Settings, default_model\n\n\n"
        "def node_class(kind: str, catalog: Optional[Catalog]):\n"
        "    return catalog.load()[kind]\n\n\n"
        "def build_node(spec, catalog: Catalog):\n"
        "    cls = node_class(spec['type'], catalog)\n"
        "    model = default_model() if spec['type'] == 'llm' else None\n"
        "    return cls, model\n\n\n"
        "def build_all(specs, catalog: Catalog):\n"
        "    return {spec['id']: build_node(spec, catalog) for spec in specs}\n\n\n"
        "def register(entries, catalog: Catalog):\n"
        "    for name, entry in entries.items():\n"
        "        catalog.add(name, entry)\n\n\n"
        "def models(specs):\n"
        "    settings = Settings()\n"
        "    return [settings.load().get(spec) for spec in specs]\n"
    ),
}


def test_loads_per_node_are_followed_across_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`build_all` builds every node through two helpers that reload the catalog and build a
    fresh `Settings()` (whose own cache is then empty); `register` reads back what each
    `add` writes, and `models` reuses one `Settings()`, whose cache holds after the first
    item: neither is reported."""
    monkeypatch.chdir(write_tree(tmp_path, FILES))
    result = CliRunner().invoke(
        app, ["check", "--select", "CAC005", "--no-cache", "--format", "json", "."]
    )
    found = [(f["path"], f["line"], f["message"]) for f in json.loads(result.stdout)["findings"]]
    assert found == [
        (
            "tool/compiler.py",
            18,
            "`build_node()` reads and parses a file on every iteration of this comprehension: "
            "build_node() → node_class() → Catalog.load() → Catalog._read() → json.loads() of "
            "`self.path`; and build_node() → default_model() → Settings.load() → json.load() "
            "of `self.path`; load it once before the comprehension",
        )
    ]
