"""Bad input through the CLI: one clear line per bad file, the other files still processed.

Every test runs in a folder that also holds `good.py` (one fixable ASY001 finding) and checks
(1) one `path: cause` line on stderr naming the bad file, (2) that `good.py` is still processed,
(3) the README exit code (1: findings or files that could not be analysed; 2: usage or
configuration error, in which case nothing is processed or written), and (4) that the bad
file's bytes are unchanged after `fix`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from flowfix.cli import app

GOOD = "import time\n\n\nasync def f():\n    time.sleep(1)\n"
GOOD_FIXED = "import asyncio\n\n\nasync def f():\n    await asyncio.sleep(1)\n"
OTHER = GOOD.replace("f()", "g()")
OTHER_FIXED = GOOD_FIXED.replace("f()", "g()")


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "good.py").write_text(GOOD)
    return tmp_path


def invoke(*args: str) -> Result:
    result = CliRunner().invoke(app, list(args))
    # No traceback: CliRunner catches any exception, so it must be the SystemExit of a clean run.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr
    return result


def error_line(result: Result, name: str) -> str:
    """The one stderr line naming `name` (a file error is exactly one line)."""
    lines = [line for line in result.stderr.splitlines() if name in line]
    assert len(lines) == 1, result.stderr
    return lines[0]


def fix_with_bad_file(folder: Path, name: str, content: bytes, cause: str) -> Result:
    """`fix .` with `name` holding `content`: one error line, good.py fixed, bad bytes kept."""
    bad = folder / name
    bad.write_bytes(content)
    result = invoke("fix", ".")
    line = error_line(result, name)
    assert line.startswith(f"{name}: ") and cause in line, line
    assert result.exit_code == 1, result.output
    assert "Fixed 1 finding in good.py" in result.stdout
    assert (folder / "good.py").read_text() == GOOD_FIXED
    assert bad.read_bytes() == content
    return result


def test_syntax_error(folder: Path) -> None:
    fix_with_bad_file(folder, "bad.py", b"async def f(:\n    time.sleep(1)\n", "syntax error")


def test_null_byte(folder: Path) -> None:
    fix_with_bad_file(folder, "bad.py", b"import time\nx = 1\x00\n", "null byte")


def test_invalid_utf8_without_cookie(folder: Path) -> None:
    fix_with_bad_file(folder, "bad.py", b"x = '\xff\xfe'\n", "cannot decode as utf-8")


def test_unknown_coding_cookie(folder: Path) -> None:
    content = b"# -*- coding: klingon -*-\nimport time\n"
    fix_with_bad_file(folder, "bad.py", content, "unknown encoding")


def test_coding_cookie_that_does_not_match_the_bytes(folder: Path) -> None:
    # Declared ASCII, but holds UTF-8 bytes.
    content = b"# -*- coding: ascii -*-\nNAME = '\xc3\xa9t\xc3\xa9'\n"
    fix_with_bad_file(folder, "bad.py", content, "cannot decode as ascii")


def test_utf8_bom_with_a_different_coding_cookie(folder: Path) -> None:
    content = b"\xef\xbb\xbf# -*- coding: latin-1 -*-\nx = 1\n"
    fix_with_bad_file(folder, "bad.py", content, "BOM")


def test_empty_file_is_no_error_and_no_finding(folder: Path) -> None:
    (folder / "empty.py").write_bytes(b"")
    result = invoke("fix", ".")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert (folder / "good.py").read_text() == GOOD_FIXED
    assert (folder / "empty.py").read_bytes() == b""
    check = invoke("check", "empty.py")
    assert check.exit_code == 0 and check.stdout == "All checks passed (1 file).\n"


def test_five_megabyte_generated_file(folder: Path) -> None:
    row = '    "' + "0123456789abcdef" * 4 + '",\n'
    content = ('"""Generated."""\n\nTABLE = (\n' + row * (5 * 2**20 // len(row)) + ")\n").encode()
    assert len(content) > 5 * 10**6
    (folder / "table.py").write_bytes(content)
    result = invoke("fix", ".")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert (folder / "good.py").read_text() == GOOD_FIXED
    assert (folder / "table.py").read_bytes() == content


def test_deeply_nested_parentheses(folder: Path) -> None:
    content = ("x = " + "(" * 5000 + "1" + ")" * 5000 + "\n").encode()
    fix_with_bad_file(folder, "deep.py", content, "too many nested parentheses")


def test_very_long_operator_chain(folder: Path) -> None:
    content = ("x = " + "1+" * 100_000 + "1\n").encode()
    result = fix_with_bad_file(folder, "chain.py", content, "too deeply nested")
    assert "RecursionError" not in result.output


def test_unreadable_file(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests run as root, where chmod 000 does not stop reads: fail the read for that one file.
    real_read_bytes = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "secret.py":
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    (folder / "secret.py").write_text(GOOD)
    result = invoke("fix", "--jobs", "1", ".")
    assert error_line(result, "secret.py") == "secret.py: cannot read: Permission denied"
    assert result.exit_code == 1
    assert (folder / "good.py").read_text() == GOOD_FIXED
    assert real_read_bytes(folder / "secret.py") == GOOD.encode()


def test_directory_named_like_a_module_is_walked(folder: Path) -> None:
    # `x.py/` is a folder: walked like any other (named or found), never read as a file.
    (folder / "x.py").mkdir()
    (folder / "x.py" / "inner.py").write_text(OTHER)
    result = invoke("fix", ".")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert (folder / "good.py").read_text() == GOOD_FIXED
    assert (folder / "x.py" / "inner.py").read_text() == OTHER_FIXED
    named = invoke("check", "x.py", "good.py")
    assert named.exit_code == 0 and named.stderr == ""


def test_symlink_loop_found_by_the_walk(folder: Path) -> None:
    os.symlink("b.py", folder / "a.py")
    os.symlink("a.py", folder / "b.py")
    result = invoke("fix", ".")
    assert error_line(result, "a.py:") == "a.py: symbolic link loop"
    assert error_line(result, "b.py:") == "b.py: symbolic link loop"
    assert result.exit_code == 1
    assert (folder / "good.py").read_text() == GOOD_FIXED
    assert os.readlink(folder / "a.py") == "b.py" and os.readlink(folder / "b.py") == "a.py"


def test_symlink_loop_named_on_the_command_line(folder: Path) -> None:
    os.symlink("b.py", folder / "a.py")
    os.symlink("a.py", folder / "b.py")
    result = invoke("fix", "a.py", "good.py")
    assert error_line(result, "a.py") == "a.py: symbolic link loop"
    assert result.exit_code == 1
    assert (folder / "good.py").read_text() == GOOD_FIXED
    assert os.readlink(folder / "a.py") == "b.py"


def test_missing_path_on_the_command_line(folder: Path) -> None:
    result = invoke("fix", "nope.py", "good.py")
    assert error_line(result, "nope.py") == "nope.py: no such file or directory"
    assert result.exit_code == 1
    assert (folder / "good.py").read_text() == GOOD_FIXED
    assert not (folder / "nope.py").exists()


def config_error(folder: Path, pyproject: str, *causes: str) -> None:
    """A bad [tool.flowfix]: exit 2, one line naming pyproject.toml and the cause, no writes."""
    (folder / "pyproject.toml").write_text(pyproject)
    result = invoke("fix", ".")
    assert result.exit_code == 2, result.output
    line = error_line(result, "pyproject.toml")
    assert line.startswith("flowfix: error: ") and str(folder / "pyproject.toml") in line
    for cause in causes:
        assert cause in line, line
    assert result.stdout == ""
    assert (folder / "good.py").read_text() == GOOD


def test_config_toml_syntax_error(folder: Path) -> None:
    config_error(folder, '[tool.flowfix\nselect = ["ASY"]\n', "invalid TOML", "line 1")


def test_config_wrong_type(folder: Path) -> None:
    config_error(folder, "[tool.flowfix]\nselect = 3\n", "select", "must be a list")


def test_config_unknown_key(folder: Path) -> None:
    config_error(folder, "[tool.flowfix]\nselekt = ['ASY']\n", "unknown key 'selekt'")


def test_config_tool_is_not_a_table(folder: Path) -> None:
    # Used to end in "internal error: AttributeError".
    (folder / "pyproject.toml").write_text("tool = 3\n")
    result = invoke("fix", "--config", "pyproject.toml", ".")
    assert result.exit_code == 2
    assert error_line(result, "pyproject.toml").endswith("pyproject.toml: [tool] must be a table")
    assert (folder / "good.py").read_text() == GOOD


def test_config_unknown_rule_code(folder: Path) -> None:
    config_error(folder, "[tool.flowfix]\nignore = ['ASY001', 'NOPE42']\n", "ignore", "'NOPE42'")


def test_unknown_rule_code_in_select(folder: Path) -> None:
    result = invoke("fix", "--select", "ASY001,NOPE42", ".")
    assert result.exit_code == 2
    assert error_line(result, "NOPE42") == (
        "flowfix: error: unknown rule code, prefix or group 'NOPE42' (see `flowfix rules`)"
    )
    assert result.stdout == ""
    assert (folder / "good.py").read_text() == GOOD


def make_patch(folder: Path) -> bytes:
    """`flowfix diff` for good.py and other.py (written to fixes.diff and returned)."""
    (folder / "other.py").write_text(OTHER)
    result = invoke("diff", "--patch-file", "fixes.diff", "good.py", "other.py")
    assert result.exit_code == 1
    return (folder / "fixes.diff").read_bytes()


def refused_patch(folder: Path, name: str, patch: bytes) -> str:
    """`flowfix apply` of `patch` exits 2 and touches no file; its one-line error."""
    (folder / name).write_bytes(patch)
    result = invoke("apply", name)
    assert result.exit_code == 2
    assert (folder / "good.py").read_text() == GOOD
    assert (folder / "other.py").read_text() == OTHER
    return error_line(result, name)


def test_apply_truncated_patch(folder: Path) -> None:
    # Cut inside the last `+` line: unidiff alone would apply the cut line and corrupt the file.
    patch = make_patch(folder)
    line = refused_patch(folder, "cut.diff", patch[: patch.rindex(b"asyncio.sleep")])
    assert "truncated" in line and "nothing applied" in line


def test_apply_patch_with_garbled_hunk(folder: Path) -> None:
    patch = make_patch(folder)
    garbled = patch.replace(b"\n-    time.sleep(1)\n", b"\n~~~ garbage\n", 1)
    line = refused_patch(folder, "bad.diff", garbled)
    assert "not a valid unified diff" in line and "nothing applied" in line


def test_apply_patch_that_does_not_match_the_file(folder: Path) -> None:
    make_patch(folder)
    stale = GOOD.replace("sleep(1)", "sleep(2)").encode()
    (folder / "good.py").write_bytes(stale)
    result = invoke("apply", "fixes.diff")
    line = error_line(result, "good.py")
    assert line == "good.py: not applied: hunk 1 (@@ -1,5 @@) does not match"
    assert result.exit_code == 1
    assert "Applied 1 hunk to other.py" in result.stdout
    assert (folder / "other.py").read_text() == OTHER_FIXED
    assert (folder / "good.py").read_bytes() == stale


def test_apply_patch_that_leaves_the_root(folder: Path) -> None:
    patch = make_patch(folder).replace(b"other.py", b"../other.py")
    (folder / "sub").mkdir()
    (folder / "sub" / "escape.diff").write_bytes(patch.replace(b"good.py", b"../good.py"))
    result = invoke("apply", "--root", "sub", "sub/escape.diff")
    assert result.exit_code == 1
    assert "../good.py: not applied: paths that leave the root folder" in result.stderr
    assert (folder / "good.py").read_text() == GOOD
    assert (folder / "other.py").read_text() == OTHER
