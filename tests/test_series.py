"""`flowfix diff --patch-dir`: a `git format-patch`-style series that a real `git am` turns
into one commit per rule (or per file), ending at the tree `flowfix fix` makes."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flowfix import __version__
from flowfix.cli import app
from flowfix.patches import make_patch
from flowfix.rules import registry
from flowfix.series import Step, file_name, mail

APP = (
    "import time\n"
    "\n"
    "\n"
    "async def fetch(url):\n"
    "    start = time.time()\n"
    "    time.sleep(1)\n"
    "    return time.time() - start\n"
)
OTHER = "import time\n\n\nasync def wait():\n    time.sleep(2)\n"
AUTHOR = ("Ada Lovelace", "ada@example.com")


def git(repo: Path, *args: str) -> str:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(repo),  # no global git configuration
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Someone Else",
        "GIT_AUTHOR_EMAIL": "else@example.com",
        "GIT_COMMITTER_NAME": "Reviewer",
        "GIT_COMMITTER_EMAIL": "reviewer@example.com",
    }
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def make_repo(root: Path, files: dict[str, bytes]) -> Path:
    root.mkdir()
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "before flowfix")
    return root


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def series_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_AUTHOR_NAME", AUTHOR[0])
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", AUTHOR[1])


def fixed_tree(tmp_path: Path, files: dict[str, bytes], monkeypatch: pytest.MonkeyPatch) -> dict:
    """The files as `flowfix fix` leaves them."""
    copy = tmp_path / "fixed"
    for name, data in files.items():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_bytes(data)
    with monkeypatch.context() as patch:
        patch.chdir(copy)
        invoke("fix", "--no-cache", "-q", "--extend-select", "TIM001", "src")
    return {name: (copy / name).read_bytes() for name in files}


FILES = {"src/app.py": APP.encode(), "src/other.py": OTHER.encode()}


def test_git_am_makes_one_commit_per_rule_each_on_the_one_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, series_env: None
) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    monkeypatch.chdir(repo)
    result = invoke(
        "diff", "--no-cache", "--extend-select", "TIM001", "--patch-dir", "patches", "src"
    )
    assert result.exit_code == 1
    first = "patches/0001-ASY001-blocking-sleep-in-async-2-fixes.patch"
    second = "patches/0002-TIM001-wall-clock-duration-1-fix.patch"
    assert result.stdout.splitlines() == [first, second]
    # TIM001's patch is made against the tree ASY001's left: alone it does not apply
    done = subprocess.run(["git", "apply", "--check", second], cwd=repo, capture_output=True)
    assert done.returncode != 0
    shutil.move(repo / "patches", tmp_path / "patches")
    git(repo, "am", *sorted(str(p) for p in (tmp_path / "patches").iterdir()))
    log = git(repo, "log", "--format=%an <%ae>%n%s%n%b%x00").split("\x00")
    subjects = [entry.strip().splitlines()[1] for entry in log if entry.strip()]
    assert subjects == [
        "TIM001: wall-clock-duration (1 fix)",
        "ASY001: blocking-sleep-in-async (2 fixes)",
        "before flowfix",
    ]
    asy001 = log[1].strip().splitlines()
    assert asy001[0] == "Ada Lovelace <ada@example.com>"
    body = "\n".join(asy001[2:])
    rule = registry()["ASY001"]
    assert body.startswith(
        rule.summary + "\n\nWhy is this bad?\n" + rule.section("Why is this bad?")
    )
    assert "Fix safety:\n" + rule.section("Fix safety") in body
    assert body.endswith(
        "Fixed:\n"
        "- src/app.py:6:5: ASY001 `time.sleep()` blocks the event loop in async `fetch()`"
        " (safe fix)\n"
        "- src/other.py:5:5: ASY001 `time.sleep()` blocks the event loop in async `wait()`"
        " (safe fix)\n"
        "\n"
        "See `flowfix explain ASY001`."
    )
    assert git(repo, "status", "--porcelain") == ""
    after = {name: (repo / name).read_bytes() for name in FILES}
    assert after == fixed_tree(tmp_path, FILES, monkeypatch)


def test_each_mail_has_headers_message_diffstat_and_the_patch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, series_env: None
) -> None:
    monkeypatch.chdir(make_repo(tmp_path / "repo", {"src/other.py": OTHER.encode()}))
    assert invoke("diff", "--no-cache", "--patch-dir", "out", "src").exit_code == 1
    (path,) = Path("out").iterdir()
    data = path.read_bytes().decode()
    head, _, rest = data.partition("\n\n")
    assert head.splitlines() == [
        "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001",
        "From: Ada Lovelace <ada@example.com>",
        "Subject: [PATCH 1/1] ASY001: blocking-sleep-in-async (1 fix)",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=UTF-8",
        "Content-Transfer-Encoding: 8bit",
    ]
    message, _, patch = rest.partition("\n---\n")
    assert message.startswith(registry()["ASY001"].summary)
    fixed = OTHER.replace("import time", "import asyncio").replace(
        "time.sleep(2)", "await asyncio.sleep(2)"
    )
    stats = " src/other.py | 4 ++--\n 1 file changed, 2 insertions(+), 2 deletions(-)\n\n"
    diff = make_patch(OTHER.encode(), fixed.encode(), "src/other.py").decode()
    assert patch == stats + diff + f"-- \nflowfix {__version__}\n\n"


def test_split_by_file_makes_one_commit_per_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, series_env: None
) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    monkeypatch.chdir(repo)
    result = invoke(
        "diff",
        "--no-cache",
        "--extend-select",
        "TIM001",
        "--patch-dir",
        "../p",
        "--split-by",
        "file",
        "src",
    )
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "../p/0001-src-app.py-2-fixes-ASY001-TIM001.patch",
        "../p/0002-src-other.py-1-fix-ASY001.patch",
    ]
    git(repo, "am", *sorted(str(p) for p in (tmp_path / "p").iterdir()))
    assert git(repo, "log", "--format=%s").splitlines() == [
        "src/other.py: 1 fix (ASY001)",
        "src/app.py: 2 fixes (ASY001, TIM001)",
        "before flowfix",
    ]
    body = git(repo, "log", "-1", "--skip=1", "--format=%b")
    assert body.startswith("ASY001 blocking-sleep-in-async (1 fix):\n")
    assert "\nTIM001 wall-clock-duration (1 fix):\n" in body
    after = {name: (repo / name).read_bytes() for name in FILES}
    assert after == fixed_tree(tmp_path, FILES, monkeypatch)


def test_encodings_and_names_survive_git_am(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, series_env: None
) -> None:
    """A latin-1 file, a CRLF file (`git am --keep-cr`, as for git format-patch's own
    patches), a non-ASCII file name in an RFC 2047 subject."""
    files = {
        "src/café.py": OTHER.encode(),
        "src/crlf.py": OTHER.replace("\n", "\r\n").encode(),
        "src/lat.py": (
            "# -*- coding: latin-1 -*-\n" + OTHER.replace("    time", '    s = "é"\n    time')
        ).encode("latin-1"),
    }
    repo = make_repo(tmp_path / "repo", files)
    monkeypatch.chdir(repo)
    result = invoke("diff", "--no-cache", "--patch-dir", "../p", "--split-by", "file", "src")
    assert result.exit_code == 1
    git(repo, "am", "--keep-cr", *sorted(str(p) for p in (tmp_path / "p").iterdir()))
    assert git(repo, "log", "-3", "--format=%s").splitlines() == [
        "src/lat.py: 1 fix (ASY001)",
        "src/crlf.py: 1 fix (ASY001)",
        "src/café.py: 1 fix (ASY001)",
    ]
    after = {name: (repo / name).read_bytes() for name in files}
    assert after == fixed_tree(tmp_path, files, monkeypatch)


def test_nothing_to_fix_writes_no_patch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "clean.py").write_text("def f():\n    return 1\n")
    result = invoke("diff", "--no-cache", "--patch-dir", "p", "clean.py")
    assert (result.exit_code, result.stdout) == (0, "")
    assert list((tmp_path / "p").iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--split-by", "file"], "--split-by needs --patch-dir"),
        (["--patch-dir", "p", "--patch-file", "x"], "--patch-dir and --patch-file cannot"),
        (["--patch-dir", "p", "--format", "rdjson"], "cannot be used with --format rdjson"),
        (["--patch-dir", "stale"], "stale: already holds patches (0001-old.patch...)"),
        (["--patch-dir", "app.py"], "app.py: not a folder"),
    ],
)
def test_usage_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.py").write_text(OTHER)
    (tmp_path / "stale").mkdir()
    (tmp_path / "stale" / "0001-old.patch").write_text("old\n")
    result = invoke("diff", "--no-cache", *args, "app.py")
    assert result.exit_code == 2
    assert message in result.stderr
    assert (tmp_path / "app.py").read_text() == OTHER
    assert (tmp_path / "stale" / "0001-old.patch").read_text() == "old\n"


def test_body_lines_that_git_would_take_for_the_patch_are_indented() -> None:
    step = Step("S", "a\n---\ndiff -u x\nIndex: y\nb", ())
    body = mail(step, 1, 1, "A <a@example.com>").decode().split("\n\n", 1)[1]
    assert body.startswith("a\n ---\n diff -u x\n Index: y\nb\n---\n")


def test_file_names_follow_git_format_patch() -> None:
    assert file_name(1, "ASY001: blocking-sleep-in-async (2 fixes)") == (
        "0001-ASY001-blocking-sleep-in-async-2-fixes.patch"
    )
    assert file_name(12, "src/café.py: 1 fix (ASY001)") == "0012-src-caf-.py-1-fix-ASY001.patch"
