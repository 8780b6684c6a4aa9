"""Reading source files faithfully (PEP 263 encoding, BOM, newlines) and writing them atomically."""

from __future__ import annotations

import codecs
import hashlib
import io
import os
import signal
import stat
import tempfile
import tokenize
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flowfix.languages import is_rust

UTF8_BOM = codecs.BOM_UTF8


class ParseFailure(Exception):
    """The file is not valid Python (for libcst or for the running interpreter)."""


class SourceError(Exception):
    """A file cannot be read, decoded or written; the message is one line naming the cause."""


@dataclass(frozen=True)
class Source:
    """A file's text plus what is needed to write it back byte-compatible."""

    path: Path
    raw: bytes
    text: str
    encoding: str
    digest: str

    def encode(self, text: str) -> bytes:
        """`text` in this file's encoding (a BOM is written back when the file had one)."""
        return text.encode(self.encoding)


def digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def decode(raw: bytes) -> tuple[str, str]:
    """Decode Python source bytes the way the interpreter does; returns (text, encoding)."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    except SyntaxError as exc:
        if raw.startswith(UTF8_BOM) and exc.msg.startswith("encoding problem"):
            raise SourceError(
                "encoding problem: the file starts with a UTF-8 BOM but its coding cookie "
                "names another encoding"
            ) from exc
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as bad:
            raise SourceError(f"cannot decode as utf-8 (byte {bad.start}): {bad.reason}") from exc
        raise SourceError(exc.msg) from exc
    try:
        codecs.lookup(encoding)
        text = raw.decode(encoding)
    except LookupError as exc:
        raise SourceError(f"unknown encoding {encoding!r}") from exc
    except UnicodeDecodeError as exc:
        raise SourceError(f"cannot decode as {encoding} (byte {exc.start}): {exc.reason}") from exc
    if "\x00" in text:
        raise SourceError("file contains a null byte")
    return text, encoding


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except IsADirectoryError as exc:
        raise SourceError("is a directory") from exc
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}") from exc


def read_source(path: Path) -> Source:
    return from_bytes(path, read_bytes(path))


def decode_utf8(raw: bytes) -> tuple[str, str]:
    """Decode a Rust source file: UTF-8 (as rustc requires), a BOM kept for writing back."""
    encoding = "utf-8-sig" if raw.startswith(UTF8_BOM) else "utf-8"
    try:
        return raw.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        raise SourceError(f"cannot decode as utf-8 (byte {exc.start}): {exc.reason}") from exc


def from_bytes(path: Path, raw: bytes) -> Source:
    text, encoding = decode_utf8(raw) if is_rust(path.name) else decode(raw)
    return Source(path=path, raw=raw, text=text, encoding=encoding, digest=digest(raw))


def from_stdin(raw: bytes, name: str) -> Source:
    return from_bytes(Path(name), raw)


# Signals that arrive while a file is being replaced are held back until the replacement is
# complete (see `defer_signal`), so an interrupted run never leaves a temp file or a half-written
# file behind.
_atomic_depth = 0
_deferred_signals: list[int] = []


def defer_signal(signum: int) -> bool:
    """For a signal handler: True when a write is in progress and the signal must wait for it.

    The signal is raised again, once, as soon as the write is complete.
    """
    if _atomic_depth:
        _deferred_signals.append(signum)
        return True
    return False


@contextmanager
def hold_signals() -> Iterator[None]:
    """Within this block, signals for which a handler calls `defer_signal` wait until its end.

    Used around each file replacement, and by the CLI around "write a file, then say so".
    """
    global _atomic_depth
    _atomic_depth += 1
    try:
        yield
    finally:
        _atomic_depth -= 1
        if not _atomic_depth and _deferred_signals:
            signum = _deferred_signals[0]
            _deferred_signals.clear()
            signal.raise_signal(signum)


def _fsync_directory(folder: Path) -> None:
    """Make a rename in `folder` durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_if_unchanged(source: Source, new_raw: bytes) -> None:
    """Atomically replace the file with `new_raw`, keeping its mode; refuse if it changed on disk.

    The new bytes go to a temp file in the same folder, which is fsynced, given the old file's
    mode (and owner, where permitted) and renamed over it; the folder is then fsynced. Readers
    see either the old or the new file, never a mix, and an error or a signal midway leaves the
    old file and no temp file. Symlinks are written through: the link's target is replaced, the
    link stays.
    """
    try:
        target = source.path.resolve()
        current = target.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot re-read before writing: {exc.strerror or exc}") from exc
    except RuntimeError as exc:  # a symlink loop made since the file was read (Python < 3.13)
        raise SourceError(f"cannot re-read before writing: {exc}") from exc
    if digest(current) != source.digest:
        raise SourceError("changed on disk since it was read; not written")
    info = target.stat()
    _replace(target, new_raw, stat.S_IMODE(info.st_mode), (info.st_uid, info.st_gid))


def write_atomic(path: Path, data: bytes) -> None:
    """Create or replace `path` with `data` the way `write_if_unchanged` replaces a source:
    readers (and an interrupted run) see the old file or the new one, never a part."""
    target = path.resolve()
    try:
        info = target.stat()
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        _replace(target, data, 0o666 & ~umask, None)
    else:
        _replace(target, data, stat.S_IMODE(info.st_mode), (info.st_uid, info.st_gid))


def _replace(target: Path, data: bytes, mode: int, owner: tuple[int, int] | None) -> None:
    """Write `data` to a temp file beside `target`, fsync it, give it `mode` (and `owner` where
    permitted), rename it over `target` and fsync the folder; on any failure, no temp file."""
    with hold_signals():
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".flowfix", dir=target.parent
        )
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            if owner is not None and hasattr(os, "chown") and owner != _owner(tmp_name):
                try:
                    os.chown(tmp_name, *owner)
                except OSError:
                    pass  # not permitted: the file keeps the writer's owner
            os.chmod(tmp_name, mode)
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        _fsync_directory(target.parent)


def _owner(path: str) -> tuple[int, int]:
    info = os.stat(path)
    return info.st_uid, info.st_gid
