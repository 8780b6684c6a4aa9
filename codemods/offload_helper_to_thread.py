"""ASY006: `helper(args)` reached from a coroutine → `await asyncio.to_thread(helper, args)`."""

from __future__ import annotations

from flowfix.codemods.offload_blocking_io_to_thread import OffloadBlockingIoToThread


class OffloadHelperToThread(OffloadBlockingIoToThread):
    """The same rewrite as ASY002, applied to blocking project helpers (ASY006)."""

    CODE = "ASY006"
    DESCRIPTION = "Run blocking project helpers called from coroutines in `asyncio.to_thread`"
