"""Engine: discovery, reading/writing faithfully, bad input, parallel = sequential."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from flowfix.config import Config
from flowfix.discovery import discover
from flowfix.engine import Options, detect, process_path
from flowfix.rules import FixSafety, registry
from flowfix.runner import run
from flowfix.sources import SourceError, read_source, write_if_unchanged

BLOCKING = "import time\n\n\nasync def f():\n    time.sleep(1)\n"


def options(fix: bool = True) -> Options:
    return Options(codes=tuple(registry()), fix=fix, threshold=FixSafety.SAFE)


def test_discover_skips_usual_folders_and_keeps_explicit_files(tmp_path: Path) -> None:
    for rel in [
        "app/a.py",
        "app/sub/b.py",
        "app/__pycache__/c.py",
        ".venv/lib/d.py",
        "env2/lib/e.py",
        "build/f.py",
        "app/notes.txt",
    ]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x = 1\n")
    (tmp_path / "env2" / "pyvenv.cfg").write_text("home = /usr\n")
    files, errors = discover([tmp_path, tmp_path / "build" / "f.py"])
    assert errors == []
    assert [p.relative_to(tmp_path).as_posix() for p in files] == [
        "app/a.py",
        "app/sub/b.py",
        "build/f.py",
    ]


def test_discover_honours_gitignore(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("generated/\nsecret.py\n")
    for rel in ["generated/g.py", "secret.py", "kept.py"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x = 1\n")
    files, _ = discover([tmp_path])
    assert [p.name for p in files] == ["kept.py"]
    explicit, _ = discover([tmp_path / "secret.py"])
    assert [p.name for p in explicit] == ["secret.py"]


def test_discover_applies_exclude_to_folders_and_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for rel in ["migrations/m1.py", "app/models_pb2.py", "app/models.py", "app/migrations.py"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x = 1\n")
    monkeypatch.chdir(tmp_path)
    files, errors = discover([Path(".")], ["migrations", "*_pb2.py"])
    assert [p.as_posix() for p in files] == ["app/migrations.py", "app/models.py"]
    assert errors == []
    files, _ = discover([Path(".")], ["app/*"])
    assert [p.as_posix() for p in files] == ["migrations/m1.py"]


def test_discover_reports_a_broken_link_unless_excluded_or_ignored(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("ignored.py\n")
    for name in ("gone.py", "ignored.py", "skipped.py", "notes.txt"):
        os.symlink(tmp_path / "missing", tmp_path / name)
    (tmp_path / "kept.py").write_text("x = 1\n")
    files, errors = discover([tmp_path], ["skipped.py"])
    assert [p.name for p in files] == ["kept.py"]
    assert [(p.name, why) for p, why in errors] == [("gone.py", "broken symbolic link")]


def test_discover_survives_symlink_loop(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "m.py").write_text("x = 1\n")
    os.symlink(tmp_path / "a", tmp_path / "a" / "loop")
    files, _ = discover([tmp_path])
    assert [p.name for p in files] == ["m.py"]


@pytest.mark.parametrize(
    ("raw", "newline"),
    [
        (BLOCKING.replace("\n", "\r\n").encode(), b"\r\n"),
        (b"\xef\xbb\xbf" + BLOCKING.encode(), b"\n"),
        (b"# -*- coding: latin-1 -*-\n" + BLOCKING.encode() + b"NAME = '\xe9'\n", b"\n"),
    ],
    ids=["crlf", "bom", "latin-1"],
)
def test_fix_keeps_encoding_bom_and_newlines(tmp_path: Path, raw: bytes, newline: bytes) -> None:
    path = tmp_path / "m.py"
    path.write_bytes(raw)
    result = process_path(path, options())
    assert result.new_raw is not None
    expected = raw.replace(b"import time", b"import asyncio").replace(
        b"time.sleep(1)", b"await asyncio.sleep(1)"
    )
    assert result.new_raw == expected
    assert result.new_raw.count(newline) == raw.count(newline)


@pytest.mark.parametrize(
    "raw",
    [
        b"\xef\xbb\xbf" + BLOCKING.replace("    time", "    s = '\u00e9\u20ac'; time").encode(),
        b"# -*- coding: latin-1 -*-\n"
        + BLOCKING.replace("    time", "    s = '\xe9'; time").encode("latin-1"),
    ],
    ids=["bom-utf8", "latin-1"],
)
def test_a_file_read_from_its_bytes_gives_the_findings_of_its_text(
    tmp_path: Path, raw: bytes
) -> None:
    """The engine parses a file's bytes; findings sit where they sit in its decoded text."""
    path = tmp_path / "m.py"
    path.write_bytes(raw)
    found = process_path(path, options(fix=False)).findings
    text = read_source(path).text
    python = [rule for rule in registry().values() if rule.language == "python"]
    assert [(f.code, f.span) for f in found] == [
        (f.code, f.span) for f in detect(text, "m.py", python, Config()).findings
    ]
    last = text.splitlines()[-1]
    assert [(f.code, f.span.line, f.span.column) for f in found] == [
        ("ASY001", text.count("\n"), last.index("time.sleep") + 1)
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"async def f(:\n", "syntax error"),
        (b"x = '\xff\xfe'\n", "cannot decode as utf-8"),
        (b"# -*- coding: klingon -*-\nx = 1\n", "unknown encoding"),
        (b"x = 1\x00\n", "null byte"),
    ],
    ids=["syntax", "invalid-utf8", "bad-cookie", "null-byte"],
)
def test_bad_input_gives_one_line_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.py"
    path.write_bytes(content)
    result = process_path(path, options())
    assert len(result.errors) == 1 and message in result.errors[0]
    assert "\n" not in result.errors[0]
    assert path.read_bytes() == content


