"""The default rule set, opt-in groups and the tests policy: selection through config and
command line, `flowfix rules` / `explain`, and which files production-only rules skip."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flowfix.cli import app
from flowfix.config import DEFAULT_TEST_PATHS, Config, ConfigError, load_config, path_matches
from flowfix.rules import OptIn, registry, select_rules

SLEEPY = "import time\n\n\nasync def fetch():\n    time.sleep(1)\n"
# ASY001 (default, production-only), TIM001 (opt-in, minor), AGT001 (opt-in, tuning).
MIXED = (
    "import time\n"
    "\n"
    "from dynamiq.nodes.agents import Agent\n"
    "\n"
    "\n"
    "async def fetch():\n"
    "    start = time.time()\n"
    "    time.sleep(1)\n"
    "    return time.time() - start\n"
    "\n"
    "\n"
    "def build(llm):\n"
    "    return Agent(llm=llm, max_loops=40)\n"
)
# ASY004 finds a bug (the coroutine's body never runs): it is not production-only.
OFFLOADED = (
    "import asyncio\n"
    "\n"
    "\n"
    "async def fetch():\n"
    "    return 1\n"
    "\n"
    "\n"
    "async def test_fetch():\n"
    "    assert await asyncio.to_thread(fetch) == 1\n"
)


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


def codes(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [f"{f['path']} {f['code']}" for f in json.loads(result.stdout)["findings"]]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for folder in ("app", "app/tests/unit", "examples", "testing"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
    (tmp_path / "app" / "service.py").write_text(MIXED)
    (tmp_path / "app" / "tests" / "unit" / "helpers.py").write_text(SLEEPY)
    (tmp_path / "app" / "tests" / "unit" / "test_fetch.py").write_text(OFFLOADED)
    (tmp_path / "app" / "service_test.py").write_text(SLEEPY)
    (tmp_path / "conftest.py").write_text(SLEEPY)
    (tmp_path / "examples" / "demo.py").write_text(SLEEPY)
    (tmp_path / "testing" / "fakes.py").write_text(SLEEPY)
    return tmp_path


def check(*args: str):  # type: ignore[no-untyped-def]
    return invoke("check", "--no-cache", "--format", "json", *args)


def test_default_run_skips_opt_in_rules_and_test_paths(project: Path) -> None:
    assert codes(check(".")) == [
        "app/service.py ASY001",
        "app/tests/unit/test_fetch.py ASY004",
        "examples/demo.py ASY001",
        "testing/fakes.py ASY001",
    ]


def test_opt_in_rules_by_code_prefix_and_group(project: Path) -> None:
    by_code = codes(check("--extend-select", "TIM001", "app/service.py"))
    assert by_code == ["app/service.py TIM001", "app/service.py ASY001"]
    by_group = codes(check("--extend-select", "tuning", "app/service.py"))
    assert by_group == ["app/service.py ASY001", "app/service.py AGT001"]
    only = codes(check("--select", "AGT,TIM", "app/service.py"))
    assert only == ["app/service.py TIM001", "app/service.py AGT001"]
    everything = codes(check("--select", "ALL", "--ignore", "MINOR", "app/service.py"))
    assert everything == ["app/service.py ASY001", "app/service.py AGT001"]


def test_config_selects_groups_and_turns_the_tests_policy_off(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.flowfix]\nselect = ["DEFAULT", "MINOR"]\ntest-paths = []\n'
        'per-file-ignores = { "examples/" = ["DEFAULT"] }\n'
    )
    assert codes(check(".")) == [
        "app/service.py TIM001",
        "app/service.py ASY001",
        "app/service_test.py ASY001",
        "app/tests/unit/helpers.py ASY001",
        "app/tests/unit/test_fetch.py ASY004",
        "conftest.py ASY001",
        "testing/fakes.py ASY001",
    ]


def test_test_paths_replace_the_defaults(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.flowfix]\ntest-paths = ["testing/"]\n')
    found = codes(check("."))
    assert "testing/fakes.py ASY001" not in found
    assert "conftest.py ASY001" in found and "app/service_test.py ASY001" in found


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("tests/test_x.py", True),
        ("pkg/tests/unit/helpers.py", True),
        ("pkg/test/x.py", True),
        ("test_x.py", True),
        ("pkg/x_test.py", True),
        ("deep/conftest.py", True),
        ("pkg/testing/x.py", False),
        ("pkg/latest_x.py", False),
        ("pkg/contest.py", False),
        ("tests.py", False),
        ("pkg/x_tests.py", False),
    ],
)
def test_default_test_paths(path: str, expected: bool) -> None:
    assert Config().is_test_path(path) is expected
    assert Config(test_paths=()).is_test_path(path) is False


def test_a_folder_pattern_matches_folders_only() -> None:
    assert path_matches("a/examples/b.py", "examples/")
    assert not path_matches("examples.py", "examples/")
    assert path_matches("a/cookbook-x/b.py", "cookbook*/")


def test_test_paths_must_be_a_list_of_globs(tmp_path: Path) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.flowfix]\ntest-paths = "tests/"\n')
    with pytest.raises(ConfigError, match="test-paths must be a list of globs"):
        load_config(config)
    config.write_text("[tool.flowfix]\n")
    assert load_config(config).test_paths == DEFAULT_TEST_PATHS


def test_selection_by_groups() -> None:
    rules = registry()
    default = {code for code, rule in rules.items() if rule.default}
    assert {r.code for r in select_rules(None, None)} == default
    assert {r.code for r in select_rules(["ALL"], None)} == set(rules) - {"CAC005"}  # preview
    assert {r.code for r in select_rules(["default"], ["ASY"])} == {
        code for code in default if not code.startswith("ASY")
    }
    tuning = {r.code for r in select_rules(["TUNING"], None)}
    assert tuning == {code for code, rule in rules.items() if rule.opt_in is OptIn.TUNING}
    assert "AGT001" in tuning and not tuning & default
    assert [r.code for r in select_rules(["PREVIEW"], None)] == ["CAC005"]
    with pytest.raises(KeyError):
        select_rules(["PREVIEWS"], None)


def test_rules_lists_the_default_column_and_json() -> None:
    listing = invoke("rules").stdout.splitlines()
    assert listing[0].split() == [
        "CODE",
        "NAME",
        "LANGUAGE",
        "SEVERITY",
        "FIX",
        "DEFAULT",
        "SUMMARY",
    ]
    rows = {line.split()[0]: line for line in listing[1:]}
    assert "  yes  " in rows["ASY001"] and "  no (minor)  " in rows["TIM001"]
    entries = {
        entry["code"]: entry for entry in json.loads(invoke("rules", "--format", "json").stdout)
    }
    assert entries["ASY004"]["default"] is True and entries["ASY004"]["production_only"] is False
    assert entries["DAG001"]["default"] is False and entries["DAG001"]["group"] == "context"
    assert entries["DAG001"]["why_not_default"] == registry()["DAG001"].why_not_default


def test_explain_says_whether_default_and_why() -> None:
    opt_in = invoke("explain", "TIM001").stdout.splitlines()
    assert opt_in[3] == (
        "Default: no; opt-in, group `minor` (a real cost, but small next to the work around it)."
    )
    assert opt_in[4] == f"Why not default: {registry()['TIM001'].why_not_default}."
    assert opt_in[5] == 'Turn it on: `extend-select = ["TIM001"]` or `--extend-select TIM001`.'
    assert opt_in[6] == "Test files: skipped (production-only; see `test-paths`)."
    default = invoke("explain", "ASY004").stdout.splitlines()
    assert default[3:5] == [
        "Default: yes.",
        "Test files: checked too (it finds bugs, which matter in tests as well).",
    ]


def test_patterns_are_rooted_at_the_project_root_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`test-paths` and `per-file-ignores` match paths relative to the folder of the
    configuration file, as ruff's do: a run from `tests/` or `src/` skips the same files as a
    run from the root."""
    blocking = "import time\n\n\nasync def f():\n    time.sleep(1)\n"
    (tmp_path / "pyproject.toml").write_text(
        '[tool.flowfix]\nper-file-ignores = { "src/legacy.py" = ["ASY001"] }\n'
    )
    for rel in ("tests/helpers.py", "src/legacy.py", "src/service.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(blocking)

    def reported(folder: Path) -> list[str]:
        monkeypatch.chdir(folder)
        result = CliRunner().invoke(app, ["check", "--no-cache", "-q", "."])
        return sorted(line.split(":")[0] for line in result.stdout.splitlines())

    assert reported(tmp_path) == ["src/service.py"]
    assert reported(tmp_path / "tests") == []
    assert reported(tmp_path / "src") == ["service.py"]


def test_project_path() -> None:
    config = Config(source="/srv/app/pyproject.toml")
    assert replace(config, base="/srv/app/tests").project_path("x.py") == "tests/x.py"
    assert config.project_path("/srv/app/src/y.py") == "src/y.py"
    assert replace(config, base="/srv/app").project_path("../z.py") == "../z.py"  # outside
    assert Config(base="/srv/app/tests").project_path("x.py") == "x.py"  # no configuration file


def test_is_test_file_reads_display_paths_from_the_runs_base() -> None:
    config = Config(source="/srv/app/pyproject.toml", test_paths=("tests/*",), base="/srv/app")
    assert config.is_test_file("tests/x.py") is True
    assert replace(config, base="/srv/app/src").is_test_file("tests/x.py") is False
    assert replace(config, base="/srv/app/src").is_test_file("../tests/x.py") is True
