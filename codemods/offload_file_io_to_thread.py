"""ASY003: `path.read_text()` (and friends) in a coroutine → `await asyncio.to_thread(...)`."""

from __future__ import annotations

from flowfix.codemods.offload_blocking_io_to_thread import OffloadBlockingIoToThread


class OffloadFileIoToThread(OffloadBlockingIoToThread):
    CODE = "ASY003"
    DESCRIPTION = "Run `pathlib.Path` reads and writes in coroutines with `asyncio.to_thread`"
