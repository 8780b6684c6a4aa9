"""Reading source files faithfully (PEP 263 encoding, BOM, newlines) and writing them atomically."""

from __future__ import annotations

import codecs
import hashlib
import io
import os
import stat
import tempfile
import tokenize
from dataclasses import dataclass
from pathlib import Path


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


def read_source(path: Path) -> Source:
    try:
        raw = path.read_bytes()
    except IsADirectoryError as exc:
        raise SourceError("is a directory") from exc
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}") from exc
    text, encoding = decode(raw)
    return Source(path=path, raw=raw, text=text, encoding=encoding, digest=digest(raw))


def from_stdin(raw: bytes, name: str) -> Source:
    text, encoding = decode(raw)
    return Source(path=Path(name), raw=raw, text=text, encoding=encoding, digest=digest(raw))


def write_if_unchanged(source: Source, new_raw: bytes) -> None:
    """Atomically replace the file with `new_raw`, keeping its mode; refuse if it changed on disk.

    Symlinks are written through: the link's target is replaced, the link stays.
    """
    target = source.path.resolve()
    try:
        current = target.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot re-read before writing: {exc.strerror or exc}") from exc
    if digest(current) != source.digest:
        raise SourceError("changed on disk since it was read; not written")
    mode = stat.S_IMODE(target.stat().st_mode)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".flowfix", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(new_raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
