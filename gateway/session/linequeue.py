"""Lines received and not yet read by the session, ending in a sticky end-of-stream.

Shared by the telnet and AX.25 adapters: both put lines in as they arrive and the
session reads them one by one; once the peer has gone, every later read returns None.
"""

from __future__ import annotations

import asyncio


class LineQueue:
    def __init__(self) -> None:
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()

    def __len__(self) -> int:
        return self._queue.qsize()

    def put(self, line: str) -> None:
        self._queue.put_nowait(line)

    def end(self) -> None:
        """The peer has gone: readers get None from now on."""
        self._queue.put_nowait(None)

    async def get(self) -> str | None:
        line = await self._queue.get()
        if line is None:
            self._queue.put_nowait(None)  # stay at the end for later readers
        return line

    def discard(self) -> None:
        """Forget lines typed ahead, keeping the end-of-stream mark if it came."""
        while not self._queue.empty():
            if self._queue.get_nowait() is None:
                self._queue.put_nowait(None)
                return
