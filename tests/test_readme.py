"""The editor and CI recipes in README.md, run as written: each command line they hold is
executed (with `flowfix` as `python -m flowfix`) and its output read the way the editor or CI
service reads it."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
SCHEMA = json.loads((ROOT / "tests" / "schemas" / "sarif-2.1.0-rtm.5.json").read_text())
BLOCKING = "import time\n\n\nasync def fetch(url):\n    time.sleep(1)\n"
FIXED = "import asyncio\n\n\nasync def fetch(url):\n    await asyncio.sleep(1)\n"
FLOWFIX = [sys.executable, "-m", "flowfix"]


def section(heading: str) -> str:
    """README's text under `heading` (a whole heading line), up to the next heading."""
    start = README.index(f"\n{heading}\n") + len(heading) + 2
    lines = README[start:].splitlines(keepends=True)
    fenced = False
    for number, line in enumerate(lines):
        fenced = fenced != line.startswith("```")
        if not fenced and re.match(r"#{1,4} ", line):
            return "".join(lines[:number])
    return "".join(lines)


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "nodes.py").write_text(BLOCKING)
    return tmp_path


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    assert args[0] == "flowfix"
    return subprocess.run(
        [*FLOWFIX, *args[1:]], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_vscode_tasks_problem_matcher_reads_the_check_output(workspace: Path) -> None:
    (tasks_block, settings_block) = blocks(section("#### VS Code"), "json")
    tasks = {task["label"]: task for task in json.loads(tasks_block)["tasks"]}
    file = workspace / "src" / "nodes.py"

    def expand(task: dict[str, Any]) -> tuple[list[str], Path]:
        values = {"${file}": str(file), "${workspaceFolder}": str(workspace)}
        args = [values.get(arg, arg) for arg in [task["command"], *task["args"]]]
        return args, Path(values[task["options"]["cwd"]])

    check = tasks["flowfix: check file"]
    args, cwd = expand(check)
    done = run(args, cwd)
    assert done.returncode == 1
    matcher = check["problemMatcher"]
    pattern = matcher["pattern"]
    (line,) = done.stdout.splitlines()
    match = re.match(pattern["regexp"], line)
    assert match is not None
    assert matcher["fileLocation"] == ["autoDetect", "${workspaceFolder}"]
    assert (workspace / match.group(pattern["file"])).resolve() == file.resolve()
    assert match.group(pattern["line"], pattern["column"], pattern["code"]) == ("5", "5", "ASY001")
    assert match.group(pattern["message"]).startswith("`time.sleep()` blocks the event loop")

    args, cwd = expand(tasks["flowfix: fix file"])
    assert run(args, cwd).returncode == 0
    assert file.read_text() == FIXED


def test_pycharm_external_tool_output_filter_links_each_finding(workspace: Path) -> None:
    text = " ".join(section("#### PyCharm").split())
    arguments = re.search(r"Arguments `(check [^`]*)`", text)
    output_filter = re.search(r"Output filters: `([^`]*)`", text)
    assert arguments is not None and output_filter is not None
    assert "Working directory `$ProjectFileDir$`" in text
    file = workspace / "src" / "nodes.py"
    args = [arg.replace("$FilePath$", str(file)) for arg in shlex.split(arguments.group(1))]
    done = run(["flowfix", *args], workspace)
    assert done.returncode == 1
    # PyCharm's macros: $FILE_PATH$ a path, $LINE$ and $COLUMN$ numbers.
    regex = re.escape(output_filter.group(1))
    for macro, group in [("FILE_PATH", r"(?P<path>.+?)"), ("LINE", r"(?P<line>\d+)")]:
        regex = regex.replace(re.escape(f"${macro}$"), group)
    regex = regex.replace(re.escape("$COLUMN$"), r"(?P<column>\d+)")
    (line,) = done.stdout.splitlines()
    match = re.match(regex, line)
    assert match is not None
    assert (workspace / match["path"]).resolve() == file.resolve()
    assert (match["line"], match["column"]) == ("5", "5")


def _initialize(command: list[str], cwd: Path) -> dict[str, Any]:
    """Start a language server, run the LSP handshake, shut it down; its capabilities."""
    assert command[0] == "flowfix"
    server = subprocess.Popen(
        [*FLOWFIX, *command[1:]],
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert server.stdin is not None and server.stdout is not None

    def send(message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        server.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        server.stdin.flush()

    def receive(request_id: int) -> dict[str, Any]:
        while True:
            headers = {}
            while (line := server.stdout.readline().decode().strip()) != "":
                name, _, value = line.partition(":")
                headers[name.lower()] = value.strip()
            message = json.loads(server.stdout.read(int(headers["content-length"])))
            if message.get("id") == request_id:
                return message

    try:
        send(
            {
                "id": 1,
                "method": "initialize",
                "params": {"processId": None, "rootUri": cwd.as_uri(), "capabilities": {}},
            }
        )
        capabilities = receive(1)["result"]["capabilities"]
        send({"method": "initialized", "params": {}})
        send({"id": 2, "method": "shutdown"})
        receive(2)
        send({"method": "exit"})
        assert server.wait(timeout=30) == 0
    finally:
        server.kill()
    return capabilities


def test_vscode_generic_lsp_client_settings_start_the_server(workspace: Path) -> None:
    (_, settings_block) = blocks(section("#### VS Code"), "json")
    settings = json.loads(settings_block)
    command = [settings["glspc.server.command"], *settings["glspc.server.commandArguments"]]
    assert settings["glspc.server.languageId"] == ["python"]
    capabilities = _initialize(command, workspace)
    (on_save,) = settings["editor.codeActionsOnSave"]
    assert on_save in capabilities["codeActionProvider"]["codeActionKinds"]


def test_neovim_lspconfig_command_starts_the_server(workspace: Path) -> None:
    (lua,) = blocks(section("#### Neovim"), "lua")
    cmd = re.search(r"cmd = \{ (.*?) \}", lua)
    assert cmd is not None
    command = [json.loads(part) for part in cmd.group(1).split(", ")]
    capabilities = _initialize(command, workspace)
    assert capabilities["textDocumentSync"]


def test_ci_commands_run_as_shown(workspace: Path) -> None:
    (commands,) = blocks(section("### In CI"), "bash")
    for line in commands.splitlines():
        done = run(shlex.split(line.partition("#")[0]), workspace)
        assert done.returncode == 1, (line, done.stderr)
    assert "ASY001" in (workspace / "flowfix-report.md").read_text()
    jsonschema.validate(json.loads((workspace / "flowfix.sarif").read_text()), SCHEMA)
    assert "ASY001" in (workspace / "flowfix-junit.xml").read_text()


def test_github_actions_workflow_fails_annotates_and_uploads_sarif(workspace: Path) -> None:
    (workflow_text,) = blocks(section("### In CI"), "yaml")
    (job,) = yaml.safe_load(workflow_text)["jobs"].values()
    steps = job["steps"]
    outcomes = {}
    for step in steps:
        command = step.get("run", "")
        if command.startswith("flowfix"):
            shell = command.replace("flowfix", " ".join(map(shlex.quote, FLOWFIX)), 1)
            outcomes[command] = subprocess.run(
                shell, shell=True, cwd=workspace, capture_output=True, text=True, timeout=300
            )
    annotate, sarif = outcomes.values()
    assert annotate.returncode == 1 and annotate.stdout.startswith("::error title=flowfix")
    assert sarif.returncode == 0  # `|| true`: the upload step runs
    (upload,) = [step for step in steps if "upload-sarif" in step.get("uses", "")]
    assert upload["if"] == "always()"
    log = json.loads((workspace / upload["with"]["sarif_file"]).read_text())
    jsonschema.validate(log, SCHEMA)
    assert [r["ruleId"] for r in log["runs"][0]["results"]] == ["ASY001"]


def test_configuration_example_is_a_valid_config(tmp_path: Path) -> None:
    from flowfix.config import DEFAULT_TEST_PATHS, load_config

    (toml,) = blocks(section("## Configuration"), "toml")
    (tmp_path / "pyproject.toml").write_text(toml)
    config = load_config(tmp_path / "pyproject.toml")
    assert config.select == ("DEFAULT", "TIM") and config.extend_select == ("TUNING",)
    assert config.per_file_ignores == (("scripts/*", ("ASY001",)),)
    assert config.test_paths == DEFAULT_TEST_PATHS and config.threshold("max-loops") == 15
    (tmp_path / "app.py").write_text(BLOCKING)
    done = run(["flowfix", "check", "--no-cache", "app.py"], tmp_path)
    assert done.returncode == 1 and "ASY001" in done.stdout


def test_each_suppression_comment_shown_silences_the_finding(tmp_path: Path) -> None:
    text = " ".join(section("### Suppressing a finding").split())
    comments = re.findall(r"`(# [^`]*)`", text)
    assert comments == ["# noqa: ASY001", "# noqa", "# flowfix: ignore[ASY001]"]
    for number, comment in enumerate(comments):
        (tmp_path / f"s{number}.py").write_text(BLOCKING.rstrip("\n") + f"  {comment}\n")
    done = run(["flowfix", "check", "--no-cache", "--statistics", "."], tmp_path)
    assert done.returncode == 0
    assert done.stdout.splitlines()[1].split() == ["0", "3", "ASY001", "blocking-sleep-in-async"]


def test_interactive_fix_recipe_asks_and_applies(workspace: Path) -> None:
    text = section("#### One fix at a time")
    (command,) = blocks(text, "bash")
    question = re.search(r"`(Apply this fix\? [^`]*)`", " ".join(text.split()))
    assert question is not None
    done = subprocess.run(
        [*FLOWFIX, *shlex.split(command)[1:]],
        cwd=workspace,
        input="y\n",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(question.group(1) + " ") == 1
    assert "+    await asyncio.sleep(1)" in done.stdout
    assert (workspace / "src" / "nodes.py").read_text() == FIXED


def test_patch_series_recipe_makes_one_commit_per_rule(workspace: Path) -> None:
    (commands,) = blocks(section("#### A patch series: one commit per rule"), "bash")
    diff_line, am_line = commands.splitlines()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(workspace),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Ada",
        "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_COMMITTER_NAME": "Ada",
        "GIT_COMMITTER_EMAIL": "ada@example.com",
    }
    for setup in ("git init -q", "git add src", "git commit -q -m start"):
        subprocess.run(shlex.split(setup), cwd=workspace, env=env, check=True)
    made = subprocess.run(
        [*FLOWFIX, *shlex.split(diff_line)[1:]],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert made.returncode == 1, made.stderr
    assert made.stdout == "flowfix-patches/0001-ASY001-blocking-sleep-in-async-1-fix.patch\n"
    subprocess.run(am_line, shell=True, cwd=workspace, env=env, check=True, timeout=60)
    log = subprocess.run(
        ["git", "log", "--format=%an: %s"], cwd=workspace, env=env, capture_output=True, text=True
    )
    assert log.stdout == "Ada: ASY001: blocking-sleep-in-async (1 fix)\nAda: start\n"
    assert (workspace / "src" / "nodes.py").read_text() == FIXED


RDJSON_SCHEMA = json.loads(
    (ROOT / "tests" / "schemas" / "rdjson-DiagnosticResult.json").read_text()
)


def test_reviewdog_workflow_feeds_rdjson_with_suggestions(workspace: Path) -> None:
    (workflow_text,) = blocks(
        section("#### Suggested changes on a pull request, with reviewdog"), "yaml"
    )
    workflow = yaml.safe_load(workflow_text)
    assert workflow["permissions"]["pull-requests"] == "write"
    (job,) = workflow["jobs"].values()
    steps = job["steps"]
    setup = [i for i, step in enumerate(steps) if "reviewdog/action-setup" in step.get("uses", "")]
    (review,) = [i for i, step in enumerate(steps) if "reviewdog " in step.get("run", "")]
    assert setup and setup[0] < review
    assert "REVIEWDOG_GITHUB_API_TOKEN" in steps[review]["env"]
    producer, consumer = steps[review]["run"].split("|")
    assert shlex.split(consumer)[:4] == [
        "reviewdog",
        "-f=rdjson",
        "-name=flowfix",
        "-reporter=github-pr-review",
    ]
    done = run(shlex.split(producer), workspace)
    assert done.returncode == 1  # findings; in the pipe, reviewdog's status counts
    document = json.loads(done.stdout)
    jsonschema.Draft4Validator(RDJSON_SCHEMA).validate(document)
    (diagnostic,) = document["diagnostics"]
    assert diagnostic["code"] == {"value": "ASY001"} and diagnostic["severity"] == "ERROR"
    (suggestion,) = diagnostic["suggestions"]
    assert suggestion == {
        "range": {"start": {"line": 1, "column": 1}, "end": {"line": 5, "column": 18}},
        "text": FIXED.removesuffix("\n"),
    }