def test_directory_named_like_a_module(tmp_path: Path) -> None:
    (tmp_path / "x.py").mkdir()
    result = process_path(tmp_path / "x.py", options())
    assert result.errors == ("is a directory",)


def test_empty_file_is_clean(tmp_path: Path) -> None:
    (tmp_path / "empty.py").write_bytes(b"")
    result = process_path(tmp_path / "empty.py", options())
    assert result.errors == () and result.findings == () and not result.changed


def test_write_refused_when_file_changed_since_read(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(BLOCKING)
    source = read_source(path)
    path.write_text(BLOCKING + "# edited meanwhile\n")
    with pytest.raises(SourceError, match="changed on disk"):
        write_if_unchanged(source, b"x = 1\n")
    assert path.read_text().endswith("# edited meanwhile\n")


def test_write_keeps_mode_and_writes_through_symlink(tmp_path: Path) -> None:
    target = tmp_path / "real.py"
    target.write_text(BLOCKING)
    target.chmod(0o750)
    link = tmp_path / "link.py"
    link.symlink_to(target)
    source = read_source(link)
    write_if_unchanged(source, b"x = 2\n")
    assert link.is_symlink() and target.read_bytes() == b"x = 2\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o750
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".flowfix")] == []


def test_file_libcst_cannot_round_trip_is_reported_not_rewritten(tmp_path: Path) -> None:
    # libcst prints `except (A, B) :` back as `except (A, B):`; such a file is never rewritten.
    text = BLOCKING + "\n\ntry:\n    pass\nexcept (ValueError, KeyError) :\n    pass\n"
    path = tmp_path / "m.py"
    path.write_text(text)
    result = process_path(path, options())
    assert not result.changed
    assert [f.code for f in result.findings] == ["ASY001"]
    assert not result.findings[0].fixed and "byte for byte" in result.findings[0].note


def test_parallel_equals_sequential(tmp_path: Path) -> None:
    for index in range(12):
        # sizes grow with the name: over workers, the largest start first, out of file order
        body = BLOCKING + "# padding\n" * index if index % 3 else "x = 1\n"
        (tmp_path / f"m{index:02d}.py").write_text(body)
    files, _ = discover([tmp_path])
    sequential = [(r.display, r.findings, r.new_text) for r in run(files, options(), jobs=1)]
    parallel = [(r.display, r.findings, r.new_text) for r in run(files, options(), jobs=2)]
    assert sequential == parallel
    assert sum(1 for _, findings, _ in sequential if findings) == 8


@pytest.mark.parametrize(
    ("produce", "note"),
    [
        (lambda text: (text.replace("time.sleep(1)", "time.sleep(1"), ""), "does not parse"),
        (lambda text: (text, "declined for a reason"), "declined for a reason"),
        (lambda text: (text + "\nreturn 1\n", ""), "does not compile"),
        (lambda text: (text + "\n# only a comment\n", ""), "did not remove its findings"),
    ],
    ids=["not-parsing", "unchanged", "not-compiling", "no-progress"],
)
def test_bad_fix_is_dropped_and_reported(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    produce,
    note: str,  # type: ignore[no-untyped-def]
) -> None:
    import flowfix.fixes as fixes

    monkeypatch.setattr(
        fixes, "apply_codemod", lambda rule, text, display, findings, *rest: produce(text)
    )
    path = tmp_path / "m.py"
    path.write_text(BLOCKING)
    result = process_path(path, options())
    assert not result.changed
    assert [(f.code, f.fixed) for f in result.findings] == [("ASY001", False)]
    assert note in result.findings[0].note
    assert any(note in n for n in result.notes)


def test_codemod_crash_is_contained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import flowfix.fixes as fixes

    def explode(*args: object) -> tuple[str, str]:
        raise RuntimeError("boom")

    monkeypatch.setattr(fixes, "apply_codemod", explode)
    path = tmp_path / "m.py"
    path.write_text(BLOCKING)
    result = process_path(path, options())
    assert (
        not result.changed
        and "internal error in the ASY001 fix: RuntimeError: boom" in result.notes[0]
    )


def test_pass_limit_is_reported(tmp_path: Path) -> None:
    from flowfix.config import Config

    text = BLOCKING
    path = tmp_path / "m.py"
    path.write_text(text)
    limited = Options(codes=("ASY001",), config=Config(thresholds={"max-fix-passes": 0}), fix=True)
    result = process_path(path, limited)
    assert not result.changed
    assert result.notes == ("stopped after 0 fix passes with fixable findings left",)


def test_discovery_outside_git_keeps_interpreter_healthy(tmp_path: Path) -> None:
    # pygit2.discover_repository drops a reference to None on every miss; after enough folders
    # outside any repository the interpreter aborts ("deallocating None"). Walk enough of them.
    import sys

    for index in range(15000):
        (tmp_path / f"d{index}").mkdir()
        (tmp_path / f"d{index}" / "m.py").touch()
    code = (
        "import sys; from pathlib import Path; from flowfix.discovery import discover; "
        "print(len(discover([Path(sys.argv[1])])[0]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-300:]
    assert done.stdout.strip() == "15000"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x = 1\x00\n", "syntax error: source code string cannot contain null bytes"),
        ("def (:\n", "syntax error at 1:5: invalid syntax"),
    ],
)
def test_text_that_does_not_parse_gets_a_located_or_plain_message(text: str, message: str) -> None:
    from flowfix.engine import ParseFailure, check_syntax

    with pytest.raises(ParseFailure) as caught:
        check_syntax(text)
    assert str(caught.value) == message


def test_check_never_imports_libcst(fixtures_dir: Path) -> None:
    """Detection runs on CPython's ast: a check over every fixture (findings of every rule,
    the call graph included) does not import libcst, which only fixes need."""
    import sys

    script = (
        "import sys\n"
        "from flowfix.cli import main\n"
        "sys.argv = ['flowfix', 'check', '--no-cache', '-q', '-j1', sys.argv[1]]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 1, exc.code\n"
        "assert 'libcst' not in sys.modules, 'libcst was imported'\n"
        "print('checked without libcst')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(fixtures_dir)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("checked without libcst")
